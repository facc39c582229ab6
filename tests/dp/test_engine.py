"""``execute`` end to end on small extracts: the release contract, budget, post-processing."""

from __future__ import annotations

import math
from typing import Any
from unittest import mock

import duckdb
import pytest

from gateway.dp import Release, execute, mechanism, predict_accuracy
from gateway.dp.engine import Outcome
from gateway.dp.mechanism import calibrate
from gateway.dp.release import MEAN_GROUP
from gateway.dp.shape import shape_of
from gateway.dp.tuning import Tuning
from gateway.errors import DpError, EpsilonError
from gateway.plan import Compare, OrderBy
from gateway.policy import Policy
from gateway.policy.model import Aggregation, Bounding
from tests.dp import factories as f

VOTES = ("tips", "helpful_votes")
COUNT_AND_MEAN_BY_THEME = f.plan(
    "tips",
    f.count(),
    f.measure(Aggregation.MEAN, *VOTES, "votes"),
    group_by=[f.by("tips", "theme")],
)
PER_THEME = {"sleep": 6000, "stress": 2000, "nutrition": 600, "movement": 4000}


@pytest.fixture(scope="module")
def tips_extract() -> duckdb.DuckDBPyConnection:
    con = f.extract(f.policy())
    f.tips_per_theme(con, PER_THEME)
    return con


def _closed() -> duckdb.DuckDBPyConnection:
    """A connection any query would fail on: proof that nothing was read."""
    con = duckdb.connect(":memory:")
    con.close()
    return con


def test_a_release_has_a_dp_value_and_an_interval_per_cell(
    health_policy: Policy, tips_extract: duckdb.DuckDBPyConnection
) -> None:
    plan = COUNT_AND_MEAN_BY_THEME
    release = f.released(plan, health_policy, tips_extract, epsilon=1.0, extract_hash="e1")
    assert release.columns == ["theme", "n", "votes"]
    shown = {row[0] for row in release.rows}
    assert {"sleep", "movement"} <= shown  # public themes: big groups are always there
    assert len(release.rows) + release.suppressed_groups == 12
    for row, intervals in zip(release.rows, release.ci, strict=True):
        assert intervals[0] is None
        count_ci, mean_ci = intervals[1], intervals[2]
        assert count_ci is not None
        assert mean_ci is not None
        assert isinstance(row[1], int)
        assert row[1] >= 0
        assert count_ci[0] <= row[1] <= count_ci[1]
        assert row[2] is None or 0 <= mean_ci[0] <= row[2] <= mean_ci[1] <= 50
    assert (release.epsilon, release.epsilon_spent, release.delta) == (1.0, 1.0, release.delta)
    assert release.plan_hash == plan.plan_hash()
    assert release.extract_hash == "e1"
    assert not release.from_store
    assert release.confidence == 0.95
    assert sum(release.budget_split.values()) == pytest.approx(1.0)


def test_intervals_are_about_the_truth_for_big_groups(
    health_policy: Policy, tips_extract: duckdb.DuckDBPyConnection
) -> None:
    plan = f.plan("tips", f.count(), f.members(), group_by=[f.by("tips", "theme")])
    release = f.released(plan, health_policy, tips_extract, epsilon=2.0, extract_hash="e1")
    rows = {row[0]: (row, ci) for row, ci in zip(release.rows, release.ci, strict=True)}
    misses = 0
    for theme, truth in PER_THEME.items():
        row, ci = rows[theme]
        for value, interval in zip(row[1:], ci[1:], strict=True):
            assert interval is not None
            assert abs(value - truth) < 4 * (interval[1] - interval[0])  # type: ignore[operator]
            misses += not interval[0] <= truth <= interval[1]
    assert misses <= 3  # 8 intervals at 95%: more than 3 misses has probability < 1e-4


@pytest.mark.parametrize("epsilon", [0.0, -1.0, math.nan, math.inf, 2.5])
def test_a_privacy_loss_outside_the_policy_is_refused_before_reading(
    health_policy: Policy, epsilon: float
) -> None:
    plan = f.plan("tips", f.count())
    shape = shape_of(plan, health_policy, epsilon=1.0)
    with pytest.raises(EpsilonError) as err:
        execute(plan, health_policy, _closed(), shape=shape, epsilon=epsilon, extract_hash="e")
    assert err.value.code == ("epsilon_over_cap" if epsilon == 2.5 else "invalid_epsilon")


