"""Command-line start-up: ``gateway --help`` and ``gateway vet`` with its accuracy preview.

Run from the repository root: ``python -m bench.cli``. Measures the process
CPU time (user + system, median of several starts) of ``gateway --help``,
of ``gateway vet`` without the preview, and of ``gateway vet`` with every
bound fixed, so that it predicts accuracy: cold (a fresh data directory, so
the shape is calibrated with OpenDP) and warm (the shape kept from a run
before). Each is given as a ratio to ``python -c pass`` measured in the same
run. The package's bytecode is compiled first, as an installed package has
it. Results go to docs/benchmarks.md, section "Command line".
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from functools import partial
from pathlib import Path

from bench.report import compile_gateway, cpu_table, start_up_main
from bench.vet import STARTS, process_cpu_s
from tests.vet.factories import POLICY_PATH

HEADING = "## Command line"
GOAL_S = 0.5
SQL = "SELECT theme, COUNT(*) AS n, AVG(helpful_votes) AS votes FROM tips GROUP BY theme"
FIXED = ("--rows-per-group", "5", "--groups", "3", "--clamp", "helpful_votes=0:20")
COLD = "gateway vet, cold (first of its shape)"
WARM = "gateway vet, warm (shape seen)"
STEADY = "the ratios to a bare Python start, measured in the same run, vary less."


def measure(starts: int = STARTS) -> dict[str, float]:
    """Median CPU seconds per process of each command, ``python -c pass`` first."""
    compile_gateway()
    gateway = str(Path(sys.executable).with_name("gateway"))
    vet = [gateway, "vet", "--policy", str(POLICY_PATH), "--sql", SQL]
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as scratch:
        cold = []
        for start in range(starts):
            fresh = {**os.environ, "GATEWAY_DATA_DIR": str(Path(scratch) / f"cold{start}")}
            cold.append(process_cpu_s([*vet, *FIXED], starts=1, env=fresh))
        kept = {**os.environ, "GATEWAY_DATA_DIR": str(Path(scratch) / "cold0")}
        return {
            "python -c pass": process_cpu_s([sys.executable, "-c", "pass"], starts),
            "gateway --help": process_cpu_s([gateway, "--help"], starts),
            "gateway vet --no-accuracy": process_cpu_s([*vet, "--no-accuracy"], starts),
            COLD: statistics.median(cold),
            WARM: process_cpu_s([*vet, *FIXED], starts, kept),
        }


def section(spent: dict[str, float], starts: int, note: str) -> str:
    """The doc's section: the commands, a table of CPU seconds and ratios, the verdict."""
    warm = spent[WARM]
    verdict = "met" if warm <= GOAL_S and spent["gateway --help"] <= GOAL_S else "MISSED"
    return "\n".join(
        [
            HEADING,
            "",
            f"`python -m bench.cli`: process CPU time (user + system, median of {starts} starts)"
            f" of each command, against `python -c pass` in the same run. `gateway vet` asks"
            f" `{SQL}` of policies/health_thing.yaml; with `{' '.join(FIXED)}` every bound is"
            " fixed, so it also predicts each aggregate's accuracy: cold in a fresh"
            " `GATEWAY_DATA_DIR` (OpenDP calibrates the shape), warm once the shape's"
            " prediction is kept there (`calibrations/`). The package's bytecode is compiled"
            " first, as an installed package has it.",
            "",
            *cpu_table(spent),
            "",
            f"Goal: `gateway --help` and a warm `gateway vet` within {GOAL_S} s — {verdict}"
            f" (warm vet {warm:.2f} s, {warm / spent[COLD]:.0%}"
            " of the cold one). The cold run imports OpenDP and Polars and searches for the"
            " noise scale; the warm one reads the kept prediction and imports neither, nor"
            " DuckDB: it costs what vetting costs, plus the settings.",
            "",
            note,
            "",
        ]
    )


def main() -> None:
    start_up_main(
        __doc__, HEADING, STEADY, lambda starts: partial(section, measure(starts), starts), STARTS
    )


if __name__ == "__main__":
    main()
