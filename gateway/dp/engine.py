"""``execute`` and ``predict_accuracy``: a vetted plan in, a DP release out.

The order is the promise: check the privacy loss, and only then touch the
extract. The release store and the budget are the trusted side's
(``gateway.pipeline``): this module runs in the sandbox and imports only the
plan, the policy, the errors, DuckDB, Polars and OpenDP. DuckDB computes the exact, per-member part
(``frame``), OpenDP everything private (``mechanism``), and what OpenDP
releases is post-processed here into rows with confidence intervals. Nothing
un-noised leaves this module.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import tempfile
import traceback
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import duckdb

from gateway.dp.release import (
    MEAN_GROUP,
    Cell,
    ColumnBounds,
    Release,
    Selection,
)
from gateway.dp.shape import ADDITIVE, Output, Pipeline, Shape, StatKind, shape_of
from gateway.dp.tuning import Tuning
from gateway.errors import ReleaseFailed
from gateway.plan import QueryPlan
from gateway.policy.epsilon import check_epsilon
from gateway.policy.load import policy_hash
from gateway.policy.model import Aggregation, Policy

if TYPE_CHECKING:
    from gateway.dp.mechanism import Calibration

Interval = tuple[float, float] | None
log = logging.getLogger(__name__)


class Outcome(NamedTuple):
    """What ``execute`` gives back: the release, and how it calibrated the shape."""

    release: Release
    tuning: Tuning
    """Kept by the trusted side for the next query of this shape, to spare the search."""
    searched: dict[str, Tuning]
    """Every search's result (``mechanism.SEARCHED``): kept too, for the shapes of chosen bounds."""


def execute(
    plan: QueryPlan,
    policy: Policy,
    connection: duckdb.DuckDBPyConnection,
    *,
    shape: Shape,
    epsilon: float,
    extract_hash: str,
    dummy: bool = False,
    tuning: Tuning | None = None,
    searched: Mapping[str, Tuning] | None = None,
) -> Outcome:
    """Release ``plan`` over the extract behind ``connection`` at privacy loss ``epsilon``.

    ``connection`` sees the extract's tables unqualified. ``shape`` is the
    plan's at ``epsilon`` (``shape_of``), derived once by the caller.
    ``tuning`` is what an earlier calibration of that shape found, to spare
    the search, and ``searched`` what earlier searches of any shape found.
    ``dummy`` says the extract is synthetic (its manifest says so): the
    release is labelled so and spends nothing.
    """
    check_epsilon(policy, epsilon)
    # OpenDP and Polars load only now: a refusal does not wait for them.
    from gateway.dp import bounding
    from gateway.dp.frame import reduced
    from gateway.dp.mechanism import SEARCHED, calibrate, calibrate_bounded, release

    SEARCHED.update(searched or {})

    confidence = policy.release.confidence
    calibration = calibrate(shape, confidence, tuning)
    bounded, final, cuts = plan, calibration, {}
    with (
        _charged_from_here(),
        tempfile.TemporaryDirectory(prefix="gateway-dp-") as directory,
        reduced(plan, policy, shape, connection, Path(directory)) as reduction,
    ):
        if shape.choice.any:
            bounded = bounding.choose(
                plan, shape, reduction, lambda s: _unit_noise(s, confidence, calibration)
            )
            final = calibrate_bounded(
                bounding.bounded_shape(bounded, policy, shape), confidence, calibration
            )
        frame = reduction.frame(final.shape)
        noisy = release(final, frame.data)
        table = _Table(final.shape, final, policy.release.min_group_members)
        for record in noisy.iter_rows(named=True):
            table.add(frame.keys[record["cell"]] if shape.grouped else (), record)
        if shape.choice.any:
            cuts = bounding.cuts(final.shape, reduction, alpha=1 - confidence)
        notes = _Notes(plan, shape, final.shape, policy, table).columns(cuts)
        columns = [g.alias for g in shape.groups] + [o.alias for o in shape.outputs]
        rows, intervals = _order(plan, columns, table.rows, table.intervals)
    result = Release(
        columns=columns,
        rows=rows,
        ci=intervals,
        epsilon=epsilon,
        rho=final.rho,
        delta=final.delta,
        epsilon_spent=0.0 if dummy else epsilon,
        rho_spent=None if final.rho is None else 0.0 if dummy else final.rho,
        delta_spent=0.0 if dummy else final.delta,
        suppressed_groups=table.suppressed,
        selection=_selection(shape, final),
        confidence=confidence,
        mechanism=final.noise.value,
        bounds=notes,
        bounds_epsilon=shape.bounds_epsilon,
        budget_split=budget_split(final.shape, final.shares, epsilon),
        plan_hash=plan.plan_hash(),
        extract_hash=extract_hash,
        policy_hash=policy_hash(policy),
        created_at=dt.datetime.now(dt.UTC),
        dummy=dummy,
    )
    return Outcome(result, calibration.tuning, dict(SEARCHED))


