"""Statistical checks over many releases: noise, coverage, partition selection, privacy.

Each test repeats a release on a fixed small extract. The thresholds are set
so that a correct engine fails with probability well below one in a thousand,
while the mistakes they guard against (a wrong noise scale, no truncation,
overconfident intervals, small groups shown) fail them almost surely.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import opendp.prelude as dp
import polars as pl
import pytest
from scipy import stats

from gateway.dp import Release, execute, mechanism
from gateway.dp.frame import schema as frame_schema
from gateway.dp.mechanism import calibrate
from gateway.dp.shape import shape_of
from gateway.dp.tuning import Noise
from gateway.policy import Policy
from gateway.policy.model import Aggregation
from gateway.source import schema
from gateway.vet.plan import QueryPlan
from tests.dp import factories as f

pytestmark = pytest.mark.slow

PROVINCES = {
    p: 300 + 10 * i
    for i, p in enumerate(f.policy().tables["members"].columns["province"].domain or ())
}
THEMES = {t: 4000 + 500 * i for i, t in enumerate(schema.THEMES)}


def _releases(
    plan: QueryPlan, policy: Policy, con: duckdb.DuckDBPyConnection, runs: int, epsilon: float
) -> list[Release]:
    return [execute(plan, policy, con, epsilon=epsilon, extract_hash="e") for _ in range(runs)]


def _pmf(noise: str, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The exact distribution of OpenDP's integer noise at ``scale``, on a wide support."""
    support = np.arange(-math.ceil(40 * scale) - 10, math.ceil(40 * scale) + 11)
    if noise == "Integer Laplace":
        weights = np.exp(-np.abs(support) / scale)
    else:
        assert noise == "Integer Gaussian"
        weights = np.exp(-(support.astype(float) ** 2) / (2 * scale**2))
    return support, weights / weights.sum()


def _chi_square_p(errors: list[int], noise: str, scale: float) -> float:
    support, pmf = _pmf(noise, scale)
    cdf = np.cumsum(pmf)
    edges = np.unique(np.searchsorted(cdf, np.linspace(0, 1, 21)[1:-1]))  # ~20 bins of equal mass
    bins = np.split(np.arange(len(support)), edges + 1)
    expected = np.array([pmf[b].sum() for b in bins]) * len(errors)
    index = np.searchsorted(support, errors)
    observed = np.array([np.isin(index, b).sum() for b in bins])
    return float(stats.chisquare(observed, expected).pvalue)


@dataclass(frozen=True)
class Case:
    plan: QueryPlan
    fill: Callable[[duckdb.DuckDBPyConnection], None]
    truth: dict[str, int]
    epsilon: float
    noise: Noise


