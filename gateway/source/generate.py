"""``gateway source generate``: write a synthetic Health-Thing platform database.

The database has exactly the tables and columns of ``SOURCE_TABLES``. Its
contents depend only on the member count, the seed and the ``as_of`` date
(the snapshot: nothing in the data happens on or after it). It is written to
a temporary file beside the target and renamed into place at the end, so a
failure or an interrupt never leaves a half-written database behind.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import duckdb
import pyarrow as pa
from pydantic import BaseModel

from gateway.errors import SourceError
from gateway.source.activity import theme_follows, tip_chunks, tips
from gateway.source.draw import Timeline, to_arrow
from gateway.source.members import Members, accounts, draw_members
from gateway.source.rights import consents, erasure_requests, restrictions
from gateway.source.schema import SOURCE_TABLES, THEMES
from gateway.source.support import support_requests

MAX_MEMBERS = 20_000_000
"""About 200M tips and tens of GB: beyond this a run is a typo, not a plan."""
MAX_SEED = 2**63 - 1
PREFETCH = 2
"""Tables (or tip chunks) built ahead while DuckDB writes the previous one."""
ROW_GROUP = 122_880
DUCKDB_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


class GenerateSummary(BaseModel):
    """What ``generate`` wrote: enough to cite a source in a manifest or a benchmark."""

    path: Path
    members: int
    seed: int
    as_of: dt.date
    snapshot_at: dt.datetime
    """Start of ``as_of``; every timestamp in the data is earlier."""
    row_counts: dict[str, int]
    seconds: float


def generate(
    members: int,
    seed: int,
    out: Path,
    *,
    as_of: dt.date | None = None,
    force: bool = False,
    progress: bool = False,
) -> GenerateSummary:
    """Write a source of ``members`` accounts for ``seed`` to ``out``.

    ``as_of`` defaults to today; pass it to get the same data on another day.
    Refuses (``SourceError``) bad sizes and seeds, a future ``as_of``, an
    existing ``out`` unless ``force``, and a directory it cannot write to.
    """
    as_of = as_of or dt.date.today()
    _check_request(members, seed, as_of)
    target = _check_target(out, force)
    timeline = Timeline.ending(as_of)
    started = time.perf_counter()
    with _staging(target) as staged, _reporter(progress) as report:
        row_counts = _write(staged, members, seed, timeline, report)
        _publish(staged, target, force)
    return GenerateSummary(
        path=target,
        members=members,
        seed=seed,
        as_of=as_of,
        snapshot_at=timeline.snapshot_at,
        row_counts=row_counts,
        seconds=round(time.perf_counter() - started, 3),
    )


def _check_request(members: int, seed: int, as_of: dt.date) -> None:
    if members < 1:
        raise SourceError(
            "invalid_members",
            f"--members must be at least 1, got {members}",
            hint="pass a positive number of member accounts, e.g. --members 1000",
        )
    if members > MAX_MEMBERS:
        raise SourceError(
            "too_many_members",
            f"--members {members:,} is more than the maximum of {MAX_MEMBERS:,}",
            hint=f"generate at most {MAX_MEMBERS:,} members (about 10 tips each)",
        )
    if not 0 <= seed <= MAX_SEED:
        raise SourceError(
            "invalid_seed",
            f"--seed must be between 0 and {MAX_SEED}, got {seed}",
            hint="pass a non-negative integer seed, e.g. --seed 42",
        )
    if as_of > dt.date.today():
        raise SourceError(
            "as_of_in_future",
            f"--as-of {as_of} is in the future; the data cannot describe days to come",
            hint="leave --as-of out (today) or pass a date up to today",
        )


def _check_target(out: Path, force: bool) -> Path:
    target = out.expanduser().absolute()
    if target.is_dir():
        raise SourceError(
            "output_is_directory",
            f"--out {out} is a directory",
            hint=f"name a database file inside it, e.g. --out {out / 'source.duckdb'}",
        )
    if not force:
        for existing in (target, _wal(target)):
            if existing.exists():
                raise _exists(existing)
    if target.parent.exists() and not target.parent.is_dir():
        raise SourceError(
            "output_not_writable",
            f"cannot write {out}: {target.parent} is not a directory",
            hint="choose an --out in a directory you can write to",
        )
    if not target.parent.is_dir():
        raise SourceError(
            "output_dir_missing",
            f"the directory of {out} does not exist",
            hint=f"create it first (mkdir -p {target.parent}) or choose another --out",
        )
    return target


@contextmanager
def _staging(target: Path) -> Iterator[Path]:
    """A fresh path beside ``target`` (same file system, so renaming is atomic),
    removed with everything in it however the block ends."""
    try:
        folder = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        )
    except OSError as err:
        raise SourceError(
            "output_not_writable",
            f"cannot write in {target.parent}: {err.strerror}",
            hint="choose an --out in a directory you can write to",
        ) from None
    try:
        yield folder / target.name
    except (OSError, duckdb.IOException) as err:
        raise SourceError(
            "write_failed",
            f"writing {target} failed: {err}",
            hint="check free disk space and permissions, then run again",
        ) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _publish(staged: Path, target: Path, force: bool) -> None:
    """Move the finished database into place.

    With ``force`` it replaces ``target`` and drops the replaced database's
    write-ahead log, which DuckDB would otherwise replay onto the new file.
    Without, it links the file in, which fails if ``target`` appeared while
    generating: an existing file is never overwritten unasked.
    """
    if force:
        _wal(target).unlink(missing_ok=True)
        os.replace(staged, target)
        return
    try:
        os.link(staged, target)
    except FileExistsError:
        raise _exists(target) from None
    except OSError:  # no hard links on this file system: check, then rename
        if target.exists():
            raise _exists(target) from None
        os.replace(staged, target)


def _wal(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def _exists(path: Path) -> SourceError:
    return SourceError(
        "output_exists",
        f"{path} already exists",
        hint="pass --force to replace it, or choose another --out",
    )


Report = Callable[[str, int, int], None]
"""``report(step, done, total)``: what is being written, and how far along."""


@contextmanager
def _reporter(enabled: bool) -> Iterator[Report]:
    """A progress bar on standard error, or nothing."""
    if not enabled:
        yield lambda step, done, total: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description:<18}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("members", total=None)

        def report(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        yield report


Job = tuple[str, Callable[[], pa.Table]]
"""A table name and a function that builds (part of) its rows."""


def _jobs(seed: int, members: Members, timeline: Timeline) -> list[Job]:
    """Every table's rows, in the order they are written; tips come in chunks."""
    return [
        ("themes", _themes),
        ("accounts", partial(accounts, seed, members)),
        ("theme_follows", partial(theme_follows, seed, members)),
        ("consents", partial(consents, seed, members)),
        ("restrictions", partial(restrictions, seed, members, timeline)),
        ("erasure_requests", partial(erasure_requests, seed, members)),
        ("support_requests", partial(support_requests, seed, members, timeline)),
        *[
            ("tips", partial(tips, seed, members, timeline, chunk))
            for chunk in range(tip_chunks(members))
        ],
    ]


