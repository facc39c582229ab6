"""Consents, restrictions and erasure requests as the extract builder will read them."""

from __future__ import annotations

import duckdb

from gateway.source.schema import ERASURE_SCOPES, PURPOSES
from tests.source.factories import scalar, values

LATEST = (
    "SELECT account_id, purpose, arg_max(granted, changed_at) AS granted, "
    "bool_or(granted) AS ever, count(*) AS changes FROM consents GROUP BY ALL"
)


def share_of_members(db: duckdb.DuckDBPyConnection, condition: str, purpose: str) -> float:
    matching = f"SELECT count(*) FROM ({LATEST}) WHERE purpose = '{purpose}' AND {condition}"
    return scalar(db, matching) / scalar(db, "SELECT count(*) FROM accounts")


def test_only_opt_in_purposes_have_rows(db: duckdb.DuckDBPyConnection) -> None:
    purposes = set(values(db, "SELECT DISTINCT purpose FROM consents"))
    assert purposes == set(PURPOSES) - {"mission"}


def test_a_share_of_members_opts_in(db: duckdb.DuckDBPyConnection) -> None:
    assert 0.2 < share_of_members(db, "granted", "external_research") < 0.33
    assert 0.05 < share_of_members(db, "granted", "research_contact") < 0.15


def test_some_consents_are_withdrawn_and_a_few_granted_again(db: duckdb.DuckDBPyConnection) -> None:
    assert 0.02 < share_of_members(db, "ever AND NOT granted", "external_research") < 0.06
    assert share_of_members(db, "ever AND NOT granted", "research_contact") > 0.005
    regranted = share_of_members(db, "granted AND changes = 3", "external_research")
    assert 0.002 < regranted < 0.02
    assert share_of_members(db, "NOT ever", "external_research") > 0.2, "explicit refusals"


def test_latest_row_is_unambiguous(db: duckdb.DuckDBPyConnection) -> None:
    ties = (
        "SELECT count(*) FROM (SELECT account_id, purpose, changed_at FROM consents "
        "GROUP BY ALL HAVING count(*) > 1)"
    )
    assert scalar(db, ties) == 0
    alternating = (
        "SELECT count(*) FROM (SELECT granted, lag(granted) OVER "
        "(PARTITION BY account_id, purpose ORDER BY changed_at) AS previous FROM consents) "
        "WHERE granted = previous"
    )
    assert scalar(db, alternating) == 0, "each change flips the consent"


def test_restrictions_have_a_start_and_sometimes_no_end(db: duckdb.DuckDBPyConnection) -> None:
    count = scalar(db, "SELECT count(*) FROM restrictions")
    assert 0.005 < count / 20_000 < 0.02
    open_ended = scalar(db, "SELECT count(*) FROM restrictions WHERE until IS NULL")
    assert 0.2 < open_ended / count < 0.7
    assert scalar(db, "SELECT count(*) FROM restrictions WHERE until <= since") == 0


def test_erasure_requests_cover_both_scopes(db: duckdb.DuckDBPyConnection) -> None:
    scopes = dict(
        db.execute("SELECT scope, count(*) FROM erasure_requests GROUP BY scope").fetchall()
    )
    assert set(scopes) == set(ERASURE_SCOPES)
    assert all(20 < count < 250 for count in scopes.values())
