"""The command line as a whole: what it imports to answer, and what it keeps between runs."""

from __future__ import annotations

import atexit
import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli import main
from tests.vet.factories import POLICY_PATH

HEAVY = {"polars", "opendp", "fastapi", "sqlalchemy", "duckdb", "numpy", "pyarrow", "uvicorn"}


def imported_by(*args: str, data_dir: Path | None = None) -> tuple[set[str], str]:
    """The top-level packages ``python -m gateway.cli ARGS`` imports (from ``-X importtime``)
    and what it printed."""
    command = [sys.executable, "-X", "importtime", "-m", "gateway.cli", *args]
    env = {**os.environ, **({"GATEWAY_DATA_DIR": str(data_dir)} if data_dir else {})}
    finished = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    assert finished.returncode == 0, finished.stderr[-2000:]
    return {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in finished.stderr.splitlines()
        if line.startswith("import time:")
    }, finished.stdout


def test_help_imports_nothing_heavy() -> None:
    """`gateway --help` loads every command group's module, and none of their libraries."""
    imported, _ = imported_by("--help")
    assert "gateway" in imported
    assert HEAVY & imported == set()


def test_vet_predicts_a_shape_seen_before_without_the_dp_libraries(tmp_path: Path) -> None:
    """The first `gateway vet` with every bound fixed calibrates with OpenDP and keeps what it
    predicts in the data directory; the next one of the same shape reads it from there."""
    sql = "SELECT theme, COUNT(*) AS n, AVG(helpful_votes) AS votes FROM tips GROUP BY theme"
    fixed = ["--rows-per-group", "5", "--groups", "3", "--clamp", "helpful_votes=0:20"]
    vet = ["vet", "--policy", str(POLICY_PATH), "--sql", sql, *fixed]
    cold, first = imported_by(*vet, data_dir=tmp_path)
    assert {"opendp", "polars"} <= cold
    assert "expected 95% error of n" in first
    filtered = sql.replace(" GROUP BY", " WHERE helpful_votes > 2 GROUP BY")
    warm, second = imported_by(*vet[:4], filtered, *fixed, data_dir=tmp_path)
    assert HEAVY & warm == set()
    assert second.splitlines()[-2:] == first.splitlines()[-2:]


def test_the_command_freezes_what_it_holds_as_it_exits(monkeypatch: pytest.MonkeyPatch) -> None:
    """``gateway`` (the installed command, and ``python -m gateway.cli``) keeps Python's search
    for reference cycles off what it loaded before the command, and off all that is left at
    exit, which an exit handler freezes."""
    registered: list[object] = []
    monkeypatch.setattr(atexit, "register", registered.append)
    monkeypatch.setattr(sys, "argv", ["gateway", "--help"])
    try:
        with pytest.raises(SystemExit) as exited:
            main()
        assert gc.get_freeze_count() > 0  # what was loaded before the command is frozen
    finally:
        gc.unfreeze()
    assert exited.value.code == 0
    assert registered == [gc.freeze]
