"""Tips and theme follows: heavy tails, seasons, skewed votes, consistent references."""

from __future__ import annotations

import duckdb

from gateway.source.texts import FILLERS
from tests.source.factories import scalar, values

TIPS_PER_MEMBER = (
    "SELECT a.account_id, count(t.tip_id) AS n FROM accounts a "
    "LEFT JOIN tips t USING (account_id) GROUP BY a.account_id"
)


def member_share(db: duckdb.DuckDBPyConnection, condition: str) -> float:
    return scalar(
        db, f"SELECT avg(CASE WHEN {condition} THEN 1.0 ELSE 0 END) FROM ({TIPS_PER_MEMBER})"
    )


def test_tips_per_member_are_heavy_tailed(db: duckdb.DuckDBPyConnection) -> None:
    assert 0.35 < member_share(db, "n = 0") < 0.6
    assert 0.02 < member_share(db, "n >= 50") < 0.07
    assert 0.001 < member_share(db, "n >= 200") < 0.01
    assert scalar(db, f"SELECT median(n) FROM ({TIPS_PER_MEMBER}) WHERE n > 0") <= 10
    top_percent = scalar(
        db,
        f"SELECT sum(n) FILTER (WHERE n >= (SELECT quantile_disc(n, 0.99) "
        f"FROM ({TIPS_PER_MEMBER}))) / sum(n) FROM ({TIPS_PER_MEMBER})",
    )
    assert top_percent > 0.15, "the top 1% of members should write a large share of tips"


def test_every_reference_exists(db: duckdb.DuckDBPyConnection) -> None:
    for table in (
        "tips",
        "theme_follows",
        "consents",
        "restrictions",
        "erasure_requests",
        "support_requests",
    ):
        orphans = (
            f"SELECT count(*) FROM {table} "
            "WHERE account_id NOT IN (SELECT account_id FROM accounts)"
        )
        assert scalar(db, orphans) == 0, table
        assert scalar(db, f"SELECT count(*) FROM {table} WHERE account_id IS NULL") == 0, table
    for table in ("tips", "theme_follows"):
        orphans = (
            f"SELECT count(*) FROM {table} WHERE theme_id NOT IN (SELECT theme_id FROM themes)"
        )
        assert scalar(db, orphans) == 0, table


def test_ids_are_unique(db: duckdb.DuckDBPyConnection) -> None:
    for table, key in (
        ("accounts", "account_id"),
        ("tips", "tip_id"),
        ("support_requests", "request_id"),
    ):
        assert scalar(db, f"SELECT count(*) - count(DISTINCT {key}) FROM {table}") == 0, table
    duplicates = "SELECT count(*) - count(DISTINCT (account_id, theme_id)) FROM theme_follows"
    assert scalar(db, duplicates) == 0


def test_activity_happens_while_the_account_exists(db: duckdb.DuckDBPyConnection) -> None:
    for table, column in (
        ("tips", "created_at"),
        ("theme_follows", "followed_at"),
        ("support_requests", "created_at"),
    ):
        outside = (
            f"SELECT count(*) FROM {table} x JOIN accounts a USING (account_id) "
            f"WHERE x.{column} < a.created_at OR x.{column} >= coalesce(a.deleted_at, 'infinity')"
        )
        assert scalar(db, outside) == 0, table


def month_ratio(db: duckdb.DuckDBPyConnection, theme: str, high: int, low: int) -> float:
    """Tips per day in month ``high`` over tips per day in month ``low``."""
    per_day = (
        "SELECT month(created_at) AS m, count(*) / count(DISTINCT created_at::DATE) AS v "
        f"FROM tips JOIN themes USING (theme_id) WHERE name = '{theme}' GROUP BY m"
    )
    rates = dict(db.execute(per_day).fetchall())
    return float(rates[high] / rates[low])


def test_themes_have_seasons(db: duckdb.DuckDBPyConnection) -> None:
    assert month_ratio(db, "movement", high=5, low=11) > 1.4
    assert month_ratio(db, "sleep", high=12, low=6) > 1.3
    assert month_ratio(db, "smoking cessation", high=10, low=8) > 1.3
    assert 0.8 < month_ratio(db, "pregnancy", high=5, low=11) < 1.25


def test_members_tip_about_what_they_follow(db: duckdb.DuckDBPyConnection) -> None:
    followed = scalar(
        db,
        "SELECT avg(CASE WHEN f.account_id IS NOT NULL THEN 1.0 ELSE 0 END) FROM tips t "
        "JOIN (SELECT DISTINCT account_id FROM theme_follows) USING (account_id) "
        "LEFT JOIN theme_follows f ON f.account_id = t.account_id AND f.theme_id = t.theme_id",
    )
    assert followed > 0.7


def test_theme_interest_depends_on_age(db: duckdb.DuckDBPyConnection) -> None:
    def share_over_65(theme: str) -> float:
        return scalar(
            db,
            "SELECT avg(CASE WHEN date_sub('year', birth_date, DATE '2025-06-30') >= 65 "
            "THEN 1.0 ELSE 0 END) FROM theme_follows JOIN themes USING (theme_id) "
            f"JOIN accounts USING (account_id) WHERE birth_date IS NOT NULL AND name = '{theme}'",
        )

    assert share_over_65("ageing well") > 3 * share_over_65("pregnancy")


def test_helpful_votes_are_skewed(db: duckdb.DuckDBPyConnection) -> None:
    assert scalar(db, "SELECT median(helpful_votes) FROM tips") <= 1
    assert scalar(db, "SELECT quantile_disc(helpful_votes, 0.99) FROM tips") >= 10
    assert (
        scalar(db, "SELECT avg(CASE WHEN helpful_votes >= 50 THEN 1.0 ELSE 0 END) FROM tips") < 0.01
    )
    assert scalar(db, "SELECT min(helpful_votes) FROM tips") == 0


def test_bodies_are_free_text_that_sometimes_names_a_condition(
    db: duckdb.DuckDBPyConnection,
) -> None:
    words = "len(string_split(body, ' '))"
    assert 15 < scalar(db, f"SELECT median({words}) FROM tips") < 40
    assert scalar(db, f"SELECT max({words}) FROM tips") > 150
    conditions = [*FILLERS["nl"]["cond"], *FILLERS["en"]["cond"]]
    pattern = "|".join(c.replace("/", ".") for c in conditions)
    mentioning = scalar(
        db, f"SELECT avg(CASE WHEN regexp_matches(body, '{pattern}') THEN 1.0 ELSE 0 END) FROM tips"
    )
    assert 0.05 < mentioning < 0.6
    english = values(db, "SELECT body FROM tips WHERE body LIKE 'I %' LIMIT 5")
    assert len(english) == 5


def test_most_members_follow_a_few_themes(db: duckdb.DuckDBPyConnection) -> None:
    follows = (
        "SELECT a.account_id, count(f.theme_id) AS n FROM accounts a "
        "LEFT JOIN theme_follows f USING (account_id) GROUP BY 1"
    )
    assert (
        0.08
        < scalar(db, f"SELECT avg(CASE WHEN n = 0 THEN 1.0 ELSE 0 END) FROM ({follows})")
        < 0.16
    )
    assert 1.5 < scalar(db, f"SELECT avg(n) FROM ({follows})") < 3.5
    assert scalar(db, f"SELECT max(n) FROM ({follows})") <= 12