CASES = {
    "laplace": Case(
        f.plan("members", f.count(), group_by=[f.by("members", "province")]),
        lambda con: f.members_per_value(con, "province", PROVINCES),
        PROVINCES,
        0.5,
        Noise.LAPLACE,
    ),
    "gaussian": Case(
        f.plan(
            "tips",
            f.count(),
            f.members(),
            f.measure(Aggregation.SUM, "tips", "helpful_votes", "votes"),
            f.measure(Aggregation.SUM, "tips", "word_count", "words"),
            group_by=[f.by("tips", "theme")],
        ),
        lambda con: f.tips_per_theme(con, THEMES, per_member=20),
        THEMES,
        1.0,
        Noise.GAUSSIAN,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_count_noise_has_the_mechanism_distribution_and_intervals_cover(
    health_policy: Policy, case: str
) -> None:
    case_ = CASES[case]
    con = f.extract(health_policy)
    case_.fill(con)
    shape = shape_of(case_.plan, health_policy, epsilon=case_.epsilon)
    calibration = calibrate(shape, 0.95)
    assert calibration.noise is case_.noise
    summary = dp.summarize_polars_measurement(calibration.measurement, 0.05).row(0, named=True)
    truth = case_.truth
    errors, covered = [], []
    for release in _releases(case_.plan, health_policy, con, 100, case_.epsilon):
        for row, intervals in zip(release.rows, release.ci, strict=True):
            errors.append(row[1] - truth[row[0]])  # type: ignore[operator,index]
            interval = intervals[1]
            assert interval is not None
            covered.append(interval[0] <= truth[row[0]] <= interval[1])  # type: ignore[index]
    assert len(errors) == 100 * len(truth)
    assert _chi_square_p(errors, summary["distribution"], summary["scale"]) > 1e-3
    # OpenDP's interval, over integer noise, covers a little more than 95%: exactly this much
    support, pmf = _pmf(summary["distribution"], summary["scale"])
    stated = float(pmf[np.abs(support) <= summary["accuracy"]].sum())
    assert stated >= 0.95
    assert stats.binomtest(sum(covered), len(covered), stated).pvalue > 1e-3


def test_a_frame_in_many_chunks_gets_its_noise_once_per_cell(
    health_policy: Policy, tmp_path: Path
) -> None:
    """The streaming engine aggregates a large frame chunk by chunk; noise comes after.

    Noise added to each chunk's partial sum would widen the error by the
    square root of the number of chunks; the chi-square test sees that.
    """
    plan = f.plan("tips", f.count(), group_by=[f.by("tips", "theme")])
    shape = shape_of(plan, health_policy, epsilon=1.0)
    assert shape.public_keys is not None
    calibration = calibrate(shape, 0.95)
    assert calibration.streams
    rows = 1_200_000
    cells = pl.Series([cell for cell, _ in shape.public_keys], dtype=pl.UInt64)
    index = pl.arange(0, rows, dtype=pl.UInt64, eager=True)
    frame = pl.DataFrame({"pid": index, "cell": cells.gather(index % len(cells)), "n": 1})
    path = tmp_path / "frame.parquet"
    frame.select(frame_schema(shape).names()).write_parquet(path, row_group_size=50_000)
    truth = rows // len(cells)
    errors = [
        value - truth
        for _ in range(40)
        for value in mechanism.release(calibration, pl.scan_parquet(path))["rows"]
    ]
    assert len(errors) == 40 * len(cells)
    summary = dp.summarize_polars_measurement(calibration.measurement).row(0, named=True)
    assert _chi_square_p(errors, summary["distribution"], summary["scale"]) > 1e-3


def test_mean_intervals_cover_at_least_as_often_as_stated(health_policy: Policy) -> None:
    con = f.extract(health_policy)
    f.tips_per_theme(con, THEMES, per_member=20)
    truth = dict(con.execute("SELECT theme, avg(helpful_votes) FROM tips GROUP BY 1").fetchall())
    plan = f.plan(
        "tips",
        f.measure(Aggregation.MEAN, "tips", "helpful_votes", "votes"),
        group_by=[f.by("tips", "theme")],
    )
    covered = [
        interval[1][0] <= truth[row[0]] <= interval[1][1]  # type: ignore[index]
        for release in _releases(plan, health_policy, con, 50, 0.2)
        for row, interval in zip(release.rows, release.ci, strict=True)
    ]
    assert stats.binomtest(sum(covered), len(covered), 0.95, alternative="less").pvalue > 1e-3


def test_a_group_of_one_member_is_never_shown_and_big_groups_always(
    health_policy: Policy,
) -> None:
    plan = f.plan("members", f.count(), group_by=[f.by("members", "country")])
    calibration = calibrate(shape_of(plan, health_policy, epsilon=1.0), 0.95)
    assert calibration.threshold is not None
    big = 5 * calibration.threshold
    con = f.extract(health_policy)
    f.members_per_value(con, "country", {"NL": big, "DE": big, "BE": 1})
    shown = [{row[0] for row in r.rows} for r in _releases(plan, health_policy, con, 100, 1.0)]
    assert all(s == {"NL", "DE"} for s in shown)


def _exceeds(releases: list[Release], key: str, threshold: float) -> int:
    values = [next(row[1] for row in r.rows if row[0] == key) for r in releases]
    return sum(v >= threshold for v in values)  # type: ignore[operator]


def _epsilon_lower_bound(
    releases: list[Release],
    neighbours: list[Release],
    key: str,
    scale: float,
    truth: int,
    confidence: float,
) -> float:
    """Largest ε a threshold test on ``key`` proves, at the given confidence (Clopper–Pearson)."""
    grid = [truth + scale * z for z in (-1, 0, 1, 2, 3, 4)]
    level = 1 - (1 - confidence) / (4 * len(grid))
    bound = 0.0
    n, m = len(releases), len(neighbours)
    for threshold in grid:
        a, b = _exceeds(neighbours, key, threshold), _exceeds(releases, key, threshold)
        for x, y in ((a, b), (m - a, n - b)):
            x_low = stats.binomtest(x, m).proportion_ci(level, "exact").low
            y_high = stats.binomtest(y, n).proportion_ci(level, "exact").high
            if x_low > 0:
                bound = max(bound, math.log(x_low / y_high))
    return bound


def test_an_audit_on_neighbouring_extracts_finds_no_more_than_the_stated_epsilon(
    health_policy: Policy,
) -> None:
    """D and D' differ in one member with 10 000 tips; a third extract adds 10 000 members."""
    plan = f.plan("tips", f.count(), group_by=[f.by("tips", "theme")])
    epsilon = 1.0
    base = {"sleep": 2000, "stress": 2000}
    calibration = calibrate(shape_of(plan, health_policy, epsilon=epsilon), 0.95)
    scale = float(dp.summarize_polars_measurement(calibration.measurement)["scale"][0])
    d = f.extract(health_policy)
    f.tips_per_theme(d, base, per_member=20)
    neighbour = f.extract(health_policy)
    f.tips_per_theme(neighbour, base, per_member=20)
    neighbour.execute(
        """INSERT INTO tips SELECT sha256('heavy' || i::VARCHAR), sha256('the heavy member'),
               'sleep', DATE '2024-03-05', DATE '2024-03-01', 1, 40 FROM range(10000) r(i)"""
    )
    crowd = f.extract(health_policy)
    f.tips_per_theme(crowd, {"sleep": 12000, "stress": 2000}, per_member=20)
    runs = 150
    on_d = _releases(plan, health_policy, d, runs, epsilon)
    found = _epsilon_lower_bound(
        on_d, _releases(plan, health_policy, neighbour, runs, epsilon), "sleep", scale, 2000, 0.95
    )
    assert found <= epsilon
    # the same audit does tell 10 000 extra members apart: it has the power to catch a leak
    assert (
        _epsilon_lower_bound(
            on_d, _releases(plan, health_policy, crowd, runs, epsilon), "sleep", scale, 2000, 0.95
        )
        > 2 * epsilon
    )
