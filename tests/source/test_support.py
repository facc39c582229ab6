"""Support requests span more than the 10-year retention period."""

from __future__ import annotations

import duckdb

from gateway.source.schema import SUPPORT_CATEGORIES
from tests.source.factories import AS_OF, scalar, values


def test_requests_span_more_than_ten_years(db: duckdb.DuckDBPyConnection) -> None:
    older = scalar(
        db,
        "SELECT count(*) FROM support_requests "
        f"WHERE created_at < DATE '{AS_OF}' - INTERVAL 10 YEAR",
    )
    total = scalar(db, "SELECT count(*) FROM support_requests")
    assert 0.2 < total / 20_000 < 1.0
    assert 0.002 < older / total < 0.05, "some requests fall outside the retention period"


def test_request_ids_follow_arrival(db: duckdb.DuckDBPyConnection) -> None:
    ids = values(db, "SELECT request_id FROM support_requests ORDER BY created_at, request_id")
    assert ids == list(range(1, len(ids) + 1))


def test_categories_are_the_schema_categories(db: duckdb.DuckDBPyConnection) -> None:
    assert set(values(db, "SELECT DISTINCT category FROM support_requests")) == set(
        SUPPORT_CATEGORIES
    )


def test_recent_requests_are_still_open(db: duckdb.DuckDBPyConnection) -> None:
    assert scalar(db, "SELECT count(*) FROM support_requests WHERE closed_at < created_at") == 0
    open_share = scalar(
        db, "SELECT avg(CASE WHEN closed_at IS NULL THEN 1.0 ELSE 0 END) FROM support_requests"
    )
    assert 0.005 < open_share < 0.05
    recent_open = scalar(
        db,
        "SELECT avg(CASE WHEN closed_at IS NULL THEN 1.0 ELSE 0 END) FROM support_requests "
        f"WHERE created_at > DATE '{AS_OF}' - INTERVAL 2 DAY",
    )
    assert recent_open > 0.3
    days = "date_diff('day', created_at, closed_at)"
    assert scalar(db, f"SELECT median({days}) FROM support_requests") <= 3
    assert scalar(db, f"SELECT max({days}) FROM support_requests") > 30


def test_some_bodies_are_signed_with_a_first_name(db: duckdb.DuckDBPyConnection) -> None:
    greeting = "(groet|Groeten|Groetjes|bedankt|Regards|regards|advance|Cheers),? [A-Z][a-z]+$"
    signed = scalar(
        db,
        f"SELECT avg(CASE WHEN regexp_matches(body, '{greeting}') THEN 1.0 ELSE 0 END) "
        "FROM support_requests",
    )
    assert 0.35 < signed < 0.65
