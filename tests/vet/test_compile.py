"""What accepted SQL means: the exact plan each documented decision compiles to."""

from __future__ import annotations

import pytest

from gateway.errors import VetError
from gateway.plan import (
    Aggregate,
    And,
    Between,
    ColumnRef,
    Compare,
    GroupKey,
    InSet,
    IsNull,
    Not,
    Or,
    OrderBy,
    QueryPlan,
)
from gateway.policy import Aggregation, Policy
from gateway.vet import vet
from tests.vet.factories import policy_with

TIPS_THEME = ColumnRef(table="tips", column="theme")
COUNT = Aggregate(function=Aggregation.COUNT, alias="n")


def codes(sql: str, policy: Policy) -> list[str]:
    with pytest.raises(VetError) as raised:
        vet(sql, policy)
    return [issue.code for issue in raised.value.issues]


def test_group_count_order_limit(policy: Policy) -> None:
    plan = vet("SELECT theme, COUNT(*) AS n FROM tips GROUP BY 1 ORDER BY n DESC LIMIT 5", policy)
    assert plan == QueryPlan(
        table="tips",
        group_by=(GroupKey(column=TIPS_THEME, alias="theme"),),
        aggregates=(COUNT,),
        order_by=(OrderBy(alias="n", descending=True),),
        limit=5,
    )


def test_case_quoting_comments_and_spelling_do_not_change_the_plan(policy: Policy) -> None:
    spellings = [
        "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme",
        'select "THEME", count ( * ) as n from "main"."Tips" /* c */ group by 1;',
        "FROM tips t SELECT t.theme, COUNT(*) n -- comment\nGROUP BY ALL",
    ]
    hashes = {vet(sql, policy).plan_hash() for sql in spellings}
    assert len(hashes) == 1


def test_join_either_order_any_alias(policy: Policy) -> None:
    spellings = [
        "SELECT m.province, COUNT(*) AS n FROM tips t JOIN members m "
        "ON t.member_pid = m.member_pid GROUP BY 1",
        "SELECT province, COUNT(*) AS n FROM members AS x INNER JOIN tips AS y "
        "ON x.member_pid = y.member_pid GROUP BY province",
        "SELECT province, COUNT(*) AS n FROM tips JOIN members USING (member_pid) GROUP BY 1",
    ]
    plans = [vet(sql, policy) for sql in spellings]
    assert plans[0] == plans[1] == plans[2]
    assert plans[0].table == "tips"
    assert plans[0].join_members
    assert plans[0].group_by[0].column == ColumnRef(table="members", column="province")


def test_members_alone_is_not_a_join(policy: Policy) -> None:
    plan = vet("SELECT COUNT(*) FROM members", policy)
    assert plan.table == "members"
    assert not plan.join_members


def test_aggregates_map_to_the_policy_vocabulary_and_leave_clamps_open(policy: Policy) -> None:
    plan = vet(
        "SELECT COUNT(DISTINCT member_pid), SUM(helpful_votes), AVG(word_count), "
        "MEDIAN(word_count), QUANTILE_CONT(word_count, 0.9), quantile(helpful_votes, 0.25), "
        "quantile_disc(word_count, 0.5) FROM tips",
        policy,
    )
    votes = ColumnRef(table="tips", column="helpful_votes")
    words = ColumnRef(table="tips", column="word_count")
    assert plan.aggregates == (
        Aggregate(function=Aggregation.COUNT_DISTINCT_MEMBERS, alias="count_distinct_members"),
        Aggregate(function=Aggregation.SUM, column=votes, alias="sum_helpful_votes"),
        Aggregate(function=Aggregation.MEAN, column=words, alias="mean_word_count"),
        Aggregate(function=Aggregation.MEDIAN, column=words, alias="median_word_count"),
        Aggregate(
            function=Aggregation.QUANTILE,
            column=words,
            quantile=0.9,
            alias="p90_word_count",
        ),
        Aggregate(
            function=Aggregation.QUANTILE,
            column=votes,
            quantile=0.25,
            alias="p25_helpful_votes",
        ),
        Aggregate(
            function=Aggregation.QUANTILE,
            column=words,
            quantile=0.5,
            alias="p50_word_count",
        ),
    )


