"""What OpenDP will compute for a plan, worked out without data.

A ``Shape`` is the data-free half of a query: the frame DuckDB prepares, the
statistics OpenDP releases, the contribution bounds, the public key set (when
every group key has a public domain) and the privacy loss asked for. The
filter is not part of it: equal shapes get the same calibrated mechanism, so
the noise scale is searched for once per shape rather than once per query.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import duckdb

from gateway.dp.release import Cell
from gateway.errors import DpError
from gateway.plan import (
    Aggregate,
    And,
    Between,
    ColumnRef,
    Compare,
    GroupKey,
    InSet,
    IsNull,
    Not,
    Or,
    Predicate,
    QueryPlan,
)
from gateway.policy.literals import LiteralProblem, Typed, typed_literal
from gateway.policy.model import Aggregation, Column, ColumnRole, Policy

MAX_CANDIDATES = 1024
"""Quantile candidates per measure: every integer in range, or this many spread over it."""

INTEGER_TYPES = ("INTEGER", "BIGINT")


class Pipeline(StrEnum):
    CELLS = "cells"  # one row per member and cell (count, clamped sums): counts, sums, means
    ROWS = "rows"  # one row per record, when quantiles need the values themselves


class StatKind(StrEnum):
    ROWS = "rows"  # records
    MEMBERS = "members"  # distinct members
    SUM = "sum"  # clamped sum of a measure
    CENTRED = "centred"  # clamped sum of a measure less its range's middle, for a mean
    COUNT = "count"  # non-null values of a measure (the denominator of its mean)
    QUANTILE = "quantile"


@dataclass(frozen=True)
class Measure:
    column: ColumnRef
    lower: int
    upper: int

    @property
    def middle(self) -> int:
        """Values are summed less this for a mean: half the sensitivity of a plain sum."""
        return (self.lower + self.upper) // 2


@dataclass(frozen=True)
class Choice:
    """Which bounds the engine chooses for a query with DP; the rest are fixed."""

    rows: bool = False  # rows of one member per cell
    groups: bool = False  # cells per member
    measures: tuple[int, ...] = ()  # measures (indices) whose upper clamp bound is chosen

    @property
    def any(self) -> bool:
        return self.rows or self.groups or bool(self.measures)


@dataclass(frozen=True)
class Statistic:
    """One number per cell that OpenDP releases with noise."""

    name: str
    kind: StatKind
    measure: int | None = None  # index into Shape.measures
    alpha: float | None = None
    candidates: tuple[int, ...] = ()


@dataclass(frozen=True)
class Output:
    """One column of the release and the statistics it is computed from."""

    alias: str
    function: Aggregation
    statistics: tuple[str, ...]
    measure: int | None = None


@dataclass(frozen=True)
class Group:
    column: ColumnRef
    bucket: str | None
    alias: str
    sql_type: str
    domain: tuple[str, ...] | None  # public values: category values, or first and last date


@dataclass(frozen=True)
class Shape:
    pipeline: Pipeline
    groups: tuple[Group, ...]
    measures: tuple[Measure, ...]
    statistics: tuple[Statistic, ...]
    outputs: tuple[Output, ...]
    per_group: int  # rows a member may contribute to one cell
    num_groups: int  # cells a member may contribute to
    public_keys: tuple[tuple[int, tuple[Cell, ...]], ...] | None  # (cell id, key values)
    epsilon: float  # what the statistics spend: the query's ε less ``bounds_epsilon``
    delta: float
    members: str  # the statistic counting each group's members, for ``min_group_members``
    selection: str | None  # the statistic OpenDP thresholds to choose private groups
    choice: Choice = Choice()  # bounds still to choose; ``per_group`` etc. are their maxima
    bounds_epsilon: float = 0.0  # ε spent choosing bounds and estimating what they cut

    @property
    def grouped(self) -> bool:
        return bool(self.groups)

    def statistic(self, name: str) -> Statistic:
        return next(s for s in self.statistics if s.name == name)

    def kinds(self, measure: int) -> set[StatKind]:
        """What is released of ``measure`` (its sum, centred sum, count, quantiles)."""
        return {s.kind for s in self.statistics if s.measure == measure}


def shape_of(plan: QueryPlan, policy: Policy, *, epsilon: float) -> Shape:
    """The data-free mechanism for ``plan`` at total loss ``epsilon``; refuses what it cannot bound.

    Bounds the plan fixes are used as they are (within the policy's maxima);
    the others are the policy's maxima here, to be chosen with DP from the
    data (``Shape.choice``), which then costs ``bounds_epsilon`` of ``epsilon``.
    A member's cells need no bound when the group keys are ``members``
    columns (one cell per member), or, unless the query only averages, when
    there are no more public keys than the policy's maximum.
    """
    table = policy.tables.get(plan.table)
    if table is None:
        raise DpError("unknown_table", f"table {plan.table!r} is not in policy {policy.name!r}")
    if plan.where is not None:
        check_filter(plan.where, plan, policy)
    groups = tuple(_group(key, plan, policy) for key in plan.group_by)
    builder = _Statistics(plan, policy)
    for aggregate in plan.aggregates:
        builder.add(aggregate)
    outputs = [g.alias for g in groups] + [o.alias for o in builder.outputs]
    for item in plan.order_by:
        if item.alias not in outputs:
            raise DpError("unknown_order_alias", f"ORDER BY {item.alias!r} is not an output")
    public = _public_keys(groups, policy.limits.max_groups) if _all_public(groups) else None
    private = bool(groups) and public is None
    selection = builder.selection_size() if private else None
    choose = policy.bounding.choose
    rows, choose_rows = _bound(
        plan.contributions.rows_per_group, table.contributions.max_rows_per_group, "rows_per_group"
    )
    if choose and choose_rows and not additive(plan):
        rows, choose_rows = 1, False  # one value per member and cell: a level's least noise
    members = builder.members(one_row=rows == 1)
    groups_fixed = plan.contributions.groups
    if groups_fixed is None and not groups:
        groups_fixed = 1
    elif groups_fixed is None and all(g.column.table == policy.unit_table for g in groups):
        groups_fixed = 1  # each member has one row there, so falls in one cell
    elif groups_fixed is None and public is not None and not builder.level_only:
        groups_fixed = min(len(public), table.contributions.max_groups)
    cells, choose_cells = _bound(groups_fixed, table.contributions.max_groups, "groups")
    # a count of members is bounded by its cells alone: rows per cell do not change it
    counts_rows = any(a.function is not Aggregation.COUNT_DISTINCT_MEMBERS for a in plan.aggregates)
    choice = Choice(
        rows=choose and choose_rows and rows > 1 and counts_rows,
        groups=choose and choose_cells and cells > 1,
        measures=tuple(sorted(builder.chosen - builder.fixed)) if choose else (),
    )
    spent = epsilon * policy.bounding.selection_share if choice.any else 0.0
    return Shape(
        pipeline=builder.pipeline,
        groups=groups,
        measures=tuple(builder.measures),
        statistics=tuple(builder.statistics),
        outputs=tuple(builder.outputs),
        per_group=rows,
        num_groups=cells,
        public_keys=public,
        epsilon=epsilon - spent,
        delta=policy.budget.delta,
        members=members,
        selection=selection,
        choice=choice,
        bounds_epsilon=spent,
    )


ADDITIVE = frozenset({Aggregation.COUNT, Aggregation.COUNT_DISTINCT_MEMBERS, Aggregation.SUM})
"""Aggregates a cut lowers: every row and cell left out is missing from them."""


def additive(plan: QueryPlan) -> bool:
    """Whether ``plan`` releases a count or sum, not only levels (means, quantiles).

    A level keeps its value when a member's rows or cells are sampled, so it
    wants few of them; counts and sums trade what is cut against noise.
    """
    return any(a.function in ADDITIVE for a in plan.aggregates)


def _bound(fixed: int | None, maximum: int, name: str) -> tuple[int, bool]:
    """A contribution bound: as fixed (within the policy's maximum), or the maximum, to choose."""
    if fixed is None:
        return maximum, True
    if fixed > maximum:
        raise DpError(
            "bounds_outside_policy",
            f"{name} = {fixed} is above the policy's maximum of {maximum}",
            hint=f"fix {name} at {maximum} or below, or leave it out to have it chosen",
        )
    return fixed, False


def column_of(ref: ColumnRef, plan: QueryPlan, policy: Policy) -> Column:
    """The policy column ``ref`` names, if the plan may read it at all."""
    readable = {plan.table} | ({policy.unit_table} if plan.join_members else set())
    table = policy.tables.get(ref.table)
    if ref.table not in readable or table is None or ref.column not in table.columns:
        raise DpError(
            "unknown_column",
            f"column {ref} is not readable by a query on {plan.table!r}",
            hint="use columns of the queried table, or of members when joined on member_pid",
        )
    return table.columns[ref.column]


def check_filter(predicate: Predicate, plan: QueryPlan, policy: Policy) -> None:
    """Refuse, before any data is read, a filter that could fail on some rows and not others.

    Every constant must fit its column's declared type and range
    (``typed_literal``) and no identifier may be filtered on. A plan from the
    vetter passes by construction; this holds for every other way a plan is
    made, too.
    """
    match predicate:
        case And(terms=terms) | Or(terms=terms):
            for term in terms:
                check_filter(term, plan, policy)
        case Not(term=term):
            check_filter(term, plan, policy)
        case Compare(column=ref, value=value):
            filter_value(ref, value, plan, policy)
        case InSet(column=ref, values=values):
            filter_column(ref, plan, policy)
            for value in values:
                filter_value(ref, value, plan, policy)
        case Between(column=ref, low=low, high=high):
            filter_value(ref, low, plan, policy)
            filter_value(ref, high, plan, policy)
        case IsNull(column=ref):
            filter_column(ref, plan, policy)


def filter_column(ref: ColumnRef, plan: QueryPlan, policy: Policy) -> Column:
    """The policy column a filter reads; identifiers are never filtered on."""
    column = column_of(ref, plan, policy)
    if column.role in (ColumnRole.PRIVACY_UNIT, ColumnRole.IDENTIFIER):
        raise DpError("identifier_in_filter", f"{ref} is an identifier; it cannot be filtered on")
    return column


def filter_value(ref: ColumnRef, value: object, plan: QueryPlan, policy: Policy) -> Typed:
    """``value`` typed as ``ref``'s column, to bind as a parameter; refused if it does not fit."""
    try:
        return typed_literal(str(ref), filter_column(ref, plan, policy), value)
    except LiteralProblem as problem:
        raise DpError(problem.code, problem.message, hint=problem.hint) from None


def _group(key: GroupKey, plan: QueryPlan, policy: Policy) -> Group:
    column = column_of(key.column, plan, policy)
    if column.role not in (ColumnRole.CATEGORY, ColumnRole.DATE):
        raise DpError(
            "not_groupable", f"{key.column} is a {column.role.value} column; it cannot be grouped"
        )
    if key.bucket is not None and column.role is not ColumnRole.DATE:
        raise DpError("bucket_on_non_date", f"{key.column} is not a date; it has no {key.bucket}")
    return Group(
        column=key.column,
        bucket=key.bucket,
        alias=key.alias,
        sql_type=column.type,
        domain=column.domain,
    )


def _all_public(groups: tuple[Group, ...]) -> bool:
    return bool(groups) and all(g.domain is not None for g in groups)


class _Statistics:
    """Collects the statistics a plan needs, each once, and how outputs use them."""

    def __init__(self, plan: QueryPlan, policy: Policy) -> None:
        self.plan = plan
        self.policy = policy
        self.measures: list[Measure] = []
        self.chosen: set[int] = set()  # measures whose clamp range the plan leaves open
        self.fixed: set[int] = set()  # measures whose range must stay as it is
        self.statistics: list[Statistic] = []
        self.outputs: list[Output] = []
        quantiles = {Aggregation.MEDIAN, Aggregation.QUANTILE}
        rows = any(a.function in quantiles for a in plan.aggregates)
        self.pipeline = Pipeline.ROWS if rows else Pipeline.CELLS
        # only means, on cells: a member's cells may be sampled without moving the level
        self.level_only = not rows and not additive(plan)

    def add(self, aggregate: Aggregate) -> None:
        function = aggregate.function
        if function not in self.policy.aggregations:
            raise DpError("aggregation_not_allowed", f"policy does not allow {function.value}")
        if function is Aggregation.COUNT:
            if aggregate.column is not None:
                raise DpError("count_of_column", "only COUNT(*) is supported, not COUNT(column)")
            self._output(aggregate, self._stat(StatKind.ROWS))
        elif function is Aggregation.COUNT_DISTINCT_MEMBERS:
            if self.pipeline is Pipeline.ROWS:
                raise DpError(
                    "members_with_quantile",
                    "COUNT(DISTINCT member_pid) cannot share a query with medians or quantiles",
                    hint="ask it in a separate query",
                )
            self._output(aggregate, self._stat(StatKind.MEMBERS))
        elif function is Aggregation.SUM:
            measure = self._measure(aggregate)
            self._output(aggregate, self._stat(StatKind.SUM, measure), measure=measure)
        elif function is Aggregation.MEAN:
            measure = self._measure(aggregate)
            kind = StatKind.CENTRED if self.pipeline is Pipeline.CELLS else StatKind.SUM
            sum_, count = self._stat(kind, measure), self._stat(StatKind.COUNT, measure)
            self._output(aggregate, sum_, count, measure=measure)
        else:
            measure = self._measure(aggregate)
            alpha = 0.5 if function is Aggregation.MEDIAN else aggregate.quantile
            if alpha is None:
                raise DpError("quantile_missing", f"{aggregate.alias}: QUANTILE needs its fraction")
            self.fixed.add(measure)  # a quantile's candidates span the policy's range
            candidates = _candidates(self.measures[measure])
            name = self._stat(StatKind.QUANTILE, measure, alpha=alpha, candidates=candidates)
            self._output(aggregate, name, measure=measure)

    def members(self, *, one_row: bool) -> str:
        """A noisy count of each group's members, so groups under ``min_group_members`` are
        withheld whatever the query releases (a COUNT(DISTINCT member_pid) asked for serves).

        With ``one_row`` per member and cell, a count of rows already counts
        members, and a mean's count of values counts those with a value (never
        more than the members): either serves, and the query's ε is not split
        once more for it. On records (pipeline rows) it counts each member's
        first record in a cell.
        """
        if one_row and self.pipeline is Pipeline.CELLS:
            for kind in (StatKind.MEMBERS, StatKind.ROWS, StatKind.COUNT):
                found = next((s.name for s in self.statistics if s.kind is kind), None)
                if found is not None:
                    return found
        return self._stat(StatKind.MEMBERS)

    def selection_size(self) -> str:
        """The noisy count OpenDP thresholds to choose private groups: members, or records."""
        return self._stat(StatKind.MEMBERS if self.pipeline is Pipeline.CELLS else StatKind.ROWS)

    def _output(self, aggregate: Aggregate, *stats: str, measure: int | None = None) -> None:
        if any(o.alias == aggregate.alias for o in self.outputs) or aggregate.alias in {
            k.alias for k in self.plan.group_by
        }:
            raise DpError("duplicate_alias", f"output name {aggregate.alias!r} is used twice")
        self.outputs.append(Output(aggregate.alias, aggregate.function, stats, measure))

    def _stat(
        self,
        kind: StatKind,
        measure: int | None = None,
        *,
        alpha: float | None = None,
        candidates: tuple[int, ...] = (),
    ) -> str:
        name = kind.value if measure is None else f"{kind.value}_{len(self.statistics)}"
        wanted = Statistic(name, kind, measure, alpha, candidates)
        for stat in self.statistics:
            if stat == Statistic(stat.name, kind, measure, alpha, candidates):
                return stat.name
        self.statistics.append(wanted)
        return name

    def _measure(self, aggregate: Aggregate) -> int:
        if aggregate.column is None:
            raise DpError(
                "measure_missing", f"{aggregate.alias}: {aggregate.function} needs a column"
            )
        column = column_of(aggregate.column, self.plan, self.policy)
        if column.role is not ColumnRole.MEASURE or column.lower is None or column.upper is None:
            raise DpError(
                "not_a_measure",
                f"{aggregate.column} is not a measure with clamp bounds",
                hint="aggregate a column the policy declares as a measure",
            )
        if column.type not in INTEGER_TYPES:
            raise DpError(
                "measure_not_integer",
                f"{aggregate.column} is {column.type}; the engine sums integer measures exactly",
                hint="declare the measure as INTEGER or BIGINT in the policy",
            )
        lower = aggregate.lower if aggregate.lower is not None else column.lower
        upper = aggregate.upper if aggregate.upper is not None else column.upper
        if not (math.isfinite(lower) and math.isfinite(upper)) or lower >= upper:
            raise DpError(
                "bad_bounds", f"{aggregate.alias}: clamp bounds must be finite, low < high"
            )
        if lower < column.lower or upper > column.upper:
            raise DpError(
                "bounds_outside_policy",
                f"{aggregate.alias}: clamp [{lower:g}, {upper:g}] is outside the policy's "
                f"[{column.lower:g}, {column.upper:g}] for {aggregate.column}",
                hint="fix a clamp range within the policy's, or leave it out to have it chosen",
            )
        measure = Measure(aggregate.column, math.floor(lower), math.ceil(upper))
        if measure not in self.measures:
            self.measures.append(measure)
        index = self.measures.index(measure)
        open_range = aggregate.lower is None and aggregate.upper is None
        (self.chosen if open_range else self.fixed).add(index)
        return index


def _candidates(measure: Measure) -> tuple[int, ...]:
    span = measure.upper - measure.lower
    if span < MAX_CANDIDATES:
        return tuple(range(measure.lower, measure.upper + 1))
    step = span / (MAX_CANDIDATES - 1)
    return tuple(sorted({measure.lower + round(i * step) for i in range(MAX_CANDIDATES)}))


_DATE_STEPS = {None: "1 DAY", "month": "1 MONTH", "year": "1 YEAR"}


def key_sql(expression: str, bucket: str | None) -> str:
    """The SQL of a group key over ``expression``; public keys are built the same way."""
    if bucket is None:
        return expression
    return f"CAST(date_trunc('{bucket}', {expression}) AS DATE)"


def _public_keys(
    groups: tuple[Group, ...], max_groups: int
) -> tuple[tuple[int, tuple[Cell, ...]], ...]:
    return _key_product(tuple((g.sql_type, g.bucket, g.domain) for g in groups), max_groups)


@lru_cache(maxsize=64)
def _key_product(
    specs: tuple[tuple[str, str | None, tuple[str, ...] | None], ...], max_groups: int
) -> tuple[tuple[int, tuple[Cell, ...]], ...]:
    """Every combination of the public domains, with the cell id DuckDB gives it.

    Computed in a private in-memory database: no extract is read. The cell id
    is DuckDB's ``hash`` of the key values, the same function the frame uses.
    """
    parts: list[str] = []
    params: list[object] = []
    for i, (sql_type, bucket, domain) in enumerate(specs):
        assert domain is not None
        if sql_type == "DATE":  # the policy checks it is a first and a last day
            day = key_sql("CAST(? AS DATE)", bucket)
            parts.append(
                f"(SELECT CAST(unnest(generate_series({day}, {day}, "
                f"INTERVAL {_DATE_STEPS[bucket]})) AS DATE) AS k{i})"
            )
            params += list(domain)
        else:
            parts.append(f"(SELECT unnest(CAST(? AS {sql_type}[])) AS k{i})")
            params.append(list(domain))
    keys = ", ".join(f"k{i}" for i in range(len(specs)))
    sql = f"SELECT hash({keys}) AS cell, {keys} FROM {' CROSS JOIN '.join(parts)}"
    with duckdb.connect(":memory:") as con:
        rows = con.execute(sql, params).fetchall()
    if len(rows) > max_groups:
        raise DpError(
            "too_many_groups",
            f"the public key set has {len(rows)} groups; the policy allows {max_groups}",
            hint="filter or group more coarsely",
        )
    if len({row[0] for row in rows}) != len(rows):
        raise DpError("cell_hash_collision", "two group keys share a cell id; regroup the query")
    return tuple((row[0], tuple(key_value(v) for v in row[1:])) for row in rows)


def key_value(value: object) -> Cell:
    """A key value as a release shows it: dates as ISO strings."""
    if isinstance(value, dt.date):
        return value.isoformat()
    assert value is None or isinstance(value, str | int | float)
    return value
