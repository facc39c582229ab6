"""``gateway run``'s fixed cost: a repeat answered from the release store.

Run from the repository root: ``python -m bench.run_repeat``. Builds a small
source (400 members) and a mission extract of it in a scratch directory,
answers one query with ``gateway run`` (a new release: the sandbox starts and
the engine loads OpenDP and Polars), then measures the process CPU time (user
+ system, median of several starts) of the same ``gateway run`` again, which
the release store answers, against ``python -c pass`` and ``gateway --help``
measured in the same run, and beside the import of the two libraries a
repeat cannot do without (SQLAlchemy Core for the metadata database,
pydantic-settings with pydantic for the settings, the policy and the plan).
What is left is the fixed cost of every ``gateway run``: process start,
imports, reading the kept plan, the extract's checks and one look in the
store. The package's bytecode is compiled first, as an installed package has
it, so that no start compiles the gateway's source again. Results go to
docs/benchmarks.md, section "gateway run, repeated".
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path

from bench.report import compile_gateway, cpu_table, start_up_main
from bench.vet import STARTS, process_cpu_s
from tests.vet.factories import POLICY_PATH

HEADING = "## gateway run, repeated"
GOAL_S = 0.5
SQL = "SELECT theme, COUNT(*) AS n, AVG(helpful_votes) AS votes FROM tips GROUP BY theme"
LIBRARIES = {
    "import sqlalchemy": "import sqlalchemy",
    "import pydantic_settings": "import pydantic_settings",
}
REPEAT = "gateway run, repeated (from the store)"
STEADY = "the ratios to a bare Python start, measured in the same run, vary less."


GATEWAY = str(Path(sys.executable).with_name("gateway"))


def _gateway(*args: str, env: Mapping[str, str]) -> None:
    subprocess.run([GATEWAY, *args], check=True, capture_output=True, env=env)


def measure(starts: int = STARTS) -> tuple[dict[str, float], float]:
    """Median CPU seconds per process of each command, ``python -c pass`` first, and the wall
    seconds of the first ``gateway run`` (its sandbox's CPU is not the command's own)."""
    compile_gateway()
    with tempfile.TemporaryDirectory(prefix="bench-run-") as scratch:
        root = Path(scratch)
        env = {**os.environ, "GATEWAY_DATA_DIR": str(root / "state")}
        source, extract = str(root / "source.duckdb"), str(root / "e.duckdb")
        _gateway("source", "generate", "--members", "400", "--seed", "7", "--out", source, env=env)
        build = ("extract", "build", "--source", source, "--policy", str(POLICY_PATH))
        _gateway(*build, "--project", "p1", "--purpose", "mission", "--out", extract, env=env)
        run = [
            *(GATEWAY, "run", "--extract", extract, "--policy", str(POLICY_PATH)),
            *("--sql", SQL, "--epsilon", "1.0", "--json"),
        ]
        start = time.perf_counter()
        subprocess.run(run, check=True, capture_output=True, env=env)
        first = time.perf_counter() - start
        python = [sys.executable, "-c"]
        spent = {
            "python -c pass": process_cpu_s([*python, "pass"], starts),
            "gateway --help": process_cpu_s([GATEWAY, "--help"], starts),
        }
        spent |= {name: process_cpu_s([*python, code], starts) for name, code in LIBRARIES.items()}
        return spent | {REPEAT: process_cpu_s(run, starts, env)}, first


def section(spent: dict[str, float], first: float, starts: int, note: str) -> str:
    """The doc's section: the commands, a table of CPU seconds and ratios, the verdict."""
    repeat = spent[REPEAT]
    verdict = "met" if repeat <= GOAL_S else "MISSED"
    return "\n".join(
        [
            HEADING,
            "",
            f"`python -m bench.run_repeat`: process CPU time (user + system, median of {starts}"
            f" starts) of `gateway run --sql '{SQL}' --epsilon 1.0 --json` over a mission"
            " extract of 400 members, against `python -c pass` and `gateway --help` in the same"
            " run. The first run makes a new release (it took"
            f" {first:.1f} s of wall time, with the sandbox and OpenDP); every later one is the"
            " same question, answered from the release store. The package's bytecode is"
            " compiled first, as an installed package has it.",
            "",
            *cpu_table(spent),
            "",
            f"Goal: a repeated `gateway run` within {GOAL_S} s — {verdict} ({repeat:.2f} s,"
            f" {repeat / spent['gateway --help']:.1f}× `gateway --help`). The store is asked"
            " before a sandbox starts or the engine loads OpenDP and Polars, so a repeat costs"
            " the start, the command line, its settings and policy, the extract's checks"
            " (expiry, one count in the rights ledger, the key) and one read of the store."
            " It reads the plan the vetter made of this text under this policy the first time"
            " (kept in the data directory by the text, the policy and the vetter's own source),"
            " so sqlglot is not imported; the store and the ledger are read with SQLAlchemy"
            " Core, without the ORM, Alembic or DuckDB; and Python's search for reference"
            " cycles skips what the command line loaded before the command, and all that is"
            " left at exit (`gateway.cli.main`). Most of what is left is importing SQLAlchemy,"
            " pydantic with pydantic-settings, and Typer (most of `gateway --help`); a bare"
            " `python -c 'import sqlalchemy'` pays that search as it exits too.",
            "",
            note,
            "",
        ]
    )


def main() -> None:
    start_up_main(
        __doc__, HEADING, STEADY, lambda starts: partial(section, *measure(starts), starts), STARTS
    )


if __name__ == "__main__":
    main()
