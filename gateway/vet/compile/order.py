"""ORDER BY and LIMIT: how the released groups are sorted, and how many are kept.

ORDER BY sorts on output columns only (named by alias, position or the same
expression), since the engine sorts the noisy release, never the rows.
LIMIT is a plain whole number within the policy's group limit; OFFSET and
other forms are refused.
"""

from __future__ import annotations

from sqlglot import exp

from gateway.plan import OrderBy
from gateway.vet.codes import Code
from gateway.vet.compile.aggregates import aggregate
from gateway.vet.compile.context import Context
from gateway.vet.compile.keys import Key, group_key
from gateway.vet.compile.select import Item
from gateway.vet.shapes import AGGREGATES, extra_args, is_int_literal, is_key_shape, unparen
from gateway.vet.text import fold


def order_by(
    order: exp.Order | None,
    items: list[Item],
    keys: list[tuple[Key, str]],
    outputs: dict[str, Item | Key],
    ctx: Context,
) -> list[OrderBy]:
    """The plan's sort order, by output column."""
    if order is None:
        return []
    if extra_args(order, {"expressions"}):
        ctx.add(Code.UNSUPPORTED_CLAUSE, "this ORDER BY form is not supported", order)
        return []
    result: list[OrderBy] = []
    for ordered in order.expressions:
        if type(ordered) is not exp.Ordered or extra_args(ordered, {"this", "desc", "nulls_first"}):
            ctx.add(
                Code.UNSUPPORTED_CLAUSE,
                "ORDER BY accepts output columns with ASC or DESC",
                ordered,
                hint="e.g. ORDER BY n DESC",
            )
            continue
        descending = bool(ordered.args.get("desc"))
        target = unparen(ordered.this)
        if type(target) is exp.Var and target.name.upper() == "ALL":
            result += [OrderBy(alias=name, descending=descending) for name in outputs]
            continue
        name = _order_target(target, items, keys, outputs, ctx)
        if name is not None:
            result.append(OrderBy(alias=name, descending=descending))
    return result


def _order_target(
    target: exp.Expr,
    items: list[Item],
    keys: list[tuple[Key, str]],
    outputs: dict[str, Item | Key],
    ctx: Context,
) -> str | None:
    """The output column an ORDER BY entry names: position, alias or expression."""
    if is_int_literal(target):
        position = int(target.name)
        if 1 <= position <= len(items):
            return items[position - 1].name() if items[position - 1].output_name() else None
    elif type(target) is exp.Column and not target.table:
        for name in outputs:
            if fold(name) == fold(target.name):
                return name
    shown: str | None = None
    if type(target) in AGGREGATES:
        stat = aggregate(target, ctx)
        if stat is None:
            return None
        shown = next((i.name() for i in items if i.stat and i.stat.ident == stat.ident), None)
    elif is_key_shape(target):
        key = group_key(target, "other", ctx)
        if key is None:
            return None
        shown = next((alias for k, alias in keys if k.ident == key.ident), None)
    elif not is_int_literal(target):
        ctx.reject_inside(target, "other")
    if shown is None:
        ctx.add(
            Code.ORDER_BY_NOT_OUTPUT,
            "ORDER BY can only sort on output columns",
            target,
            hint="sort on one of: " + ", ".join(outputs),
        )
    return shown


def limit(node: exp.Expr | None, ctx: Context) -> int | None:
    """The number of groups kept, or None if there is no LIMIT (or it was refused)."""
    if node is None:
        return None
    ceiling = ctx.policy.limits.max_groups
    hint = f"write LIMIT n with 1 <= n <= {ceiling}"
    options = node.args.get("limit_options")
    plain = type(node) is exp.Limit and not extra_args(node, {"expression", "limit_options"})
    if not plain or (options is not None and any(options.args.values())):
        ctx.add(Code.UNSUPPORTED_CLAUSE, "only a plain LIMIT n is supported", node, hint=hint)
        return None
    count = unparen(node.expression)
    if is_int_literal(count) and 1 <= int(count.name) <= ceiling:
        return int(count.name)
    ctx.add(
        Code.INVALID_LIMIT, f"LIMIT must be a whole number from 1 to {ceiling}", node, hint=hint
    )
    return None
