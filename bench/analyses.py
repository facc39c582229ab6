"""Analyses: what building a plan without data costs, and how fast dummy extracts are made.

Run from the repository root: ``python -m bench.analyses``. In one run it
measures, as medians:

* collecting each example's plan in-process (``collect``: the file run
  under the SDK's guards) against the same in a cold sandbox job, the way
  ``gateway analysis run`` does it;
* vetting each example's plan (``vet_analysis``: budget, the plan checker,
  the SQL rendered for display and the DP engine's shape check) against
  ``vet()`` of the same SQL texts alone;
* writing dummy extracts of 20 000 and 100 000 members.

Results go to docs/benchmarks.md, section "Analyses".
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gateway import pipeline
from gateway.analyses.collect import collect
from gateway.analyses.render import to_sql
from gateway.analyses.vetting import vet_analysis
from gateway.config import Settings
from gateway.extract.dummy import build_dummy
from gateway.policy import load_policy
from gateway.sandbox import make_sandbox
from gateway.vet import vet

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "analyses").glob("*.py"))
POLICY = load_policy(ROOT / "policies" / "health_thing.yaml")


def median_ms(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    sources = {path.name: path.read_text() for path in EXAMPLES}
    sandbox = make_sandbox(Settings(insecure_no_sandbox=False))
    plans = {name: collect(code, name).plan for name, code in sources.items()}
    texts = [to_sql(q.plan) for plan in plans.values() for q in plan.queries if q.plan]
    vet_analysis(next(iter(plans.values())), POLICY, 1.0)  # warm the engine's imports

    rows = [
        (
            "collect a plan in-process",
            median_ms(lambda: [collect(c, n) for n, c in sources.items()], 20) / len(sources),
        ),
        (
            "collect a plan in a cold sandbox job",
            median_ms(lambda: [pipeline.collect(c, n, sandbox) for n, c in sources.items()], 3)
            / len(sources),
        ),
        (
            "vet_analysis per example",
            median_ms(lambda: [vet_analysis(p, POLICY, 1.0) for p in plans.values()], 20)
            / len(plans),
        ),
        (
            "vet() of the same SQL per example",
            median_ms(lambda: [vet(t, POLICY) for t in texts], 20) / len(plans),
        ),
    ]
    with tempfile.TemporaryDirectory() as scratch:
        for members in (20_000, 100_000):
            out = Path(scratch) / f"dummy-{members}.duckdb"
            start = time.perf_counter()
            manifest = build_dummy(POLICY, out, members=members, as_of=dt.date(2025, 6, 15))
            seconds = time.perf_counter() - start
            total = sum(manifest.row_counts.values())
            rows.append((f"dummy extract, {members:,} members ({total:,} rows)", seconds * 1000))
    width = max(len(label) for label, _ in rows)
    for label, ms in rows:
        print(f"{label:<{width}}  {ms:10.1f} ms")
    print(f"sandbox / in-process collect: {rows[1][1] / rows[0][1]:.0f}x")
    print(f"vet_analysis / vet() alone:   {rows[2][1] / rows[3][1]:.1f}x")


if __name__ == "__main__":
    main()