def test_sql_leaves_every_bound_to_the_engine(policy: Policy) -> None:
    """SQL cannot fix bounds: the plan leaves contributions and clamps to be chosen with DP."""
    tables = policy.model_dump(mode="json")["tables"]
    tables["tips"]["columns"]["helpful_votes"].update(lower=1, upper=7)
    narrow = policy_with(tables=tables)
    plan = vet("SELECT theme, AVG(helpful_votes) FROM tips GROUP BY theme", narrow)
    (aggregate,) = plan.aggregates
    assert (aggregate.lower, aggregate.upper) == (None, None)
    assert (plan.contributions.rows_per_group, plan.contributions.groups) == (None, None)


@pytest.mark.parametrize(
    ("expression", "column", "bucket"),
    [
        ("date_trunc('month', created_date)", "created_date", "month"),
        ("date_trunc('year', created_date)", "created_date", "year"),
        ("DATETRUNC('MONTH', created_date)", "created_date", "month"),
        ("date_trunc('day', created_date)", "created_date", None),
        ("created_month", "created_month", None),
        ("date_trunc('month', created_month)", "created_month", None),
        ("date_trunc('year', created_month)", "created_month", "year"),
    ],
)
def test_date_buckets(expression: str, column: str, bucket: str | None, policy: Policy) -> None:
    plan = vet(f"SELECT {expression} AS k, COUNT(*) FROM tips GROUP BY k", policy)
    assert plan.group_by == (
        GroupKey(column=ColumnRef(table="tips", column=column), bucket=bucket, alias="k"),
    )


def test_month_column_needs_no_truncation(policy: Policy) -> None:
    """`created_month` is a month already: truncating it is the same question."""
    plain = vet("SELECT created_month AS m, COUNT(*) FROM tips GROUP BY m", policy)
    truncated = vet(
        "SELECT date_trunc('month', created_month) AS m, COUNT(*) FROM tips GROUP BY m", policy
    )
    assert plain.plan_hash() == truncated.plan_hash()


def test_unselected_group_keys_are_released_after_selected_ones(policy: Policy) -> None:
    plan = vet(
        "SELECT COUNT(*) AS n, created_month FROM tips GROUP BY theme, created_month", policy
    )
    assert [k.alias for k in plan.group_by] == ["created_month", "theme"]
    assert plan.output_columns == ["created_month", "theme", "n"]


def test_default_names(policy: Policy) -> None:
    plan = vet("SELECT date_trunc('year', created_date), COUNT(*) FROM tips GROUP BY 1", policy)
    assert plan.output_columns == ["created_date_year", "count"]


def test_where_predicates(policy: Policy) -> None:
    plan = vet(
        "SELECT COUNT(*) AS n FROM support_requests WHERE category IN ('privacy', 'billing') "
        "AND NOT (category = 'other') AND days_to_close IS NOT NULL "
        "AND (days_to_close BETWEEN 1 AND 30 OR days_to_close NOT BETWEEN 100 AND 200) "
        "AND 5 < days_to_close AND category NOT IN ('content')",
        policy,
    )
    category = ColumnRef(table="support_requests", column="category")
    days = ColumnRef(table="support_requests", column="days_to_close")
    assert plan.where == And(
        terms=(
            InSet(column=category, values=("privacy", "billing")),
            Not(term=Compare(column=category, op="=", value="other")),
            IsNull(column=days, negated=True),
            Or(
                terms=(
                    Between(column=days, low=1, high=30),
                    Between(column=days, low=100, high=200, negated=True),
                )
            ),
            Compare(column=days, op=">", value=5),
            InSet(column=category, values=("content",), negated=True),
        )
    )


@pytest.mark.parametrize(
    "literal",
    ["DATE '2024-02-01'", "'2024-02-01'", "CAST('2024-02-01' AS DATE)", "'2024-02-01'::DATE"],
)
def test_date_literals_become_iso_strings(literal: str, policy: Policy) -> None:
    plan = vet(f"SELECT COUNT(*) FROM tips WHERE created_date >= {literal}", policy)
    assert plan.where == Compare(
        column=ColumnRef(table="tips", column="created_date"), op=">=", value="2024-02-01"
    )


def test_numbers_take_their_columns_type(policy: Policy) -> None:
    plan = vet("SELECT COUNT(*) FROM tips WHERE word_count >= 2e3", policy)
    assert isinstance(plan.where, Compare)
    assert plan.where.value == 2000
    assert type(plan.where.value) is int


