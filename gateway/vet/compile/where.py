"""WHERE: columns compared with constants, combined with AND, OR and NOT.

Constants are checked here against their column's type, range and domain,
so that nothing about a filter can fail once the data is open (a failure
that appears only when a row matches would be an answer without noise).
Filtering on an identifier would single out rows, column-to-column
comparisons and computed values are outside what the plan expresses, and a
comparison with NULL is never true.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal, cast

from sqlglot import exp

from gateway.plan import And, Between, Compare, InSet, IsNull, Not, Or, Predicate
from gateway.plan import Literal_ as Value
from gateway.policy.literals import LiteralProblem, typed_literal
from gateway.vet.codes import Code
from gateway.vet.compile.context import INVALID, QUIET, Context, Invalid
from gateway.vet.scope import Bound
from gateway.vet.shapes import extra_args, flatten, grain, is_constant, number, unparen
from gateway.vet.text import did_you_mean

_COMPARISONS: dict[type[exp.Expr], tuple[str, str]] = {
    exp.EQ: ("=", "="),
    exp.NEQ: ("!=", "!="),
    exp.LT: ("<", ">"),
    exp.LTE: ("<=", ">="),
    exp.GT: (">", "<"),
    exp.GTE: (">=", "<="),
}
"""Operator, and the operator with its sides swapped (``5 < x`` is ``x > 5``)."""

_Op = Literal["=", "!=", "<", "<=", ">", ">="]
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def where(clause: exp.Where | None, ctx: Context) -> Predicate | None:
    """The plan's filter, or None if there is none (or it was refused)."""
    if clause is None:
        return None
    return _predicate(clause.this, ctx)


def _predicate(node: exp.Expr, ctx: Context) -> Predicate | None:
    node = unparen(node)
    kind = type(node)
    if kind in (exp.And, exp.Or):
        terms = [_predicate(t, ctx) for t in flatten(node, kind)]
        if any(t is None for t in terms):
            return None
        accepted = tuple(cast(list[Predicate], terms))
        return And(terms=accepted) if kind is exp.And else Or(terms=accepted)
    if kind is exp.Not:
        inner = unparen(node.this)
        if type(inner) in (exp.In, exp.Between, exp.Is):
            return _atom(inner, negated=True, ctx=ctx)
        term = _predicate(inner, ctx)
        return Not(term=term) if term is not None else None
    if kind in _COMPARISONS or kind in (exp.In, exp.Between, exp.Is):
        return _atom(node, negated=False, ctx=ctx)
    ctx.reject(node, "filter")
    return None


def _atom(node: exp.Expr, negated: bool, ctx: Context) -> Predicate | None:
    """One comparison of a column with constants."""
    kind = type(node)
    if kind in _COMPARISONS:
        return _compare(node, ctx)
    column = unparen(node.this)
    if type(column) is not exp.Column or isinstance(column.this, exp.Star):
        _not_comparison(node, ctx)
        return None
    bound = ctx.unprotected(column, "filter")
    if kind is exp.In:
        if extra_args(node, {"this", "expressions"}) or not node.expressions:
            _not_comparison(node, ctx)
            return None
        values = [_value(v, bound, "in", ctx) for v in node.expressions]
        if bound is None or any(isinstance(v, Invalid) for v in values):
            return None
        return InSet(column=bound.ref, values=tuple(cast(list[Value], values)), negated=negated)
    if kind is exp.Between:
        if extra_args(node, {"this", "low", "high"}):
            _not_comparison(node, ctx)
            return None
        low = _value(node.args["low"], bound, "between", ctx)
        high = _value(node.args["high"], bound, "between", ctx)
        if bound is None or isinstance(low, Invalid) or isinstance(high, Invalid):
            return None
        return Between(column=bound.ref, low=low, high=high, negated=negated)
    if type(node.expression) is not exp.Null or extra_args(node, {"this", "expression"}):
        _not_comparison(node, ctx)
        return None
    return IsNull(column=bound.ref, negated=negated) if bound is not None else None


def _compare(node: exp.Expr, ctx: Context) -> Predicate | None:
    op, swapped = _COMPARISONS[type(node)]
    left, right = unparen(node.this), unparen(node.expression)
    if type(right) is exp.Column and type(left) is not exp.Column:
        left, right, op = right, left, swapped
    if type(left) is not exp.Column or isinstance(left.this, exp.Star) or type(right) is exp.Column:
        _not_comparison(node, ctx)
        return None
    bound = ctx.unprotected(left, "filter")
    value = _value(right, bound, op, ctx)
    if bound is None or isinstance(value, Invalid):
        return None
    return Compare(column=bound.ref, op=cast(_Op, op), value=value)


