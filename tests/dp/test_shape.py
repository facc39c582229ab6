"""Shapes: what may be asked, which keys are public, how the budget is split."""

from __future__ import annotations

import pytest

from gateway.dp import budget_split
from gateway.dp.mechanism import calibrate
from gateway.dp.shape import Pipeline, StatKind, shape_of
from gateway.errors import DpError
from gateway.plan import QueryPlan
from gateway.policy import Policy
from gateway.policy.model import Aggregation
from tests.dp import factories as f

VOTES = ("tips", "helpful_votes")


def test_public_domains_give_every_combination_a_distinct_cell(health_policy: Policy) -> None:
    plan = f.plan(
        "tips",
        f.count(),
        group_by=[f.by("tips", "theme"), f.by("members", "age_band")],
        join_members=True,
    )
    shape = shape_of(plan, health_policy, epsilon=1.0)
    assert shape.public_keys is not None
    themes = health_policy.column("tips", "theme").domain
    bands = health_policy.column("members", "age_band").domain
    assert themes is not None
    assert bands is not None
    assert {keys for _, keys in shape.public_keys} == {(t, b) for t in themes for b in bands}
    assert len({cell for cell, _ in shape.public_keys}) == len(themes) * len(bands)


def test_a_date_domain_gives_every_bucket_between_its_ends(health_policy: Policy) -> None:
    policy = f.with_column(
        health_policy, "tips", "created_date", domain=("2023-11-20", "2024-02-03")
    )
    plan = f.plan("tips", f.count(), group_by=[f.by("tips", "created_date", "m", bucket="month")])
    shape = shape_of(plan, policy, epsilon=1.0)
    assert shape.public_keys is not None
    assert sorted(k for _, (k,) in shape.public_keys) == [  # type: ignore[type-var]
        "2023-11-01",
        "2023-12-01",
        "2024-01-01",
        "2024-02-01",
    ]


def test_a_private_key_makes_the_whole_key_set_private(health_policy: Policy) -> None:
    plan = f.plan(
        "tips", f.count(), group_by=[f.by("tips", "theme"), f.by("tips", "created_month")]
    )
    shape = shape_of(plan, health_policy, epsilon=1.0)
    assert shape.public_keys is None
    assert StatKind.MEMBERS in {s.kind for s in shape.statistics}  # thresholded by OpenDP


def test_too_many_public_groups_are_refused(health_policy: Policy) -> None:
    policy = f.with_column(
        health_policy, "tips", "created_date", domain=("2020-01-01", "2024-12-31")
    )
    plan = f.plan("tips", f.count(), group_by=[f.by("tips", "theme"), f.by("tips", "created_date")])
    with pytest.raises(DpError) as err:
        shape_of(plan, policy, epsilon=1.0)
    assert err.value.code == "too_many_groups"


@pytest.mark.parametrize(
    ("plan", "code"),
    [
        (
            f.plan("tips", f.members(), f.measure(Aggregation.MEDIAN, *VOTES, "m")),
            "members_with_quantile",
        ),
        (f.plan("tips", f.measure(Aggregation.SUM, "tips", "theme", "s")), "not_a_measure"),
        (f.plan("tips", f.count(), group_by=[f.by(*VOTES)]), "not_groupable"),
        (f.plan("tips", f.count(), group_by=[f.by("tips", "member_pid")]), "not_groupable"),
        (
            f.plan("tips", f.count(), group_by=[f.by("tips", "theme", bucket="month")]),
            "bucket_on_non_date",
        ),
        (f.plan("tips", f.count(), group_by=[f.by("members", "province")]), "unknown_column"),
        (f.plan("tips", f.count("x"), f.members("x")), "duplicate_alias"),
        (f.plan("nope", f.count()), "unknown_table"),
        (f.plan("tips", f.measure(Aggregation.QUANTILE, *VOTES, "q")), "quantile_missing"),
    ],
)
def test_plans_the_engine_cannot_bound_are_refused(
    health_policy: Policy, plan: QueryPlan, code: str
) -> None:
    with pytest.raises(DpError) as err:
        shape_of(plan, health_policy, epsilon=1.0)
    assert err.value.code == code


def test_count_of_a_column_and_disallowed_aggregations_are_refused(health_policy: Policy) -> None:
    counted = f.plan("tips", f.count().model_copy(update={"column": f.col(*VOTES)}))
    with pytest.raises(DpError, match="COUNT"):
        shape_of(counted, health_policy, epsilon=1.0)
    strict = health_policy.model_copy(update={"aggregations": (Aggregation.COUNT,)})
    with pytest.raises(DpError) as err:
        shape_of(f.plan("tips", f.measure(Aggregation.SUM, *VOTES, "s")), strict, epsilon=1.0)
    assert err.value.code == "aggregation_not_allowed"


def test_only_integer_measures_are_summed(health_policy: Policy) -> None:
    policy = f.with_column(health_policy, *VOTES, type="DOUBLE")
    with pytest.raises(DpError) as err:
        shape_of(f.plan("tips", f.measure(Aggregation.SUM, *VOTES, "s")), policy, epsilon=1.0)
    assert err.value.code == "measure_not_integer"


def test_clamp_bounds_come_from_the_plan_or_the_policy(health_policy: Policy) -> None:
    own = f.measure(Aggregation.SUM, *VOTES, "own").model_copy(update={"lower": 1.5, "upper": 9.2})
    plan = f.plan("tips", own, f.measure(Aggregation.SUM, *VOTES, "policy"))
    shape = shape_of(plan, health_policy, epsilon=1.0)
    assert [(m.lower, m.upper) for m in shape.measures] == [(1, 10), (0, 50)]


def test_medians_use_the_record_pipeline_and_every_integer_candidate(health_policy: Policy) -> None:
    plan = f.plan(
        "tips", f.measure(Aggregation.MEDIAN, *VOTES, "m"), group_by=[f.by("tips", "theme")]
    )
    shape = shape_of(plan, health_policy, epsilon=1.0)
    assert shape.pipeline is Pipeline.ROWS
    quantile = next(s for s in shape.statistics if s.kind is StatKind.QUANTILE)
    assert (quantile.alpha, quantile.candidates) == (0.5, tuple(range(51)))
    wide = f.plan("members", f.measure(Aggregation.QUANTILE, "members", "birth_year", "q", 0.9))
    years = shape_of(wide, health_policy, epsilon=1.0).statistics[0].candidates
    assert years == tuple(range(1920, 2011))


def test_budget_is_split_evenly_over_statistics_and_shared_ones_are_shared(
    fixed_policy: Policy,
) -> None:
    plan = f.plan(
        "tips",
        f.count(),
        f.measure(Aggregation.SUM, *VOTES, "total"),
        f.measure(Aggregation.MEAN, *VOTES, "mean"),
        group_by=[f.by("tips", "created_month")],
    )
    shape = shape_of(plan, fixed_policy, epsilon=1.0)
    split = budget_split(shape, calibrate(shape, 0.95).shares, 1.0)
    # statistics: rows, sum(votes), centred sum(votes), count(votes), members (selection)
    assert split == pytest.approx({"n": 0.2, "total": 0.2, "mean": 0.4, "partition_selection": 0.2})
    assert sum(split.values()) == pytest.approx(1.0)
