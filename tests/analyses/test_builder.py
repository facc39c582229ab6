"""The SDK builds exactly the plans it reads as, and refuses misuse with a fix."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gateway.analyses import (
    Analysis,
    col,
    count,
    count_members,
    mean,
    median,
    quantile,
    sum_,
    table,
)
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
from gateway.policy.model import Aggregation
from tests.analyses.factories import sleep_trends

TIPS_THEME = ColumnRef(table="tips", column="theme")


def test_worked_example_builds_the_plan_it_reads_as() -> None:
    plan = sleep_trends().plan()
    assert plan.name == "sleep trends"
    by_month, by_theme = plan.queries
    assert by_month.plan == QueryPlan(
        table="tips",
        join_members=True,
        where=Compare(column=TIPS_THEME, op="=", value="sleep"),
        group_by=(
            GroupKey(
                column=ColumnRef(table="tips", column="created_month"),
                bucket="month",
                alias="month",
            ),
        ),
        aggregates=(
            Aggregate(function=Aggregation.COUNT, alias="tips"),
            Aggregate(
                function=Aggregation.MEAN,
                column=ColumnRef(table="tips", column="helpful_votes"),
                alias="avg_votes",
            ),
        ),
    )
    assert by_theme.sql == "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme"
    assert (by_month.share, by_theme.share) == (0.5, 0.5)


def test_columns_bind_to_the_query_table_unless_qualified() -> None:
    plan = (
        table("tips")
        .join_members()
        .filter(col("members.province") == "Utrecht")
        .group_by("theme", col("members.age_band").alias("age"))
        .agg(mean(col("members.birth_year")))
        .plan()
    )
    assert plan.where == Compare(
        column=ColumnRef(table="members", column="province"), op="=", value="Utrecht"
    )
    assert [k.column for k in plan.group_by] == [
        TIPS_THEME,
        ColumnRef(table="members", column="age_band"),
    ]
    assert [k.alias for k in plan.group_by] == ["theme", "age"]
    assert plan.aggregates[0].column == ColumnRef(table="members", column="birth_year")
    assert plan.aggregates[0].alias == "mean_birth_year"


def test_conditions_compose_like_sql() -> None:
    votes = col("helpful_votes")
    condition = (
        (col("theme").is_in(["sleep", "stress"]) | votes.is_between(1, 5))
        & ~(col("word_count") > 300)
        & (col("created_date") >= dt.date(2024, 1, 1))
    )
    plan = table("tips").filter(condition).filter(votes != None).agg(count()).plan()  # noqa: E711
    ref = lambda name: ColumnRef(table="tips", column=name)  # noqa: E731
    assert plan.where == And(
        terms=(
            Or(
                terms=(
                    InSet(column=TIPS_THEME, values=("sleep", "stress")),
                    Between(column=ref("helpful_votes"), low=1, high=5),
                )
            ),
            Not(term=Compare(column=ref("word_count"), op=">", value=300)),
            Compare(column=ref("created_date"), op=">=", value="2024-01-01"),
            IsNull(column=ref("helpful_votes"), negated=True),
        )
    )


def test_negation_takes_the_sql_form() -> None:
    theme = col("theme")
    plan = table("tips").filter(~theme.is_in(["sleep"])).agg(count()).plan()
    assert plan.where == InSet(column=TIPS_THEME, values=("sleep",), negated=True)
    assert (~theme.is_null()).predicate == (theme != None).predicate  # noqa: E711
    assert (~~theme.is_between("a", "b")).predicate == theme.is_between("a", "b").predicate
    assert (~~(theme == "x")).predicate == (theme == "x").predicate
    assert isinstance((~(theme == "x")).predicate, Not)


def test_every_aggregate_maps_to_its_policy_function() -> None:
    plan = (
        table("tips")
        .agg(
            count(),
            count_members(),
            sum_("word_count"),
            mean("word_count"),
            median("word_count"),
            quantile("word_count", 0.9),
        )
        .sort("count", descending=True)
        .limit(5)
        .plan()
    )
    assert [(a.function, a.alias) for a in plan.aggregates] == [
        (Aggregation.COUNT, "count"),
        (Aggregation.COUNT_DISTINCT_MEMBERS, "members"),
        (Aggregation.SUM, "sum_word_count"),
        (Aggregation.MEAN, "mean_word_count"),
        (Aggregation.MEDIAN, "median_word_count"),
        (Aggregation.QUANTILE, "quantile_word_count"),
    ]
    assert plan.aggregates[-1].quantile == 0.9
    assert all(a.lower is None and a.upper is None for a in plan.aggregates)
    assert plan.order_by == (OrderBy(alias="count", descending=True),)
    assert plan.limit == 5


@pytest.mark.parametrize(
    "branch",
    [
        lambda: bool(col("helpful_votes") > 3),
        lambda: bool(col("theme")),
        lambda: bool(count()),
        lambda: bool(table("tips").agg(count())),
        lambda: "sleep" if col("theme") == "sleep" else "other",
    ],
)
def test_control_flow_cannot_depend_on_data(branch: object) -> None:
    # There is no data while an analysis is built; branching on a column is refused
    # instead of silently taking one branch.
    with pytest.raises(TypeError, match="without data"):
        branch()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: table("tips").agg(count()).filter(col("theme") == "x"), "before .agg"),
        (lambda: table("tips").sort("count"), "after .agg"),
        (lambda: table("tips").agg(count()).sort("nope"), "output column"),
        (lambda: table("tips").agg(count(), count()), "unique"),
        (lambda: table("tips").group_by("theme").agg(), "at least one statistic"),
        (lambda: table("tips").agg(count()).limit(0), "positive"),
        (lambda: quantile("word_count", 1.5), "between 0 and 1"),
        (lambda: col("theme; DROP TABLE tips"), "plain name"),
        (lambda: table("tips").filter(col("created_month").month() == "2024-01-01"), "bucket"),
        (lambda: col("created_date") > dt.datetime(2024, 1, 1), "not a datetime"),
        (lambda: col("word_count") > float("nan"), "finite"),
        (lambda: col("theme") == col("theme"), "column-to-column"),
        (lambda: table("tips").filter("theme = 'sleep'"), "condition such as"),
        (lambda: table("tips").plan(), "finish it with .agg"),
    ],
)
def test_misuse_says_how_to_fix_it(build: object, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        build()  # type: ignore[operator]


def test_queries_are_immutable_values() -> None:
    base = table("tips").filter(col("theme") == "sleep")
    grouped = base.group_by("theme").agg(count())
    assert base.aggregates == ()
    assert base.agg(count()).plan().group_by == ()
    assert grouped.plan().group_by[0].alias == "theme"


def test_shares_left_open_split_the_rest_equally() -> None:
    q = table("tips").agg(count())
    analysis = Analysis("split").add("a", q, share=0.4).add("b", q).add("c", q)
    assert [p.share for p in analysis.plan().queries] == [0.4, 0.3, 0.3]
    thirds = Analysis("thirds").add("a", q).add("b", q).add("c", q).plan()
    assert thirds.total_share <= 1
    assert {p.share for p in thirds.queries} == {thirds.queries[0].share}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda a, q: a.add("a", q, share=0.7).add("b", q, share=0.4), "more than 1"),
        (lambda a, q: a.add("a", q, share=1.0).add("b", q), "use all of"),
        (lambda a, q: a.add("a", q).add("a", q), "already"),
        (lambda a, q: a.add("a", q, share=0), r"\(0, 1\]"),
        (lambda a, q: a.add("Bad Name", q), "pattern"),
        (lambda a, q: a.add("a", table("tips").group_by("theme")), "no statistics"),
        (lambda a, q: a.add("a", "SELECT 1"), "add_sql"),
        (lambda a, q: a.add_sql("a", ""), "SQL text"),
        (lambda a, q: a.plan(), "no queries"),
    ],
)
def test_analysis_refuses_bad_entries_where_they_are_added(build: object, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        build(Analysis("x"), table("tips").agg(count()))  # type: ignore[operator]


def test_bounds_can_be_fixed_where_the_statistics_are_asked_for() -> None:
    plan = (
        table("tips")
        .group_by("theme")
        .agg(
            count(),
            sum_("helpful_votes", clamp=(0, 20)),
            quantile("word_count", 0.9, clamp=(0, 300)),
            rows_per_group=40,
            groups=6,
        )
        .plan()
    )
    assert (plan.contributions.rows_per_group, plan.contributions.groups) == (40, 6)
    assert [(a.lower, a.upper) for a in plan.aggregates] == [
        (None, None),
        (0.0, 20.0),
        (0.0, 300.0),
    ]
    assert table("tips").agg(count()).plan().contributions.rows_per_group is None


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: mean("helpful_votes", clamp=(20, 0)), ValueError),
        (lambda: mean("helpful_votes", clamp=(0, float("inf"))), ValueError),
        (lambda: mean("helpful_votes", clamp=20), TypeError),
        (lambda: table("tips").agg(count(), rows_per_group=0), ValueError),
        (lambda: table("tips").agg(count(), groups=2.5), TypeError),
    ],
)
def test_malformed_bounds_fail_at_the_researchers_line(build: Any, error: type) -> None:
    with pytest.raises(error):
        build()
