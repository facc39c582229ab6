"""An empirical privacy audit: many neighbouring pairs, many releases, ε bounded from below.

A neighbouring pair is two extracts that differ in one member. Here many pairs
sit side by side in one extract: each *unit* is a set of cells of its own (a
block of public group keys no one else uses), and a unit either holds the
audited member or not. Cells are disjoint, the frame bounds each member on
their own and OpenDP draws independent noise per cell, so what one release
says about a unit is distributed exactly as a release of that unit's pair
alone would be: one release gives hundreds of independent draws of M(D) and
M(D') restricted to a unit.

The audit compares, for a few pre-registered events (``Event``), how often
each happens with and without the member. An (ε, δ)-DP engine has
P[E | D'] ≤ e^ε P[E | D] + δ for every event E and both orders of D and D'.
With one-sided Clopper–Pearson bounds (Bonferroni over every event, its
complement and both bounds) the audit *proves* an ε: the largest
log((low(P[E | with]) − δ) / high(P[E | without])). It fails the engine when
the proven ε exceeds the claimed one. For any (ε, δ)-DP engine that happens
with probability at most ``ALPHA``, whatever the data; ``power`` gives, from
the noise distribution, the exact chance that it happens for a given
mistake.

Releases are made as ``execute`` makes them (``frame.load_frame`` bounds
members in DuckDB, ``mechanism.release`` adds OpenDP's noise) and stop
before post-processing: whatever ``execute`` does afterwards cannot make a
release less private, and auditing before it keeps the audit sharp. Both
functions are looked up on their modules at call time, so a planted bug
(``mutations``) is seen here as the engine would see it.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import opendp.prelude as dp
import polars as pl
from scipy import stats

from gateway.dp import frame, mechanism
from gateway.dp.shape import shape_of
from gateway.plan import QueryPlan
from gateway.policy import Policy

ALPHA = 1e-6
"""Chance that an audit fails an engine that keeps its stated (ε, δ), at most (any data)."""

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]


def laplace_tail(scale: float, at: float) -> float:
    """P[Z ≥ at] for OpenDP's integer Laplace noise, P[Z = z] ∝ exp(−|z| / scale)."""
    q = math.exp(-1 / scale)
    t = math.ceil(at)
    return q**t / (1 + q) if t > 0 else 1 - q ** (1 - t) / (1 + q)


def at_least(probabilities: Sequence[float], count: int) -> float:
    """P[at least ``count`` of independent events with these probabilities happen]."""
    distribution = np.array([1.0])
    for p in probabilities:
        distribution = np.convolve(distribution, [1 - p, p])
    return float(distribution[count:].sum())


COUNTS = ("rows", "members")
"""The noisy counts an audit reads, those of them a release has: records, and members."""


@dataclass(frozen=True)
class Event:
    """In at least ``cells`` of a unit's cells, every count is over the crowd's by the member's
    part: records by ``rows`` or more, members by 1 or more."""

    rows: int
    cells: int = 1

    def needs(self) -> dict[str, int]:
        return {"rows": self.rows, "members": 1}

    def happens(self, excess: Mapping[str, IntArray]) -> IntArray:
        """Whether it happens, per unit; ``excess[count]`` is (units, cells): release − crowd."""
        above = np.logical_and.reduce(
            [excess[name] >= need for name, need in self.needs().items() if name in excess]
        )
        hits: IntArray = (above.sum(axis=1) >= self.cells).astype(np.int64)
        return hits

    def probability(self, scales: Mapping[str, float], kept: Sequence[int]) -> float:
        """Its probability when the member has ``kept[c]`` records counted in cell c.

        Counts get independent integer Laplace noise at ``scales[count]``; the
        member adds their records to ``rows`` and 1 to ``members`` where they count.
        """

        def in_cell(rows: int) -> float:
            part = {"rows": rows, "members": int(rows > 0)}
            needs = self.needs().items()
            return math.prod(
                laplace_tail(scales[name], need - part[name])
                for name, need in needs
                if name in scales
            )

        return at_least([in_cell(rows) for rows in kept], self.cells)

    def __str__(self) -> str:
        return f"{self.cells}+ cells with rows ≥ {self.rows}"


@dataclass(frozen=True)
class Comparison:
    """How often one outcome happened in releases with the member and without."""

    outcome: str
    hits_with: int
    hits_without: int
    units: int  # with the member, and as many without


@dataclass(frozen=True)
class Verdict:
    epsilon: float  # the largest ε the comparisons prove
    comparisons: tuple[Comparison, ...]
    level: float  # one-sided level of each Clopper–Pearson bound

    def __str__(self) -> str:
        counts = ", ".join(
            f"{c.outcome}: {c.hits_with} vs {c.hits_without} of {c.units}" for c in self.comparisons
        )
        return f"proves ε ≥ {self.epsilon:.3f} ({counts})"