def test_order_by_and_limit_apply_to_released_values(
    fixed_policy: Policy, tips_extract: duckdb.DuckDBPyConnection
) -> None:
    plan = f.plan(
        "tips",
        f.count(),
        group_by=[f.by("tips", "theme")],
        order_by=(OrderBy(alias="n", descending=True),),
        limit=2,
    )
    release = f.released(plan, fixed_policy, tips_extract, epsilon=2.0, extract_hash="e1")
    assert [row[0] for row in release.rows] == ["sleep", "movement"]
    bad = plan.model_copy(update={"order_by": (OrderBy(alias="nope"),)})
    with pytest.raises(DpError) as err:
        f.released(bad, fixed_policy, tips_extract, epsilon=2.0, extract_hash="e1")
    assert err.value.code == "unknown_order_alias"


def test_without_grouping_a_release_is_one_row(
    health_policy: Policy, tips_extract: duckdb.DuckDBPyConnection
) -> None:
    plan = f.plan("tips", f.count(), f.measure(Aggregation.SUM, *VOTES, "votes"))
    release = f.released(plan, health_policy, tips_extract, epsilon=1.0, extract_hash="e1")
    assert release.columns == ["n", "votes"]
    assert len(release.rows) == 1
    assert release.suppressed_groups == 0


@pytest.mark.parametrize(
    ("statistic", "size"),
    [(f.count(), "members"), (f.measure(Aggregation.MEDIAN, *VOTES, "median"), "records")],
)
def test_a_release_over_private_keys_says_how_big_a_group_must_be_to_be_shown(
    health_policy: Policy,
    tips_extract: duckdb.DuckDBPyConnection,
    statistic: object,
    size: str,
) -> None:
    months = [f.by("tips", "created_month", "month", bucket="month")]  # no public domain
    plan = f.plan("tips", statistic, group_by=months)  # type: ignore[arg-type]
    fixed = health_policy.model_copy(update={"bounding": Bounding(choose=False)})
    release = f.released(plan, fixed, tips_extract, epsilon=1.0, extract_hash="e1")
    threshold = calibrate(shape_of(plan, fixed, epsilon=1.0), 0.95).threshold
    assert release.selection is not None
    assert (release.selection.threshold, release.selection.size) == (threshold, size)
    chosen = f.released(plan, health_policy, tips_extract, epsilon=1.0, extract_hash="e1")
    assert chosen.selection is not None  # from the chosen bounds: no larger than the maxima's
    assert 0 < chosen.selection.threshold <= threshold * 1.5
    public = f.released(
        COUNT_AND_MEAN_BY_THEME, health_policy, tips_extract, epsilon=1.0, extract_hash="e1"
    )
    assert public.selection is None  # every theme is released, none selected


def test_a_median_is_a_candidate_and_has_no_interval(
    health_policy: Policy, tips_extract: duckdb.DuckDBPyConnection
) -> None:
    plan = f.plan(
        "tips", f.measure(Aggregation.MEDIAN, *VOTES, "median"), group_by=[f.by("tips", "theme")]
    )
    release = f.released(plan, health_policy, tips_extract, epsilon=2.0, extract_hash="e1")
    for row, intervals in zip(release.rows, release.ci, strict=True):
        assert row[1] in range(51)
        assert intervals == [None, None]
    medians = {row[0]: row[1] for row in release.rows}
    assert all(abs(medians[t] - 3) <= 3 for t in ("sleep", "movement"))  # type: ignore[operator]


def test_members_join_groups_tips_by_a_members_column(health_policy: Policy) -> None:
    con = f.extract(health_policy)
    f.tips_per_theme(con, {"sleep": 4000})
    con.execute(
        "INSERT INTO members SELECT DISTINCT member_pid, 1980, '35-44', 'Utrecht', 'NL', "
        "DATE '2020-01-01' FROM tips"
    )
    plan = f.plan("tips", f.count(), group_by=[f.by("members", "age_band")], join_members=True)
    release = f.released(plan, health_policy, con, epsilon=2.0, extract_hash="e")
    counts = {row[0]: row[1] for row in release.rows}
    assert abs(counts["35-44"] - 4000) < 2000  # type: ignore[operator]


def test_dummy_releases_say_so(
    health_policy: Policy, tips_extract: duckdb.DuckDBPyConnection
) -> None:
    release = f.released(
        f.plan("tips", f.count()),
        health_policy,
        tips_extract,
        epsilon=1.0,
        extract_hash="d",
        dummy=True,
    )
    assert release.dummy
    assert (release.epsilon_spent, release.delta_spent) == (0.0, 0.0)


