"""Hostile analysis files in the real sandbox: contained, reported, nothing released.

The SDK's guards (import allow-list, no ``open``) give clear messages but are
not the boundary; the last test walks around them on purpose and shows that
the sandbox still holds, and that there is no data to read while a plan is
built.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.errors import AnalysisError, SandboxError
from gateway.pipeline import collect, run_analysis
from gateway.policy import Policy
from gateway.sandbox import Limits, Sandbox, make_sandbox

LIMITS = Limits(wall_seconds=120, cpu_seconds=4, address_space_bytes=4 * 1024**3)
"""Wall time to spare for a loaded machine; the CPU limit stops the endless loop."""


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """The first isolating backend that works here; never the insecure one."""
    chosen = make_sandbox(Settings(insecure_no_sandbox=False), LIMITS)
    assert chosen.isolated
    return chosen


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "state")


@pytest.mark.parametrize(
    ("code", "error", "code_"),
    [
        ("while True:\n    pass", SandboxError, "cpu_limit"),
        (
            "import socket\nsocket.create_connection(('1.1.1.1', 80))",
            AnalysisError,
            "analysis_forbidden",
        ),
        ("hog = bytearray(8 * 1024**3)", SandboxError, "memory_limit"),
        ("print('spam ' * 1_000_000)", AnalysisError, "analysis_output_too_large"),
        ("analysis = [1, 2, 3]", AnalysisError, "analysis_not_a_plan"),
    ],
    ids=["endless loop", "socket", "memory bomb", "huge output", "not a plan"],
)
def test_hostile_files_are_refused_and_release_nothing(
    sandbox: Sandbox,
    dummy_extract: Path,
    policy: Policy,
    settings: Settings,
    code: str,
    error: type[Exception],
    code_: str,
) -> None:
    with pytest.raises(error) as err:
        run_analysis(code, dummy_extract, policy, 1.0, settings, sandbox=sandbox)
    assert err.value.code == code_  # type: ignore[attr-defined]
    assert err.value.hint  # type: ignore[attr-defined]


ESCAPE = """
from gateway.analyses import Analysis, col, collect, count, table

real_import = collect.builtins.__import__  # walks around the SDK's import guard
os, socket, duckdb = (real_import(m) for m in ("os", "socket", "duckdb"))


def attempt(action):
    try:
        return "ok: " + repr(action())[:200]
    except BaseException as err:
        return f"blocked: {type(err).__name__}"


def branch_on_data():
    return "high" if col("helpful_votes") > 10 else "low"


tried = {
    "network": attempt(lambda: socket.create_connection(("1.1.1.1", 53), timeout=1)),
    "key file": attempt(lambda: collect.builtins.open(KEY_FILE).read()),
    "extract file": attempt(lambda: os.stat(EXTRACT)),
    "extract rows": attempt(
        lambda: duckdb.connect(EXTRACT, read_only=True).sql("SELECT count(*) FROM tips").fetchall()
    ),
    "branch on data": attempt(branch_on_data),
    "shadow": attempt(lambda: collect.builtins.open("/etc/shadow").read()),
    "metadata db": attempt(lambda: collect.builtins.open(METADATA_DB, "rb").read()),
}
analysis = Analysis("escape", description=repr(tried))
analysis.add("n", table("tips").agg(count()))
"""


def test_walking_around_the_guards_finds_nothing_to_read(
    sandbox: Sandbox, dummy_extract: Path, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys" / "project.key"
    key_file.parent.mkdir(mode=0o700)
    key_file.write_text("0" * 64)
    metadata_db = tmp_path / "state" / "gateway.sqlite"
    metadata_db.parent.mkdir()
    metadata_db.write_bytes(b"SQLite format 3\0")
    code = (
        f"KEY_FILE = {str(key_file)!r}\nEXTRACT = {str(dummy_extract)!r}\n"
        f"METADATA_DB = {str(metadata_db)!r}\n" + ESCAPE
    )
    plan = collect(code, "escape.py", sandbox).plan
    tried = ast.literal_eval(plan.description)
    assert len(tried) == 7
    assert all(outcome.startswith("blocked: ") for outcome in tried.values()), tried
    assert tried["branch on data"] == "blocked: TypeError"
