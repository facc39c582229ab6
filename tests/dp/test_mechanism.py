"""A member moves a release by at most the bounds; the noise is calibrated as OpenDP would.

The bounds are checked without noise: the same OpenDP plan built with a noise
scale of 0 shows exactly what a member can move before noise is added.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import opendp.prelude as dp
import polars as pl
import pytest
from opendp.mod import OpenDPException

from gateway.dp import budget_split, mechanism
from gateway.dp.frame import load_frame
from gateway.dp.mechanism import calibrate
from gateway.dp.shape import Shape, shape_of
from gateway.dp.tuning import Noise
from gateway.errors import DpError
from gateway.plan import QueryPlan
from gateway.policy import Policy
from gateway.policy.model import Aggregation
from gateway.source import schema
from tests.dp import factories as f

MONTHS = [dt.date(2022 + i // 12, i % 12 + 1, 3) for i in range(36)]
THEMES = schema.THEMES
BY_CELL = [f.by("tips", "theme"), f.by("tips", "created_month", "month", bucket="month")]


@pytest.fixture(scope="module")
def dated_policy() -> Policy:
    """Months public too, so every one of the 432 cells is released."""
    return f.with_column(
        f.fixed(f.policy()), "tips", "created_month", domain=("2022-01-01", "2024-12-31")
    )


def _exact(plan: QueryPlan, policy: Policy, con: duckdb.DuckDBPyConnection) -> dict[Any, int]:
    """The plan's row count per cell, bounded per member but without noise."""
    shape = shape_of(plan, policy, epsilon=1.0)
    calibration = calibrate(shape, 0.95)
    with tempfile.TemporaryDirectory() as directory:
        frame = load_frame(plan, policy, shape, con, Path(directory))
        context = mechanism._context(
            frame.data, calibration.unit, calibration.domain, calibration.loss
        )
        accountant = context.accountant
        noiseless = dp.m.make_private_lazyframe(
            accountant.input_domain,
            accountant.input_metric,
            accountant.output_measure,
            mechanism._query(context, shape).polars_plan,
            global_scale=0.0,
        )
        released = noiseless(frame.data).collect()
    return {frame.keys[r["cell"]]: r["rows"] for r in released.iter_rows(named=True)}


def _tips(heavy: list[tuple[str, dt.date]], per_cell: int) -> list[tuple[Any, ...]]:
    crowd = [f.tip(m, THEMES[m % 12], MONTHS[m % 36], n=0) for m in range(1, 300)]
    mine = [
        f.tip(0, t, d, n=i * per_cell + j)
        for i, (t, d) in enumerate(heavy)
        for j in range(per_cell)
    ]
    return crowd + mine


@pytest.mark.parametrize(
    "plan",
    [
        f.plan("tips", f.count(), group_by=BY_CELL),
        f.plan(
            "tips",
            f.count(),
            f.measure(Aggregation.MEDIAN, "tips", "helpful_votes", "m"),
            group_by=BY_CELL,
        ),
    ],
    ids=["cells", "rows"],
)
def test_a_member_with_ten_thousand_tips_moves_counts_by_at_most_the_bound(
    dated_policy: Policy, plan: QueryPlan
) -> None:
    bounds = dated_policy.tables["tips"].contributions
    k, groups = bounds.max_rows_per_group, bounds.max_groups
    heavy = [(THEMES[i % 12], MONTHS[i % 36]) for i in range(100)]  # 100 cells, 100 tips each
    without = _exact(plan, dated_policy, f.extract(dated_policy, {"tips": _tips([], 0)}))
    chosen: set[frozenset[Any]] = set()
    for _ in range(4):
        con = f.extract(dated_policy, {"tips": _tips(heavy, 100)})
        moved = {
            c: v - without[c] for c, v in _exact(plan, dated_policy, con).items() if v != without[c]
        }
        assert len(moved) == groups  # a random `groups` of the member's 100 cells
        assert set(moved.values()) == {k}  # at most k rows in each
        chosen.add(frozenset(moved))
    assert len(chosen) > 1  # the kept cells are a random sample, not the first ones


def test_ten_thousand_tips_in_one_cell_count_as_the_bound(dated_policy: Policy) -> None:
    plan = f.plan(
        "tips",
        f.count(),
        f.measure(Aggregation.SUM, "tips", "helpful_votes", "v"),
        group_by=BY_CELL,
    )
    k = dated_policy.tables["tips"].contributions.max_rows_per_group
    heavy = f.extract(
        dated_policy, {"tips": [f.tip(0, "sleep", MONTHS[0], votes=50, n=i) for i in range(10_000)]}
    )
    assert _exact(plan, dated_policy, heavy)[("sleep", "2022-01-01")] == k


