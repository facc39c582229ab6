"""Build DP query plans in code that reads like Polars or SQL.

    tips = table("tips")
    q = (
        tips.filter(col("theme") == "sleep")
        .join_members()
        .group_by(col("created_month").month().alias("month"))
        .agg(count().alias("tips"), mean("helpful_votes").alias("avg_votes"))
    )

Each query's contribution bounds and clamp ranges are chosen with DP when it
runs, within the policy's maxima. A researcher may fix them instead:
``.agg(..., rows_per_group=50, groups=12)`` and ``mean("helpful_votes",
clamp=(0, 20))``; the trusted side refuses bounds outside the policy.

Everything here describes a question; nothing evaluates one. There is no data
while an analysis is built, so a column or condition has no value, and Python
code that tries to branch on one (``if col("x") > 3:``) fails loudly instead of
silently taking a branch. Misuse raises ``ValueError``/``TypeError`` saying how
to fix it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, NoReturn

from gateway.analyses.plan import AnalysisPlan, PlannedQuery
from gateway.plan import (
    Aggregate,
    And,
    Between,
    ColumnRef,
    Compare,
    Contributions,
    GroupKey,
    InSet,
    IsNull,
    Literal_,
    Not,
    Or,
    OrderBy,
    Predicate,
    QueryPlan,
)
from gateway.policy.model import Aggregation

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_UNBOUND = ""
"""Table of a column written without one; the query it is used in fills it in."""

Bucket = Literal["month", "year"]
Value = bool | int | float | str | dt.date | None


def _no_data(what: str) -> NoReturn:
    raise TypeError(
        f"{what} has no value while an analysis is built: analyses run without data, "
        "so Python code cannot branch on it. Express the condition in the query instead, "
        "e.g. .filter(col('theme') == 'sleep')."
    )


def _identifier(name: str, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{what} must be a plain name like 'helpful_votes', got {name!r}")
    return name


def _literal(value: Value) -> Literal_:
    """A constant for a predicate; dates become ISO strings, as in the plan."""
    if isinstance(value, dt.datetime):
        raise TypeError(f"compare date columns with a date, not a datetime: {value!r}")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"a constant must be a finite number, got {value!r}")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(
        f"a constant must be a number, string, bool or date, got {type(value).__name__}"
    )


@dataclass(frozen=True, eq=False)
class Col:
    """A column of an extract table, optionally bucketed and named for output."""

    name: str
    table: str = _UNBOUND
    bucket: Bucket | None = None
    label: str | None = None

    def alias(self, name: str) -> Col:
        return replace(self, label=_identifier(name, "an alias"))

    def month(self) -> Col:
        """Bucket a date column by calendar month (for ``group_by``)."""
        return replace(self, bucket="month")

    def year(self) -> Col:
        """Bucket a date column by calendar year (for ``group_by``)."""
        return replace(self, bucket="year")

    def _ref(self) -> ColumnRef:
        if self.bucket is not None:
            raise ValueError(
                f"{self.name}.{self.bucket}() is a grouping bucket; filter on the column "
                f"itself, e.g. col({self.name!r}) >= date(2024, 1, 1)"
            )
        return ColumnRef(table=self.table, column=self.name)

    def _compare(self, op: Literal["=", "!=", "<", "<=", ">", ">="], value: Value) -> Cond:
        if isinstance(value, Col):
            raise TypeError("compare a column with a constant; column-to-column is not allowed")
        literal = _literal(value)
        if literal is None:
            if op not in ("=", "!="):
                raise ValueError(f"cannot compare {self.name} {op} None; use .is_null()")
            return Cond(IsNull(column=self._ref(), negated=op == "!="))
        return Cond(Compare(column=self._ref(), op=op, value=literal))

    def __eq__(self, value: Value) -> Cond:  # type: ignore[override]
        return self._compare("=", value)

    def __ne__(self, value: Value) -> Cond:  # type: ignore[override]
        return self._compare("!=", value)

    def __lt__(self, value: Value) -> Cond:
        return self._compare("<", value)

    def __le__(self, value: Value) -> Cond:
        return self._compare("<=", value)

    def __gt__(self, value: Value) -> Cond:
        return self._compare(">", value)

    def __ge__(self, value: Value) -> Cond:
        return self._compare(">=", value)

    __hash__ = None  # type: ignore[assignment]

    def is_in(self, values: Iterable[Value]) -> Cond:
        if isinstance(values, str):
            raise TypeError("is_in takes a list of values, not a single string")
        return Cond(InSet(column=self._ref(), values=tuple(_literal(v) for v in values)))

    def is_between(self, low: Value, high: Value) -> Cond:
        """Inclusive at both ends, like SQL's ``BETWEEN``."""
        return Cond(Between(column=self._ref(), low=_literal(low), high=_literal(high)))

    def is_null(self) -> Cond:
        return Cond(IsNull(column=self._ref()))

    def is_not_null(self) -> Cond:
        return Cond(IsNull(column=self._ref(), negated=True))

    def __bool__(self) -> bool:
        _no_data(f"column {self.name!r}")


