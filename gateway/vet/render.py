"""Plain-text rendering of issues and plans, for people at a terminal.

Each issue shows its line of the query with a caret under the fragment, then
the message and the hint, so a researcher sees what to change.
"""

from __future__ import annotations

from gateway.errors import Issue
from gateway.plan import (
    Aggregate,
    And,
    Between,
    Compare,
    InSet,
    IsNull,
    Not,
    Or,
    Predicate,
    QueryPlan,
)
from gateway.policy.model import Policy

WIDTH = 100
"""Long lines are cut to a window of about this many characters around the fragment."""


def render_issues(sql: str, issues: list[Issue]) -> str:
    blocks = [_render_issue(sql, issue) for issue in issues]
    noun = "problem" if len(issues) == 1 else "problems"
    blocks.append(f"rejected: {len(issues)} {noun}")
    return "\n\n".join(blocks)


def _render_issue(sql: str, issue: Issue) -> str:
    out = [f"error[{issue.code}]: {issue.message}"]
    if issue.start is not None and issue.line is not None and issue.column is not None:
        line_start = sql.rfind("\n", 0, issue.start) + 1
        line_end = sql.find("\n", issue.start)
        line_end = len(sql) if line_end == -1 else line_end
        end = min(issue.end if issue.end is not None else issue.start + 1, line_end)
        line = sql[line_start:line_end]
        first, last = issue.start - line_start, max(end - line_start, issue.start - line_start + 1)
        cut = max(0, first - WIDTH // 3)
        shown = line[cut : cut + WIDTH]
        left = "…" if cut else ""
        right = "…" if cut + WIDTH < len(line) else ""
        number = str(issue.line)
        pad = " " * len(number)
        carets = "^" * max(1, min(last, cut + WIDTH) - first)
        out += [
            f"{pad} --> line {issue.line}, column {issue.column}",
            f"{pad} |",
            f"{number} | {left}{_printable(shown)}{right}",
            f"{pad} | {' ' * (len(left) + first - cut)}{carets}",
        ]
    if issue.hint:
        out.append(f"  = hint: {issue.hint}")
    return "\n".join(out)


def _printable(text: str) -> str:
    """One visible character per character, so the caret stays aligned."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def render_plan(plan: QueryPlan, policy: Policy | None = None) -> str:
    """The plan in lines; bounds it leaves out are chosen with DP (``policy`` may say not)."""
    return "\n".join(f"  {name:<9} {value}" for name, value in plan_rows(plan, policy))


def plan_rows(plan: QueryPlan, policy: Policy | None = None) -> list[tuple[str, str]]:
    """The plan as ``(what, how)`` rows: reads, bounds, where, groups, releases, order, limit."""
    chooses = policy is None or policy.bounding.choose
    source = plan.table + (" joined with members" if plan.join_members else "")
    rows = [("reads", source), ("bounds", _contributions(plan, chooses))]
    if plan.where is not None:
        rows.append(("where", render_predicate(plan.where)))
    if plan.group_by:
        keys = [
            f"{k.alias} = {k.column}" + (f" by {k.bucket}" if k.bucket else "")
            for k in plan.group_by
        ]
        rows.append(("groups", ", ".join(keys)))
    rows += [("releases", _aggregate(a, chooses)) for a in plan.aggregates]
    if plan.order_by:
        rows.append(
            ("order", ", ".join(o.alias + (" desc" if o.descending else "") for o in plan.order_by))
        )
    if plan.limit is not None:
        rows.append(("limit", str(plan.limit)))
    return rows


def _aggregate(aggregate: Aggregate, chooses: bool) -> str:
    function = aggregate.function.value
    if aggregate.column is None:
        return f"{aggregate.alias} = {function}"
    quantile = f" q={aggregate.quantile:g}" if aggregate.quantile is not None else ""
    clamp = (
        f"clamped to [{aggregate.lower:g}, {aggregate.upper:g}] (fixed)"
        if aggregate.lower is not None and aggregate.upper is not None
        else "clamp range chosen per query with DP"
        if chooses
        else "clamped to the policy's range"
    )
    return f"{aggregate.alias} = {function}({aggregate.column}){quantile}, {clamp}"


def _contributions(plan: QueryPlan, chooses: bool) -> str:
    """Each contribution bound: fixed, chosen with DP, or the policy's maximum."""
    fixed = plan.contributions
    left = "chosen per query with DP" if chooses else "the policy's maximum"
    rows = (
        f"at most {fixed.rows_per_group} rows per member per cell (fixed)"
        if fixed.rows_per_group is not None
        else f"rows per member per cell {left}"
    )
    groups = (
        f"in at most {fixed.groups} cells (fixed)"
        if fixed.groups is not None
        else f"cells per member {left}"
    )
    return f"{rows}; {groups}"


def render_predicate(term: Predicate) -> str:
    if isinstance(term, Compare):
        return f"{term.column} {term.op} {term.value!r}"
    if isinstance(term, InSet):
        values = ", ".join(repr(v) for v in term.values)
        return f"{term.column} {'NOT IN' if term.negated else 'IN'} ({values})"
    if isinstance(term, Between):
        word = "NOT BETWEEN" if term.negated else "BETWEEN"
        return f"{term.column} {word} {term.low!r} AND {term.high!r}"
    if isinstance(term, IsNull):
        return f"{term.column} IS {'NOT ' if term.negated else ''}NULL"
    if isinstance(term, Not):
        return f"NOT ({render_predicate(term.term)})"
    joiner = " AND " if isinstance(term, And) else " OR "
    assert isinstance(term, And | Or)
    return joiner.join(f"({render_predicate(t)})" for t in term.terms)
