"""FROM and JOIN: the one extract table a query reads, perhaps joined with members.

Only named extract tables are read; table functions, files, catalogs and
subqueries are refused, since only the extract's tables carry the privacy
unit the engine bounds contributions by. The one join allowed pairs the
members table with one other table on the privacy unit, so every row still
belongs to exactly one member.
"""

from __future__ import annotations

from sqlglot import exp

from gateway.errors import Issue
from gateway.policy.model import ColumnRole
from gateway.vet.codes import Code
from gateway.vet.compile.context import Context
from gateway.vet.scope import Bound
from gateway.vet.shapes import extra_args, unparen
from gateway.vet.text import covering, fold


def from_tables(select: exp.Select, ctx: Context) -> tuple[str | None, bool]:
    """The table the query reads, and whether members is joined to it."""
    source = select.args.get("from_")
    if source is None:
        ctx.add(
            Code.MISSING_FROM,
            "the query reads no table",
            covering(ctx.text.span(node) for node in select.expressions),
            hint="add FROM tips (or another extract table)",
        )
        return None, False
    base = _bind(source.this, ctx)
    joins: list[exp.Join] = select.args.get("joins") or []
    for extra in joins[1:]:
        ctx.add(
            Code.JOIN_NOT_ALLOWED,
            "only one join is allowed: the members table, on member_pid",
            extra,
            hint=_join_hint(ctx),
        )
    if not joins:
        return base, False
    other = _bind(joins[0].this, ctx)
    _check_join(joins[0], base, other, ctx)
    unit = ctx.policy.unit_table
    if base is None or other is None:
        return None, True
    if (base == unit) == (other == unit):
        ctx.add(
            Code.JOIN_NOT_ALLOWED,
            f"a join must pair {unit} with one other table",
            joins[0],
            hint=_join_hint(ctx),
        )
        return None, True
    return (other if base == unit else base), True


def _bind(node: exp.Expr, ctx: Context) -> str | None:
    """Add a FROM/JOIN source to the scope; the policy table it reads."""
    scope = ctx.scope
    if type(node) is not exp.Table:
        if isinstance(node, exp.Query):
            ctx.reject(node, "other")
        else:
            ctx.add(
                Code.TABLE_FUNCTION,
                "only extract tables can be read",
                node,
                ctx.classify.tables_hint(),
            )
            ctx.reject_inside(node, "other", skip_root=True, nested=True)
        scope.complete = False
        return None
    table = _table(node, ctx)
    if table is None:
        scope.complete = False
        return None
    alias = node.args.get("alias")
    extra = extra_args(node, {"this", "db", "catalog", "alias"})
    if extra:
        ctx.add(
            Code.UNSUPPORTED_CLAUSE,
            f"table modifiers ({', '.join(extra)}) are not supported",
            node,
            hint="name the table, optionally with an alias: FROM tips t",
        )
    name = table
    if alias is not None:
        if extra_args(alias, {"this"}):
            ctx.add(
                Code.UNSUPPORTED_CLAUSE,
                "renaming columns in FROM is not supported",
                node,
                hint="alias the table only: FROM tips t",
            )
        name = alias.name
    key = fold(name)
    if key is None or key in scope.bindings:
        scope.complete = False
        ctx.add(
            Code.DUPLICATE_OUTPUT if key else Code.UNKNOWN_TABLE,
            f"the table name or alias `{name}` is used twice"
            if key
            else f"`{name}` is not a usable alias",
            node,
            hint="give each table its own ASCII alias",
        )
        return None
    scope.bindings[key] = table
    return table


def _table(node: exp.Table, ctx: Context) -> str | None:
    """The policy table a FROM item names, or None with the reason recorded."""
    issue = ctx.classify.table(node)
    if not isinstance(issue, Issue):
        return issue
    if not (issue.code == Code.UNKNOWN_TABLE and fold(node.name) in ctx.derived):
        ctx.push(issue)  # a name WITH defined is already refused as a CTE
    return None


def _join_hint(ctx: Context) -> str:
    pid, unit = ctx.policy.privacy_unit, ctx.policy.unit_table
    return f"JOIN {unit} m ON t.{pid} = m.{pid}"


def _joins_on_unit(join: exp.Join, ctx: Context) -> bool:
    """``USING (member_pid)``: the same pairing as ``ON a.member_pid = b.member_pid``."""
    using = join.args.get("using") or []
    names = [
        fold(column.name) for column in using if isinstance(column, exp.Identifier | exp.Column)
    ]
    return len(using) == 1 and names == [fold(ctx.policy.privacy_unit)]


def _check_join(join: exp.Join, base: str | None, other: str | None, ctx: Context) -> None:
    kind = join.args.get("kind")
    using_unit = _joins_on_unit(join, ctx)
    pid = ctx.policy.privacy_unit
    extra = extra_args(join, {"this", "on", "kind"} | ({"using"} if using_unit else set()))
    if extra or (kind is not None and str(kind).upper() != "INNER"):
        described = " ".join(
            str(join.args[a]).upper() for a in ("method", "side", "kind") if join.args.get(a)
        )
        if join.args.get("using"):
            described = "USING"
        ctx.add(
            Code.JOIN_NOT_ALLOWED,
            f"{described or 'this'} join is not allowed; only an inner join on {pid} is",
            join,
            hint=_join_hint(ctx),
        )
        return
    on = join.args.get("on")
    if using_unit:
        return
    if on is None:
        ctx.add(
            Code.JOIN_NOT_ALLOWED,
            "a join without ON pairs every row with every row",
            join,
            hint=_join_hint(ctx),
        )
        return
    if base is None or other is None:
        return
    condition = unparen(on)
    sides = (
        [unparen(condition.this), unparen(condition.expression)]
        if type(condition) is exp.EQ
        else []
    )
    bound = [ctx.scope.resolve(s) for s in sides if type(s) is exp.Column]
    refs = {
        b.ref.table
        for b in bound
        if isinstance(b, Bound) and b.spec.role is ColumnRole.PRIVACY_UNIT
    }
    if len(bound) != 2 or refs != {base, other}:
        ctx.add(
            Code.JOIN_NOT_ALLOWED,
            f"the join condition must be exactly {ctx.policy.unit_table}.{pid} = <table>.{pid}",
            on,
            hint=_join_hint(ctx),
        )