@contextmanager
def _charged_from_here() -> Iterator[None]:
    """From the first read of the extract on, any failure is ``ReleaseFailed``.

    Whether reading fails can depend on the rows, so no failure past this
    point may say why or be refunded. The operator's log gets where it
    happened and the exception's type, never its message (it may quote data).
    """
    try:
        yield
    except Exception as exc:
        trace = "".join(traceback.format_tb(exc.__traceback__))
        log.error("release failed after data was read:\n%s%s", trace, type(exc).__name__)
        raise ReleaseFailed from None


def predict_accuracy(plan: QueryPlan, policy: Policy, epsilon: float) -> dict[str, float]:
    """Expected 95% half-width per aggregate at ``epsilon``, from the mechanism; no data.

    Counts and sums get their half-width. A mean's depends on its group's
    size: it gets, in its own units, the most it can be for a group of
    ``MEAN_GROUP`` values (half as much for twice as many), and its two parts,
    ``<alias>.sum`` and ``<alias>.count`` (at half the error rate each): for
    ``values`` values, about ``(sum + |mean - middle| * count) / values``.
    Medians and quantiles get none: their error depends on how dense the data
    is around them.
    """
    from gateway.dp.mechanism import calibrate

    check_epsilon(policy, epsilon)
    shape = shape_of(plan, policy, epsilon=epsilon)
    calibration = calibrate(shape, policy.release.confidence)
    predicted: dict[str, float] = {}
    for output in shape.outputs:
        if output.function is Aggregation.MEAN:
            assert output.measure is not None
            total, count = output.statistics
            measure = shape.measures[output.measure]
            centred = shape.statistic(total).kind is StatKind.CENTRED
            offset = measure.middle if centred else 0
            farthest = max(abs(measure.lower - offset), abs(measure.upper - offset))
            parts = (
                _width(calibration.accuracy_half, total),
                _width(calibration.accuracy_half, count),
            )
            predicted[output.alias] = (parts[0] + farthest * parts[1]) / MEAN_GROUP
            predicted[f"{output.alias}.sum"], predicted[f"{output.alias}.count"] = parts
        elif output.function not in (Aggregation.MEDIAN, Aggregation.QUANTILE):
            predicted[output.alias] = _width(calibration.accuracy, output.statistics[0])
    return predicted


def _selection(shape: Shape, calibration: Calibration) -> Selection | None:
    """OpenDP's threshold for showing a private group, in what the group's size counts."""
    if calibration.threshold is None:
        return None
    size = "members" if shape.pipeline is Pipeline.CELLS else "records"
    return Selection(threshold=calibration.threshold, size=size)


def budget_split(shape: Shape, shares: Mapping[str, float], epsilon: float) -> dict[str, float]:
    """Each aggregate's fraction of the privacy loss ``epsilon``, from each statistic's ``shares``.

    A statistic two aggregates share (a sum behind both SUM and AVG) is split
    between them. The counts no aggregate shows are named for what they do:
    ``partition_selection`` chooses which private groups are shown,
    ``group_size`` withholds groups under the policy's ``min_group_members``;
    ``bounds`` is what choosing the bounds and estimating their cut cost.
    """
    statistics = shape.epsilon / epsilon
    users = Counter(name for o in shape.outputs for name in o.statistics)
    split = {
        o.alias: statistics * math.fsum(shares[n] / users[n] for n in o.statistics)
        for o in shape.outputs
    }
    for stat in shape.statistics:
        if stat.name not in users:
            label = "partition_selection" if stat.name == shape.selection else "group_size"
            split[label] = split.get(label, 0.0) + statistics * shares[stat.name]
    if shape.bounds_epsilon:
        split["bounds"] = shape.bounds_epsilon / epsilon
    return split


