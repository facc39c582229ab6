"""The DP half of a query, in OpenDP: sensitivity, clamping, noise, partition selection.

The privacy unit is the member. The frame comes bounded per member
(``frame``), and OpenDP is told exactly those bounds as the unit of privacy
(``unit_of(contributions=bounds(shape))``): how many rows a member may have
in all, in any one cell, and in how many cells. From them OpenDP derives each
statistic's sensitivity; clamping, noise, partition selection (``with_keys``
for public key sets, thresholding under (ε, δ) otherwise) and accuracy all
come from OpenDP too. The noise scale is searched for once per ``Shape`` and
the measurement reused; it holds no data, and OpenDP's accountant re-checks it
against the budget on every release. Both Laplace (pure or approximate DP) and
Gaussian (zCDP) noise are calibrated, and the one that is more accurate for
the shape is used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import opendp.combinators as dpc
import opendp.measurements as dpm
import polars as pl
from opendp.accuracy import summarize_polars_measurement
from opendp.context import Context, domain_of, loss_of, unit_of
from opendp.domains import atom_domain, with_margin
from opendp.extras.polars import Bound, Margin, dp_len
from opendp.metrics import absolute_distance
from opendp.mod import (
    OpenDPException,
    binary_search,
    binary_search_param,
    disable_features,
    enable_features,
)

from gateway.dp.frame import schema
from gateway.dp.shape import Pipeline, Shape, Statistic, StatKind
from gateway.dp.tuning import Noise, Tuning, search_key
from gateway.errors import BudgetError, DpError

enable_features("contrib")

SEARCHED: dict[str, Tuning] = {}
"""What each search found (``search_key``), in this process or, given with a job, in another.

A query with chosen bounds calibrates shapes that only its data decide, so
the trusted side cannot name them ahead; it keeps what the sandbox searched
and gives it all to the next job of the same query shape.
"""

U32_MAX = 2**32 - 1
"""OpenDP's ``max_length``: a bound on rows per group that assumes nothing about the data.

