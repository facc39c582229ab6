"""The command line as a whole: its help starts without the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

HEAVY = {"polars", "opendp", "fastapi", "sqlalchemy", "duckdb", "numpy", "pyarrow", "uvicorn"}


def imported_by(*args: str) -> set[str]:
    """The top-level packages ``python -m gateway.cli ARGS`` imports, from ``-X importtime``."""
    command = [sys.executable, "-X", "importtime", "-m", "gateway.cli", *args]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    assert finished.returncode == 0, finished.stderr[-2000:]
    return {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in finished.stderr.splitlines()
        if line.startswith("import time:")
    }


def test_help_imports_nothing_heavy() -> None:
    """`gateway --help` loads every command group's module, and none of their libraries."""
    imported = imported_by("--help")
    assert "gateway" in imported
    assert HEAVY & imported == set()
