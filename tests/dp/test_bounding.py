"""Bounds chosen per query with DP: within the maxima, paid for, and honest about their cut."""

from __future__ import annotations

import math
import statistics
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from gateway.dp import bounding
from gateway.dp.frame import reduced
from gateway.dp.shape import shape_of
from gateway.errors import DpError
from gateway.plan import Contributions, QueryPlan
from gateway.policy import Policy
from gateway.policy.model import Aggregation
from tests.dp import factories as f

VOTES = ("tips", "helpful_votes")
BY_THEME = [f.by("tips", "theme")]
THEMES = ["sleep", "stress", "nutrition", "movement"]


def _heavy_tailed(policy: Policy) -> duckdb.DuckDBPyConnection:
    """600 members: most with a few tips per theme, one in twenty with 40-200 in one theme."""
    rows = []
    for m in range(600):
        theme = THEMES[m % 4]
        count = 40 + (m * 7) % 160 if m % 20 == 0 else 1 + m % 4
        rows += [f.tip(m, theme, votes=(m + i) % 12, n=i) for i in range(count)]
    return f.extract(policy, {"tips": rows})


@pytest.fixture(scope="module")
def heavy(health_policy: Policy) -> duckdb.DuckDBPyConnection:
    return _heavy_tailed(health_policy)


PLANS = {
    "count": f.plan("tips", f.count(), group_by=BY_THEME),
    "mean": f.plan("tips", f.measure(Aggregation.MEAN, *VOTES, "v"), group_by=BY_THEME),
    "count and sum": f.plan(
        "tips", f.count(), f.measure(Aggregation.SUM, *VOTES, "s"), group_by=BY_THEME
    ),
    "members by month": f.plan(
        "tips", f.members(), group_by=[f.by("tips", "created_month", "m", bucket="month")]
    ),
    "ungrouped mean": f.plan("tips", f.measure(Aggregation.MEAN, *VOTES, "v")),
}
MEDIAN = f.plan("tips", f.measure(Aggregation.MEDIAN, *VOTES, "md"), group_by=BY_THEME)


@pytest.mark.parametrize("name", list(PLANS))
def test_chosen_bounds_stay_within_the_policy_and_are_paid_for(
    health_policy: Policy, heavy: duckdb.DuckDBPyConnection, name: str
) -> None:
    plan = PLANS[name]
    maxima = health_policy.tables["tips"].contributions
    release = f.released(plan, health_policy, heavy, epsilon=1.0, extract_hash="h")
    share = health_policy.bounding.selection_share
    assert release.bounds_epsilon == pytest.approx(share)
    assert release.budget_split["bounds"] == pytest.approx(share)
    assert sum(release.budget_split.values()) == pytest.approx(1.0)
    for alias, bounds in release.bounds.items():
        assert bounds.chosen, alias
        assert 1 <= bounds.rows_per_group <= maxima.max_rows_per_group
        assert 1 <= bounds.groups <= maxima.max_groups
        if bounds.clamp is not None:
            column = health_policy.tables["tips"].columns["helpful_votes"]
            assert column.lower is not None
            assert column.upper is not None
            assert column.lower <= bounds.clamp[0] < bounds.clamp[1] <= column.upper


LEVELS = {"mean": PLANS["mean"], "ungrouped mean": PLANS["ungrouped mean"], "median": MEDIAN}


@pytest.mark.parametrize("name", list(LEVELS))
def test_levels_take_one_value_per_member_and_cell(
    health_policy: Policy, heavy: duckdb.DuckDBPyConnection, name: str
) -> None:
    """A mean or median wants no more: a member's further rows add noise faster than values.

    A mean's count of values then counts the members too (no ε for a separate
    count); a median over public keys has nothing left to choose and spends
    nothing on it.
    """
    release = f.released(LEVELS[name], health_policy, heavy, epsilon=1.0, extract_hash="h")
    (bounds,) = release.bounds.values()
    assert bounds.rows_per_group == 1
    if name == "median":
        themes = health_policy.tables["tips"].columns["theme"].domain
        assert themes is not None
        maximum = health_policy.tables["tips"].contributions.max_groups
        assert bounds.groups == min(len(themes), maximum)
        assert release.bounds_epsilon == 0
        assert not bounds.chosen
    else:
        assert "group_size" not in release.budget_split
        assert release.bounds_epsilon > 0


