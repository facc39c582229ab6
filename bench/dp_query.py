"""A DP count and average by theme and month, against the same raw DuckDB query.

Run: ``python bench/dp_query.py [--members 1000000] [--data DIR] [--no-write]``.
Builds a synthetic source of ``--members`` members and a mission extract of it
(or reuses them in ``--data``), then measures, each in a fresh process on the
extract opened as the engine opens it (``open_extract``: encrypted,
read-only, locked down, 1 GB DuckDB memory limit, 2 threads):

* raw   the query in plain DuckDB, no privacy (5 runs); and, as the floor
        of any per-member bound, DuckDB grouping the tips by member and cell
* dp    ``gateway.dp.execute`` of the vetted plan of the same SQL: the first
        run of the shape in the process (with calibration) and 5 more; the
        same query 5 times with the bounds fixed as the policy fixed them
        before they were chosen per query (the baseline of that choice); one
        with the calibration's tuning given, as if in a new process; then
        one more run split into DuckDB's per-member reduction (to a Parquet
        file) and OpenDP's release
* jobs  the query as ``gateway run`` answers it (vetting, then a job in the
        sandbox): the first of its shape, then three given the kept tuning

and prints seconds, the ratio dp / raw and each process's peak RSS. The
section ``## DP query`` of ``docs/benchmarks.md`` is replaced with the results
unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import DOC, machine, write_section

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "health_thing.yaml"
STEADY = "the ratio, measured in the same invocation, varies less."
HEADING = "## DP query"
SQL = (
    "SELECT theme, created_month, COUNT(*) AS tips, AVG(helpful_votes) AS votes "
    "FROM tips GROUP BY theme, created_month"
)
MEMBER_CELLS = (
    "SELECT count(*) FROM (SELECT member_pid, theme, created_month FROM tips GROUP BY ALL)"
)
"""The least any member-level bound must do: find each member's cells (nothing is output)."""
EPSILON = 1.0
GOAL_RATIO = 1.5
GOAL_PEAK_MB = 1024
FIXED_ROWS, FIXED_CELLS, FIXED_CLAMP = 20, 24, (0.0, 50.0)
"""The bounds the policy fixed before they were chosen per query (issue 19's baseline)."""
GOAL_CHOSEN = 1.5
"""Choosing bounds, and estimating what they cut, may make the query this much slower."""
AS_OF = dt.date(2025, 6, 30)


def build(members: int, data: Path) -> None:
    """Source and extract with the gateway's own commands, unless already there."""
    env = {**os.environ, "GATEWAY_DATA_DIR": str(data / "state")}
    source, extract = str(data / "src.duckdb"), str(data / "e.duckdb")
    gateway = [sys.executable, "-m", "gateway.cli"]
    generate = ["source", "generate", "--members", str(members), "--seed", "1", "--out", source]
    extract_build = ["extract", "build", "--source", source, "--policy", str(POLICY)]
    if not (data / "src.duckdb").exists():
        subprocess.run([*gateway, *generate, "--as-of", AS_OF.isoformat()], check=True, env=env)
    if not (data / "e.duckdb").exists():
        subprocess.run(
            [*gateway, *extract_build, "--project", "bench", "--out", extract], check=True, env=env
        )


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_raw(data: Path) -> dict[str, Any]:
    from gateway.config import Settings
    from gateway.extract.reader import open_extract

    connection, _ = open_extract(data / "e.duckdb", Settings(data_dir=data / "state"))
    raw_sql = (
        "SELECT theme, created_month, COUNT(*), AVG(helpful_votes) "
        "FROM tips GROUP BY theme, created_month"
    )
    runs = [_timed(lambda: connection.execute(raw_sql).fetchall()) for _ in range(5)]
    groups = len(connection.execute(raw_sql).fetchall())
    peak = _peak_mb()
    pairs = connection.execute(MEMBER_CELLS).fetchall()
    floor = [_timed(lambda: connection.execute(MEMBER_CELLS).fetchall()) for _ in range(3)]
    return {
        "raw_s": statistics.median(runs),
        "raw_min_s": min(runs),
        "groups": groups,
        "peak_mb": peak,
        "member_cells": pairs[0][0],
        "member_cells_s": statistics.median(floor),
    }


