"""``vet(sql, policy)``: from researcher SQL to a ``QueryPlan``, or one ``VetError``.

The stages run in this order; each refuses before the next one starts, and
the last collects every issue it finds:

1. size: the policy's byte limit, checked before the text is tokenised;
2. tokens: sqlglot's tokeniser, a flat scan;
3. statement: exactly one statement, starting like a query;
4. nesting: depth measured on the tokens, so the recursive parser only ever
   sees shallow input;
5. parse: sqlglot, DuckDB dialect;
6. depth: the tree's expression depth (chains such as ``1+1+...`` nest
   without parentheses), measured without recursion;
7. compile: the allow-list walk that builds the plan (``compile/``, one module
   per clause).
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.tokenizer_core import Token

from gateway.errors import Issue, VetError
from gateway.plan import QueryPlan
from gateway.policy.model import Limits, Policy
from gateway.vet.codes import Code
from gateway.vet.compile import compile_select
from gateway.vet.gate import (
    check_nesting,
    check_size,
    check_statement_kind,
    single_statement,
    token_error,
    too_deep,
)
from gateway.vet.text import QueryText

MAX_ISSUES = 50
"""A query this wrong is better rewritten than read issue by issue."""

_DIALECT = DuckDB()


def vet(sql: str, policy: Policy) -> QueryPlan:
    """The plan for ``sql`` under ``policy``; raises one ``VetError`` listing every issue."""
    _refuse(check_size(sql, policy.limits))
    try:
        tokens = _DIALECT.tokenize(sql)
    except TokenError as error:
        raise rejected([token_error(QueryText(sql), error)]) from None
    text = QueryText(sql, tokens)
    statement, issues = single_statement(text, tokens)
    _refuse(issues)
    _refuse(check_statement_kind(text, statement))
    _refuse(check_nesting(text, statement, policy.limits))
    tree = _parse(text, statement, policy.limits)
    _refuse(_check_depth(text, tree, policy.limits))
    plan, issues = compile_select(tree, text, policy)
    _refuse(issues)
    assert plan is not None
    return plan


def rejected(issues: list[Issue]) -> VetError:
    """One error carrying every issue, in the order they appear in the text."""
    unique = {(i.code, i.start, i.end, i.message): i for i in issues}
    ordered = sorted(unique.values(), key=lambda i: -1 if i.start is None else i.start)
    first = ordered[0]
    more = f" (and {len(ordered) - 1} more)" if len(ordered) > 1 else ""
    return VetError(
        Code.QUERY_REJECTED,
        f"{first.message}{more}",
        hint=first.hint,
        issues=ordered[:MAX_ISSUES],
    )


def _refuse(issues: list[Issue]) -> None:
    if issues:
        raise rejected(issues)


def _parse(text: QueryText, statement: list[Token], limits: Limits) -> exp.Expr:
    try:
        trees = _DIALECT.parser(error_level=ErrorLevel.IMMEDIATE).parse(statement, text.sql)
    except ParseError as error:
        raise rejected([_parse_issue(text, error)]) from None
    except RecursionError:
        raise rejected([too_deep(text, None, limits)]) from None
    except Exception as error:  # fail closed on any parser failure
        raise rejected(
            [text.issue(Code.PARSE_ERROR, f"the query cannot be parsed ({type(error).__name__})")]
        ) from None
    found = [tree for tree in trees if tree is not None]
    if len(found) != 1:
        message = "the query cannot be parsed as one statement"
        raise rejected([text.issue(Code.PARSE_ERROR, message)])
    return found[0]


def _parse_issue(text: QueryText, error: ParseError) -> Issue:
    """sqlglot's first complaint, located in the text."""
    details = error.errors[0] if error.errors else {}
    description = str(details.get("description") or error)
    if description.startswith("Required keyword"):
        description = "a clause is incomplete"
    highlight = str(details.get("highlight") or "")
    line, column = details.get("line"), details.get("col")
    span = None
    if isinstance(line, int) and isinstance(column, int) and highlight:
        lines = text.sql.split("\n")
        if 1 <= line <= len(lines):
            end = sum(len(x) + 1 for x in lines[: line - 1]) + column
            if text.sql[end - len(highlight) : end] == highlight:
                span = (end - len(highlight), end)
    return text.issue(
        Code.PARSE_ERROR,
        f"syntax error: {description}",
        span,
        hint="the gateway reads DuckDB SQL; see docs/vetting.md for the accepted subset",
    )


def _check_depth(text: QueryText, tree: exp.Expr, limits: Limits) -> list[Issue]:
    """Expression depth, counted without recursion; AND/OR chains count once."""
    stack: list[tuple[exp.Expr, int, type | None]] = [(tree, 0, None)]
    while stack:
        node, depth, parent = stack.pop()
        kind = type(node)
        if isinstance(node, exp.Condition) and not (kind in (exp.And, exp.Or) and kind is parent):
            depth += 1
        if depth > limits.max_nesting:
            return [too_deep(text, text.span(node), limits)]
        stack.extend((child, depth, kind) for child in node.iter_expressions())
    return []
