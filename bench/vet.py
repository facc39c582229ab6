"""Vetting speed: ``vet()`` over the accepted corpus against sqlglot's parse alone.

Run from the repository root: ``python -m bench.vet``. Prints the median
time per query of both, measured in the same run, and their ratio; then the
process CPU time of a whole ``gateway vet --sql ...`` against a bare Python
start and against importing the command line alone, with the package's
bytecode compiled first, as an installed package has it. Results go to
docs/benchmarks.md, section "Vetting".
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import sqlglot

from bench.report import compile_gateway
from gateway.policy import load_policy
from gateway.vet import vet
from tests.vet.factories import POLICY_PATH, load_corpus

REPEATS = 50
STARTS = 7
GOAL_MS = 5.0


def per_query_ms(run: Callable[[str], object], queries: list[str]) -> list[float]:
    """The median of REPEATS timings of ``run`` for each query, in milliseconds."""
    medians = []
    for sql in queries:
        run(sql)
        timings = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            run(sql)
            timings.append(time.perf_counter() - start)
        medians.append(statistics.median(timings) * 1000)
    return medians


def process_cpu_s(
    command: list[str], starts: int = STARTS, env: Mapping[str, str] | None = None
) -> float:
    """Median user+system CPU seconds of a child process, over ``starts`` runs."""
    spent = []
    for _ in range(starts):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, check=False, capture_output=True, env=env)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(spent)


def main() -> None:
    policy = load_policy(POLICY_PATH)
    queries = [case.sql for case in load_corpus("accepted.sql")]
    vetting = per_query_ms(lambda sql: vet(sql, policy), queries)
    parsing = per_query_ms(lambda sql: sqlglot.parse(sql, dialect="duckdb"), queries)
    median_vet, median_parse = statistics.median(vetting), statistics.median(parsing)
    print(f"accepted corpus: {len(queries)} queries, median of {REPEATS} runs each")
    print(f"vet()            median {median_vet:.3f} ms  max {max(vetting):.3f} ms")
    print(f"sqlglot.parse()  median {median_parse:.3f} ms  max {max(parsing):.3f} ms")
    print(f"ratio vet/parse  {median_vet / median_parse:.2f}")
    verdict = "met" if median_vet <= GOAL_MS else "MISSED"
    print(f"goal             median <= {GOAL_MS} ms: {verdict}")

    compile_gateway()
    gateway = str(Path(sys.executable).with_name("gateway"))
    sql = "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme ORDER BY n DESC"
    command = [gateway, "vet", "--policy", str(POLICY_PATH), "--sql", sql]
    cli = process_cpu_s(command)
    bare = process_cpu_s([sys.executable, "-c", "pass"])
    entry = process_cpu_s([sys.executable, "-c", "import gateway.cli"])
    print(f"gateway vet --sql:        {cli:.3f} s CPU per process (median of {STARTS})")
    print(f"python -c pass:           {bare:.3f} s CPU")
    print(f"import gateway.cli:       {entry:.3f} s CPU; vet adds {cli - entry:.3f} s")


if __name__ == "__main__":
    main()
