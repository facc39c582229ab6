"""Synthetic source generation time at 100k and 1M members, against a plain copy.

Run: ``python bench/source_generate.py [--members 100000 1000000] [--no-write]``.
Each size runs in a fresh process and measures, in the same run:

* generate   ``gateway.source.generate.generate`` (draw, build, write, rename)
* copy       DuckDB copying the finished database into a new file (the baseline:
             what writing these rows costs with nothing to draw)

and prints seconds, rows per second, CPU seconds, peak memory, and the
ratio generate / copy. The section ``## Source generation`` of
``docs/benchmarks.md`` is replaced with the results unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from bench.report import DOC, machine, write_section
from gateway.source.generate import generate

GOAL_SECONDS = {1_000_000: 60.0}
AS_OF = dt.date(2025, 6, 30)
SEED = 1
STEADY = (
    "the ratios against the copy baseline, measured in the same process right after, vary less."
)
HEADING = "## Source generation"


def measure(members: int) -> dict[str, float]:
    """Generate ``members`` into a temporary folder and copy the result (one process)."""
    with tempfile.TemporaryDirectory(prefix="bench-source-") as folder:
        wall, cpu = time.perf_counter(), time.process_time()
        summary = generate(members, SEED, Path(folder) / "src.duckdb", as_of=AS_OF)
        generate_s, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
        size = summary.path.stat().st_size
        copy_start = time.perf_counter()
        with duckdb.connect() as connection:
            connection.execute(f"ATTACH '{summary.path}' AS src (READ_ONLY)")
            connection.execute(f"ATTACH '{Path(folder) / 'copy.duckdb'}' AS dst")
            connection.execute("COPY FROM DATABASE src TO dst")
            connection.execute("DETACH dst")
        copy_s = time.perf_counter() - copy_start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "members": members,
        "tips": summary.row_counts["tips"],
        "rows": sum(summary.row_counts.values()),
        "generate_s": generate_s,
        "cpu_s": cpu_s,
        "copy_s": copy_s,
        "size_mb": size / 2**20,
        "peak_mb": peak_mb,
    }


def in_fresh_process(members: int) -> dict[str, float]:
    """``measure`` in a child process, so peak memory and caches are per size."""
    child = subprocess.run(
        [sys.executable, __file__, "--one", str(members)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(child.stdout)
    return result


def table(results: list[dict[str, float]]) -> list[str]:
    lines = [
        "| members | tips | rows | generate s | rows/s | CPU s | copy s | generate / copy "
        "| file MB | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['members']:,.0f} | {r['tips']:,.0f} | {r['rows']:,.0f} "
            f"| {r['generate_s']:.1f} | {r['rows'] / r['generate_s']:,.0f} | {r['cpu_s']:.1f} "
            f"| {r['copy_s']:.1f} | {r['generate_s'] / r['copy_s']:.1f} "
            f"| {r['size_mb']:,.0f} | {r['peak_mb']:,.0f} |"
        )
    return lines


def scaling(results: list[dict[str, float]]) -> str:
    small, large = results[0], results[-1]
    per_member = (large["generate_s"] / large["members"]) / (small["generate_s"] / small["members"])
    return (
        f"Time per member at {large['members']:,.0f} relative to {small['members']:,.0f}: "
        f"{per_member:.2f} (1.0 = linear)."
    )


def section(results: list[dict[str, float]], note: str) -> str:
    goals = [
        f"Goal: {members:,} members in about {seconds:.0f} s on 2 cores — "
        f"measured {r['generate_s']:.1f} s."
        for members, seconds in GOAL_SECONDS.items()
        for r in results
        if r["members"] == members
    ]
    body = [
        HEADING,
        "",
        "`python bench/source_generate.py`: `gateway source generate` (seed "
        f"{SEED}, as-of {AS_OF}) against DuckDB copying the finished database into a new "
        "file (`COPY FROM DATABASE`), each size in a fresh process.",
        "",
        *table(results),
        "",
        scaling(results),
        *goals,
        "",
        note,
        "",
    ]
    return "\n".join(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return

    load_before = os.getloadavg()
    results = [in_fresh_process(members) for members in sorted(args.members)]
    text = section(results, machine(load_before, os.getloadavg(), STEADY))
    print(text)
    if not args.no_write:
        write_section(HEADING, text)


if __name__ == "__main__":
    main()