def measure_dp(data: Path) -> dict[str, Any]:
    import polars as pl

    from gateway.config import Settings
    from gateway.dp import execute, mechanism
    from gateway.dp.frame import load_frame
    from gateway.dp.mechanism import calibrate, release
    from gateway.dp.shape import shape_of
    from gateway.extract.reader import open_extract
    from gateway.plan import Contributions
    from gateway.policy import load_policy
    from gateway.vet import vet
    from gateway.vet.bounds import fix_bounds

    policy = load_policy(POLICY)
    plan = vet(SQL, policy)
    connection, manifest = open_extract(data / "e.duckdb", Settings(data_dir=data / "state"))

    shape = shape_of(plan, policy, epsilon=EPSILON)

    def run(tuning: Any = None) -> Any:
        return execute(
            plan,
            policy,
            connection,
            shape=shape,
            epsilon=EPSILON,
            extract_hash=manifest.content_hash,
            tuning=tuning,
        )

    cold = _timed(run)
    warm = [_timed(run) for _ in range(5)]
    # the same query with the bounds the policy fixed before they were chosen per query
    fixed_plan = fix_bounds(
        plan,
        policy,
        contributions=Contributions(rows_per_group=FIXED_ROWS, groups=FIXED_CELLS),
        clamps={"helpful_votes": FIXED_CLAMP},
    )
    fixed_shape = shape_of(fixed_plan, policy, epsilon=EPSILON)

    def run_fixed() -> Any:
        return execute(
            fixed_plan,
            policy,
            connection,
            shape=fixed_shape,
            epsilon=EPSILON,
            extract_hash=manifest.content_hash,
        )

    run_fixed()  # calibrates its shape
    fixed = [_timed(run_fixed) for _ in range(5)]
    calibration = calibrate(shape, policy.release.confidence)
    for cache in (calibrate, mechanism._rho):  # as in a new process that is given the tuning
        cache.cache_clear()
    kept = _timed(lambda: run(calibration.tuning))
    peak = _peak_mb()
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        frame = load_frame(plan, policy, shape, connection, Path(directory))
        reduced = time.perf_counter()
        released = release(calibration, frame.data)
        done = time.perf_counter()
        rows = frame.data.select(pl.len()).collect().item()
    return {
        "cold_s": cold,
        "warm_s": statistics.median(warm),
        "warm_min_s": min(warm),
        "fixed_s": statistics.median(fixed),
        "kept_s": kept,
        "reduce_s": reduced - start,
        "release_s": done - reduced,
        "frame_rows": rows,
        "released_groups": released.height,
        "noise": calibration.noise.value,
        "peak_mb": peak,
    }


def measure_jobs(data: Path) -> dict[str, Any]:
    """The same query as ``gateway run`` answers it: vetted, then a job in the sandbox.

    Each query is new (a filter every row passes, with a fresh bound), so none
    is answered from the release store. The tuning store is emptied first:
    the first job searches, the next ones are given what it found.
    """
    from sqlalchemy import delete

    from gateway.config import Settings
    from gateway.db import connection
    from gateway.pipeline import run_query
    from gateway.policy import load_policy
    from gateway.release_store import TUNINGS

    policy = load_policy(POLICY)
    settings = Settings(data_dir=data / "state")
    with connection(settings) as c:
        c.execute(delete(TUNINGS))
    bound = secrets.randbelow(10**9) + 1

    def job(i: int) -> float:
        sql = SQL.replace("FROM tips", f"FROM tips WHERE helpful_votes > -{bound + i}")
        return _timed(lambda: run_query(sql, data / "e.duckdb", policy, EPSILON, settings))

    first = job(0)
    kept = [job(i) for i in range(1, 4)]
    return {"first_s": first, "kept_s": statistics.median(kept)}


def in_fresh_process(kind: str, data: Path) -> dict[str, Any]:
    """``kind`` measured in a new process, with the allocator settings of a sandboxed job."""
    from gateway.sandbox.process import ALLOCATOR_ENV

    child = subprocess.run(
        [sys.executable, __file__, "--one", kind, "--data", str(data)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **ALLOCATOR_ENV},
    )
    result: dict[str, Any] = json.loads(child.stdout.splitlines()[-1])
    return result


