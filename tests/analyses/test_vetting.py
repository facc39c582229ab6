"""Vetting an analysis: the budget is checked first, then every query with the SQL rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gateway.analyses.vetting
from gateway.analyses import (
    Analysis,
    AnalysisPlan,
    Cond,
    Query,
    col,
    count,
    count_members,
    mean,
    median,
    quantile,
    sum_,
    table,
)
from gateway.analyses.render import to_sql
from gateway.analyses.vetting import check_budget, vet_analysis
from gateway.errors import AnalysisError, EpsilonError, VetError
from gateway.plan import QueryPlan
from gateway.policy import Column, ColumnRole, Policy
from tests.analyses.factories import EXAMPLES, example_plan, sleep_trends


@pytest.fixture
def vet_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every query that reaches the SQL vetter or the plan checker (a plan as its
    SQL), and refuses it."""
    calls: list[str] = []

    def vet(sql: str, policy: Policy) -> None:
        calls.append(sql)
        raise VetError("recorded", "vetter reached")

    def check_plan(plan: QueryPlan, policy: Policy) -> None:
        vet(to_sql(plan), policy)

    monkeypatch.setattr(gateway.analyses.vetting, "vet", vet)
    monkeypatch.setattr(gateway.analyses.vetting, "check_plan", check_plan)
    return calls


def test_total_epsilon_is_epsilon_times_the_shares(policy: Policy) -> None:
    q = table("tips").agg(count())
    plan = Analysis("x").add("a", q, share=0.25).add("b", q, share=0.5).plan()
    assert check_budget(plan, policy, 1.2) == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("epsilon", "code"),
    [
        (2.5, "epsilon_over_cap"),
        (0.0, "invalid_epsilon"),
        (-1.0, "invalid_epsilon"),
        (float("nan"), "invalid_epsilon"),
    ],
)
def test_budget_refusal_comes_before_any_query_is_vetted(
    policy: Policy, vet_calls: list[str], epsilon: float, code: str
) -> None:
    with pytest.raises(EpsilonError) as err:
        vet_analysis(sleep_trends().plan(), policy, epsilon)
    assert err.value.code == code
    assert err.value.hint
    assert vet_calls == []


def test_over_cap_hint_names_an_epsilon_that_fits(policy: Policy, vet_calls: list[str]) -> None:
    plan = Analysis("x").add("a", table("tips").agg(count()), share=0.5).plan()
    assert check_budget(plan, policy, 4.0) == pytest.approx(2.0)  # exactly the cap
    with pytest.raises(EpsilonError) as err:
        check_budget(plan, policy, 4.2)
    assert "--epsilon 4 " in str(err.value)


def test_shares_over_one_are_refused_even_if_the_plan_skipped_validation(
    policy: Policy, vet_calls: list[str]
) -> None:
    honest = sleep_trends().plan()
    forged = AnalysisPlan.model_construct(
        name="forged",
        queries=tuple(q.model_copy(update={"share": 0.9}) for q in honest.queries),
    )
    with pytest.raises(AnalysisError) as err:
        vet_analysis(forged, policy, 1.0)
    assert err.value.code == "analysis_not_a_plan"
    assert vet_calls == []


def test_a_clamp_wider_than_the_policys_is_refused(policy: Policy) -> None:
    built = Analysis("x").add("a", table("tips").agg(mean("helpful_votes")), share=0.5).plan()
    query = built.queries[0]
    assert query.plan is not None
    widened = query.plan.model_copy(
        update={
            "aggregates": (
                query.plan.aggregates[0].model_copy(update={"lower": 0.0, "upper": 1e9}),
            )
        }
    )
    plan = built.model_copy(update={"queries": (query.model_copy(update={"plan": widened}),)})
    with pytest.raises(VetError) as err:
        vet_analysis(plan, policy, 1.0)
    assert [i.code for i in err.value.issues] == ["bounds_outside_policy"]
    assert err.value.issues[0].message.startswith("a: ")
    assert err.value.issues[0].hint