def _unit_noise(shape: Shape, confidence: float, template: Calibration) -> float:
    """About the standard deviation of a count with one row per member, under ``shape``.

    Read from OpenDP's calibration with the template's noise, without a search:
    exact when ``shape`` has the template's cells (the scale does not depend on
    the rows per cell); with fewer cells Laplace's scale would be smaller, so
    this then overstates the noise and the bounds come out a little low.
    """
    from gateway.dp.mechanism import calibrate

    return _width(calibrate(shape, confidence, template.tuning).accuracy, shape.members) / 2


class _Notes:
    """Per output: the bounds it was released with and, when chosen, what they cut.

    A cut is a DP total (``bounding.cuts``) over the released total it was cut
    from. Counts and sums of non-negative measures are only ever cut
    downwards, so their intervals are widened upwards by the estimated cut
    (plus its error): they then cover the unbounded answer when the estimate
    holds, and say so. A column whose cut is above the policy's
    ``max_cut_share`` is flagged ``biased``.
    """

    def __init__(
        self, plan: QueryPlan, template: Shape, shape: Shape, policy: Policy, table: _Table
    ) -> None:
        self.plan, self.template, self.shape, self.table = plan, template, shape, table
        self.tolerance = policy.release.max_cut_share

    def _fixed(self, output: Output) -> bool:
        """Whether the researcher fixed any of ``output``'s bounds (the plan as vetted)."""
        given = self.plan.contributions
        if given.rows_per_group is not None or given.groups is not None:
            return True
        aggregate = next(a for a in self.plan.aggregates if a.alias == output.alias)
        return aggregate.lower is not None or aggregate.upper is not None

    def columns(self, cuts: Mapping[str, object]) -> dict[str, ColumnBounds]:
        from gateway.dp.bounding import Cut, cut_of

        notes = {}
        keys = len(self.shape.groups)
        for j, output in enumerate(self.shape.outputs):
            measure = None if output.measure is None else self.shape.measures[output.measure]
            choice = self.template.choice
            chosen = choice.rows or choice.groups or output.measure in choice.measures
            share, error, widened = None, None, False
            named = cut_of(output, self.shape)
            cut = cuts.get(named[0]) if named is not None else None
            if isinstance(cut, Cut):
                total = self._released_total(keys + j, output)
                if total is not None and total > 0:
                    whole = total + max(cut.total, 0.0)  # the noise may make a cut negative
                    share = min(max(cut.total / whole, 0.0), 1.0)
                    error = cut.error / whole
                    widened = output.function in ADDITIVE and (
                        measure is None or measure.lower >= 0
                    )
                    if widened:
                        self.table.widen(keys + j, min(share + error, 0.9))
            notes[output.alias] = ColumnBounds(
                rows_per_group=self.shape.per_group,
                groups=self.shape.num_groups,
                clamp=None if measure is None else (measure.lower, measure.upper),
                chosen=chosen,
                fixed=self._fixed(output),
                cut_share=share,
                cut_share_error=error,
                biased=share is not None and share > self.tolerance,
                too_noisy=self.table.too_noisy[output.alias],
                widened=widened,
            )
        return notes

    def _released_total(self, index: int, output: Output) -> float | None:
        """The column's released total over every group shown (for a mean: of its sum)."""
        if output.function is Aggregation.MEAN:
            return self.table.mean_sum(index) or None
        values = [row[index] for row in self.table.rows]
        numbers = [v for v in values if isinstance(v, int | float)]
        return float(sum(numbers)) if numbers else None


