"""The SELECT list: group keys and aggregates, and the names of the output columns.

Each entry is read as a group key (``keys``) or an aggregate (``aggregates``);
anything else, such as ``*`` or a computed value, is refused, since only
aggregates over groups are released: a list with no aggregate, or with a key
that is not grouped on, would release the values of single rows. Output names
must be short, printable and distinct: they become the release's column names.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from gateway.plan import ColumnRef
from gateway.vet.codes import Code
from gateway.vet.compile.aggregates import Stat, aggregate
from gateway.vet.compile.context import Context
from gateway.vet.compile.keys import Bucket, Key, group_key
from gateway.vet.shapes import AGGREGATES, is_aggregate_call, is_key_shape, unparen
from gateway.vet.text import covering

_MAX_ALIAS = 64


@dataclass
class Item:
    """One entry of the SELECT list."""

    node: exp.Expr
    alias: str | None
    alias_node: exp.Expr | None
    key: Key | None = None
    stat: Stat | None = None
    aggregate_attempt: bool = False

    def output_name(self) -> str | None:
        if self.alias is not None:
            return self.alias
        if self.key is not None:
            return self.key.default_alias()
        return self.stat.default_alias() if self.stat else None

    def name(self) -> str:
        """The output name of an item known to have one (an accepted key or aggregate)."""
        name = self.output_name()
        assert name is not None
        return name


def select_list(select: exp.Select, ctx: Context) -> list[Item]:
    """The SELECT entries, each read as a group key or an aggregate (or refused)."""
    items = [_item(node, ctx) for node in select.expressions]
    if not items:
        ctx.add(Code.PARSE_ERROR, "the SELECT list is empty", None, "select an aggregate")
    return items


def _item(node: exp.Expr, ctx: Context) -> Item:
    alias_node: exp.Expr | None = None
    alias: str | None = None
    if type(node) is exp.Alias:
        alias_node = node.args.get("alias")
        alias = node.alias
        _check_alias(alias, alias_node or node, ctx)
        node = node.this
    node = unparen(node)
    item = Item(node=node, alias=alias, alias_node=alias_node)
    item.aggregate_attempt = any(
        is_aggregate_call(n) or isinstance(n, exp.Window | exp.Filter) for n in node.walk()
    )
    if type(node) in AGGREGATES:
        item.stat = aggregate(node, ctx)
    elif is_key_shape(node):
        item.key = group_key(node, "output", ctx)
    else:
        ctx.reject(node, "output")
    return item


def _check_alias(alias: str, at: exp.Expr, ctx: Context) -> None:
    if not alias or len(alias) > _MAX_ALIAS or not alias.isprintable():
        ctx.add(
            Code.INVALID_ALIAS,
            f"an output name must be 1 to {_MAX_ALIAS} printable characters",
            at,
            hint="use a short plain name, e.g. AS tips_per_theme",
        )


def check_aggregated(items: list[Item], keys: list[tuple[Key, exp.Expr]], ctx: Context) -> None:
    """Refuse a SELECT list that would release row values.

    That is a list with no aggregate at all, or with a key not grouped on.
    """
    if any(item.aggregate_attempt for item in items):
        grouped = {k.ident for k, _ in keys}
        for item in items:
            if item.key is not None and item.key.ident not in grouped:
                ctx.add(
                    Code.COLUMN_NOT_GROUPED,
                    f"`{item.key.bound.ref.column}` is selected but not grouped on",
                    item.node,
                    hint=f"add it to GROUP BY, or aggregate it; ({ctx.measures_hint()} "
                    "can be aggregated)",
                )
    elif items and not ctx.has(Code.ROW_LEVEL_OUTPUT):
        ctx.add(
            Code.ROW_LEVEL_OUTPUT,
            "the query has no aggregate, so it would return rows; only aggregates are released",
            covering(ctx.text.span(item.node) for item in items),
            hint="add an aggregate such as COUNT(*) or AVG(helpful_votes), with GROUP BY",
        )


def outputs(
    items: list[Item], keys: list[tuple[Key, exp.Expr]], ctx: Context
) -> tuple[dict[str, Item | Key], list[tuple[Key, str]]]:
    """Output name -> what it shows, and the group keys with their output names.

    Group keys come in SELECT order, unselected keys last (in GROUP BY
    order): the column order of the release.
    """
    shown: dict[str, Item | Key] = {}
    named: dict[tuple[ColumnRef, Bucket | None], str] = {}
    for item in items:
        name = item.output_name()
        if name is None:
            continue
        if item.key is not None and item.key.ident in named:
            ctx.add(
                Code.DUPLICATE_OUTPUT,
                f"`{item.key.bound.ref.column}` is selected twice",
                item.node,
                hint="select each group key once",
            )
            continue
        _claim(shown, name, item, item.alias_node or item.node, ctx)
        if item.key is not None:
            named[item.key.ident] = name
    grouped = {key.ident: key for key, _ in keys}
    result = [(grouped[ident], name) for ident, name in named.items() if ident in grouped]
    for key, node in keys:
        if key.ident not in named:
            named[key.ident] = key.default_alias()
            _claim(shown, named[key.ident], key, node, ctx)
            result.append((key, named[key.ident]))
    return shown, result


def _claim(
    shown: dict[str, Item | Key], name: str, what: Item | Key, at: exp.Expr, ctx: Context
) -> None:
    key = name.lower()
    if any(key == existing.lower() for existing in shown):
        ctx.add(
            Code.DUPLICATE_OUTPUT,
            f"two output columns would both be called `{name}`",
            at,
            hint="give each output column its own alias with AS",
        )
        return
    shown[name] = what
