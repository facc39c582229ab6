"""Contribution bounds chosen for each query with DP, and what they cut.

The policy's bounds are maxima. How many rows of one member to count in a
cell, in how many cells, and where to clamp a measure trade bias against
noise, and the right trade depends on the data: fixed bounds made counts
20-30 % too low and averages mostly noise. So each query spends a share of its
ε (``Shape.bounds_epsilon``) on reading the bounds off the data, in OpenDP,
over one row per member (``frame.Reduction.members``; ``contributions=1``),
or two for the rows of a count or sum (``FULLEST``):

1. a DP count of the members, n̂ (and of their rows);
2. DP quantiles of each member's number of cells, of their rows per cell,
   and of one of their values per measure. σ₁ is the noise of a count with
   one row per member, from OpenDP's calibration of the query itself. For
   counts and sums, one more row per cell adds about σ₁ of noise to each of
   the ``cells`` released and gives back a row in every cell where a member
   has more: the bound is where ``cells · σ₁`` of the members' cells lie
   above it. Those are read off each member's two fullest cells (two rows
   per member: a member above the bound in more cells is counted twice,
   and the bound leans low). One more cell per member adds about σ/2G to
   each cell (noise grows with √G) and gives back one cell of each member
   above it; a clamp, one unit for each value above it. The ε for these is
   shared by the quantiles the query needs;
3. after the query's own release, DP sums of what the chosen bounds cut per
   member (each member's part capped at ``CUT_CAP`` times one cell's bound),
   from which each output's ``cut_share`` is estimated.

Each step is one OpenDP measurement over the per-member rows, its noise the
least OpenDP's privacy map certifies within its part of the ε; the parts and
the query's add up (sequential composition) to the ε asked for.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import polars as pl
from opendp.extras.polars import dp_len

from gateway.dp.frame import Reduction
from gateway.dp.mechanism import release_per_member
from gateway.dp.shape import Measure, Output, Pipeline, Shape, StatKind, additive, shape_of
from gateway.plan import Contributions, QueryPlan
from gateway.policy.model import Aggregation, Policy

ROWS_GRID = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256)
"""Candidate row and cell bounds, about a quarter apart; beyond 256 by doubling. Few
candidates make the same shapes recur, so their calibrations are reused."""
WEIGHTS = {"members": 0.1, "bounds": 0.4, "cuts": 0.5}
"""How ``bounds_epsilon`` is split: the member count, the quantiles, the cut estimates."""
CUT_CAP = 4
"""A member's cut counts up to this many times their bound in one cell (rows: times √G too)."""
RANK = (0.5, 0.999)
"""The quantile's rank stays within these, however few or many members there are."""
ROWS_CAP = 64
"""A member's rows count up to this many in the DP total of rows."""
FULLEST = 2
"""A member's fullest cells (``k``, ``k2``) a count's row bound is read from, one row each."""


@dataclass(frozen=True)
class Cut:
    """A DP total of what bounding removed, and its half-width at the release's confidence."""

    total: float
    error: float


