"""``execute`` and ``predict_accuracy``: a vetted plan in, a DP release out.

The order is the promise: check the budget, look in the release store, and
only then touch the extract. DuckDB computes the exact, per-member part
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
from typing import TYPE_CHECKING

import duckdb

from gateway.dp.release import Cell, Release, Selection, engine_version, release_key
from gateway.dp.shape import Output, Pipeline, Shape, shape_of
from gateway.dp.store import ReleaseStore
from gateway.dp.tuning import Tuning
from gateway.errors import BudgetError, ReleaseFailed
from gateway.policy.load import policy_hash
from gateway.policy.model import Aggregation, Policy
from gateway.vet.plan import QueryPlan
from gateway.vet.report import check_epsilon as epsilon_issues

if TYPE_CHECKING:
    from gateway.dp.mechanism import Calibration

Interval = tuple[float, float] | None
log = logging.getLogger(__name__)


def execute(
    plan: QueryPlan,
    policy: Policy,
    connection: duckdb.DuckDBPyConnection,
    *,
    epsilon: float,
    extract_hash: str,
    store: ReleaseStore | None = None,
    remaining_budget: float | None = None,
    dummy: bool = False,
    tuning: Tuning | None = None,
) -> Release:
    """Release ``plan`` over the extract behind ``connection`` at privacy loss ``epsilon``.

    ``connection`` sees the extract's tables unqualified. With a ``store``, an
    identical plan on the same extract at the same ε is answered from it at no
    cost. ``remaining_budget`` is the project's unspent ε, if the caller keeps one.
    ``tuning`` is what an earlier calibration of the plan's shape found
    (``tuning_for``), to spare the search.
    """
    check_epsilon(policy, epsilon)
    shape = shape_of(plan, policy, epsilon=epsilon)
    if store is not None:
        asked = release_key(
            plan.plan_hash(), extract_hash, epsilon, policy_hash(policy), engine_version()
        )
        stored = store.get(asked)
        if stored is not None:
            return stored
    if remaining_budget is not None and epsilon > remaining_budget:
        raise BudgetError(
            "budget_exhausted",
            f"the query costs ε={epsilon}; the project has ε={remaining_budget} left",
            hint="ask at a smaller ε, or ask a reviewer for more budget",
        )
    # OpenDP and Polars load only now: a refusal or a stored answer does not wait for them.
    from gateway.dp.frame import load_frame
    from gateway.dp.mechanism import calibrate, release

    calibration = calibrate(shape, policy.release.confidence, tuning)
    with _charged_from_here(), tempfile.TemporaryDirectory(prefix="gateway-dp-") as directory:
        frame = load_frame(plan, policy, shape, connection, Path(directory))
        noisy = release(calibration, frame.data)
        table = _Table(shape, calibration, policy.release.min_group_members)
        for record in noisy.iter_rows(named=True):
            table.add(frame.keys[record["cell"]] if shape.grouped else (), record)
        columns = [g.alias for g in shape.groups] + [o.alias for o in shape.outputs]
        rows, intervals = _order(plan, columns, table.rows, table.intervals)
    result = Release(
        columns=columns,
        rows=rows,
        ci=intervals,
        epsilon=epsilon,
        rho=calibration.rho,
        delta=calibration.delta,
        epsilon_spent=epsilon,
        rho_spent=calibration.rho,
        delta_spent=calibration.delta,
        suppressed_groups=table.suppressed,
        selection=_selection(shape, calibration),
        confidence=policy.release.confidence,
        mechanism=calibration.noise.value,
        budget_split=budget_split(shape, calibration.shares),
        plan_hash=plan.plan_hash(),
        extract_hash=extract_hash,
        policy_hash=policy_hash(policy),
        created_at=dt.datetime.now(dt.UTC),
        dummy=dummy,
    )
    return store.put(result) if store is not None else result


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


def tuning_for(
    plan: QueryPlan, policy: Policy, epsilon: float, tuning: Tuning | None = None
) -> Tuning:
    """How ``execute`` calibrates ``plan`` at ``epsilon`` (given ``tuning``), to keep for later.

    Free after ``execute`` with the same arguments: calibrations are cached.
    """
    from gateway.dp.mechanism import calibrate

    shape = shape_of(plan, policy, epsilon=epsilon)
    return calibrate(shape, policy.release.confidence, tuning).tuning


def predict_accuracy(plan: QueryPlan, policy: Policy, epsilon: float) -> dict[str, float]:
    """Expected 95% half-width per aggregate at ``epsilon``, from the mechanism; no data.

    Counts and sums get their half-width. A mean's interval depends on its
    group's size, so it gets its two parts, ``<alias>.sum`` and
    ``<alias>.count`` (at half the error rate each): the mean's half-width is
    about ``(sum + |mean| * count) / rows``. Medians and quantiles get none:
    their error depends on how dense the data is around them.
    """
    from gateway.dp.mechanism import calibrate

    check_epsilon(policy, epsilon)
    shape = shape_of(plan, policy, epsilon=epsilon)
    calibration = calibrate(shape, policy.release.confidence)
    predicted: dict[str, float] = {}
    for output in shape.outputs:
        if output.function is Aggregation.MEAN:
            total, count = output.statistics
            predicted[f"{output.alias}.sum"] = _width(calibration.accuracy_half, total)
            predicted[f"{output.alias}.count"] = _width(calibration.accuracy_half, count)
        elif output.function not in (Aggregation.MEDIAN, Aggregation.QUANTILE):
            predicted[output.alias] = _width(calibration.accuracy, output.statistics[0])
    return predicted


def check_epsilon(policy: Policy, epsilon: float) -> None:
    """Refuse a privacy loss the policy does not allow, before anything is read."""
    issues = epsilon_issues(epsilon, policy)
    if issues:
        first = issues[0]
        raise BudgetError(first.code, first.message, hint=first.hint)


def _selection(shape: Shape, calibration: Calibration) -> Selection | None:
    """OpenDP's threshold for showing a private group, in what the group's size counts."""
    if calibration.threshold is None:
        return None
    size = "members" if shape.pipeline is Pipeline.CELLS else "records"
    return Selection(threshold=calibration.threshold, size=size)


def budget_split(shape: Shape, shares: Mapping[str, float]) -> dict[str, float]:
    """Each aggregate's fraction of the privacy loss, from each statistic's ``shares``.

    A statistic two aggregates share (a sum behind both SUM and AVG) is split
    between them. The counts no aggregate shows are named for what they do:
    ``partition_selection`` chooses which private groups are shown,
    ``group_size`` withholds groups under the policy's ``min_group_members``.
    """
    users = Counter(name for o in shape.outputs for name in o.statistics)
    split = {o.alias: math.fsum(shares[n] / users[n] for n in o.statistics) for o in shape.outputs}
    for stat in shape.statistics:
        if stat.name not in users:
            label = "partition_selection" if stat.name == shape.selection else "group_size"
            split[label] = split.get(label, 0.0) + shares[stat.name]
    return split


class _Table:
    """Post-processing of OpenDP's output into rows and intervals.

    Counts are clamped at 0 and their intervals intersected with [0, ∞): the
    true value is never negative, so coverage is unchanged. A mean is the
    ratio of two DP statistics, its interval the range of that ratio over both
    statistics' intervals at half the error rate (so both hold together with
    the stated confidence), intersected with the clamp bounds.
    """

    def __init__(self, shape: Shape, calibration: Calibration, min_members: int) -> None:
        self.shape, self.calibration, self.min_members = shape, calibration, min_members
        self.rows: list[list[Cell]] = []
        self.intervals: list[list[Interval]] = []
        self.suppressed = 0

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
        width_total = _width(self.calibration.accuracy_half, total_name)
        width_count = _width(self.calibration.accuracy_half, count_name)
        if count <= 0:
            return None, bounds
        value = min(max(total / count, bounds[0]), bounds[1])
        low_count = count - width_count
        if low_count <= 0:
            return value, bounds
        corners = [
            t / c
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