class _Table:
    """Post-processing of OpenDP's output into rows and intervals.

    Counts are clamped at 0 and their intervals intersected with [0, ∞): the
    true value is never negative, so coverage is unchanged. A mean is the
    ratio of two DP statistics, its interval the range of that ratio over both
    statistics' intervals at half the error rate (so both hold together with
    the stated confidence), intersected with the clamp bounds. A mean whose
    noise carries it outside the clamp range is not shown, and counted in
    ``too_noisy``: clamped, it would look like a measured extreme.
    """

    def __init__(self, shape: Shape, calibration: Calibration, min_members: int) -> None:
        self.shape, self.calibration, self.min_members = shape, calibration, min_members
        self.rows: list[list[Cell]] = []
        self.intervals: list[list[Interval]] = []
        self.suppressed = 0
        self.sums: Counter[str] = Counter()  # per mean: the released sum over groups shown
        self.too_noisy: Counter[str] = Counter()  # per mean: groups whose value is not shown

    def add(self, keys: tuple[Cell, ...], record: Mapping[str, object]) -> None:
        if _int(record[self.shape.members]) < self.min_members:
            self.suppressed += 1
            return
        cells: list[Cell] = list(keys)
        intervals: list[Interval] = [None] * len(keys)
        for output in self.shape.outputs:
            value, interval = self._value(output, record)
            cells.append(value)
            intervals.append(interval)
        self.rows.append(cells)
        self.intervals.append(intervals)

    def mean_sum(self, index: int) -> float:
        """The released sum behind the mean in column ``index``, over the groups shown."""
        return float(self.sums[self.shape.outputs[index - len(self.shape.groups)].alias])

    def widen(self, index: int, cut: float) -> None:
        """Raise the upper ends in column ``index`` by what a cut of share ``cut`` removed."""
        for row, intervals in zip(self.rows, self.intervals, strict=True):
            value, interval = row[index], intervals[index]
            if isinstance(value, int | float) and interval is not None:
                intervals[index] = (interval[0], interval[1] + max(value, 0) * cut / (1 - cut))

    def _value(self, output: Output, record: Mapping[str, object]) -> tuple[Cell, Interval]:
        accuracy = self.calibration.accuracy
        if output.function in (Aggregation.MEDIAN, Aggregation.QUANTILE):
            return _int(record[output.statistics[0]]), None
        if output.function is Aggregation.MEAN:
            return self._mean(output, record)
        name = output.statistics[0]
        value, width = _int(record[name]), _width(accuracy, name)
        non_negative = output.measure is None or self.shape.measures[output.measure].lower >= 0
        if not non_negative:
            return value, (value - width, value + width)
        return max(value, 0), (max(0.0, value - width), max(0.0, value + width))

    def _mean(self, output: Output, record: Mapping[str, object]) -> tuple[Cell, Interval]:
        assert output.measure is not None
        measure = self.shape.measures[output.measure]
        bounds = (float(measure.lower), float(measure.upper))
        total_name, count_name = output.statistics
        total, count = _int(record[total_name]), _int(record[count_name])
        centred = self.shape.statistic(total_name).kind is StatKind.CENTRED
        offset = measure.middle if centred else 0
        self.sums[output.alias] += offset * count + total
        width_total = _width(self.calibration.accuracy_half, total_name)
        width_count = _width(self.calibration.accuracy_half, count_name)
        value = offset + total / count if count > 0 else None
        if value is None or not bounds[0] <= value <= bounds[1]:
            self.too_noisy[output.alias] += 1
            return None, bounds
        low_count = count - width_count
        if low_count <= 0:
            return value, bounds
        corners = [
            offset + t / c
            for t in (total - width_total, total + width_total)
            for c in (low_count, count + width_count)
        ]
        low = min(max(min(corners), bounds[0]), bounds[1])
        high = min(max(max(corners), bounds[0]), bounds[1])
        return value, (low, high)


def _order(
    plan: QueryPlan,
    columns: list[str],
    rows: list[list[Cell]],
    intervals: list[list[Interval]],
) -> tuple[list[list[Cell]], list[list[Interval]]]:
    """Group keys ascending, then the plan's ORDER BY and LIMIT (post-processing)."""
    order = list(range(len(rows)))
    keys = [(i, False) for i in range(len(plan.group_by))]
    by = [(columns.index(item.alias), item.descending) for item in plan.order_by]
    for index, descending in reversed(by + keys):
        present = [i for i in order if rows[i][index] is not None]
        missing = [i for i in order if rows[i][index] is None]
        present.sort(key=lambda i: rows[i][index], reverse=descending)  # type: ignore[arg-type,return-value]
        order = present + missing
    order = order[: plan.limit] if plan.limit is not None else order
    return [rows[i] for i in order], [intervals[i] for i in order]


def _width(accuracy: Mapping[str, float | None], name: str) -> float:
    width = accuracy[name]
    assert width is not None, f"OpenDP gave no accuracy for {name}"
    return float(width)


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value
