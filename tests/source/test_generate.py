"""generate(): deterministic contents, the exact schema, a consistent snapshot."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from gateway.source.generate import GenerateSummary, generate
from gateway.source.schema import SOURCE_TABLES, THEMES
from tests.source.factories import AS_OF, differing_tables, make_source, scalar

TIMESTAMP_COLUMNS = [
    (table, column)
    for table, columns in SOURCE_TABLES.items()
    for column, kind in columns.items()
    if kind == "TIMESTAMP"
]


def test_same_seed_gives_identical_tables(tmp_path: Path) -> None:
    first = make_source(tmp_path, 1_500, seed=3, name="a.duckdb")
    second = make_source(tmp_path, 1_500, seed=3, name="b.duckdb")
    assert first.row_counts == second.row_counts
    assert differing_tables(first.path, second.path) == set()


def test_other_seed_gives_other_tables(tmp_path: Path) -> None:
    first = make_source(tmp_path, 1_500, seed=3, name="a.duckdb")
    second = make_source(tmp_path, 1_500, seed=4, name="b.duckdb")
    assert differing_tables(first.path, second.path) == SOURCE_TABLES.keys() - {"themes"}


def test_tables_and_columns_are_exactly_the_schema(stats_source: GenerateSummary) -> None:
    with duckdb.connect(str(stats_source.path), read_only=True) as db:
        found: dict[str, dict[str, str]] = {}
        for table, column, kind in db.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "ORDER BY table_name, ordinal_position"
        ).fetchall():
            found.setdefault(table, {})[column] = kind
    assert found == SOURCE_TABLES
    for table, columns in found.items():
        assert list(columns) == list(SOURCE_TABLES[table]), f"column order of {table}"


def test_summary_counts_match_the_database(stats_source: GenerateSummary) -> None:
    assert stats_source.members == 20_000
    assert stats_source.as_of == AS_OF
    assert stats_source.snapshot_at == dt.datetime(2025, 6, 30)
    with duckdb.connect(str(stats_source.path), read_only=True) as db:
        for table, rows in stats_source.row_counts.items():
            assert scalar(db, f"SELECT count(*) FROM {table}") == rows
    assert stats_source.row_counts["accounts"] == 20_000
    assert 7 <= stats_source.row_counts["tips"] / 20_000 <= 13


def test_themes_follow_the_schema_order(db: duckdb.DuckDBPyConnection) -> None:
    rows = db.execute("SELECT theme_id, name FROM themes ORDER BY theme_id").fetchall()
    assert rows == [(index, name) for index, name in enumerate(THEMES, start=1)]


@pytest.mark.parametrize(("table", "column"), TIMESTAMP_COLUMNS)
def test_nothing_happens_at_or_after_the_snapshot(
    db: duckdb.DuckDBPyConnection, stats_source: GenerateSummary, table: str, column: str
) -> None:
    newest = db.execute(f"SELECT max({column}) FROM {table}").fetchone()
    assert newest is not None
    assert newest[0] is not None
    assert newest[0] < stats_source.snapshot_at


def test_snapshot_moves_the_whole_history(tmp_path: Path) -> None:
    """The same seed on an earlier as-of date describes an earlier platform."""
    early = generate(500, 5, tmp_path / "early.duckdb", as_of=dt.date(2020, 1, 1))
    with duckdb.connect(str(early.path), read_only=True) as db:
        newest = db.execute("SELECT max(created_at) FROM accounts").fetchone()
    assert newest is not None
    assert dt.datetime(2019, 1, 1) < newest[0] < dt.datetime(2020, 1, 1)
