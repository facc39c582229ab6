"""Shared drawing tools: named random streams, the timeline, Arrow tables.

Every table draws from its own stream, derived from the seed and a stream
name (and a chunk number for tips), so the contents depend only on the seed
and the snapshot date, never on the order or the threads that did the work.
Times are ``int64`` microseconds since the epoch until they become Arrow
timestamps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from gateway.source.behaviour import HISTORY_YEARS, HOURLY_ACTIVITY
from gateway.source.schema import SOURCE_TABLES

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

STREAMS: tuple[str, ...] = (
    "members",
    "identities",
    "follows",
    "consents",
    "restrictions",
    "erasures",
    "support",
    "tips",
)
"""Stream names; their position is part of the seed, so only ever append."""

DAY_US = 86_400 * 1_000_000
YEAR_US = int(365.2425 * DAY_US)

ARROW_TYPES: dict[str, pa.DataType] = {
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "BOOLEAN": pa.bool_(),
}


def stream(seed: int, name: str, chunk: int = 0) -> np.random.Generator:
    """The random generator of one stream (and chunk) of a seed."""
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(STREAMS.index(name), chunk))
    )


@dataclass(frozen=True)
class Timeline:
    """The platform's history: from launch to the snapshot (exclusive)."""

    snapshot_at: dt.datetime

    @classmethod
    def ending(cls, as_of: dt.date) -> Timeline:
        """History up to the start of ``as_of``: nothing in the data is later."""
        return cls(dt.datetime.combine(as_of, dt.time()))

    @property
    def end(self) -> int:
        return int(np.datetime64(self.snapshot_at, "us").astype(np.int64))

    @property
    def launch(self) -> int:
        return self.end - HISTORY_YEARS * YEAR_US


def between(rng: np.random.Generator, start: Ints, end: Ints, power: float = 1.0) -> Ints:
    """A time in ``[start, end)`` per row; ``power > 1`` leans towards ``start``."""
    fraction = rng.random(len(start)) ** power
    return np.minimum(start + (fraction * (end - start)).astype(np.int64), end - 1)


def repeat_rows(counts: Ints) -> tuple[Ints, Ints]:
    """For per-row ``counts``: the row of each repeated entry and its rank within the row."""
    row = np.repeat(np.arange(len(counts)), counts)
    first = np.cumsum(counts) - counts
    return row, np.arange(len(row)) - first[row]


def months(times: Ints) -> Ints:
    """Calendar month 0 (January) to 11 of each time."""
    return times.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64) % 12


def at_busy_hour(rng: np.random.Generator, times: Ints, start: Ints, end: Ints) -> Ints:
    """Move each time to a time of the same day drawn from ``HOURLY_ACTIVITY``,
    kept within ``[start, end)``."""
    weights = np.asarray(HOURLY_ACTIVITY) / sum(HOURLY_ACTIVITY)
    hour = rng.choice(24, len(times), p=weights)
    within = (rng.random(len(times)) * 3_600_000_000).astype(np.int64)
    moved = times - times % DAY_US + hour * 3_600_000_000 + within
    return np.clip(moved, start, end - 1)


def timestamps(times: Ints, missing: Bools | None = None) -> pa.Array:
    """Arrow timestamps from epoch microseconds; ``missing`` rows become NULL."""
    return pa.array(times, pa.timestamp("us"), mask=missing)


def to_arrow(table: str, columns: dict[str, Any]) -> pa.Table:
    """An Arrow table with exactly the columns and types of ``SOURCE_TABLES[table]``."""
    spec = SOURCE_TABLES[table]
    if list(columns) != list(spec):
        raise ValueError(f"{table}: columns {list(columns)} do not match the schema {list(spec)}")
    schema = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in spec.items()])
    arrays = [_column(values, schema.field(name).type) for name, values in columns.items()]
    return pa.Table.from_arrays(arrays, schema=schema)


def _column(values: Any, kind: pa.DataType) -> pa.Array:
    if isinstance(values, pa.Array):
        return values if values.type == kind else values.cast(kind)
    return pa.array(values, kind)