def test_predicted_accuracy_is_the_released_half_width(
    fixed_policy: Policy, tips_extract: duckdb.DuckDBPyConnection
) -> None:
    plan = COUNT_AND_MEAN_BY_THEME
    predicted = predict_accuracy(plan, fixed_policy, 1.0)
    assert set(predicted) == {"n", "votes", "votes.sum", "votes.count"}
    release: Release = f.released(plan, fixed_policy, tips_extract, epsilon=1.0, extract_hash="e1")
    row = next(i for i, r in enumerate(release.rows) if r[0] == "sleep")
    interval = release.ci[row][1]
    assert interval is not None
    assert interval[1] - interval[0] == pytest.approx(2 * predicted["n"])
    assert predict_accuracy(plan, fixed_policy, 0.5)["n"] > predicted["n"]
    median = f.plan("tips", f.measure(Aggregation.MEDIAN, *VOTES, "m"))
    assert predict_accuracy(median, fixed_policy, 1.0) == {}


def test_medians_share_a_query_with_counts_sums_and_averages(
    health_policy: Policy, tips_extract: duckdb.DuckDBPyConnection
) -> None:
    plan = f.plan(
        "tips",
        f.count(),
        f.measure(Aggregation.MEAN, *VOTES, "votes"),
        f.measure(Aggregation.SUM, "tips", "word_count", "words"),
        f.measure(Aggregation.MEDIAN, *VOTES, "median"),
        f.measure(Aggregation.QUANTILE, "tips", "word_count", "q90", quantile=0.9),
        group_by=[f.by("tips", "theme")],
    )
    release = f.released(plan, health_policy, tips_extract, epsilon=2.0, extract_hash="e1")
    truth = {"n": 6000, "words": 40 * 6000}
    row = next(i for i, r in enumerate(release.rows) if r[0] == "sleep")
    values = dict(zip(release.columns, release.rows[row], strict=True))
    intervals = dict(zip(release.columns, release.ci[row], strict=True))
    # Twice the 95% half-width: missed with probability about 1e-4. (A count's interval
    # shown clamped at 0 can be narrow, so its width would not do as the yardstick.)
    half_widths = predict_accuracy(plan, health_policy, 2.0)
    for name, true in truth.items():
        interval = intervals[name]
        assert interval is not None
        assert interval[0] <= values[name] <= interval[1]  # type: ignore[operator]
        assert abs(values[name] - true) < 2 * half_widths[name]  # type: ignore[operator]
    votes = intervals["votes"]
    assert votes is not None
    assert 0 <= votes[0] <= votes[1] <= 50
    assert (intervals["median"], intervals["q90"]) == (None, None)
    assert values["median"] in range(51)
    assert values["q90"] in range(401)
    assert sum(release.budget_split.values()) == pytest.approx(1.0)


@pytest.fixture(scope="module")
def one_member_alone() -> tuple[Policy, duckdb.DuckDBPyConnection]:
    """200 members in sleep, and one member alone in diabetes (five tips of 40 votes).

    One row in one cell per member keeps the member count's noise small
    (Laplace scale about 1.5 at ε = 2, on records too), so a lone member
    passes ``min_group_members = 10`` by noise about once in a thousand runs.
    """
    policy = f.fixed(f.policy(), rows=1, groups=1)
    crowd = [f.tip(m, "sleep", n=i) for m in range(1, 201) for i in range(2)]
    alone = [f.tip(0, "diabetes", votes=40, n=i) for i in range(5)]
    return policy, f.extract(policy, {"tips": crowd + alone})


@pytest.mark.parametrize(
    "function", [Aggregation.MEAN, Aggregation.SUM, Aggregation.MEDIAN], ids=str
)
def test_a_lone_member_s_group_is_withheld_whatever_the_query_releases(
    one_member_alone: tuple[Policy, duckdb.DuckDBPyConnection], function: Aggregation
) -> None:
    policy, con = one_member_alone
    plan = f.plan("tips", f.measure(function, *VOTES, "v"), group_by=[f.by("tips", "theme")])
    release = f.released(plan, policy, con, epsilon=2.0, extract_hash="alone")
    shown = {row[0] for row in release.rows}
    assert "sleep" in shown
    assert "diabetes" not in shown
    assert release.suppressed_groups == 12 - len(release.rows)
    if function is Aggregation.MEAN:  # one row per member and cell: its count counts members
        assert "group_size" not in release.budget_split
    else:
        assert release.budget_split["group_size"] > 0  # the member count is paid, and said so
    assert sum(release.budget_split.values()) == pytest.approx(1.0)


def test_a_filter_down_to_one_member_releases_nothing(
    one_member_alone: tuple[Policy, duckdb.DuckDBPyConnection],
) -> None:
    policy, con = one_member_alone
    plan = f.plan(
        "tips",
        f.measure(Aggregation.MEAN, *VOTES, "v"),
        where=Compare(column=f.col("tips", "theme"), op="=", value="diabetes"),
    )
    release = f.released(plan, policy, con, epsilon=2.0, extract_hash="alone")
    assert release.rows == []
    assert release.suppressed_groups == 1


