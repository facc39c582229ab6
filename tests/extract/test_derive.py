"""The reductions, on the edge cases a generated platform rarely shows."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from gateway.extract.derive import Context, age_band_labels, column_sql
from gateway.policy.model import Derivation

CTX = Context(as_of="DATE '2026-03-01'", age_bands=(18, 25, 35, 45, 55, 65, 75))


def reduce(
    source: str, transform: str, values: list[object], sql_type: str, *, unlinked: bool = False
) -> list[object]:
    column = source.partition(".")[2]
    sql = column_sql("out", Derivation(source=source, transform=transform), sql_type, CTX)  # type: ignore[arg-type]
    con = duckdb.connect()
    con.execute(
        "CREATE TEMP TABLE _city_province AS SELECT 'Zwolle' AS city, 'Overijssel' AS province"
    )
    rows = con.execute(
        f"SELECT {sql} FROM (SELECT unnest($v) AS {column}, generate_subscripts($v, 1) AS i) t, "
        "(SELECT $unlinked AS unlinked) m ORDER BY i",
        {"v": values, "unlinked": unlinked},
    ).fetchall()
    return [r[0] for r in rows]


def test_word_count_counts_runs_of_non_blank_characters() -> None:
    bodies = ["", " ", "een", "  twee  woorden ", "a\tb\nc\r\nd", "één, twee; drie!", None]
    assert reduce("tips.body", "word_count", bodies, "INTEGER") == [0, 0, 1, 2, 4, 3, 0]


def test_age_bands_at_their_boundaries() -> None:
    births = [
        dt.date(2008, 3, 2),  # 17 on the day before the 18th birthday
        dt.date(2008, 3, 1),  # 18 that day
        dt.date(2001, 3, 2),  # 24
        dt.date(1951, 3, 1),  # 75
        None,
    ]
    assert reduce("accounts.birth_date", "age_band", births, "VARCHAR") == [
        "<18", "18-24", "18-24", "75+", "unknown",
    ]  # fmt: skip


def test_province_of_a_dutch_city_abroad_and_unknown() -> None:
    cities = ["Zwolle", "Antwerpen", None]
    assert reduce("accounts.city", "province", cities, "VARCHAR") == [
        "Overijssel", "abroad", "unknown",
    ]  # fmt: skip


def test_an_unlinked_members_profile_is_unknown() -> None:
    assert reduce("accounts.city", "province", ["Zwolle"], "VARCHAR", unlinked=True) == ["unknown"]
    births = [dt.date(1980, 1, 1)]
    assert reduce("accounts.birth_date", "year", births, "INTEGER", unlinked=True) == [None]
    created = [dt.datetime(2020, 5, 5)]  # not part of the profile: kept
    assert reduce("accounts.created_at", "month", created, "DATE", unlinked=True) == [
        dt.date(2020, 5, 1)
    ]


@pytest.mark.parametrize(
    ("transform", "expected"),
    [("date", dt.date(2025, 7, 14)), ("month", dt.date(2025, 7, 1)), ("year", 2025)],
)
def test_timestamps_reduce_to_date_month_or_year(transform: str, expected: object) -> None:
    at = dt.datetime(2025, 7, 14, 23, 59, 59)
    sql_type = "INTEGER" if transform == "year" else "DATE"
    assert reduce("tips.created_at", transform, [at], sql_type) == [expected]


def test_age_band_labels_follow_the_policy_bounds() -> None:
    assert age_band_labels((18, 30)) == ("<18", "18-29", "30+")
