"""Small, pure readings of sqlglot nodes shared by the vetter's stages."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Literal

from sqlglot import exp

from gateway.policy.model import Aggregation, Column
from gateway.vet import names

AGGREGATES: dict[type[exp.Expr], tuple[Aggregation, frozenset[str]]] = {
    exp.Count: (Aggregation.COUNT, frozenset({"this", "big_int"})),
    exp.Sum: (Aggregation.SUM, frozenset({"this"})),
    exp.Avg: (Aggregation.MEAN, frozenset({"this"})),
    exp.Median: (Aggregation.MEDIAN, frozenset({"this"})),
    exp.PercentileCont: (Aggregation.QUANTILE, frozenset({"this", "expression"})),
    exp.PercentileDisc: (Aggregation.QUANTILE, frozenset({"this", "expression"})),
    exp.Quantile: (Aggregation.QUANTILE, frozenset({"this", "quantile"})),
}
"""The aggregate calls the plan expresses, with the arguments each may carry."""


def func_name(node: exp.Expr) -> str:
    if type(node) is exp.Anonymous:
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return str(type(node).sql_names()[0]).lower()
    return type(node).__name__.lower()


def is_aggregate_call(node: exp.Expr) -> bool:
    if isinstance(node, exp.AggFunc):
        return True
    return type(node) is exp.Anonymous and func_name(node) in names.EXTRA_AGGREGATES


def is_key_shape(node: exp.Expr) -> bool:
    """A column or date_trunc: what a group key looks like before it is judged."""
    if type(node) is exp.Column:
        return not isinstance(node.this, exp.Star)
    return type(node) is exp.TimestampTrunc


def is_int_literal(node: exp.Expr) -> bool:
    return type(node) is exp.Literal and not node.is_string and node.name.isdigit()


def is_constant(node: exp.Expr) -> bool:
    if type(node) is exp.Cast:
        return is_constant(unparen(node.this))
    if type(node) is exp.Neg:
        return number(node) is not None
    return type(node) in (exp.Literal, exp.Boolean)


def number(node: exp.Expr) -> int | float | None:
    sign = 1
    if type(node) is exp.Neg:
        node, sign = unparen(node.this), -1
    if type(node) is not exp.Literal or node.is_string:
        return None
    text = node.name
    try:
        return sign * int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return sign * value if math.isfinite(value) else None


def unparen(node: exp.Expr) -> exp.Expr:
    while type(node) is exp.Paren:
        node = node.this
    return node


def flatten(node: exp.Expr, kind: type[exp.Expr]) -> Iterator[exp.Expr]:
    """The terms of a chain of ANDs (or ORs), left to right, without recursion."""
    stack = [node]
    while stack:
        current = unparen(stack.pop())
        if type(current) is kind:
            stack += [current.expression, current.this]
        else:
            yield current


def present(value: object) -> bool:
    return not (value is None or value is False or (isinstance(value, list) and not value))


def extra_args(node: exp.Expr, allowed: set[str] | frozenset[str]) -> list[str]:
    """Arguments a node carries beyond the ones the vetter understands for it."""
    return [k for k, v in node.args.items() if k not in allowed and present(v)]


def grain(spec: Column) -> Literal["day", "month"]:
    """A date column's own granularity: the extract stores some as months."""
    return "month" if spec.derive is not None and spec.derive.transform == "month" else "day"