@pytest.mark.parametrize(
    ("condition", "code"),
    [
        ("word_count >= -2.5", "not_a_whole_number"),
        ("helpful_votes = 2.5", "not_a_whole_number"),
        ("helpful_votes IN (1, 2.5)", "not_a_whole_number"),
        ("helpful_votes BETWEEN 0.5 AND 3", "not_a_whole_number"),
        ("helpful_votes < 99999999999", "literal_out_of_range"),
        ("word_count <> 1e11", "literal_out_of_range"),
        ("NOT (word_count = -2147483649)", "literal_out_of_range"),
    ],
)
def test_numbers_that_do_not_fit_an_integer_column_are_refused(
    policy: Policy, condition: str, code: str
) -> None:
    with pytest.raises(VetError) as err:
        vet(f"SELECT COUNT(*) FROM tips WHERE {condition}", policy)
    assert [issue.code for issue in err.value.issues] == [code]
    assert err.value.issues[0].hint


def test_order_by_expression_or_key_names_the_output(policy: Policy) -> None:
    plan = vet(
        "SELECT theme AS t, COUNT(*) AS n FROM tips GROUP BY theme ORDER BY COUNT(*) DESC, theme",
        policy,
    )
    assert plan.order_by == (OrderBy(alias="n", descending=True), OrderBy(alias="t"))


def test_limit_is_capped_by_the_policy(policy: Policy) -> None:
    small = policy_with(limits={"max_groups": 50})
    assert vet("SELECT theme, COUNT(*) FROM tips GROUP BY 1 LIMIT 50", small).limit == 50
    assert codes("SELECT theme, COUNT(*) FROM tips GROUP BY 1 LIMIT 51", small) == ["invalid_limit"]


def test_aggregates_outside_the_policy_are_refused(policy: Policy) -> None:
    counts_only = policy_with(aggregations=["count"])
    assert vet("SELECT COUNT(*) FROM tips", counts_only).aggregates
    assert codes("SELECT SUM(helpful_votes) FROM tips", counts_only) == ["aggregate_not_allowed"]
    assert codes("SELECT COUNT(DISTINCT member_pid) FROM tips", counts_only) == [
        "aggregate_not_allowed"
    ]


def test_group_count_estimate_uses_domains_and_filters(policy: Policy) -> None:
    small = policy_with(limits={"max_groups": 100})
    # 12 themes x 14 provinces: over 100, unless WHERE narrows the themes.
    wide = (
        "SELECT theme, province, COUNT(*) FROM tips t JOIN members m "
        "ON t.member_pid = m.member_pid {} GROUP BY 1, 2"
    )
    assert codes(wide.format(""), small) == ["too_many_groups"]
    assert vet(wide.format("WHERE theme IN ('sleep', 'stress')"), small).group_by
    # A date range counts its months; without bounds the date counts as one group.
    months = "SELECT created_month, COUNT(*) FROM tips {} GROUP BY 1"
    assert vet(months.format("WHERE created_month BETWEEN '2020-01-01' AND '2027-12-01'"), small)
    assert codes(
        months.format("WHERE created_month BETWEEN '2015-01-01' AND '2024-12-01'"), small
    ) == ["too_many_groups"]
    assert vet(months.format(""), small).group_by


def test_ambiguous_column_needs_a_qualifier(policy: Policy) -> None:
    tables = policy.model_dump(mode="json")["tables"]
    tables["tips"]["columns"]["country"] = tables["members"]["columns"]["country"]
    shared = policy_with(tables=tables)
    sql = (
        "SELECT country, COUNT(*) FROM tips t JOIN members m "
        "ON t.member_pid = m.member_pid GROUP BY 1"
    )
    assert "ambiguous_column" in codes(sql, shared)
    assert vet(
        sql.replace("SELECT country", "SELECT m.country").replace("BY 1", "BY m.country"), shared
    )


def test_every_issue_of_a_query_is_reported_at_once(policy: Policy) -> None:
    found = codes(
        "SELECT member_pid, MIN(word_count) FROM tipz WHERE tip_pid = 'x' HAVING COUNT(*) > 1",
        policy,
    )
    assert {"having_not_supported", "identifier_in_output", "aggregate_not_allowed"} <= set(found)
    assert "unknown_table" in found