def choose(
    plan: QueryPlan,
    shape: Shape,
    reduction: Reduction,
    unit_noise: Callable[[Shape], float],
) -> QueryPlan:
    """``plan`` with the bounds ``shape.choice`` leaves open chosen from the data, with DP.

    ``unit_noise(shape)`` is the noise (a standard deviation) of a count with
    one row per member under ``shape``'s calibration. The plan returned fixes
    every bound, so ``shape_of`` gives the shape to release it with.
    """
    choice = shape.choice
    data = reduction.members()
    part = shape.bounds_epsilon / sum(WEIGHTS.values())
    cells = len(shape.public_keys) if shape.public_keys is not None else shape.num_groups
    on_cells = shape.pipeline is Pipeline.CELLS
    trade = on_cells and additive(plan)
    fullest = trade and choice.rows  # rows per cell traded against noise: over fullest cells
    steps = choice.groups + choice.rows + bool(choice.measures)  # the quantiles asked for
    step = part * WEIGHTS["bounds"] / max(steps, 1)  # each; one after the other
    counts = [
        dp_len(signed=True).alias("n"),
        _noisy(pl.col("t").clip(0, ROWS_CAP)).sum((0, ROWS_CAP)).alias("t"),
    ]
    if fullest:  # rows of the members' fullest cells: one, or two with two cells or more
        counts.append(_noisy(pl.col("g").clip(1, FULLEST)).sum((1, FULLEST)).alias("top"))
    counted = _release(data, part * WEIGHTS["members"], counts)

    def rank(tail: float, of: str = "n") -> float:
        """The quantile's rank when about ``tail`` of the members (``n``), rows (``kept``)
        or members' fullest cells (``top``) should lie above the bound."""
        return min(max(1 - tail / max(counted[of], 1.0), RANK[0]), RANK[1])

    def noise(groups: int) -> float:
        return unit_noise(replace(shape, per_group=1, num_groups=groups)) if on_cells else 0.0

    # 1. cells per member, then rows per cell. A level (a mean, a quantile) keeps its value
    #    when a member's rows are sampled, so it takes what most members have (the median).
    #    For counts and sums one more row per cell adds about σ₁ of noise to each cell and
    #    is worth it while more of the members' cells than that lie above the bound; one
    #    more cell adds only about σ/2G to each (noise grows with √G), and gives back a
    #    whole cell's rows for each member above it.
    first: list[pl.Expr] = []
    if choice.groups:
        most = shape.num_groups
        at = rank(cells * noise(most) / (2 * most)) if trade else RANK[0] if on_cells else 0.9
        first.append(_quantile("g", at, _row_candidates(most)))  # a grid: shapes recur
    found = _release(data, step, first) if first else {}
    groups = int(found.get("g", shape.num_groups))
    unit = noise(groups)
    if fullest:
        at, candidates = rank(cells * unit, of="top"), _row_candidates(shape.per_group)
        found |= _release(_fullest(data), step, [_quantile("k", at, candidates)], FULLEST)
    elif choice.rows:
        found |= _release(data, step, [_quantile("k", RANK[0], _row_candidates(shape.per_group))])
    rows = int(found.get("k", shape.per_group))
    # 2. clamp ranges: one more unit adds k·σ₁ to a sum's noise in each cell (k·σ₁/2 to a
    #    mean's, centred), and takes back one unit from every value above it, a share of all
    #    rows
    counted["kept"] = min(counted["t"], counted["n"] * rows * groups)  # rows the bounds keep
    third = [
        _quantile(
            f"v{i}",
            rank(cells * rows * unit * _noise_per_unit(shape, i), of="kept"),
            _value_candidates(measure),
        )
        for i, measure in enumerate(shape.measures)
        if i in choice.measures
    ]
    if third:
        found |= _release(data, step, third)
    return fix(
        plan,
        rows=rows,
        groups=groups,
        uppers={shape.measures[i].column.column: int(found[f"v{i}"]) for i in choice.measures},
    )


def fix(plan: QueryPlan, *, rows: int, groups: int, uppers: dict[str, int]) -> QueryPlan:
    """``plan`` with these contribution bounds and upper clamp bounds, as if fixed by hand."""
    aggregates = tuple(
        a.model_copy(update={"upper": float(uppers[a.column.column])})
        if a.column is not None
        and a.column.column in uppers
        and a.function in (Aggregation.SUM, Aggregation.MEAN)
        else a
        for a in plan.aggregates
    )
    contributions = Contributions(rows_per_group=rows, groups=groups)
    return plan.model_copy(update={"contributions": contributions, "aggregates": aggregates})


def bounded_shape(plan: QueryPlan, policy: Policy, shape: Shape) -> Shape:
    """The shape of ``plan`` once its bounds are fixed, at what is left of ``shape``'s ε."""
    fixed = shape_of(plan, policy, epsilon=shape.epsilon)
    return replace(fixed, bounds_epsilon=shape.bounds_epsilon)