def test_bound_selection_spends_exactly_its_share_in_opendp(
    health_policy: Policy, heavy: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ε of the selection's OpenDP releases and of the query add up to the ε asked.

    Each release is checked by OpenDP's privacy map at the ε it is given. No
    part of the selection's share is left unspent: the quantiles a query needs
    (here rows and a clamp, not cells) share what is set aside for them.
    """
    spent: list[float] = []
    original = bounding.release_per_member

    def recording(data: Any, expressions: Any, epsilon: float, *args: Any, **kw: Any) -> Any:
        spent.append(epsilon)
        return original(data, expressions, epsilon, *args, **kw)

    monkeypatch.setattr(bounding, "release_per_member", recording)
    release = f.released(
        PLANS["count and sum"], health_policy, heavy, epsilon=1.5, extract_hash="h"
    )
    query = shape_of(PLANS["count and sum"], health_policy, epsilon=1.5).epsilon
    assert len(spent) == 4  # members and rows; the row bound; the clamp; the cut (no cells)
    assert sum(spent) == pytest.approx(release.bounds_epsilon)
    assert sum(spent) + query <= 1.5 + 1e-12
    assert release.bounds_epsilon + query == pytest.approx(1.5)


def _heavy_in(policy: Policy, themes: int) -> duckdb.DuckDBPyConnection:
    """400 members with 1-3 tips in one theme; 80 more, the j-th with 10 + j tips in each of
    ``themes`` themes."""
    rows = [f.tip(m, THEMES[m % 4], n=i) for m in range(400) for i in range(1 + m % 3)]
    for j in range(80):
        m = 400 + j
        rows += [f.tip(m, THEMES[t], n=t * 100 + i) for t in range(themes) for i in range(10 + j)]
    return f.extract(policy, {"tips": rows})


@pytest.mark.parametrize(("themes", "low", "high"), [(1, 24, 32), (2, 48, 64)])
def test_a_count_keeps_rows_while_more_members_cells_than_its_noise_lie_above(
    health_policy: Policy, themes: int, low: int, high: int
) -> None:
    """The row bound of a count is where ``cells · σ₁`` of the members' cells lie above it.

    With σ₁ = 5 over the 12 themes, 60 cells should lie above the bound. Heavy
    members in one theme each put 60 cells above 29 rows; heavy in two themes,
    above 59 (30 members, two cells each): the bound doubles with the cells,
    though the members above it are as many. Counting members, not their
    cells, would give 29 for both. At this ε (4 for the quantile, 5 at most
    in OpenDP's advice) the bound lands on a candidate next to the target in
    200 of 200 draws.
    """
    plan = PLANS["count"]
    data = _heavy_in(health_policy, themes)
    shape = shape_of(plan, health_policy, epsilon=50.0)
    assert shape.num_groups == 12
    assert shape.choice.rows
    with (
        tempfile.TemporaryDirectory() as directory,
        reduced(plan, health_policy, shape, data, Path(directory)) as reduction,
    ):
        chosen = bounding.choose(plan, shape, reduction, lambda _: 5.0)
    assert low <= (chosen.contributions.rows_per_group or 0) <= high


def test_fixed_bounds_spend_nothing_on_choosing(
    health_policy: Policy, heavy: duckdb.DuckDBPyConnection
) -> None:
    plan = PLANS["mean"].model_copy(
        update={
            "contributions": Contributions(rows_per_group=3, groups=4),
            "aggregates": tuple(
                a.model_copy(update={"lower": 0.0, "upper": 10.0}) for a in PLANS["mean"].aggregates
            ),
        }
    )
    release = f.released(plan, health_policy, heavy, epsilon=1.0, extract_hash="h")
    assert release.bounds_epsilon == 0
    assert "bounds" not in release.budget_split
    (bounds,) = release.bounds.values()
    assert (bounds.rows_per_group, bounds.groups, bounds.clamp) == (3, 4, (0, 10))
    assert not bounds.chosen
    assert bounds.cut_share is None


@pytest.mark.parametrize(
    ("contributions", "clamp"),
    [(Contributions(rows_per_group=10_000), None), (None, (0.0, 1e6)), (None, (-5.0, 10.0))],
)
def test_fixed_bounds_beyond_the_policy_are_refused_before_reading(
    health_policy: Policy, contributions: Contributions | None, clamp: tuple[float, float] | None
) -> None:
    plan: QueryPlan = PLANS["mean"]
    if contributions is not None:
        plan = plan.model_copy(update={"contributions": contributions})
    if clamp is not None:
        low, high = clamp
        aggregates = tuple(
            a.model_copy(update={"lower": low, "upper": high}) for a in plan.aggregates
        )
        plan = plan.model_copy(update={"aggregates": aggregates})
    closed = duckdb.connect(":memory:")
    closed.close()
    with pytest.raises(DpError) as err:
        f.released(plan, health_policy, closed, epsilon=1.0, extract_hash="h")
    assert err.value.code == "bounds_outside_policy"


def test_keys_of_members_put_each_member_in_one_cell_at_no_cost(health_policy: Policy) -> None:
    plan = f.plan(
        "tips",
        f.measure(Aggregation.MEAN, "tips", "word_count", "w"),
        group_by=[f.by("members", "age_band")],
        join_members=True,
    )
    shape = shape_of(plan, health_policy, epsilon=1.0)
    assert shape.num_groups == 1
    assert not shape.choice.groups
    themes = shape_of(PLANS["count"], health_policy, epsilon=1.0)
    assert themes.num_groups == 12  # as many as there are public keys: nothing to choose
    assert not themes.choice.groups


def test_the_cut_share_is_within_its_stated_error_of_what_it_estimates(
    health_policy: Policy, heavy: duckdb.DuckDBPyConnection
) -> None:
    """The count's cut, estimated, against the share of rows the chosen bounds really cut.

    Twenty releases; the truths are computed from the bounds each release
    states. The estimate targets the cut with each member's part capped at
    ``CUT_CAP`` times the bound: it must be within twice its stated error
    (about a 99.9 % interval for its Laplace noise) of that in at least 18 of
    20 releases. Of the whole cut it may only lean low: never above it by more
    than twice its error in more than 2.
    """
    plan = PLANS["count"]
    (total,) = heavy.execute("SELECT count(*) FROM tips").fetchone() or (0,)
    on_target = not_above = 0
    shares = []
    for _ in range(20):
        bounds = f.released(plan, health_policy, heavy, epsilon=1.0, extract_hash="h").bounds["n"]
        k = bounds.rows_per_group
        capped, whole = heavy.execute(
            "SELECT sum(least(r, ?)), sum(r) FROM (SELECT member_pid, "
            "sum(greatest(x - ?, 0)) AS r FROM (SELECT member_pid, count(*) AS x FROM tips "
            "GROUP BY member_pid, theme) GROUP BY member_pid)",
            [bounding.CUT_CAP * k * math.ceil(math.sqrt(bounds.groups)), k],
        ).fetchone() or (0, 0)
        assert bounds.cut_share is not None
        assert bounds.cut_share_error is not None
        shares.append(bounds.cut_share)
        margin = 2 * bounds.cut_share_error + 0.005
        on_target += abs(bounds.cut_share - float(capped) / total) <= margin
        not_above += bounds.cut_share <= float(whole) / total + margin
    assert on_target >= 18, shares
    assert not_above >= 18, shares
    assert statistics.median(shares) > 0  # heavy members are cut, and it shows


def test_a_count_whose_cut_is_past_the_tolerance_is_flagged_biased(
    health_policy: Policy, heavy: duckdb.DuckDBPyConnection
) -> None:
    tight = health_policy.model_copy(
        update={"release": health_policy.release.model_copy(update={"max_cut_share": 0.001})}
    )
    plan = PLANS["count"].model_copy(update={"contributions": Contributions(rows_per_group=None)})
    flags = [
        f.released(plan, tight, heavy, epsilon=1.0, extract_hash="h").bounds["n"].biased
        for _ in range(3)
    ]
    assert any(flags)
