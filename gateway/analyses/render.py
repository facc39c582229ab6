"""Render a ``QueryPlan`` as the SQL it stands for, to show it.

Researchers see their builder queries as SQL (``Query.sql()``, the analysis's
output) and reviewers read them so. The rendering is never vetted again: the
plan itself is checked (``gateway.vet.plans``), and a test holds that the
vetter reads the rendering as that same plan. The SQL is built as a sqlglot
tree, never by pasting strings, and every name is quoted, so what is shown
is exactly what the plan says.
"""

from __future__ import annotations

import math

from sqlglot import exp

from gateway.plan import (
    Aggregate,
    And,
    Between,
    ColumnRef,
    Compare,
    GroupKey,
    InSet,
    IsNull,
    Literal_,
    Not,
    Or,
    Predicate,
    QueryPlan,
)
from gateway.policy.model import Aggregation

_COMPARE: dict[str, type[exp.Binary]] = {
    "=": exp.EQ,
    "!=": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}


def _column(ref: ColumnRef) -> exp.Column:
    return exp.column(ref.column, table=ref.table, quoted=True)


def _literal(value: Literal_) -> exp.Expr:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"constants must be finite numbers, got {value!r}")
        return exp.Literal.number(repr(value))
    return exp.Literal.string(value)


def _predicate(p: Predicate) -> exp.Expr:
    if isinstance(p, Compare):
        return _COMPARE[p.op](this=_column(p.column), expression=_literal(p.value))
    if isinstance(p, InSet):
        node: exp.Expr = exp.In(this=_column(p.column), expressions=[_literal(v) for v in p.values])
    elif isinstance(p, Between):
        node = exp.Between(this=_column(p.column), low=_literal(p.low), high=_literal(p.high))
    elif isinstance(p, IsNull):
        node = exp.Is(this=_column(p.column), expression=exp.null())
    elif isinstance(p, And | Or):
        return exp.Paren(
            this=(exp.and_ if isinstance(p, And) else exp.or_)(*(_predicate(t) for t in p.terms))
        )
    else:
        assert isinstance(p, Not)
        return exp.Not(this=exp.Paren(this=_predicate(p.term)))
    return exp.Not(this=node) if p.negated else node


def _key(key: GroupKey) -> exp.Expr:
    column = _column(key.column)
    if key.bucket is None:
        return column
    return exp.func("date_trunc", exp.Literal.string(key.bucket), column)


def _aggregate(agg: Aggregate, plan: QueryPlan, privacy_unit: str) -> exp.Expr:
    if agg.function is Aggregation.COUNT:
        return exp.Count(this=exp.Star())
    if agg.function is Aggregation.COUNT_DISTINCT_MEMBERS:
        unit = exp.column(privacy_unit, table=plan.table, quoted=True)
        return exp.Count(this=exp.Distinct(expressions=[unit]))
    if agg.column is None:
        raise ValueError(f"{agg.alias}: {agg.function.value} needs a measure column")
    measure = _column(agg.column)
    if agg.function is Aggregation.QUANTILE:
        if agg.quantile is None:
            raise ValueError(f"{agg.alias}: a quantile needs its fraction q")
        return exp.Quantile(this=measure, quantile=exp.Literal.number(repr(agg.quantile)))
    function = {
        Aggregation.SUM: exp.Sum,
        Aggregation.MEAN: exp.Avg,
        Aggregation.MEDIAN: exp.Median,
    }[agg.function]
    return function(this=measure)


def to_sql(
    plan: QueryPlan, *, unit_table: str = "members", privacy_unit: str = "member_pid"
) -> str:
    """DuckDB SQL for ``plan``; clamp bounds are left out, the policy supplies them."""
    select = exp.select(
        *(exp.alias_(_key(k), k.alias, quoted=True) for k in plan.group_by),
        *(
            exp.alias_(_aggregate(a, plan, privacy_unit), a.alias, quoted=True)
            for a in plan.aggregates
        ),
    ).from_(exp.table_(plan.table, quoted=True))
    if plan.join_members:
        on = exp.EQ(
            this=exp.column(privacy_unit, table=plan.table, quoted=True),
            expression=exp.column(privacy_unit, table=unit_table, quoted=True),
        )
        select = select.join(exp.table_(unit_table, quoted=True), on=on)
    if plan.where is not None:
        select = select.where(_predicate(plan.where))
    if plan.group_by:
        select = select.group_by(*(_key(k) for k in plan.group_by))
    if plan.order_by:
        select = select.order_by(
            *(
                exp.Ordered(this=exp.column(o.alias, quoted=True), desc=o.descending)
                for o in plan.order_by
            )
        )
    if plan.limit is not None:
        select = select.limit(plan.limit)
    return select.sql(dialect="duckdb")