def test_contributions_above_the_policys_maxima_are_refused(policy: Policy) -> None:
    most = policy.tables["tips"].contributions
    query = table("tips").group_by("theme")
    plan = (
        Analysis("x")
        .add("rows", query.agg(count(), rows_per_group=most.max_rows_per_group + 1))
        .add("cells", query.agg(count(), groups=most.max_groups + 1))
        .plan()
    )
    with pytest.raises(VetError) as err:
        vet_analysis(plan, policy, 1.0)
    assert [(i.code, i.message.split(":")[0]) for i in err.value.issues] == [
        ("bounds_outside_policy", "rows"),
        ("bounds_outside_policy", "cells"),
    ]


def test_bounds_fixed_in_the_analysis_reach_the_vetted_plan(policy: Policy) -> None:
    """SQL cannot carry them, so they are put back on the compiled plan after it is vetted."""
    most = policy.tables["tips"].contributions
    votes = policy.column("tips", "helpful_votes")
    assert votes.lower is not None
    assert votes.upper is not None
    clamp = (votes.lower, votes.lower + (votes.upper - votes.lower) / 2)
    query = (
        table("tips")
        .group_by("theme")
        .agg(
            count().alias("n"),
            mean("helpful_votes", clamp=clamp).alias("votes"),
            median("word_count").alias("words"),
            rows_per_group=most.max_rows_per_group,
            groups=2,
        )
    )
    vetted = vet_analysis(Analysis("x").add("q", query).plan(), policy, 1.0)
    (checked,) = vetted.queries
    assert checked.sql == to_sql(query.plan())  # the SQL has no bounds in it
    assert checked.plan.contributions.rows_per_group == most.max_rows_per_group
    assert checked.plan.contributions.groups == 2
    n, mean_votes, words = checked.plan.aggregates
    assert (mean_votes.lower, mean_votes.upper) == clamp
    assert (n.lower, n.upper, words.lower, words.upper) == (None, None, None, None)


def test_every_query_reaches_the_vetter_and_all_issues_are_reported(
    policy: Policy, vet_calls: list[str]
) -> None:
    with pytest.raises(VetError) as err:
        vet_analysis(sleep_trends().plan(), policy, 1.0)
    assert err.value.code == "analysis_rejected"
    assert len(vet_calls) == 2
    assert vet_calls[1] == "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme"
    assert vet_calls[0].startswith("SELECT DATE_TRUNC('MONTH'")
    assert [i.message for i in err.value.issues] == [
        "by_month: vetter reached",
        "by_theme: vetter reached",
    ]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_pass_the_vetter_unchanged(path: Path, policy: Policy) -> None:
    plan = example_plan(path)
    vetted = vet_analysis(plan, policy, 1.0)
    assert vetted.epsilon == pytest.approx(1.0)
    assert vetted.analysis_hash == plan.plan_hash()
    for built, checked in zip(plan.queries, vetted.queries, strict=True):
        assert built.plan is not None
        assert checked.epsilon == pytest.approx(built.share)
        assert checked.sql == to_sql(built.plan)
        assert checked.plan == built.plan  # bounds left out stay out: the engine chooses them


def test_a_bucket_at_the_columns_own_grain_is_the_same_question(policy: Policy) -> None:
    vetted = vet_analysis(sleep_trends().plan(), policy, 1.0)
    assert vetted.queries[0].plan.group_by[0].bucket is None  # created_month is monthly


