"""Sandbox start-to-result overhead for a trivial job, against the same job in-process.

Run: ``python bench/sandbox.py [--repeat N]``. For each isolating backend it
measures, in the same run:

* in-process   ``inside.perform`` on the job's JSON spec, imports warm (the baseline)
* bare python  the same entry point as a plain child process, no isolation
* cold         prepare + execute + finalize + cleanup, started when the job arrives
* prepared     execute + finalize + cleanup after ``prepare`` ran ahead of time
               (the child had loaded its runtime and was waiting for the job)
* kept warm    all four steps with ``keep_warm``: each job adopts the spare
               started during the previous one (jobs ``--gap`` seconds apart)

and prints medians, the overhead over in-process in ms, and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from gateway.sandbox import AnalysisJob, BubblewrapSandbox, UnshareSandbox, run
from gateway.sandbox.inside import perform
from gateway.sandbox.jobs import make_spec
from gateway.sandbox.process import HOST_ENV, ProcessSandbox, inside_argv

GOAL_MS = 50.0
CODE = (
    "from gateway.analyses import Analysis, count, table\n"
    "analysis = Analysis('b').add('n', table('tips').agg(count()))"
)


def median_ms(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def spec_bytes(job: AnalysisJob) -> bytes:
    return make_spec(job, 0, 1).model_dump_json().encode()


def in_process(repeat: int) -> float:
    job = AnalysisJob(code=CODE)
    perform(spec_bytes(job))  # warm
    return median_ms(lambda: perform(spec_bytes(job)), repeat)


def bare_python(repeat: int) -> float:
    argv = inside_argv(Path(sys.executable), "analysis")
    data = spec_bytes(AnalysisJob(code=CODE))
    return median_ms(
        lambda: subprocess.run(argv, input=data, env=HOST_ENV, capture_output=True, check=True),
        repeat,
    )


def cold(sandbox: ProcessSandbox, repeat: int) -> float:
    def once() -> None:
        job = AnalysisJob(code=CODE)
        sandbox.prepare(job)
        sandbox.execute(job)
        assert sandbox.finalize(job).model_dump()["plan"] == {"answer": 42}
        sandbox.cleanup(job)

    return median_ms(once, repeat)


def prepared(sandbox: ProcessSandbox, repeat: int, lead_seconds: float) -> float:
    times = []
    for _ in range(repeat):
        job = AnalysisJob(code=CODE)
        sandbox.prepare(job)
        time.sleep(lead_seconds)  # e.g. while the pipeline vets and books the budget
        start = time.perf_counter()
        sandbox.execute(job)
        sandbox.finalize(job)
        sandbox.cleanup(job)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def kept_warm(backend: type[ProcessSandbox], repeat: int, gap: float) -> float:
    sandbox = backend(keep_warm=True)
    sandbox.prewarm("analysis")
    times = []
    try:
        for _ in range(repeat):
            time.sleep(gap)  # the time between two jobs of a worker
            start = time.perf_counter()
            run(sandbox, AnalysisJob(code=CODE))
            times.append((time.perf_counter() - start) * 1000)
    finally:
        sandbox.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--lead", type=float, default=1.0, help="seconds prepared ahead")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between kept-warm jobs")
    args = parser.parse_args()

    base = in_process(args.repeat * 20)
    bare = bare_python(args.repeat)
    print(f"trivial analysis job, median of {args.repeat} runs (in-process of {args.repeat * 20})")
    print(f"{'mode':<22}{'ms':>10}{'overhead ms':>14}{'ratio':>10}")
    print(f"{'in-process':<22}{base:>10.2f}{0:>14.1f}{1:>10.1f}")
    print(f"{'bare python child':<22}{bare:>10.1f}{bare - base:>14.1f}{bare / base:>10.0f}")
    for backend in (BubblewrapSandbox, UnshareSandbox):
        sandbox = backend()
        cold(sandbox, 2)  # warm the page cache and the filter
        for mode, ms in (
            ("cold", cold(sandbox, args.repeat)),
            ("prepared", prepared(sandbox, args.repeat, args.lead)),
            ("kept warm", kept_warm(backend, args.repeat, args.gap)),
        ):
            name = f"{backend.name} {mode}"
            met = "meets" if ms - base <= GOAL_MS else "misses"
            print(f"{name:<22}{ms:>10.1f}{ms - base:>14.1f}{ms / base:>10.0f}  {met} goal")
    print(f"goal: overhead <= {GOAL_MS:.0f} ms over in-process")


if __name__ == "__main__":
    main()