Integer sums (the engine sums only integers) do not depend on it; it only
has to be a true bound.
"""


@dataclass(frozen=True)
class Calibration:
    """A measurement ready to release a shape, and what OpenDP says about it."""

    shape: Shape
    tuning: Tuning  # the noise ``measurement`` has, to rebuild it without a search
    measurement: Any  # an OpenDP Measurement; holds no data
    domain: Any
    unit: tuple[Any, Any]  # (dataset metric, d_in): what one member may change in the frame
    loss: tuple[Any, Any]  # (privacy measure, d_out) of the accountant
    epsilon: float
    delta: float
    rho: float | None
    accuracy: dict[str, float | None]  # statistic -> half-width at 1 - confidence
    accuracy_half: dict[str, float | None]  # ... at (1 - confidence) / 2
    threshold: int | None  # noisy size below which OpenDP withholds a private group
    shares: dict[str, float]  # statistic -> its part of the loss (ε, or ρ for zCDP)
    streams: bool  # whether the plan may run on Polars' streaming engine (no quantiles)

    @property
    def noise(self) -> Noise:
        return self.tuning.noise


@lru_cache(maxsize=256)
def calibrate(shape: Shape, confidence: float, tuning: Tuning | None = None) -> Calibration:
    """The more accurate of Laplace and Gaussian noise for ``shape``; no data is read.

    With a ``tuning`` from an earlier calibration of the shape, its measurement
    is rebuilt without a search, if it has a threshold exactly when the group
    keys are private and OpenDP finds it within the loss.
    """
    try:
        if tuning is not None and (tuning.threshold is not None) == _private_keys(shape):
            rebuilt = _calibrate(shape, tuning.noise, confidence, tuning)
            if rebuilt is not None:
                return rebuilt
        options = [_calibrate(shape, noise, confidence) for noise in Noise]
    except OpenDPException as exc:  # no data is involved, so OpenDP's message may be shown
        raise DpError(
            "calibration_failed", f"OpenDP cannot build this query: {exc.variant}: {exc.message}"
        ) from None
    return min((option for option in options if option is not None), key=_badness)


def calibrate_bounded(shape: Shape, confidence: float, template: Calibration) -> Calibration:
    """``shape`` once its bounds are chosen, given how its maxima were calibrated (``template``).

    On cells with the template's number of cells, OpenDP's global scale does
    not depend on the rows per cell (every statistic's sensitivity grows with
    it), so each kind of noise keeps the template's scale for it, only a
    private-key threshold is searched for again, and the more accurate kind is
    used. Another number of cells (Laplace's scale follows it), or records (a
    quantile's scale grows with the rows), are searched for anew.
    """
    if shape.pipeline is Pipeline.ROWS or shape.num_groups != template.shape.num_groups:
        return calibrate(shape, confidence)
    return _rescaled(shape, confidence, template.shape, template.tuning)


@lru_cache(maxsize=64)
def _rescaled(shape: Shape, confidence: float, maxima: Shape, tuning: Tuning) -> Calibration:
    """``calibrate_bounded`` on the template's cells, once per process: chosen bounds recur."""
    options = []
    try:
        for noise in Noise:
            found = tuning if tuning.noise is noise else _tuning_for(maxima, noise, confidence)
            if found is None:
                continue
            unthresholded = found.model_copy(update={"threshold": None})
            option = _calibrate(shape, noise, confidence, unthresholded)
            if option is not None:
                options.append(option)
    except OpenDPException as exc:
        raise DpError(
            "calibration_failed", f"OpenDP cannot build this query: {exc.variant}: {exc.message}"
        ) from None
    return min(options, key=_badness) if options else calibrate(shape, confidence)


@lru_cache(maxsize=64)
def _tuning_for(shape: Shape, noise: Noise, confidence: float) -> Tuning | None:
    """The searched tuning of one kind of noise for ``shape``, once per process."""
    calibration = _calibrate(shape, noise, confidence)
    return None if calibration is None else calibration.tuning


def release(calibration: Calibration, data: pl.LazyFrame) -> pl.DataFrame:
    """Spend the calibrated loss on ``data``: one query in a fresh OpenDP context.

    OpenDP's own ``collect`` runs the private plan on Polars' in-memory
    engine, which holds the whole frame at once (about 450 MB for 5M rows).
    Where it can, the plan is taken out of its once-only wrapper instead and
    run on the streaming engine, in a third of the memory and half the time.
    That wrapper is what OpenDP's ``honest-but-curious`` feature is about: its
    guarantee holds if the plan runs once and the order of the output rows is
    not observed. Here it runs once, right away, and the rows are shuffled.
    Quantiles cannot leave: OpenDP scores their candidates in a function of
    its own that does not serialise.
    """
    try:
        context = _context(data, calibration.unit, calibration.domain, calibration.loss)
        private = context(calibration.measurement)
        if calibration.streams:
            frame = _once(private).collect(engine="streaming")
        else:
            frame = private.collect()
    except OpenDPException as exc:  # its message could describe the data: only its kind leaves
        raise DpError(
            "release_failed", f"OpenDP could not release the query ({exc.variant})"
        ) from None
    except pl.exceptions.PolarsError as exc:  # the same, raised while the plan runs
        raise DpError(
            "release_failed", f"OpenDP could not release the query ({type(exc).__name__})"
        ) from None
    assert isinstance(frame, pl.DataFrame)
    return frame.sample(fraction=1.0, shuffle=True)


def release_per_member(
    data: pl.LazyFrame,
    expressions: list[pl.Expr],
    epsilon: float,
    alpha: float | None = None,
    *,
    contributions: int = 1,
) -> tuple[dict[str, Any], dict[str, float | None]]:
    """Release ``expressions`` over ``data``, ``contributions`` rows per member, at pure
    ``epsilon``.

    For the engine's own small questions (``bounding``): the least global
    scale OpenDP certifies within ε (the same short search as a query's), then
    one release. Also the half-widths at ``alpha``, if given.
    """
    try:
        schema = pl.LazyFrame(schema=data.collect_schema())
        domain = with_margin(domain_of(schema, infer=True), Margin(max_length=U32_MAX))
        unit = unit_of(contributions=contributions)
        context = _context(data, unit, domain, loss_of(epsilon=epsilon))
        build = _builder(context.query().select(*expressions), context)
        d_in, d_out = context.d_in, context.d_mids[0]
        measurement = build(_smallest(lambda s: build(s, None).check(d_in, d_out)), None)
        accuracy = _summary(measurement, alpha)[0] if alpha is not None else {}
        released = context(measurement).collect()
    except OpenDPException as exc:  # its message could describe the data: only its kind leaves
        raise DpError("release_failed", f"OpenDP could not release ({exc.variant})") from None
    return released.row(0, named=True), accuracy


def _once(private: Any) -> pl.LazyFrame:
    """The plan of a once-only frame, with OpenDP's feature for that on for this call alone."""
    enable_features("honest-but-curious")
    try:
        plan: pl.LazyFrame = private.lazy()
    finally:
        disable_features("honest-but-curious")
    return plan


def _calibrate(
    shape: Shape, noise: Noise, confidence: float, tuning: Tuning | None = None
) -> Calibration | None:
    """``noise`` calibrated for ``shape``: searched for, or as ``tuning`` says if that holds."""
    domain = with_margin(
        domain_of(pl.LazyFrame(schema=schema(shape)), infer=True),
        Margin(max_length=U32_MAX),
    )
    unit = unit_of(contributions=bounds(shape))
    loss = _loss(noise, shape)
    context = _context(pl.LazyFrame(schema=schema(shape)), unit, domain, loss)
    build = _builder(_query(context, shape), context)
    if tuning is None or (tuning.threshold is None and _private_keys(shape)):
        tuning = _searched(search_key(shape, noise, confidence), build, context, noise, tuning)
    measurement = build(tuning.scale, tuning.threshold)
    if not _within(measurement.map(context.d_in), context.d_mids[0]):
        return None
    epsilon, delta, rho = _guarantee(noise, context, shape.delta)
    if epsilon > shape.epsilon * (1 + 1e-9) or delta > shape.delta * (1 + 1e-9):
        raise BudgetError(
            "accounting_mismatch",
            f"OpenDP accounts ({epsilon}, {delta}) for a query asked at ({shape.epsilon}, "
            f"{shape.delta})",
        )
    accuracy, threshold = _summary(measurement, 1 - confidence)
    half, _ = _summary(measurement, (1 - confidence) / 2)
    streams = all(stat.kind is not StatKind.QUANTILE for stat in shape.statistics)
    return Calibration(
        shape,
        tuning,
        measurement,
        domain,
        unit,
        loss,
        epsilon,
        delta,
        rho,
        accuracy,
        half,
        threshold,
        _shares(shape, context, tuning),
        streams,
    )


def _shares(shape: Shape, context: Any, tuning: Tuning) -> dict[str, float]:
    """Each statistic's part of the loss, from OpenDP's privacy map of it at the chosen noise.

    Each statistic is built alone (beside the count OpenDP thresholds, when
    group keys are private) with the noise the whole query has, and its loss
    read from its map; parts add up under composition (ε for Laplace, ρ for
    zCDP), so their ratios are the split.
    """

    def loss(names: list[str]) -> float:
        build = _builder(_query(context, shape, names), context)
        spent = build(tuning.scale, tuning.threshold).map(context.d_in)
        return float(spent[0] if isinstance(spent, tuple) else spent)

    base = [shape.selection] if shape.selection is not None else []
    floor = loss(base) if base else 0.0
    parts = {s.name: loss([*base, s.name]) - floor for s in shape.statistics if s.name not in base}
    parts.update(dict.fromkeys(base, floor))
    total = math.fsum(parts.values())
    return {name: part / total for name, part in parts.items()}


def _builder(query: Any, context: Any) -> Callable[[float, int | None], Any]:
    """Builds ``query`` as a measurement with a given noise scale and threshold."""
    accountant: Any = context.accountant

    def build(scale: float, threshold: int | None = None) -> Any:
        return dpm.make_private_lazyframe(
            accountant.input_domain,
            accountant.input_metric,
            accountant.output_measure,
            query.polars_plan,
            global_scale=scale,
            threshold=threshold,
        )

    return build


def _searched(
    key: str,
    build: Callable[[float, int | None], Any],
    context: Any,
    noise: Noise,
    scaled: Tuning | None,
) -> Tuning:
    """``_search``, or ``_threshold`` at ``scaled``'s scale, unless it was done before.

    What an earlier search found is used if OpenDP finds it within the loss;
    otherwise the search is done again.
    """
    known = SEARCHED.get(key)
    if (
        known is not None
        and (scaled is None or known.scale == scaled.scale)
        and _within(build(known.scale, known.threshold).map(context.d_in), context.d_mids[0])
    ):
        return known
    if scaled is None:
        found = _search(build, context, noise)
    else:
        found = scaled.model_copy(update={"threshold": _threshold(build, context, scaled.scale)})
    SEARCHED[key] = found
    return found


def _search(build: Callable[[float, int | None], Any], context: Any, noise: Noise) -> Tuning:
    """The least noise (and threshold) OpenDP certifies within the context's budget.

    This is ``LazyFrameQuery.resolve`` with a search that stops at a relative
    precision of 1e-6 instead of the last bit of a float: forty constructions
    instead of a thousand. OpenDP's privacy map decides every step, and the
    accountant checks the result again when it is released.
    """
    d_in, d_out = context.d_in, context.d_mids[0]
    if not isinstance(d_out, tuple):
        return Tuning(noise=noise, scale=_smallest(lambda s: build(s, None).check(d_in, d_out)))
    scale = _smallest(lambda s: build(s, U32_MAX).map(d_in)[0] <= d_out[0])
    return Tuning(noise=noise, scale=scale, threshold=_threshold(build, context, scale))


def _threshold(build: Callable[[float, int | None], Any], context: Any, scale: float) -> int:
    """The least threshold for private groups OpenDP certifies within δ at ``scale``."""
    d_in, d_out = context.d_in, context.d_mids[0]
    return int(binary_search(lambda t: build(scale, int(t)).map(d_in)[1] <= d_out[1], T=int))


def _within(loss: Any, budget: Any) -> bool:
    """``loss`` ≤ ``budget``, component by component for (ε or ρ, δ) pairs."""
    if isinstance(budget, tuple):
        return all(spent <= given for spent, given in zip(loss, budget, strict=True))
    return bool(loss <= budget)


def _smallest(enough: Callable[[float], bool], precision: float = 1e-6) -> float:
    """The smallest scale that is ``enough``, up to ``precision`` (``enough`` is monotone)."""
    low, high = 1.0, 1.0
    while not enough(high):
        low, high = high, high * 2
    while enough(low) and low > 1e-12:
        low, high = low / 2, low
    while high / low - 1 > precision:
        middle = math.sqrt(low * high)
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high


def _private_keys(shape: Shape) -> bool:
    return shape.grouped and shape.public_keys is None


def _loss(noise: Noise, shape: Shape) -> tuple[Any, Any]:
    """The accountant's privacy loss; a threshold for private keys needs a δ of its own."""
    private = _private_keys(shape)
    if noise is Noise.LAPLACE:
        if private:
            return loss_of(epsilon=shape.epsilon, delta=shape.delta)
        return loss_of(epsilon=shape.epsilon)
    conversion_delta = shape.delta / 2 if private else shape.delta
    rho = _rho(shape.epsilon, conversion_delta)
    if private:
        return loss_of(rho=rho, delta=shape.delta - conversion_delta)
    return loss_of(rho=rho)


@lru_cache(maxsize=64)
def _rho(epsilon: float, delta: float) -> float:
    """The largest ρ whose zCDP guarantee OpenDP converts to (ε, δ)-DP."""
    space = atom_domain(T=float, nan=False), absolute_distance(T=float)

    def as_approximate_dp(scale: float) -> Any:
        gaussian = dpm.make_gaussian(*space, scale)
        return dpc.make_fix_delta(dpc.make_zCDP_to_approxDP(gaussian), delta)

    scale = binary_search_param(as_approximate_dp, d_in=1.0, d_out=(epsilon, delta))
    gaussian: Any = dpm.make_gaussian(*space, scale)
    return float(gaussian.map(1.0))


def _guarantee(noise: Noise, context: Any, delta: float) -> tuple[float, float, float | None]:
    """(ε, δ, ρ) of the whole release, as OpenDP's accountant states it."""
    accountant: Any = context.accountant
    if noise is Noise.LAPLACE:
        loss = accountant.map(context.d_in)
        return (loss[0], loss[1], None) if isinstance(loss, tuple) else (loss, 0.0, None)
    zcdp = accountant.map(context.d_in)
    rho = zcdp[0] if isinstance(zcdp, tuple) else zcdp
    converted: Any = dpc.make_fix_delta(dpc.make_zCDP_to_approxDP(accountant), delta)
    epsilon, delta_ = converted.map(context.d_in)
    return float(epsilon), float(delta_), float(rho)


def bounds(shape: Shape) -> list[Bound]:
    """What one member may contribute to the frame: the neighbouring relation OpenDP uses.

    In pipeline ``cells`` a member has one row per cell; in ``rows`` up to
    ``per_group`` rows per cell. Either way in at most ``num_groups`` cells.
    """
    per_cell = 1 if shape.pipeline is Pipeline.CELLS else shape.per_group
    if not shape.grouped:
        return [Bound(per_group=per_cell)]
    return [
        Bound(per_group=per_cell * shape.num_groups),
        Bound(by=["cell"], per_group=per_cell, num_groups=shape.num_groups),
    ]


def _context(data: pl.LazyFrame, unit: tuple[Any, Any], domain: Any, loss: tuple[Any, Any]) -> Any:
    """A one-query OpenDP context over ``data`` with the member, ``unit``, as privacy unit."""
    metric, d_in = unit
    measure, d_out = loss
    accountant = dpc.make_adaptive_composition(domain, metric, measure, d_in=d_in, d_mids=[d_out])
    return Context(accountant=accountant, queryable=accountant(data), d_in=d_in, d_mids=[d_out])


def _query(context: Any, shape: Shape, names: list[str] | None = None) -> Any:
    """The private plan of ``shape``'s statistics (those ``names``, if given)."""
    query = context.query()
    statistics = [
        _expression(stat, shape).alias(stat.name)
        for stat in shape.statistics
        if names is None or stat.name in names
    ]
    query = query.group_by("cell").agg(*statistics) if shape.grouped else query.select(*statistics)
    if shape.public_keys is not None:
        cells = pl.Series("cell", [cell for cell, _ in shape.public_keys], dtype=pl.UInt64)
        query = query.with_keys(pl.LazyFrame([cells]))
    return query


def _expression(stat: Statistic, shape: Shape) -> pl.Expr:
    """One statistic; on records (pipeline rows), missing values are left out, as in SQL."""
    k = shape.per_group
    cells = shape.pipeline is Pipeline.CELLS
    if stat.kind is StatKind.MEMBERS and not cells:
        expression: Any = _noisy(pl.col("f")).sum((0, 1))
    elif stat.kind is StatKind.MEMBERS or (stat.kind is StatKind.ROWS and not cells):
        expression = dp_len(signed=True)
    elif stat.kind is StatKind.ROWS:
        expression = _noisy(pl.col("n")).sum((0, k))
    else:
        assert stat.measure is not None
        measure = shape.measures[stat.measure]
        values = pl.col(f"x{stat.measure}").drop_nulls()
        if stat.kind is StatKind.COUNT:
            counted = pl.col(f"c{stat.measure}")
            expression = _noisy(counted).sum((0, k)) if cells else _noisy(values).len(signed=True)
        elif stat.kind is StatKind.SUM and cells:
            bounds = (min(0, k * measure.lower), max(0, k * measure.upper))
            expression = _noisy(pl.col(f"s{stat.measure}")).sum(bounds)
        elif stat.kind is StatKind.CENTRED:
            middle = measure.middle
            bounds = (k * (measure.lower - middle), k * (measure.upper - middle))
            expression = _noisy(pl.col(f"d{stat.measure}")).sum(bounds)
        elif stat.kind is StatKind.SUM:
            expression = _noisy(values).sum((measure.lower, measure.upper))
        else:
            expression = _noisy(values).quantile(stat.alpha, list(stat.candidates))
    assert isinstance(expression, pl.Expr)
    return expression


def _noisy(expression: pl.Expr) -> Any:
    """OpenDP's ``dp`` namespace on an expression (registered when OpenDP is imported)."""
    untyped: Any = expression
    return untyped.dp


def _summary(measurement: Any, alpha: float) -> tuple[dict[str, float | None], int | None]:
    summary = summarize_polars_measurement(measurement, alpha)
    accuracy = dict(zip(summary["column"], summary["accuracy"], strict=True))
    thresholds = summary["threshold"].drop_nulls() if "threshold" in summary.columns else []
    return accuracy, (int(thresholds[0]) if len(thresholds) else None)


def _badness(calibration: Calibration) -> float:
    """Sum of log half-widths (and of the threshold): lower is more accurate overall."""
    summary = summarize_polars_measurement(calibration.measurement)
    widths = [
        calibration.accuracy.get(column) or scale
        for column, scale in zip(summary["column"], summary["scale"], strict=True)
    ]
    if calibration.threshold is not None:
        widths.append(calibration.threshold)
    return sum(math.log(max(w, 1e-12)) for w in widths)