def test_a_query_the_engine_cannot_answer_is_refused_before_anything_runs(
    policy: Policy,
) -> None:
    mixed = (
        table("support_requests").group_by("category").agg(count_members(), median("days_to_close"))
    )
    plan = Analysis("x").add("fine", table("tips").agg(count())).add("mixed", mixed).plan()
    with pytest.raises(VetError) as err:
        vet_analysis(plan, policy, 1.0)
    assert [(i.code, i.message.split(":")[0]) for i in err.value.issues] == [
        ("members_with_quantile", "mixed")
    ]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        (table("tips").group_by("tip_pid").agg(count()), "identifier_in_group_by"),
        (table("tips").agg(mean("theme")), "unbounded_measure"),
        (table("tips").group_by("nope").agg(count()), "unknown_column"),
        (table("tips").group_by(col("members.age_band")).agg(count()), "unknown_table"),
    ],
)
def test_builder_queries_meet_the_sql_rules(policy: Policy, query: Query, code: str) -> None:
    plan = Analysis("x").add("bad", query, share=0.5).add("good", table("tips").agg(count())).plan()
    with pytest.raises(VetError) as err:
        vet_analysis(plan, policy, 1.0)
    assert err.value.code == "analysis_rejected"
    assert "1 of 2 queries" in err.value.message
    assert all(i.message.startswith("bad: ") for i in err.value.issues)
    assert code in {i.code for i in err.value.issues}


def _condition(draw: st.DrawFn, column: str, spec: Column) -> Cond | None:
    """A well-typed condition on ``column`` in one of the forms the SDK offers."""
    c = col(column)
    form = draw(st.integers(0, 2))
    if spec.role is ColumnRole.CATEGORY and spec.domain:
        values = draw(st.lists(st.sampled_from(spec.domain), min_size=1, max_size=3))
        return [c == values[0], c.is_in(values), ~c.is_in(values)][form]
    if spec.role is ColumnRole.MEASURE:
        assert spec.lower is not None
        assert spec.upper is not None
        low = draw(st.integers(int(spec.lower), int(spec.upper)))
        return [c >= low, c.is_between(low, low + 5), c.is_not_null()][form]
    if spec.role is ColumnRole.DATE:
        day = draw(st.dates(dt.date(2020, 1, 1), dt.date(2025, 12, 31)))
        return [c < day, ~(c >= day), c.is_between(day, day + dt.timedelta(days=90))][form]
    return None


@st.composite
def schema_queries(draw: st.DrawFn, policy: Policy) -> Query:
    """A query the SDK can build over the real schema, with well-typed constants."""
    name = draw(st.sampled_from(sorted(policy.tables)))
    columns = policy.tables[name].columns
    query = table(name)
    if name != policy.unit_table and draw(st.booleans()):
        query = query.join_members()
    filtered = draw(st.lists(st.sampled_from(sorted(columns)), max_size=3, unique=True))
    conditions = [c for c in (_condition(draw, n, columns[n]) for n in filtered) if c is not None]
    if len(conditions) > 1 and draw(st.booleans()):
        conditions = [conditions[0] | conditions[1], *conditions[2:]]
    if conditions:
        query = query.filter(*conditions)
    groupable = sorted(
        n for n, spec in columns.items() if spec.role in (ColumnRole.CATEGORY, ColumnRole.DATE)
    )
    keys = [
        col(n).year().alias(f"{n}_year")
        if columns[n].role is ColumnRole.DATE and draw(st.booleans())
        else col(n)
        for n in draw(st.lists(st.sampled_from(groupable), max_size=2, unique=True))
    ]
    statistics = [count(), count_members()]
    measures = sorted(n for n, spec in columns.items() if spec.role is ColumnRole.MEASURE)
    if measures:
        m = draw(st.sampled_from(measures))
        # The engine computes medians and quantiles on their own, over one measure.
        quantiles = draw(st.booleans())
        statistics = (
            [median(m), quantile(m, 0.75)] if quantiles else [*statistics, sum_(m), mean(m)]
        )
    chosen = draw(
        st.lists(st.sampled_from(range(len(statistics))), min_size=1, max_size=3, unique=True)
    )
    aggregates = [statistics[i].alias(f"s{i}") for i in chosen]
    return query.group_by(*keys).agg(*aggregates) if keys else query.agg(*aggregates)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_schema_query_compiles_to_the_plan_it_was_built_as(
    data: st.DataObject, policy: Policy
) -> None:
    query = data.draw(schema_queries(policy))
    plan = Analysis("generated").add("q", query).plan()
    vetted = vet_analysis(plan, policy, 1.0)
    assert vetted.queries[0].plan.output_columns == query.plan().output_columns