def col(name: str) -> Col:
    """A column: ``col("theme")`` in the query's table, ``col("members.age_band")`` in another."""
    table, _, column = name.rpartition(".")
    return Col(
        name=_identifier(column, "a column name"),
        table=_identifier(table, "a table name") if table else _UNBOUND,
    )


@dataclass(frozen=True)
class Cond:
    """A row condition; combine with ``&``, ``|`` and ``~``."""

    predicate: Predicate

    def __and__(self, other: Cond) -> Cond:
        return Cond(_flat(And, self.predicate, _cond(other).predicate))

    def __or__(self, other: Cond) -> Cond:
        return Cond(_flat(Or, self.predicate, _cond(other).predicate))

    def __invert__(self) -> Cond:
        """``NOT``; folded into ``NOT IN``, ``NOT BETWEEN``, ``IS NOT NULL`` where SQL has them."""
        p = self.predicate
        if isinstance(p, InSet | Between | IsNull):
            return Cond(p.model_copy(update={"negated": not p.negated}))
        return Cond(p.term if isinstance(p, Not) else Not(term=p))

    def __bool__(self) -> bool:
        _no_data("a condition")


def _flat(kind: type[And] | type[Or], *terms: Predicate) -> Predicate:
    """``a & b & c`` as one ``And`` of three, the shape SQL's ``a AND b AND c`` has."""
    flat = [t for term in terms for t in (term.terms if isinstance(term, kind) else (term,))]
    return flat[0] if len(flat) == 1 else kind(terms=tuple(flat))


def _cond(value: object) -> Cond:
    if not isinstance(value, Cond):
        raise TypeError(f"expected a condition such as col('theme') == 'sleep', got {value!r}")
    return value


@dataclass(frozen=True)
class Agg:
    """One statistic to release; name it with ``.alias``."""

    function: Aggregation
    column: Col | None = None
    quantile: float | None = None
    label: str | None = None
    clamp: tuple[float, float] | None = None

    def alias(self, name: str) -> Agg:
        return replace(self, label=_identifier(name, "an alias"))

    def __bool__(self) -> bool:
        _no_data("an aggregate")


def _measure(column: str | Col) -> Col:
    if isinstance(column, str):
        return col(column)
    if isinstance(column, Col) and column.bucket is None:
        return column
    raise TypeError(f"aggregate a measure column such as 'helpful_votes', got {column!r}")


Clamp = tuple[float, float]