def compare(
    events: Sequence[Event], with_member: Mapping[str, IntArray], without: Mapping[str, IntArray]
) -> tuple[Comparison, ...]:
    """Each event and its complement, counted over units; the complement is read backwards."""
    units = len(next(iter(with_member.values())))
    comparisons = []
    for event in events:
        a, b = int(event.happens(with_member).sum()), int(event.happens(without).sum())
        name = str(event)
        comparisons.append(Comparison(name, a, b, units))
        comparisons.append(Comparison(f"not ({name}), reversed", units - b, units - a, units))
    return tuple(comparisons)


def levels(comparisons: int, alpha: float = ALPHA) -> float:
    """One-sided level of each bound: two bounds per comparison, Bonferroni over all."""
    return alpha / (2 * comparisons)


def cp_low(hits: IntArray | int, trials: int, level: float) -> FloatArray:
    """Clopper–Pearson lower bounds, each wrong with probability at most ``level``."""
    x = np.asarray(hits)
    low: FloatArray = np.where(x == 0, 0.0, stats.beta.ppf(level, np.maximum(x, 1), trials - x + 1))
    return low


def cp_high(hits: IntArray | int, trials: int, level: float) -> FloatArray:
    """Clopper–Pearson upper bounds, each wrong with probability at most ``level``."""
    y = np.asarray(hits)
    high: FloatArray = np.where(
        y >= trials, 1.0, stats.beta.ppf(1 - level, y + 1, np.maximum(trials - y, 1))
    )
    return high


def verdict(comparisons: Sequence[Comparison], delta: float, alpha: float = ALPHA) -> Verdict:
    level = levels(len(comparisons), alpha)
    proven = 0.0
    for c in comparisons:
        low = float(cp_low(c.hits_with, c.units, level)) - delta
        high = float(cp_high(c.hits_without, c.units, level))
        if low > 0:
            proven = max(proven, math.log(low / high))
    return Verdict(proven, tuple(comparisons), level)


def power(
    p_with: float, p_without: float, units: int, epsilon: float, delta: float, level: float
) -> float:
    """Exact chance that one comparison proves more than ``epsilon`` (sums over both binomials)."""
    hits = np.arange(units + 1)
    lows, highs = cp_low(hits, units, level), cp_high(hits, units, level)
    # proves more than ε iff high(without) < (low(with) − δ) / e^ε; highs rise with hits
    enough = np.searchsorted(highs, (lows - delta) / math.exp(epsilon), side="left")
    below = np.concatenate([[0.0], stats.binom.cdf(hits, units, p_without)])
    return float((stats.binom.pmf(hits, units, p_with) * below[enough]).sum())


def shown_at_most(units: int, delta: float, alpha: float = ALPHA) -> int:
    """The most groups of one member an engine with this δ shows, but with probability ``alpha``."""
    return int(stats.binom.isf(alpha, units, delta))


# --- releases, as the engine makes them -------------------------------------------------


def releases(
    plan: QueryPlan, policy: Policy, con: duckdb.DuckDBPyConnection, epsilon: float, times: int
) -> pl.DataFrame:
    """``times`` releases of ``plan``, stacked: each cell's first key as ``key``, and ``release``.

    The calibration is searched for once (the engine caches it too); the frame
    is made afresh for every release, so its random choices are drawn again.
    """
    shape = shape_of(plan, policy, epsilon=epsilon)
    assert shape.epsilon == epsilon, "the query chooses bounds with DP first: fix them in the plan"
    calibration = mechanism.calibrate(shape, policy.release.confidence)
    released = []
    for time in range(times):
        with tempfile.TemporaryDirectory(prefix="gateway-audit-") as directory:
            loaded = frame.load_frame(plan, policy, shape, con, Path(directory))
            noisy = mechanism.release(calibration, loaded.data)
        names = pl.DataFrame(
            {"cell": list(loaded.keys), "key": [k[0] for k in loaded.keys.values()]},
            schema={"cell": pl.UInt64, "key": pl.String},
        )
        named = noisy.join(names, on="cell", how="left")
        released.append(named.with_columns(pl.lit(time, dtype=pl.Int64).alias("release")))
    return pl.concat(released)


def scales(plan: QueryPlan, policy: Policy, epsilon: float) -> dict[str, float]:
    """The noise scale OpenDP gives each count (as calibrated now, mutations included)."""
    calibration = mechanism.calibrate(
        shape_of(plan, policy, epsilon=epsilon), policy.release.confidence
    )
    summary = dp.summarize_polars_measurement(calibration.measurement)
    assert set(summary["distribution"]) <= {"Integer Laplace", "ExponentialMin"}
    counts = summary.filter(pl.col("column").is_in(COUNTS))
    return dict(zip(counts["column"], counts["scale"], strict=True))


def threshold(plan: QueryPlan, policy: Policy, epsilon: float) -> int:
    """OpenDP's threshold for showing a private group (as calibrated now)."""
    calibration = mechanism.calibrate(
        shape_of(plan, policy, epsilon=epsilon), policy.release.confidence
    )
    assert calibration.threshold is not None, "the group keys are not private"
    return calibration.threshold
