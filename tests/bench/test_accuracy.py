"""The accuracy benchmark's arithmetic and its lever for fixed bounds."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from bench.accuracy import (
    QUERIES,
    Bounds,
    Key,
    Observation,
    Query,
    check_fixed,
    error_ratio,
    fix_bounds,
    observe,
    percentile,
    relative_error,
    search_key,
    summarise,
)
from gateway.dp.release import ColumnBounds, Release
from gateway.dp.shape import shape_of
from gateway.plan import QueryPlan
from gateway.policy import Policy
from tests.dp import factories


@pytest.fixture(scope="module")
def policy() -> Policy:
    return factories.policy()


def test_percentile_interpolates_like_numpy() -> None:
    rng = random.Random(7)
    for size in (1, 2, 5, 40):
        values = [rng.uniform(-5, 5) for _ in range(size)]
        for q in (0.0, 0.5, 0.9, 1.0):
            assert percentile(values, q) == pytest.approx(float(np.quantile(values, q)))


def test_relative_error_counts_a_missing_value_as_answering_zero() -> None:
    assert relative_error(90.0, 100.0) == pytest.approx(0.1)
    assert relative_error(110.0, -100.0) == pytest.approx(2.1)
    assert relative_error(None, 100.0) == 1.0


def test_observe_scores_true_groups_only() -> None:
    truth: dict[Key, float] = {("a",): 100.0, ("b",): 10.0, ("c",): 50.0}
    released: dict[Key, tuple[float | None, tuple[float, float] | None]] = {
        ("a",): (90.0, (85.0, 95.0)),  # interval misses the truth
        ("b",): (10.0, None),  # no interval (a median)
        ("z",): (5.0, (0.0, 9.0)),  # not a true group: not scored
    }
    first, second, third = observe(truth, released)
    assert (first.released, first.covered) == (True, False)
    assert first.error == pytest.approx(0.1)
    assert second == Observation(True, 0.0, None)
    assert third == Observation(False)


def test_summary_pools_released_groups_and_the_search_counts_withheld_ones() -> None:
    observations = [Observation(True, e, True) for e in (0.1, 0.2, 0.3)] + [
        Observation(True, 0.4, False),
        Observation(False),
    ]
    summary = summarise(observations)
    assert summary.median_error == pytest.approx(0.25)
    assert summary.p90_error == pytest.approx(0.37)
    assert summary.coverage == pytest.approx(0.75)
    assert summary.intervals == 4
    assert summary.released == pytest.approx(0.8)
    assert summary.search_score == pytest.approx(0.3)  # median of 0.1, 0.2, 0.3, 0.4, 1.0
    assert summary.capped_mean == pytest.approx(0.4)


def test_coverage_is_also_given_over_the_releases_that_did_not_flag_the_column() -> None:
    truth: dict[Key, float] = {("a",): 100.0}
    flagged = observe(truth, {("a",): (80.0, (70.0, 90.0))}, biased=True)
    kept = observe(truth, {("a",): (99.0, (95.0, 105.0))})
    summary = summarise(flagged + kept)
    assert summary.coverage == pytest.approx(0.5)
    assert summary.coverage_unflagged == 1.0
    assert summary.flagged == pytest.approx(0.5)


def test_the_search_does_not_win_by_withholding_groups() -> None:
    all_shown = summarise([Observation(True, 0.2, None)] * 4)
    half_shown = summarise([Observation(True, 0.01, None)] * 2 + [Observation(False)] * 2)
    assert (half_shown.median_error or 0) < (all_shown.median_error or 0)
    assert search_key(all_shown) < search_key(half_shown)


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: q.name)
def test_fix_bounds_gives_the_engine_exactly_the_bounds(query: Query, policy: Policy) -> None:
    upper = 17 if query.uppers != (None,) else None
    plan, fixed = fix_bounds(query.sql, policy, Bounds(rows=3, cells=5, upper=upper))
    assert (plan.contributions.rows_per_group, plan.contributions.groups) == (3, 5)
    assert [(a.lower, a.upper) for a in plan.aggregates if a.column] == ([(0, 17)] if upper else [])
    assert not fixed.bounding.choose
    shape = shape_of(plan, fixed, epsilon=1.0)
    assert (shape.per_group, shape.num_groups) == (3, 5)
    assert [(m.lower, m.upper) for m in shape.measures] == ([(0, 17)] if upper else [])
    assert policy.tables["tips"].contributions.max_rows_per_group != 3  # the original is kept


def _release(plan: QueryPlan, bounds: dict[str, ColumnBounds], spent: float = 0.0) -> Release:
    return Release(
        columns=plan.output_columns,
        rows=[],
        ci=[],
        epsilon=1.0,
        delta=0.0,
        epsilon_spent=1.0,
        suppressed_groups=0,
        mechanism="laplace",
        bounds=bounds,
        bounds_epsilon=spent,
        plan_hash="p",
        extract_hash="e",
        created_at=dt.datetime.now(dt.UTC),
    )


def test_check_fixed_refuses_a_release_that_chose_or_changed_its_bounds(policy: Policy) -> None:
    fixed = Bounds(rows=3, cells=5, upper=17)
    plan, _ = fix_bounds(QUERIES[1].sql, policy, fixed)  # a mean: rows, cells and a clamp
    alias = plan.aggregates[0].alias
    kept = ColumnBounds(rows_per_group=3, groups=5, clamp=(0, 17), chosen=False)
    check_fixed(_release(plan, {}), plan, fixed)  # an engine that states no bounds
    check_fixed(_release(plan, {alias: kept}), plan, fixed)
    for wrong in (
        _release(plan, {alias: kept}, spent=0.1),
        _release(plan, {alias: kept.model_copy(update={"chosen": True})}),
        _release(plan, {alias: kept.model_copy(update={"groups": 6})}),
        _release(plan, {alias: kept.model_copy(update={"rows_per_group": 1})}),
        _release(plan, {alias: kept.model_copy(update={"clamp": (0, 20)})}),
    ):
        with pytest.raises(RuntimeError, match="fix_bounds"):
            check_fixed(wrong, plan, fixed)


def test_when_most_groups_are_withheld_the_search_ranks_by_capped_mean() -> None:
    withheld = [Observation(False)] * 3
    close = summarise([Observation(True, 0.1, None), *withheld])
    far = summarise([Observation(True, 5.0, None), *withheld])
    assert close.search_score == far.search_score == 1.0
    assert search_key(close) < search_key(far)


def test_error_ratio_compares_90th_percentiles_where_the_reference_is_exact() -> None:
    reference = summarise([Observation(True, e) for e in (0.0, 0.0, 0.0, 0.1)])
    mine = summarise([Observation(True, e) for e in (0.0, 0.05, 0.1, 0.2)])
    assert reference.median_error == 0
    value, which = error_ratio(mine, reference)
    assert which == " (p90)"
    assert value == pytest.approx(0.17 / 0.07)
    halved = summarise([Observation(True, e) for e in (0.1, 0.2, 0.3)])
    value, which = error_ratio(halved, mine)
    assert which == ""
    assert value == pytest.approx(0.2 / 0.075)