def _clamp(clamp: Clamp | None) -> Clamp | None:
    """A fixed clamp range ``(low, high)``; None leaves it to be chosen with DP."""
    if clamp is None:
        return None
    if isinstance(clamp, str) or not isinstance(clamp, tuple | list) or len(clamp) != 2:
        raise TypeError(f"clamp is a pair (low, high), e.g. clamp=(0, 20); got {clamp!r}")
    low, high = clamp
    for end in (low, high):
        if isinstance(end, bool) or not isinstance(end, int | float) or not math.isfinite(end):
            raise ValueError(f"clamp ends must be finite numbers, got {clamp!r}")
    if low >= high:
        raise ValueError(f"clamp=(low, high) needs low < high, got {clamp!r}")
    return (float(low), float(high))


def count() -> Agg:
    """Number of rows (``COUNT(*)``)."""
    return Agg(Aggregation.COUNT)


def count_members() -> Agg:
    """Number of distinct members (``COUNT(DISTINCT member_pid)``)."""
    return Agg(Aggregation.COUNT_DISTINCT_MEMBERS)


def sum_(column: str | Col, *, clamp: Clamp | None = None) -> Agg:
    """Sum of a measure (trailing _ avoids ``sum``).

    Values are clamped to a range chosen with DP within the policy's, or to
    ``clamp=(low, high)`` if given (within the policy's range).
    """
    return Agg(Aggregation.SUM, _measure(column), clamp=_clamp(clamp))


def mean(column: str | Col, *, clamp: Clamp | None = None) -> Agg:
    """Average of a measure, clamped like ``sum_``."""
    return Agg(Aggregation.MEAN, _measure(column), clamp=_clamp(clamp))


def median(column: str | Col, *, clamp: Clamp | None = None) -> Agg:
    """Median of a measure, clamped like ``sum_``; a DP median has no interval."""
    return Agg(Aggregation.MEDIAN, _measure(column), clamp=_clamp(clamp))


def quantile(column: str | Col, q: float, *, clamp: Clamp | None = None) -> Agg:
    """The ``q``-quantile of a measure, 0 < q < 1, clamped like ``sum_``; it has no interval."""
    if not isinstance(q, float | int) or not 0 < q < 1:
        raise ValueError(f"a quantile lies strictly between 0 and 1, got {q!r}")
    return Agg(Aggregation.QUANTILE, _measure(column), quantile=float(q), clamp=_clamp(clamp))


_DEFAULT_ALIAS = {
    Aggregation.COUNT: "count",
    Aggregation.COUNT_DISTINCT_MEMBERS: "members",
}


def _bind_ref(ref: ColumnRef, table: str) -> ColumnRef:
    return ref if ref.table else ColumnRef(table=table, column=ref.column)


def _bind(predicate: Predicate, table: str) -> Predicate:
    """Give unqualified columns of a condition the query's table."""
    if isinstance(predicate, And | Or):
        return type(predicate)(terms=tuple(_bind(t, table) for t in predicate.terms))
    if isinstance(predicate, Not):
        return Not(term=_bind(predicate.term, table))
    return predicate.model_copy(update={"column": _bind_ref(predicate.column, table)})


