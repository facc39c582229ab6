"""Opening the platform database read-only, and checking it before reading a row.

A source that lacks a table or column of ``SOURCE_TABLES`` is refused with the
missing names, so a schema drift on the platform stops the build instead of
producing an extract with silently empty columns.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from gateway.errors import Issue, SourceError
from gateway.extract._sql import ident, literal, utc
from gateway.source.schema import SOURCE_TABLES

SOURCE = "src"
"""The name the source database is attached under."""

EVENT_COLUMNS: tuple[str, ...] = (
    "accounts.created_at",
    "accounts.deleted_at",
    "tips.created_at",
    "theme_follows.followed_at",
    "consents.changed_at",
    "restrictions.since",
    "erasure_requests.requested_at",
    "support_requests.created_at",
    "support_requests.closed_at",
)
"""Timestamps of things that happened. The latest of them is the snapshot time:
anything recorded later on the platform happened after this copy was taken."""

_FAMILIES: dict[str, str] = {
    **dict.fromkeys(("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"), "integer"),
    **dict.fromkeys(("UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"), "integer"),
    **dict.fromkeys(("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"), "timestamp"),
}


def attach_source(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Attach ``path`` read-only as ``src`` and check it has every table and column."""
    if not path.is_file():
        raise SourceError(
            "source_not_found",
            f"source database {path} does not exist",
            hint="generate one: gateway source generate --members 1000 --seed 1 --out SRC.duckdb",
        )
    try:
        con.execute(f"ATTACH {literal(str(path))} AS {SOURCE} (READ_ONLY)")
    except duckdb.Error as exc:
        raise SourceError(
            "source_unreadable", f"cannot open {path} as a DuckDB database: {exc}"
        ) from None
    check_schema(con, path)


def check_schema(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = 'main'",
        [SOURCE],
    ).fetchall()
    found: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        found.setdefault(table, {})[column] = data_type
    issues: list[Issue] = []
    for table, columns in SOURCE_TABLES.items():
        if table not in found:
            issues.append(Issue(code="missing_table", message=f"table {table} is missing"))
            continue
        for column, expected in columns.items():
            actual = found[table].get(column)
            if actual is None:
                issues.append(
                    Issue(code="missing_column", message=f"column {table}.{column} is missing")
                )
            elif _FAMILIES.get(actual, actual) != _FAMILIES.get(expected, expected):
                issues.append(
                    Issue(
                        code="wrong_type",
                        message=f"column {table}.{column} is {actual}, expected {expected}",
                    )
                )
    if issues:
        names = "; ".join(issue.message for issue in issues)
        raise SourceError(
            "source_schema_mismatch",
            f"source {path} does not have the platform schema: {names}",
            hint="the source must follow gateway/source/schema.py; regenerate it with "
            "`gateway source generate`",
            issues=issues,
        )


def source_snapshot_at(con: duckdb.DuckDBPyConnection) -> dt.datetime:
    """The time of the latest event in the source, as an aware UTC datetime."""
    parts = [
        f"(SELECT max({ident(column)}) FROM {SOURCE}.{ident(table)})"
        for table, _, column in (c.partition(".") for c in EVENT_COLUMNS)
    ]
    row = con.execute(f"SELECT greatest({', '.join(parts)})").fetchone()
    if row is None or row[0] is None:
        raise SourceError(
            "source_empty",
            "the source holds no dated events, so it has no snapshot time",
            hint="a source needs at least one account",
        )
    return utc(row[0])
