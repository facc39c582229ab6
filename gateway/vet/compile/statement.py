"""The statement: one plain SELECT, compiled clause by clause into a ``QueryPlan``.

Any other statement, and any clause outside FROM, JOIN, WHERE, GROUP BY,
ORDER BY and LIMIT, is refused here with its own code: CTEs, set operations,
HAVING, windows, DISTINCT, OFFSET and the rest either hide a second query or
compute on rows the engine cannot bound. The clauses are then compiled in
the order the plan is built, each issue is collected, and a plan whose
groups, counted from public facts, exceed the policy's limit is refused.
"""

from __future__ import annotations

from sqlglot import exp

from gateway.errors import Issue
from gateway.plan import GroupKey, QueryPlan
from gateway.policy.model import Policy
from gateway.vet.codes import Code
from gateway.vet.compile.context import Context
from gateway.vet.compile.group import group_by
from gateway.vet.compile.order import limit, order_by
from gateway.vet.compile.select import check_aggregated, outputs, select_list
from gateway.vet.compile.tables import from_tables
from gateway.vet.compile.where import where
from gateway.vet.estimate import estimate_groups
from gateway.vet.shapes import present
from gateway.vet.text import QueryText, covering, fold

_CLAUSES: dict[str, tuple[Code, str, str]] = {
    "with_": (Code.CTE, "WITH", "write the query as one SELECT over an extract table"),
    "distinct": (
        Code.UNSUPPORTED_CLAUSE,
        "DISTINCT",
        "group with GROUP BY and aggregate; distinct rows are never released",
    ),
    "having": (
        Code.HAVING_NOT_SUPPORTED,
        "HAVING",
        "filter rows with WHERE; to drop small or large groups, filter the released "
        "table afterwards (that costs no budget)",
    ),
    "qualify": (Code.WINDOW_FUNCTION, "QUALIFY", "window functions cannot be bounded"),
    "windows": (Code.WINDOW_FUNCTION, "WINDOW", "window functions cannot be bounded"),
    "into": (Code.FORBIDDEN_STATEMENT, "INTO", "SELECT ... INTO would create a table"),
    "laterals": (Code.TABLE_FUNCTION, "LATERAL", "read one extract table"),
    "offset": (Code.UNSUPPORTED_CLAUSE, "OFFSET", "use LIMIT alone"),
    "sample": (Code.UNSUPPORTED_CLAUSE, "SAMPLE", "sampling is done by the DP engine, not SQL"),
}
"""SELECT clauses refused with a dedicated code; any other unknown clause is refused too."""

_ACCEPTED_CLAUSES = frozenset({"expressions", "from_", "joins", "where", "group", "order", "limit"})


def compile_select(
    tree: exp.Expr, text: QueryText, policy: Policy
) -> tuple[QueryPlan | None, list[Issue]]:
    """The plan for a parsed statement, and every issue found on the way."""
    ctx = Context(text, policy)
    plan = _compile(tree, ctx)
    return (plan if not ctx.issues else None), ctx.issues


def _compile(tree: exp.Expr, ctx: Context) -> QueryPlan | None:
    if type(tree) is not exp.Select:
        _not_a_select(tree, ctx)
        return None
    _refuse_clauses(tree, ctx)
    table, joined = from_tables(tree, ctx)
    ctx.enter("SELECT")
    items = select_list(tree, ctx)
    ctx.enter("WHERE")
    predicate = where(tree.args.get("where"), ctx)
    ctx.enter("GROUP")
    keys = group_by(tree.args.get("group"), items, ctx)
    check_aggregated(items, keys, ctx)
    shown, named_keys = outputs(items, keys, ctx)
    ctx.enter("ORDER")
    order = order_by(tree.args.get("order"), items, named_keys, shown, ctx)
    ctx.enter("LIMIT")
    kept = limit(tree.args.get("limit"), ctx)
    if ctx.issues or table is None:
        return None
    plan = QueryPlan(
        table=table,
        join_members=joined,
        where=predicate,
        group_by=tuple(
            GroupKey(column=k.bound.ref, bucket=k.bucket, alias=a) for k, a in named_keys
        ),
        aggregates=tuple(i.stat.to_plan(i.name()) for i in items if i.stat is not None),
        order_by=tuple(order),
        limit=kept,
    )
    _check_group_count(plan, ctx)
    return plan


def _not_a_select(tree: exp.Expr, ctx: Context) -> None:
    if isinstance(tree, exp.SetOperation):
        ctx.add(
            Code.SET_OPERATION,
            f"{type(tree).__name__.upper()} combines several queries; the gateway answers one",
            ctx.text.keyword(type(tree).__name__) or tree,
            hint="submit each SELECT as its own query",
        )
    elif isinstance(tree, exp.Subquery):
        ctx.add(
            Code.SUBQUERY,
            "the whole query is wrapped in parentheses",
            tree,
            hint="remove the outer parentheses",
        )
    elif isinstance(tree, exp.DDL | exp.DML | exp.Command):
        ctx.add(
            Code.FORBIDDEN_STATEMENT,
            "this statement changes data or settings and is never run",
            tree,
            hint="the gateway answers one read-only SELECT over the extract tables",
        )
    else:
        ctx.add(
            Code.NOT_SELECT,
            f"a {type(tree).__name__.upper()} statement is not a SELECT query",
            tree,
            hint="write SELECT ... FROM <table> ...",
        )


def _refuse_clauses(select: exp.Select, ctx: Context) -> None:
    """Refuse every clause the plan cannot express, each with its own code."""
    for name, value in select.args.items():
        if name in _ACCEPTED_CLAUSES or not present(value):
            continue
        code, keyword, hint = _CLAUSES.get(
            name,
            (
                Code.UNSUPPORTED_CLAUSE,
                name.strip("_").upper(),
                "write SELECT ... FROM ... [JOIN members] [WHERE] [GROUP BY] [ORDER BY] [LIMIT]",
            ),
        )
        node = value[0] if isinstance(value, list) else value
        if code is Code.CTE:
            ctx.derived = {fold(cte.alias) for cte in value.expressions}
        at = covering([ctx.text.keyword(keyword.split()[0]), ctx.text.span(node)])
        ctx.add(code, f"{keyword} is not supported", at, hint)
        if code in {Code.CTE, Code.TABLE_FUNCTION}:
            ctx.reject_inside(node, "other", nested=True)


def _check_group_count(plan: QueryPlan, ctx: Context) -> None:
    """Refuse a query whose groups, counted from public facts, exceed the limit."""
    estimate = estimate_groups(plan, ctx.policy)
    most = ctx.policy.limits.max_groups
    if estimate > most:
        ctx.add(
            Code.TOO_MANY_GROUPS,
            f"the query has at least {estimate} groups; the policy allows {most}",
            ctx.text.keyword("GROUP"),
            hint="group on fewer or coarser keys (date_trunc('year', ...)), or narrow "
            "the date range in WHERE",
        )