def test_a_mean_that_noise_carried_outside_its_clamp_range_is_not_shown(
    fixed_policy: Policy,
) -> None:
    """Clamped to the range's end, it would read as a measured extreme; it is counted instead."""
    from gateway.dp import engine

    plan = f.plan(
        "tips", f.measure(Aggregation.MEAN, *VOTES, "v"), group_by=[f.by("tips", "theme")]
    )
    shape = shape_of(plan, fixed_policy, epsilon=1.0)
    table = engine._Table(shape, calibrate(shape, 0.95), min_members=0)
    total, count = shape.outputs[0].statistics
    for centred in (-(10**6), 10**6, 0):  # far below the range, far above, at its middle
        table.add(("sleep",), {shape.members: 100, total: centred, count: 100})
    assert [row[1] for row in table.rows] == [None, None, shape.measures[0].middle]
    assert [cis[1] for cis in table.intervals[:2]] == [(0.0, 50.0), (0.0, 50.0)]
    assert table.too_noisy["v"] == 2


def test_a_mean_s_predicted_accuracy_is_in_its_own_units(fixed_policy: Policy) -> None:
    """For a group of ``MEAN_GROUP`` values, at the farthest a mean can lie from the middle."""
    plan = f.plan(
        "tips", f.measure(Aggregation.MEAN, *VOTES, "v"), group_by=[f.by("tips", "theme")]
    )
    predicted = predict_accuracy(plan, fixed_policy, 0.5)
    parts = predicted["v.sum"], predicted["v.count"]
    assert predicted["v"] == pytest.approx((parts[0] + 25 * parts[1]) / MEAN_GROUP)
    four_times = predict_accuracy(plan, fixed_policy, 2.0)["v"]  # a quarter of the noise or less
    assert 0 < four_times < predicted["v"] / 2


def test_execute_returns_how_it_calibrated_the_shape_it_was_given(
    health_policy: Policy, tips_extract: duckdb.DuckDBPyConnection
) -> None:
    plan = f.plan("tips", f.count(), group_by=[f.by("tips", "theme")])
    shape = shape_of(plan, health_policy, epsilon=1.0)
    outcome = execute(plan, health_policy, tips_extract, shape=shape, epsilon=1.0, extract_hash="e")
    assert outcome.tuning == calibrate(shape, health_policy.release.confidence).tuning
    assert outcome.release.plan_hash == plan.plan_hash()


def _new_process() -> None:
    """Forget every calibration, as a new sandbox process starts without them."""
    for cached in (mechanism.calibrate, mechanism._tuning_for, mechanism._rescaled):
        cached.cache_clear()
    mechanism.SEARCHED.clear()


def test_a_new_process_given_the_searches_of_earlier_jobs_never_repeats_one(
    health_policy: Policy, tips_extract: duckdb.DuckDBPyConnection
) -> None:
    """Chosen bounds over private keys need a threshold searched for the chosen shape.

    Each job runs in a new process; what one job's engine searched comes back
    with its outcome, and a job given it searches none of those again (a
    search found before is reused as the very same object). Without them, a
    new process searches again.
    """
    months = [f.by("tips", "created_month", "month", bucket="month")]  # no public domain
    plan = f.plan("tips", f.count(), group_by=months)
    shape = shape_of(plan, health_policy, epsilon=1.0)
    assert shape.choice.any
    real = mechanism._searched

    def run(**kept: Any) -> tuple[Outcome, set[str]]:
        _new_process()
        searched: set[str] = set()

        def spy(key: str, *args: Any) -> Tuning:
            before = mechanism.SEARCHED.get(key)
            found = real(key, *args)
            if found is not before:
                searched.add(key)
            return found

        with mock.patch.object(mechanism, "_searched", side_effect=spy):
            outcome = execute(
                plan,
                health_policy,
                tips_extract,
                shape=shape,
                epsilon=1.0,
                extract_hash="e1",
                **kept,
            )
        return outcome, searched

    first, searched = run()
    assert searched == set(first.searched)  # the maxima's shape, and the chosen one's threshold
    assert len(searched) >= 2
    for _ in range(3):  # each new process is given what the ones before searched
        given = dict(first.searched)
        first, searched = run(tuning=first.tuning, searched=given)
        assert not searched & set(given)
        assert set(given) <= set(first.searched)
    _, without = run(tuning=first.tuning)
    assert without  # a new process without them searches for the chosen shape again
