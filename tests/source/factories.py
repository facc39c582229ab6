"""Builders for source databases used by tests of every stage."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from gateway.source.generate import GenerateSummary, generate
from gateway.source.schema import SOURCE_TABLES

AS_OF = dt.date(2025, 6, 30)
"""A fixed snapshot date, so tests see the same data on any day."""


def make_source(
    folder: Path, members: int = 1_000, seed: int = 7, name: str = "source.duckdb"
) -> GenerateSummary:
    """Generate a source of ``members`` accounts into ``folder / name``."""
    return generate(members, seed, folder / name, as_of=AS_OF)


def table_rows(path: Path, table: str) -> list[tuple[object, ...]]:
    """Every row of ``table``, sorted (for small tables)."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def differing_tables(first: Path, second: Path) -> set[str]:
    """Source tables whose multisets of rows differ between two databases."""
    with duckdb.connect() as connection:
        connection.execute(f"ATTACH '{first}' AS first (READ_ONLY)")
        connection.execute(f"ATTACH '{second}' AS second (READ_ONLY)")
        return {
            table
            for table in SOURCE_TABLES
            if scalar(
                connection,
                f"SELECT count(*) FROM ((FROM first.{table} EXCEPT ALL FROM second.{table}) "
                f"UNION ALL (FROM second.{table} EXCEPT ALL FROM first.{table}))",
            )
        }


def scalar(connection: duckdb.DuckDBPyConnection, sql: str) -> float:
    """The single value a query returns."""
    row = connection.execute(sql).fetchone()
    assert row is not None
    return float(row[0])


def values(connection: duckdb.DuckDBPyConnection, sql: str) -> list[Any]:
    """The first column of every row a query returns."""
    return [row[0] for row in connection.execute(sql).fetchall()]