@dataclass(frozen=True)
class Query:
    """A query over one extract table; each method returns a new query."""

    table: str
    join: bool = False
    where: Predicate | None = None
    keys: tuple[GroupKey, ...] = ()
    aggregates: tuple[Aggregate, ...] = ()
    order: tuple[OrderBy, ...] = ()
    row_limit: int | None = None
    contributions: Contributions = field(default_factory=Contributions)

    def _before_agg(self, method: str) -> None:
        if self.aggregates:
            raise ValueError(
                f"this query already has its statistics: call .{method}(...) before .agg(...)"
            )

    def _after_agg(self, method: str) -> None:
        if not self.aggregates:
            raise ValueError(f"call .{method}(...) after .agg(...); it shapes the released rows")

    def filter(self, *conditions: Cond) -> Query:
        """Keep rows matching every condition (SQL ``WHERE``)."""
        self._before_agg("filter")
        if not conditions:
            raise ValueError("filter needs at least one condition")
        terms = [_bind(_cond(c).predicate, self.table) for c in conditions]
        if self.where is not None:
            terms.insert(0, self.where)
        return replace(self, where=_flat(And, *terms))

    def join_members(self) -> Query:
        """Join the members table on the privacy unit, for ``col("members.age_band")``."""
        self._before_agg("join_members")
        return replace(self, join=True)

    def group_by(self, *keys: str | Col) -> GroupBy:
        self._before_agg("group_by")
        if not keys:
            raise ValueError("group_by needs at least one column")
        return GroupBy(self, tuple(self._key(k) for k in keys))

    def _key(self, key: str | Col) -> GroupKey:
        column = col(key) if isinstance(key, str) else key
        if not isinstance(column, Col):
            raise TypeError(f"group by a column such as col('theme'), got {key!r}")
        return GroupKey(
            column=ColumnRef(table=column.table or self.table, column=column.name),
            bucket=column.bucket,
            alias=column.label or column.name,
        )

    def agg(
        self, *aggregates: Agg, rows_per_group: int | None = None, groups: int | None = None
    ) -> Query:
        """The statistics to release, over all rows (no grouping).

        ``rows_per_group`` and ``groups`` fix how much one member counts (see
        ``GroupBy.agg``); left out, they are chosen with DP.
        """
        return self._with_aggregates((), aggregates, _contributions(rows_per_group, groups))

    def _with_aggregates(
        self, keys: tuple[GroupKey, ...], aggregates: Sequence[Agg], contributions: Contributions
    ) -> Query:
        self._before_agg("agg")
        if not aggregates:
            raise ValueError("agg needs at least one statistic, e.g. count()")
        built = tuple(self._aggregate(a) for a in aggregates)
        query = replace(self, keys=keys, aggregates=built, contributions=contributions)
        query.plan()  # fail here, at the researcher's line, not later
        return query

    def _aggregate(self, agg: Agg) -> Aggregate:
        if not isinstance(agg, Agg):
            raise TypeError(f"expected a statistic such as count() or mean('x'), got {agg!r}")
        ref = None
        alias = agg.label or _DEFAULT_ALIAS.get(agg.function)
        if agg.column is not None:
            ref = ColumnRef(table=agg.column.table or self.table, column=agg.column.name)
            alias = alias or f"{agg.function.value}_{agg.column.name}"
        assert alias is not None
        low, high = agg.clamp if agg.clamp is not None else (None, None)
        return Aggregate(
            function=agg.function,
            column=ref,
            quantile=agg.quantile,
            lower=low,
            upper=high,
            alias=alias,
        )

    def sort(self, *aliases: str, descending: bool = False) -> Query:
        """Order released rows by output columns (post-processing; costs nothing)."""
        self._after_agg("sort")
        known = set(self.plan().output_columns)
        for alias in aliases:
            if alias not in known:
                raise ValueError(f"sort by an output column, one of {sorted(known)}; not {alias!r}")
        added = tuple(OrderBy(alias=a, descending=descending) for a in aliases)
        return replace(self, order=self.order + added)

    def limit(self, n: int) -> Query:
        self._after_agg("limit")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"limit takes a positive whole number, got {n!r}")
        return replace(self, row_limit=n)

    def plan(self) -> QueryPlan:
        """The ``QueryPlan`` this query stands for."""
        if not self.aggregates:
            raise ValueError(
                "a query releases statistics only: finish it with .agg(...), "
                "e.g. .group_by('theme').agg(count())"
            )
        plan = QueryPlan(
            table=self.table,
            contributions=self.contributions,
            join_members=self.join,
            where=self.where,
            group_by=self.keys,
            aggregates=self.aggregates,
            order_by=self.order,
            limit=self.row_limit,
        )
        names = plan.output_columns
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"output names must be unique; give .alias(...) to {repeated}")
        return plan

    def sql(self) -> str:
        """The SQL the trusted side vets for this query (fixed bounds travel beside it)."""
        from gateway.analyses.render import to_sql

        return to_sql(self.plan())

    def __bool__(self) -> bool:
        _no_data("a query")


