"""The command line as a whole: its help starts without the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

HEAVY = {"polars", "opendp", "fastapi", "sqlalchemy", "duckdb", "numpy", "pyarrow", "uvicorn"}


def test_help_imports_nothing_heavy() -> None:
    """`gateway --help` loads every command group's module, and none of their libraries."""
    probe = (
        "import sys\n"
        "from gateway.cli import app\n"
        "try:\n"
        "    app(['--help'])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert "Commands" in shown
    loaded = set(shown.splitlines()[-1].split())
    assert HEAVY & loaded == set()
