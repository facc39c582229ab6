"""Builders for source databases used by tests of every stage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from gateway.source.generate import GenerateSummary, generate

AS_OF = dt.date(2025, 6, 30)
"""A fixed snapshot date, so tests see the same data on any day."""


def make_source(
    folder: Path, members: int = 1_000, seed: int = 7, name: str = "source.duckdb"
) -> GenerateSummary:
    """Generate a source of ``members`` accounts into ``folder / name``."""
    return generate(members, seed, folder / name, as_of=AS_OF)


def table_rows(path: Path, table: str) -> list[tuple[object, ...]]:
    """Every row of ``table``, sorted, for comparing whole databases."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def scalar(connection: duckdb.DuckDBPyConnection, sql: str) -> float:
    """The single value a query returns."""
    row = connection.execute(sql).fetchone()
    assert row is not None
    return float(row[0])


def values(connection: duckdb.DuckDBPyConnection, sql: str) -> list[Any]:
    """The first column of every row a query returns."""
    return [row[0] for row in connection.execute(sql).fetchall()]