def _scales(measurement: Any) -> list[float]:
    return list(dp.summarize_polars_measurement(measurement)["scale"])


@pytest.mark.slow
def test_the_search_finds_the_scale_and_threshold_opendp_resolve_finds(
    health_policy: Policy,
) -> None:
    plan = f.plan("members", f.count(), group_by=[f.by("members", "country")])
    shape = shape_of(plan, health_policy, epsilon=1.0)
    calibration = mechanism._calibrate(shape, Noise.LAPLACE, 0.95)
    assert calibration is not None
    context = mechanism._context(
        pl.LazyFrame(schema=mechanism.schema(shape)),
        calibration.unit,
        calibration.domain,
        calibration.loss,
    )
    reference = mechanism._query(context, shape).resolve()
    assert _scales(calibration.measurement) == pytest.approx(_scales(reference), rel=1e-5)
    summary = dp.summarize_polars_measurement(reference)
    assert calibration.threshold == summary["threshold"].drop_nulls()[0]


def test_a_kept_tuning_is_used_if_it_holds_and_searched_for_again_if_not(
    health_policy: Policy,
) -> None:
    plan = f.plan("tips", f.count(), group_by=[f.by("tips", "created_month", "month", "month")])
    shape = shape_of(plan, health_policy, epsilon=1.0)
    searched = calibrate(shape, 0.95)
    kept = searched.tuning
    assert kept.threshold is not None  # private months: a threshold too
    noisier = kept.model_copy(update={"scale": kept.scale * 2, "threshold": kept.threshold * 2})
    with mock.patch.object(mechanism, "_search", side_effect=AssertionError("searched")):
        rebuilt = calibrate(shape, 0.95, kept)
        assert calibrate(shape, 0.95, noisier).tuning == noisier
    assert _scales(rebuilt.measurement) == _scales(searched.measurement)
    assert (rebuilt.accuracy, rebuilt.threshold) == (searched.accuracy, searched.threshold)
    less_noise = kept.model_copy(update={"scale": kept.scale * 0.9})
    lower_threshold = kept.model_copy(update={"threshold": kept.threshold // 2})
    no_threshold = kept.model_copy(update={"threshold": None})  # private keys need one
    for wrong in (less_noise, lower_threshold, no_threshold):
        assert calibrate(shape, 0.95, wrong).tuning == kept
    themes = shape_of(
        f.plan("tips", f.count(), group_by=[f.by("tips", "theme")]), health_policy, epsilon=1.0
    )
    public = calibrate(themes, 0.95).tuning
    thresholded = public.model_copy(update={"threshold": 5})  # public keys are all shown
    assert calibrate(themes, 0.95, thresholded).tuning == public


def _laplace(plan: QueryPlan, policy: Policy, epsilon: float) -> mechanism.Calibration:
    calibration = mechanism._calibrate(shape_of(plan, policy, epsilon=epsilon), Noise.LAPLACE, 0.95)
    assert calibration is not None
    return calibration


def test_counts_with_noise_in_proportion_to_their_sensitivity_spend_equal_shares(
    health_policy: Policy,
) -> None:
    keys = [f.by("tips", "theme")]
    both = _laplace(f.plan("tips", f.count(), f.members(), group_by=keys), health_policy, 1.0)
    assert both.shares == pytest.approx({"rows": 0.5, "members": 0.5})
    by_province = [f.by("members", "province")]
    alone = _laplace(f.plan("members", f.count(), group_by=by_province), health_policy, 0.5)
    # one member, one row: the count of rows counts the members too, and is not paid for twice
    assert alone.shares == pytest.approx({"rows": 1.0})
    assert (
        shape_of(
            f.plan("members", f.count(), group_by=by_province), health_policy, epsilon=0.5
        ).members
        == "rows"
    )


@pytest.mark.parametrize("noise", list(Noise))
def test_a_median_spends_what_its_privacy_map_says_not_an_equal_share(
    fixed_policy: Policy, noise: Noise
) -> None:
    plan = f.plan(
        "tips",
        f.count(),
        f.measure(Aggregation.MEDIAN, "tips", "helpful_votes", "m"),
        group_by=[f.by("tips", "theme")],
    )
    shape = shape_of(plan, fixed_policy, epsilon=1.0)
    calibration = mechanism._calibrate(shape, noise, 0.95)
    assert calibration is not None
    split = budget_split(shape, calibration.shares, 1.0)
    assert sum(split.values()) == pytest.approx(1.0)
    assert set(split) == {"n", "m", "group_size"}  # the member count only withholds small groups
    assert all(share > 0 for share in split.values())
    if noise is Noise.LAPLACE:  # the exponential mechanism's ε is twice a count's at one scale
        assert split["m"] == pytest.approx(2 * split["n"], rel=0.02)


def _noise(plan: QueryPlan, policy: Policy) -> Noise:
    shape: Shape = shape_of(plan, policy, epsilon=1.0)
    return calibrate(shape, 0.95).noise


def test_the_more_accurate_noise_is_chosen(health_policy: Policy) -> None:
    one_group = f.plan("members", f.count(), group_by=[f.by("members", "province")])
    assert _noise(one_group, health_policy) is Noise.LAPLACE
    many_groups = f.plan(
        "tips",
        f.count(),
        f.members(),
        f.measure(Aggregation.MEAN, "tips", "helpful_votes", "v"),
        group_by=[f.by("tips", "created_month")],
    )
    assert _noise(many_groups, health_policy) is Noise.GAUSSIAN


def test_opendp_failures_are_refusals_that_quote_no_data(health_policy: Policy) -> None:
    plan = f.plan("tips", f.measure(Aggregation.MEDIAN, "tips", "helpful_votes", "m"))
    shape = shape_of(plan, health_policy, epsilon=1.0)
    calibration = calibrate(shape, 0.95)
    wrong = pl.LazyFrame({"pid": pl.Series([1], dtype=pl.UInt64), "secret": [42]})
    with pytest.raises(DpError) as err:
        mechanism.release(calibration, wrong)
    assert err.value.code == "release_failed"
    assert "42" not in err.value.message
    quantile = replace(shape.statistics[0], candidates=())
    broken = replace(shape, statistics=(quantile, *shape.statistics[1:]))
    with pytest.raises(DpError) as err:
        calibrate(broken, 0.95)
    assert err.value.code == "calibration_failed"


def test_opendp_trusts_the_caller_only_while_the_engine_takes_the_plan_out(
    health_policy: Policy,
) -> None:
    """The plan leaves OpenDP's run-once wrapper under ``honest-but-curious``; nothing else may."""
    plan = f.plan("tips", f.count(), group_by=[f.by("tips", "theme")])
    shape = shape_of(plan, health_policy, epsilon=1.0)
    calibration = calibrate(shape, 0.95)
    assert calibration.streams
    released = mechanism.release(calibration, pl.LazyFrame(schema=mechanism.schema(shape)))
    assert released.height == len(shape.public_keys or ())  # every theme, from no data
    with pytest.raises(OpenDPException, match="honest-but-curious"):
        dp.assert_features("honest-but-curious")


@pytest.mark.parametrize(("rows", "groups"), [(1, 12), (7, 12), (48, 12), (5, 3)])
def test_a_chosen_shape_gets_the_noise_a_search_would_find(
    health_policy: Policy, rows: int, groups: int
) -> None:
    """Reusing the maxima's scale for chosen bounds is exactly as noisy as searching anew."""
    plan = f.plan(
        "tips",
        f.count(),
        f.measure(Aggregation.MEAN, "tips", "helpful_votes", "v"),
        group_by=[f.by("tips", "theme")],
    )
    template = shape_of(plan, health_policy, epsilon=1.0)
    chosen = replace(template, per_group=rows, num_groups=groups)
    bounded = mechanism.calibrate_bounded(chosen, 0.95, calibrate(template, 0.95))
    searched = calibrate(chosen, 0.95)
    assert bounded.noise is searched.noise
    assert bounded.tuning.scale == pytest.approx(searched.tuning.scale, rel=1e-5)
    assert bounded.accuracy == pytest.approx(searched.accuracy, rel=1e-5)


def test_chosen_bounds_over_private_keys_search_their_threshold_once(health_policy: Policy) -> None:
    """The threshold of chosen bounds is searched once per process, however the maxima came.

    Chosen bounds recur from query to query (they come from a grid); the
    template may be searched for or rebuilt from a kept tuning, as in a new
    sandbox process: either gives the calibration found the first time.
    """
    months = [f.by("tips", "created_month", "month", bucket="month")]
    template = shape_of(f.plan("tips", f.count(), group_by=months), health_policy, epsilon=1.0)
    chosen = replace(template, per_group=3)
    searched = calibrate(template, 0.95)
    first = mechanism.calibrate_bounded(chosen, 0.95, searched)
    rebuilt = calibrate(template, 0.95, searched.tuning)
    assert rebuilt is not searched
    with mock.patch.object(mechanism, "_threshold", side_effect=AssertionError("searched again")):
        assert mechanism.calibrate_bounded(chosen, 0.95, rebuilt) is first
    assert first.threshold is not None
