"""A job's release as a table to download: CSV, Parquet or JSON.

The table has the group keys, then per aggregate ``x`` the columns ``x``,
``x_low`` and ``x_high`` (the interval's ends; empty where the release states
no interval, as for medians and quantiles). A job with several parts (an
analysis) is downloaded one part at a time. Reading goes through
``read_release``, so every download is in the audit log; the JSON carries
the release's metadata (ε, δ, bounds, flags) beside each part's table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field

from gateway.config import Settings
from gateway.dp.release import Cell
from gateway.errors import NotFoundError
from gateway.service import jobs, releases
from gateway.service.accounts import Principal
from gateway.service.queue import Part
from gateway.service.releases import ReleasePublic

TableFormat = Literal["csv", "parquet"]


class Table(BaseModel):
    """One part of a release as rows: keys, then each aggregate with its interval's ends."""

    name: str
    keys: list[str]
    aggregates: list[str]
    columns: list[str]
    rows: list[list[Cell]]


class ReleaseDownload(ReleasePublic):
    """``release.json``: the release with its metadata, and each part as a table."""

    tables: list[Table] = Field(description="per part, the table `release.csv` gives for it")


def table(part: Part) -> Table:
    """``part`` as keys then ``x, x_low, x_high`` per aggregate ``x``, in the release's order."""
    release = part.release
    named = set(part.aggregates or release.bounds) & set(release.columns)
    if not named:  # a release made without its plan's names: every column with an interval
        named = {
            column
            for index, column in enumerate(release.columns)
            if any(row[index] is not None for row in release.ci)
        }
    keys = [column for column in release.columns if column not in named]
    aggregates = [column for column in release.columns if column in named]
    position = {column: index for index, column in enumerate(release.columns)}
    rows: list[list[Cell]] = []
    for values, intervals in zip(release.rows, release.ci, strict=True):
        row: list[Cell] = [values[position[key]] for key in keys]
        for aggregate in aggregates:
            interval = intervals[position[aggregate]]
            low, high = interval if interval is not None else (None, None)
            row += [values[position[aggregate]], low, high]
        rows.append(row)
    columns = keys + [f"{a}{suffix}" for a in aggregates for suffix in ("", "_low", "_high")]
    return Table(name=part.name, keys=keys, aggregates=aggregates, columns=columns, rows=rows)


def job_release(settings: Settings, who: Principal, job_id: int) -> ReleaseDownload:
    """The release of ``job_id`` with its tables; refused until the job is released."""
    job = jobs.job_public(settings, who, job_id)
    if job.release_id is None:
        raise NotFoundError(
            "not_released",
            f"job {job_id} is {job.status.value}: {job.status.description}",
            hint="wait until the job is released (GET /api/jobs/ID says when)",
        )
    release = releases.read_release(settings, who, job.release_id)
    return ReleaseDownload(**release.model_dump(), tables=[table(part) for part in release.parts])


def pick(download: ReleaseDownload, part: str | None) -> Table:
    """The table of ``part``; the only one when ``part`` is None."""
    names = [t.name for t in download.tables]
    if part is None and len(download.tables) == 1:
        return download.tables[0]
    for candidate in download.tables:
        if candidate.name == part:
            return candidate
    raise NotFoundError(
        "part_not_found",
        f"the release has parts {', '.join(names)}; "
        + ("say which one" if part is None else f"none is called {part!r}"),
        hint=f"add ?part=NAME, one of: {', '.join(names)}",
    )


def to_csv(chosen: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(chosen.columns)
    writer.writerows(["" if cell is None else cell for cell in row] for row in chosen.rows)
    return out.getvalue().encode("utf-8")


def to_parquet(chosen: Table) -> bytes:
    import polars as pl

    frame = pl.DataFrame(chosen.rows, schema=chosen.columns, orient="row", strict=False)
    out = io.BytesIO()
    frame.write_parquet(out)
    return out.getvalue()


WRITERS: dict[TableFormat, Callable[[Table], bytes]] = {"csv": to_csv, "parquet": to_parquet}
MEDIA_TYPES: dict[TableFormat, str] = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