def _not_comparison(node: exp.Expr, ctx: Context) -> None:
    ctx.add(
        Code.UNSUPPORTED_EXPRESSION,
        "WHERE accepts a column compared with constants (=, <>, <, <=, >, >=, IN, "
        "BETWEEN, IS NULL), combined with AND, OR and NOT",
        node,
        hint="e.g. WHERE theme IN ('sleep', 'stress') AND created_date >= DATE '2024-01-01'",
    )
    ctx.reject_inside(node, "filter", above=QUIET, skip_root=True)


def _value(node: exp.Expr, bound: Bound | None, op: str, ctx: Context) -> Value | Invalid:
    """A constant compared with ``bound``, in the form the plan stores it."""
    node = unparen(node)
    if type(node) is exp.Null:
        ctx.add(
            Code.UNSUPPORTED_EXPRESSION,
            "a comparison with NULL is never true",
            node,
            hint="use IS NULL or IS NOT NULL",
        )
        return INVALID
    if not is_constant(node):
        ctx.reject(node, "filter")
        return INVALID
    if bound is None:
        return INVALID
    spec = bound.spec
    if spec.type == "DATE":
        return _date(node, bound, op, ctx)
    if spec.type == "VARCHAR":
        if type(node) is exp.Literal and node.is_string:
            return _in_domain(node.this, node, bound, op, ctx)
    elif (found := number(node)) is not None:
        try:
            typed = typed_literal(bound.ref.column, spec, found)
        except LiteralProblem as problem:
            ctx.add(Code(problem.code), problem.message, node, hint=problem.hint)
            return INVALID
        assert isinstance(typed, int | float)  # a number column: INTEGER, BIGINT or DOUBLE
        return typed
    _mismatch(node, bound, ctx)
    return INVALID


def _date(node: exp.Expr, bound: Bound, op: str, ctx: Context) -> Value | Invalid:
    literal = node
    if type(node) is exp.Cast:
        if extra_args(node, {"this", "to"}) or not node.to.is_type(exp.DataType.Type.DATE):
            _mismatch(node, bound, ctx)
            return INVALID
        literal = unparen(node.this)
    if type(literal) is not exp.Literal or not literal.is_string:
        _mismatch(node, bound, ctx)
        return INVALID
    try:
        if not _ISO_DATE.fullmatch(literal.this):
            raise ValueError(literal.this)
        day = dt.date.fromisoformat(literal.this)
    except ValueError:
        ctx.add(
            Code.INVALID_LITERAL,
            f"'{literal.this}' is not a date",
            node,
            hint="write dates as 'YYYY-MM-DD', e.g. DATE '2024-03-01'",
        )
        return INVALID
    if grain(bound.spec) == "month" and op in ("=", "!=", "in") and day.day != 1:
        ctx.add(
            Code.INVALID_LITERAL,
            f"`{bound.ref.column}` holds the first day of each month, never {day}",
            node,
            hint=f"compare with '{day.replace(day=1)}', or use a range",
        )
        return INVALID
    return day.isoformat()


def _in_domain(value: str, node: exp.Expr, bound: Bound, op: str, ctx: Context) -> Value | Invalid:
    domain = bound.spec.domain
    if domain is None or op not in ("=", "!=", "in") or value in domain:
        return value
    ctx.add(
        Code.VALUE_NOT_IN_DOMAIN,
        f"'{value}' is not a value of `{bound.ref.column}`",
        node,
        hint=did_you_mean(value, domain) or "values: " + ", ".join(domain),
    )
    return INVALID


def _mismatch(node: exp.Expr, bound: Bound, ctx: Context) -> None:
    expected = {"DATE": "a date such as DATE '2024-01-01'", "VARCHAR": "a 'string'"}
    ctx.add(
        Code.TYPE_MISMATCH,
        f"`{bound.ref.column}` is {bound.spec.type}; it cannot be compared with "
        f"`{node.sql(dialect='duckdb')}`",
        node,
        hint="compare it with " + expected.get(bound.spec.type, "a number"),
    )
