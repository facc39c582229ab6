"""Run every benchmark in turn: ``python -m bench [NAME ...]``.

Each prints its ratios against a baseline measured in the same run and
rewrites its own section of docs/benchmarks.md. The large ones generate a
1M-member platform: expect tens of minutes on two cores.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    "vet",
    "cli",
    "run_repeat",
    "sandbox",
    "source_generate",
    "extract_build",
    "dp_query",
    "accuracy",
    "analyses",
    "service_queue",
)


def main(names: list[str]) -> int:
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names or BENCHMARKS:
        print(f"== {name}", flush=True)
        subprocess.run([sys.executable, "-m", f"bench.{name}"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
