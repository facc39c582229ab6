"""GROUP BY: the group keys, named as columns, date_trunc, SELECT positions or aliases.

Only category and date columns are grouped on (an identifier would make
groups of one); ROLLUP, CUBE and GROUPING SETS are refused, since the plan
holds one list of keys.
"""

from __future__ import annotations

from sqlglot import exp

from gateway.policy.model import ColumnRole
from gateway.vet.codes import Code
from gateway.vet.compile.context import Context
from gateway.vet.compile.keys import Key, group_key
from gateway.vet.compile.select import Item
from gateway.vet.shapes import (
    AGGREGATES,
    extra_args,
    is_aggregate_call,
    is_int_literal,
    is_key_shape,
    unparen,
)
from gateway.vet.text import fold

_PLAIN_COLUMNS = "group by plain columns: GROUP BY theme, created_month"


def group_by(
    group: exp.Group | None, items: list[Item], ctx: Context
) -> list[tuple[Key, exp.Expr]]:
    """The group keys in GROUP BY, each with the node that named it."""
    if group is None:
        return []
    extra = extra_args(group, {"expressions", "all"})
    if extra:
        ctx.add(
            Code.UNSUPPORTED_GROUPING,
            f"{', '.join(e.upper() for e in extra)} is not supported",
            group.args[extra[0]] if not isinstance(group.args[extra[0]], list) else group,
            hint=_PLAIN_COLUMNS,
        )
    keys: list[tuple[Key, exp.Expr]] = []
    if group.args.get("all"):
        keys += [(i.key, i.node) for i in items if i.key is not None]
    aliases = {fold(i.alias): i for i in items if i.alias is not None and fold(i.alias)}
    for node in (unparen(g) for g in group.expressions):
        item = _group_item(node, items, aliases, ctx)
        if isinstance(item, Item):
            if item.key is not None:
                keys.append((item.key, node))
            elif item.aggregate_attempt:
                ctx.push(ctx.classify.misplaced(node, "GROUP BY"))
        elif item is not None:
            keys.append((item, node))
    for key, node in keys:
        if key.bound.spec.role not in (ColumnRole.CATEGORY, ColumnRole.DATE):
            ctx.add(
                Code.NOT_GROUPABLE,
                f"`{key.bound.ref.column}` is a {key.bound.spec.role.value}; only "
                "category and date columns can be grouped on",
                node,
                hint="aggregate measures (SUM, AVG, MEDIAN) instead of grouping on them",
            )
    return keys


def _group_item(
    node: exp.Expr, items: list[Item], aliases: dict[str | None, Item], ctx: Context
) -> Item | Key | None:
    """What one GROUP BY entry names: a SELECT item (by position or alias) or a key."""
    if isinstance(node, exp.Rollup | exp.Cube | exp.GroupingSets):
        ctx.add(
            Code.UNSUPPORTED_GROUPING,
            f"{type(node).__name__.upper()} is not supported",
            node,
            hint=_PLAIN_COLUMNS,
        )
        return None
    if is_int_literal(node):
        position = int(node.name)
        if 1 <= position <= len(items):
            return items[position - 1]
        ctx.add(
            Code.INVALID_GROUP_BY,
            f"GROUP BY {position}: the SELECT list has {len(items)} items",
            node,
            hint="number SELECT items from 1, or name the column",
        )
        return None
    scope = ctx.scope
    if type(node) is exp.Column and not node.table and not isinstance(node.this, exp.Star):
        name = fold(node.name)
        in_scope = any(name in scope.column_names(t) for t in scope.bindings.values())
        if not in_scope and name in aliases:
            return aliases[name]
    if is_key_shape(node):
        return group_key(node, "group", ctx)
    if type(node) in AGGREGATES or is_aggregate_call(node):
        ctx.push(ctx.classify.misplaced(node, "GROUP BY"))
        return None
    ctx.reject(node, "group")
    return None