def _write(
    path: Path, members: int, seed: int, timeline: Timeline, report: Report
) -> dict[str, int]:
    """Create the schema and fill it, building rows in a thread while DuckDB writes."""
    connection = duckdb.connect(str(path), config=DUCKDB_CONFIG)
    try:
        for table, columns in SOURCE_TABLES.items():
            ddl = ", ".join(f"{name} {kind}" for name, kind in columns.items())
            connection.execute(f"CREATE TABLE {table} ({ddl})")
        report("members", 0, 1)
        jobs = _jobs(seed, draw_members(seed, members, timeline), timeline)
        for done, (table, rows) in enumerate(_ahead(jobs), start=1):
            report(table, done, len(jobs) + 1)
            _insert(connection, table, rows)
        report("checkpoint", len(jobs), len(jobs) + 1)
        connection.execute("CHECKPOINT")
        report("done", len(jobs) + 1, len(jobs) + 1)
        return {table: _count(connection, table) for table in SOURCE_TABLES}
    finally:
        connection.close()


def _count(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    row = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def _insert(connection: duckdb.DuckDBPyConnection, table: str, rows: pa.Table) -> None:
    """Append ``rows`` in batches of one DuckDB row group: DuckDB then writes
    them in parallel and compressed once, instead of rewriting them at checkpoint."""
    batches = pa.Table.from_batches(rows.to_batches(max_chunksize=ROW_GROUP), rows.schema)
    connection.from_arrow(batches).insert_into(table)


def _themes() -> pa.Table:
    return to_arrow("themes", {"theme_id": range(1, len(THEMES) + 1), "name": THEMES})


def _ahead(jobs: list[Job]) -> Iterator[tuple[str, pa.Table]]:
    """Each job's table name and rows, in order, with at most ``PREFETCH`` built ahead."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-rows") as pool:
        pending: deque[tuple[str, Future[pa.Table]]] = deque()
        for table, build in jobs:
            pending.append((table, pool.submit(build)))
            if len(pending) > PREFETCH:
                name, future = pending.popleft()
                yield name, future.result()
        while pending:
            name, future = pending.popleft()
            yield name, future.result()
