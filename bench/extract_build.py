"""Extract build time at platform scale, against a plain copy of the same data.

Run: ``python bench/extract_build.py [--members 1000000] [--seed 1] [--source SRC]
[--workdir DIR]``. It generates a source (or reuses ``--source``), then measures,
in the same run:

* baseline   the policy's source columns of the four source tables copied, as
             they are, into a plain DuckDB file: reading and writing the data
             and nothing more
* hmac       HMAC-SHA256 of every tip id alone (the pseudonym cost)
* build      ``build_extract`` for purpose ``mission``: rights, pseudonyms,
             reductions, encryption, content hash, manifest

and prints wall and CPU seconds, the build's peak memory, and the ratios to
the baseline. The goal is a build within 30 s on 2 cores at 1M members.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from gateway.config import Settings
from gateway.extract.build import build_extract
from gateway.extract.encryption import CLOSED_CONFIG
from gateway.policy import load_policy
from gateway.source.generate import generate

GOAL_S = 30.0
POLICY = Path(__file__).parents[1] / "policies" / "health_thing.yaml"


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU (all threads) seconds of ``action``."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


def baseline(source: Path, out: Path) -> None:
    con = duckdb.connect(str(out), config=dict(CLOSED_CONFIG))
    try:
        con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
        con.execute(
            "CREATE TABLE members AS SELECT account_id, birth_date, city, country, created_at "
            "FROM src.accounts"
        )
        con.execute(
            "CREATE TABLE tips AS SELECT tip_id, account_id, theme_id, body, created_at, "
            "helpful_votes FROM src.tips"
        )
        con.execute("CREATE TABLE theme_follows AS SELECT * FROM src.theme_follows")
        con.execute(
            "CREATE TABLE support_requests AS SELECT account_id, category, created_at, closed_at "
            "FROM src.support_requests"
        )
    finally:
        con.close()


def hmac_only(source: Path) -> None:
    key = os.urandom(32).ljust(64, b"\0")
    ipad, opad = bytes(b ^ 0x36 for b in key).hex(), bytes(b ^ 0x5C for b in key).hex()
    con = duckdb.connect(config=dict(CLOSED_CONFIG))
    try:
        con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
        con.execute(
            f"SELECT max(sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || "
            "encode('tip:' || CAST(tip_id AS VARCHAR)))))) FROM src.tips"
        ).fetchall()
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--source", type=Path, help="reuse this source instead of generating")
    parser.add_argument("--workdir", type=Path, help="where to write (default: a temp dir)")
    args = parser.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="extract-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    source = args.source
    if source is None:
        source = work / "source.duckdb"
        started = time.perf_counter()
        generate(args.members, args.seed, source, as_of=dt.date(2026, 3, 1), force=True)
        print(f"generated {args.members:,} members in {time.perf_counter() - started:.1f} s")
    settings = Settings(data_dir=work / "state", GATEWAY_KEY_DIR=work / "keys")
    (work / "extracts").mkdir(exist_ok=True)
    policy = load_policy(POLICY)

    base = timed(lambda: baseline(source, work / "extracts" / "baseline.duckdb"))
    hmac = timed(lambda: hmac_only(source))
    manifests = []
    build = timed(
        lambda: manifests.append(
            build_extract(
                source,
                policy,
                "bench",
                "mission",
                work / "extracts" / "e.duckdb",
                settings,
                force=True,
            )
        )
    )
    rows = manifests[0].row_counts
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"rows: {', '.join(f'{t} {n:,}' for t, n in rows.items())}")
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    print("| step | wall s | CPU s | wall ratio to baseline |")
    print("|---|---:|---:|---:|")
    for name, (wall, cpu) in (("baseline copy", base), ("HMAC of tip ids", hmac), ("build", build)):
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {wall / base[0]:.1f}x |")
    print(f"peak RSS of the process: {peak_mib:,.0f} MiB")
    verdict = "within" if build[0] <= GOAL_S else "over"
    print(f"build {build[0]:.1f} s: {verdict} the {GOAL_S:.0f} s goal")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
