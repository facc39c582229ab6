"""The aggregates of the SELECT list (and of ORDER BY): what the release reports.

Each must be one the policy allows and the engine can make differentially
private: ``COUNT(*)``, ``COUNT(DISTINCT member_pid)``, or a sum, mean,
median or quantile of a measure column as it is. An expression, or a column
that is not a measure, has no clamp bounds, so no noise scale could be set
for it; ``DISTINCT`` only ever counts members.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from gateway.plan import Aggregate, ColumnRef
from gateway.policy.model import Aggregation, ColumnRole
from gateway.vet.codes import Code
from gateway.vet.compile.context import QUIET, Context
from gateway.vet.scope import Bound
from gateway.vet.shapes import AGGREGATES, extra_args, func_name, number, unparen
from gateway.vet.text import fold


@dataclass(frozen=True)
class Stat:
    """An accepted aggregate, before it is given its output name."""

    function: Aggregation
    bound: Bound | None = None
    quantile: float | None = None

    @property
    def ident(self) -> tuple[Aggregation, ColumnRef | None, float | None]:
        return self.function, self.bound.ref if self.bound else None, self.quantile

    def default_alias(self) -> str:
        if self.bound is None:
            return self.function.value
        column = self.bound.ref.column
        if self.quantile is not None:
            return f"p{self.quantile * 100:g}_{column}"
        return f"{self.function.value}_{column}"

    def to_plan(self, alias: str) -> Aggregate:
        """The plan's aggregate; its clamp range is left to the engine (or fixed later).

        SQL cannot fix a clamp range: the engine chooses it per query with DP
        within the policy's, unless the researcher fixes one (``bounds.py``).
        """
        if self.bound is None:
            return Aggregate(function=self.function, alias=alias)
        return Aggregate(
            function=self.function, column=self.bound.ref, quantile=self.quantile, alias=alias
        )


def aggregate(node: exp.Expr, ctx: Context) -> Stat | None:
    """The aggregate a call computes, or None with the reasons recorded."""
    function, allowed = AGGREGATES[type(node)]
    extra = extra_args(node, allowed)
    if extra:
        ctx.add(
            Code.UNSUPPORTED_EXPRESSION,
            f"{func_name(node).upper()} with {', '.join(extra)} is not supported",
            node,
            hint="call the aggregate on one column, e.g. SUM(helpful_votes)",
        )
        return None
    argument = unparen(node.this) if node.this is not None else None
    if type(node) is exp.Count:
        return _count(node, argument, ctx)
    if isinstance(argument, exp.Distinct):
        ctx.add(
            Code.AGGREGATE_NOT_ALLOWED,
            f"{func_name(node).upper()}(DISTINCT ...) is not supported",
            node,
            hint="drop DISTINCT; only COUNT(DISTINCT member_pid) counts distinct values",
        )
        return None
    if not _allowed(function, node, ctx):
        return None
    quantile = _quantile(node, ctx) if function is Aggregation.QUANTILE else None
    bound = _measure(node, argument, ctx)
    if bound is None or (function is Aggregation.QUANTILE and quantile is None):
        return None
    return Stat(function, bound, quantile)


def _allowed(function: Aggregation, node: exp.Expr, ctx: Context) -> bool:
    if function in ctx.policy.aggregations:
        return True
    ctx.add(
        Code.AGGREGATE_NOT_ALLOWED,
        f"the policy does not allow {function.value} aggregates",
        node,
        hint="allowed: " + ", ".join(a.value for a in ctx.policy.aggregations),
    )
    return False


def _count(node: exp.Expr, argument: exp.Expr | None, ctx: Context) -> Stat | None:
    if isinstance(argument, exp.Star) and not extra_args(argument, set()):
        return Stat(Aggregation.COUNT) if _allowed(Aggregation.COUNT, node, ctx) else None
    unit = ctx.policy.privacy_unit
    if isinstance(argument, exp.Distinct):
        values = [unparen(v) for v in argument.expressions]
        if (
            len(values) == 1
            and not argument.args.get("on")
            and type(values[0]) is exp.Column
            and _is_unit(values[0], ctx)
        ):
            function = Aggregation.COUNT_DISTINCT_MEMBERS
            return Stat(function) if _allowed(function, node, ctx) else None
        ctx.add(
            Code.AGGREGATE_NOT_ALLOWED,
            f"COUNT(DISTINCT ...) is allowed only as COUNT(DISTINCT {unit})",
            node,
            hint=f"count members with COUNT(DISTINCT {unit}), rows with COUNT(*)",
        )
    else:
        ctx.add(
            Code.AGGREGATE_NOT_ALLOWED,
            "COUNT takes * or DISTINCT " + unit,
            node,
            hint="write COUNT(*), with WHERE <column> IS NOT NULL to skip missing values",
        )
    if argument is not None:  # COUNT() parses without one
        ctx.reject_inside(argument, "other")
    return None


def _is_unit(column: exp.Column, ctx: Context) -> bool:
    """Whether a reference is the privacy unit (unqualified is fine in a join)."""
    if not column.table and fold(column.name) == ctx.policy.privacy_unit:
        return True
    bound = ctx.resolved(column)
    return bound is not None and bound.spec.role is ColumnRole.PRIVACY_UNIT


def _quantile(node: exp.Expr, ctx: Context) -> float | None:
    raw = node.args.get("expression") or node.args.get("quantile")
    value = number(unparen(raw)) if raw is not None else None
    if value is not None and 0 < value < 1:
        return value
    ctx.add(
        Code.INVALID_QUANTILE,
        "the quantile must be one number strictly between 0 and 1",
        raw if raw is not None else node,
        hint="e.g. QUANTILE_CONT(word_count, 0.9); MEDIAN(x) for the middle",
    )
    return None


def _measure(node: exp.Expr, argument: exp.Expr | None, ctx: Context) -> Bound | None:
    """The bounded measure column an aggregate reads."""
    measures = ctx.measures_hint()
    if argument is None:  # QUANTILE_CONT() parses without one
        ctx.add(
            Code.UNBOUNDED_MEASURE,
            f"{func_name(node).upper()} needs a measure column",
            node,
            hint=f"aggregate a measure column ({measures})",
        )
        return None
    if type(argument) is not exp.Column or isinstance(argument.this, exp.Star):
        ctx.add(
            Code.UNBOUNDED_MEASURE,
            f"{func_name(node).upper()} of an expression has no clamp bounds",
            argument,
            hint=f"aggregate a measure column as it is ({measures}); filter with WHERE",
        )
        ctx.reject_inside(argument, "other", above=QUIET)
        return None
    bound = ctx.unprotected(argument, "other")
    if bound is None:
        return None
    if bound.spec.role is not ColumnRole.MEASURE:
        ctx.add(
            Code.UNBOUNDED_MEASURE,
            f"`{bound.ref.column}` is a {bound.spec.role.value} column, not a measure "
            "with clamp bounds",
            argument,
            hint=f"measures: {measures}; count rows with COUNT(*)",
        )
        return None
    return bound