@dataclass(frozen=True)
class GroupBy:
    """A query waiting for its statistics: ``.agg(...)``."""

    query: Query
    keys: tuple[GroupKey, ...]

    def agg(
        self, *aggregates: Agg, rows_per_group: int | None = None, groups: int | None = None
    ) -> Query:
        """The statistics to release per group.

        ``rows_per_group`` fixes how many rows of one member count in one
        group, ``groups`` in how many groups one member counts; each within
        the policy's maxima. Left out, they are chosen per query with DP.
        """
        return self.query._with_aggregates(
            self.keys, aggregates, _contributions(rows_per_group, groups)
        )


def _contributions(rows_per_group: int | None, groups: int | None) -> Contributions:
    for name, value in (("rows_per_group", rows_per_group), ("groups", groups)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"{name} is a whole number of rows or groups, got {value!r}")
        if value is not None and value < 1:
            raise ValueError(f"{name} must be at least 1, got {value!r}")
    return Contributions(rows_per_group=rows_per_group, groups=groups)


def table(name: str) -> Query:
    """Start a query over an extract table: members, tips, theme_follows, support_requests."""
    return Query(table=_identifier(name, "a table name"))


class Analysis:
    """A named set of queries sharing the ε the analysis is run with.

    ``share`` is each query's fraction of that ε; queries added without one
    split what the others leave equally.
    """

    def __init__(self, name: str, description: str = "") -> None:
        self.name = name
        self.description = description
        self._entries: list[tuple[str, QueryPlan | str, float | None]] = []

    def add(self, name: str, query: Query, *, share: float | None = None) -> Analysis:
        if isinstance(query, GroupBy):
            raise TypeError(f"query {name!r} is grouped but has no statistics: add .agg(...)")
        if not isinstance(query, Query):
            raise TypeError(
                f"query {name!r} must be built with table(...)...agg(...); "
                "for SQL text use add_sql(name, sql)"
            )
        return self._add(name, query.plan(), share)

    def add_sql(self, name: str, sql: str, *, share: float | None = None) -> Analysis:
        if not isinstance(sql, str) or not sql.strip():
            raise TypeError(f"query {name!r}: add_sql takes the SQL text as a string")
        return self._add(name, sql, share)

    def _add(self, name: str, query: QueryPlan | str, share: float | None) -> Analysis:
        if any(existing == name for existing, _, _ in self._entries):
            raise ValueError(f"a query named {name!r} is already in this analysis")
        if share is not None and (isinstance(share, bool) or not 0 < share <= 1):
            raise ValueError(f"query {name!r}: share is a fraction of ε in (0, 1], got {share!r}")
        self._entries.append((name, query, share))
        self._planned()  # names and shares are checked as they are added
        return self

    def _planned(self) -> list[PlannedQuery]:
        fixed = math.fsum(s for _, _, s in self._entries if s is not None)
        if fixed > 1:
            raise ValueError(f"budget shares add up to {fixed:g}, more than 1; lower some shares")
        open_ = sum(1 for _, _, s in self._entries if s is None)
        rest = (1 - fixed) / open_ if open_ else 0.0
        if open_ and rest <= 0:
            raise ValueError("the given shares use all of ε; give every query a share")
        while open_ and fixed + rest * open_ > 1:
            rest = math.nextafter(rest, 0)  # equal split never rounds above the whole
        return [
            PlannedQuery(
                name=name,
                share=rest if share is None else share,
                **({"sql": query} if isinstance(query, str) else {"plan": query}),
            )
            for name, query, share in self._entries
        ]

    def plan(self) -> AnalysisPlan:
        """The plain-data plan that leaves the sandbox as JSON."""
        if not self._entries:
            raise ValueError(f"analysis {self.name!r} has no queries: use .add(name, query)")
        return AnalysisPlan(name=self.name, description=self.description, queries=self._planned())