def cut_of(output: Output, shape: Shape) -> tuple[str, int] | None:
    """The cut column of ``output`` in the members' cuts (``frame``), and a member's cap there.

    None for medians and quantiles, whose cut is not estimated.
    """
    k, measure = shape.per_group, output.measure
    largest = 1
    if measure is not None:
        bounds = shape.measures[measure]
        largest = max(abs(bounds.lower), abs(bounds.upper), 1)
    match output.function:
        case Aggregation.COUNT:
            # a member may lose rows in every cell, and whole cells beyond G
            return "rows", CUT_CAP * k * math.ceil(math.sqrt(shape.num_groups))
        case Aggregation.COUNT_DISTINCT_MEMBERS:
            return "cells", CUT_CAP
        case Aggregation.SUM:
            return f"sum{measure}", CUT_CAP * k * largest
        case Aggregation.MEAN:
            return f"over{measure}", k * largest
    return None


def cuts(shape: Shape, reduction: Reduction, alpha: float) -> dict[str, Cut]:
    """DP totals of what ``shape``'s bounds cut: ``rows``, ``cells``, ``sum<i>``, ``over<i>``.

    Each member's part is capped at ``CUT_CAP`` times what bounding lets them
    contribute, so a few very heavy members are undercounted: the estimate
    leans low, and its error counts only the noise.
    """
    caps = dict(filter(None, (cut_of(output, shape) for output in shape.outputs)))
    if not caps:
        return {}
    data = reduction.cuts(shape)
    epsilon = shape.bounds_epsilon * WEIGHTS["cuts"] / sum(WEIGHTS.values())
    low = {name: 0 if not name.startswith("sum") else -cap for name, cap in caps.items()}
    sums = [
        _noisy(pl.col(name).clip(low[name], cap)).sum((low[name], cap)).alias(name)
        for name, cap in caps.items()
    ]
    released, errors = release_per_member(data, sums, epsilon, alpha)
    return {name: Cut(float(released[name]), float(errors[name] or 0.0)) for name in caps}


def _release(
    data: pl.LazyFrame, epsilon: float, expressions: list[pl.Expr], contributions: int = 1
) -> dict[str, float]:
    released, _ = release_per_member(data, expressions, epsilon, contributions=contributions)
    return {name: float(value) for name, value in released.items()}


def _fullest(data: pl.LazyFrame) -> pl.LazyFrame:
    """Each member's rows in their fullest cell and their second fullest (``k``, ``k2``;
    null without one), as ``FULLEST`` rows of ``k``."""
    return data.select(pl.concat_list("k", "k2").alias("k")).explode("k")


def _noise_per_unit(shape: Shape, measure: int) -> float:
    """Noise a unit more of ``measure``'s upper clamp adds, in rows' σ₁: a whole unit to a
    sum, half to a mean's sum centred on the middle of the range (the middle moves too)."""
    return 1.0 if StatKind.SUM in shape.kinds(measure) else 0.5


def _quantile(column: str, alpha: float, candidates: Any) -> pl.Expr:
    expression: Any = pl.col(column).drop_nulls()
    quantile: pl.Expr = expression.dp.quantile(alpha, list(candidates)).alias(column)
    return quantile


def _noisy(expression: pl.Expr) -> Any:
    untyped: Any = expression
    return untyped.dp


def _row_candidates(maximum: int) -> list[int]:
    grid = [k for k in ROWS_GRID if k < maximum]
    doubled = ROWS_GRID[-1] * 2
    while doubled < maximum:
        grid.append(doubled)
        doubled *= 2
    return [*grid, maximum]


def _value_candidates(measure: Measure) -> list[int]:
    span = measure.upper - measure.lower
    if span <= 1024:
        return list(range(measure.lower + 1, measure.upper + 1))
    step = span / 1024
    return sorted({measure.lower + max(1, math.ceil(i * step)) for i in range(1, 1025)})