def section(
    members: int,
    tips: int,
    raw: dict[str, Any],
    dp: dict[str, Any],
    jobs: dict[str, Any],
    note: str,
) -> str:
    from gateway.dp.frame import PART_ROWS

    ratio = dp["warm_s"] / raw["raw_s"]
    chosen = dp["warm_s"] / dp["fixed_s"]
    best = dp["warm_min_s"] / raw["raw_min_s"]
    lines = [
        HEADING,
        "",
        f"`python bench/dp_query.py`: `{SQL}` at ε = {EPSILON:g} over an extract of "
        f"{members:,} members and {tips:,} tips (`gateway source generate --seed 1`, "
        "`gateway extract build`), opened as the engine opens it (encrypted, read-only, "
        "1 GB DuckDB memory limit, 2 threads). Raw and DP run in separate fresh processes "
        "of the same invocation.",
        "",
        "| measure | median s | fastest s | peak RSS MB |",
        "|---|---:|---:|---:|",
        f"| raw DuckDB query ({raw['groups']} groups), 5 runs | {raw['raw_s']:.2f} "
        f"| {raw['raw_min_s']:.2f} | {raw['peak_mb']:,.0f} |",
        f"| DP query, first of its shape (calibrates) | {dp['cold_s']:.2f} | | |",
        f"| DP query, warm, 5 runs | {dp['warm_s']:.2f} | {dp['warm_min_s']:.2f} | |",
        f"| ... the same with the bounds fixed as the policy fixed them before issue 19 "
        f"({FIXED_ROWS} rows × {FIXED_CELLS} cells, votes in [0, 50]), warm, 5 runs "
        f"| {dp['fixed_s']:.2f} | | |",
        f"| DP query, first of its shape given the kept tuning (no search; peak RSS "
        f"after these seven) | {dp['kept_s']:.2f} | | {dp['peak_mb']:,.0f} |",
        f"| one more: DuckDB's per-member reduction to Parquet ({dp['frame_rows']:,} rows) "
        f"| {dp['reduce_s']:.2f} | | |",
        f"| ... then OpenDP's release from the Parquet file | {dp['release_s']:.2f} | | |",
        f"| floor: DuckDB grouping tips by member and cell, no output "
        f"({raw['member_cells']:,} pairs) | {raw['member_cells_s']:.2f} | | |",
        f"| as `gateway run` answers it (vetting, sandbox job), first of its shape "
        f"| {jobs['first_s']:.2f} | | |",
        f"| ... later queries of the shape, given the kept tuning, 3 runs "
        f"| {jobs['kept_s']:.2f} | | |",
        "",
        f"Ratio DP (warm) / raw: **{ratio:.1f}** by medians, {best:.1f} by the fastest runs "
        f"(goal ≤ {GOAL_RATIO}); peak RSS of the DP "
        f"process: **{dp['peak_mb']:,.0f} MB** (goal ≤ {GOAL_PEAK_MB}). Noise chosen: "
        f"{dp['noise']}; {dp['released_groups']} groups released.",
        "",
        "Where the time goes. The raw query aggregates straight into a few hundred "
        "groups. A DP query cannot: to bound what one member contributes it must first "
        "find each member's cells, which here is close to one group per tip; that step "
        f"alone, with nothing output, costs {raw['member_cells_s'] / raw['raw_s']:.0f}× "
        "the raw query (the floor row), so no member-level mechanism meets 1.5× on this "
        "data. DuckDB does that grouping once per query, into a temporary table of one "
        "row per member and cell, and from it a second of one row per member; from that "
        "OpenDP chooses the bounds (a few small releases, read from a Parquet file: an "
        "in-memory frame would be copied into OpenDP's own Polars for each), DuckDB keeps "
        "a random G of each member's cells (a window over the rows of the members with "
        f"more than G cells only, in passes of at most {PART_ROWS:,} rows so that its "
        "memory stays bounded; the others keep every cell) and writes the bounded rows to "
        "a private Parquet file, which OpenDP reads, aggregates per cell and adds noise "
        "to, with the bounds as its privacy unit; the cut estimates then read only the "
        "rows that can be cut. The noise scale is calibrated once per query shape and "
        "reused, so the warm run does no search; a new process (each sandbox job is one) "
        "is given the tuning the search found, kept by the trusted side, and only "
        "rebuilds that one measurement; what earlier jobs searched for the shapes of the "
        "bounds they chose is kept and given too. A `gateway run` adds a sandbox process: "
        "its start, the import of OpenDP and Polars, and rebuilding the measurements it "
        "was given (a search only for bounds no job chose before).",
        "",
        f"Goal (issue 19): choosing the bounds per query (and estimating what they cut) "
        f"makes the warm DP query at most {GOAL_CHOSEN}× slower than with the bounds fixed "
        f"as before, measured in the same run: {chosen:.2f}× — "
        f"{'met' if chosen <= GOAL_CHOSEN else 'MISSED'}. (Before this benchmark measured "
        "both, the query with fixed bounds took 3.3–3.8 s on this machine.)",
        "",
        note,
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, help="keep source and extract here, to reuse")
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    parser.add_argument("--one", choices=list(MEASURES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(MEASURES[args.one](args.data)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-dp-") as scratch:
        data = args.data or Path(scratch)
        data.mkdir(parents=True, exist_ok=True)
        build(args.members, data)
        load_before = os.getloadavg()
        raw = in_fresh_process("raw", data)
        dp = in_fresh_process("dp", data)
        jobs = in_fresh_process("jobs", data)
        manifest = json.loads((data / "e.duckdb.manifest.json").read_text())
    tips = manifest["row_counts"]["tips"]
    note = machine(load_before, os.getloadavg(), STEADY)
    text = section(args.members, tips, raw, dp, jobs, note)
    print(text)
    if not args.no_write:
        write_section(HEADING, text)


MEASURES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "raw": measure_raw,
    "dp": measure_dp,
    "jobs": measure_jobs,
}


if __name__ == "__main__":
    main()
