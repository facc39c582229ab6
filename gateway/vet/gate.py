"""Checks on the raw text and its tokens, before anything is parsed.

These run first because they protect the parser: a query over the size
limit is refused before it is even tokenised, and nesting is measured on the
flat token list (no recursion), so deeply nested input never reaches
sqlglot's recursive-descent parser.
"""

from __future__ import annotations

import re

from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

from gateway.errors import Issue
from gateway.policy.model import Limits
from gateway.vet.codes import Code
from gateway.vet.names import FORBIDDEN_STATEMENTS
from gateway.vet.text import QueryText

_QUERY_STARTS = frozenset({TokenType.SELECT, TokenType.FROM, TokenType.WITH, TokenType.L_PAREN})
_OPENERS = frozenset({TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE, TokenType.CASE})
_CLOSERS = frozenset({TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE, TokenType.END})
_PREFIX = frozenset({TokenType.NOT, TokenType.DASH, TokenType.PLUS, TokenType.TILDE})
_TOKEN_ERROR_AT = re.compile(r"from \d+:(\d+)$")


def check_size(sql: str, limits: Limits) -> list[Issue]:
    size = len(sql.encode("utf-8", "surrogatepass"))
    if size <= limits.max_query_bytes:
        return []
    return [
        Issue(
            code=Code.QUERY_TOO_LONG,
            message=f"the query is {size} bytes; the policy allows {limits.max_query_bytes}",
            hint="shorten the query: long IN lists can often become a range (BETWEEN)",
        )
    ]


def token_error(text: QueryText, error: TokenError) -> Issue:
    """Locate a tokeniser failure (an unterminated string, quote or comment)."""
    cause = str(error.__cause__ or "")
    found = _TOKEN_ERROR_AT.search(cause)
    start = int(found.group(1)) if found else (error.start or 0)
    start = min(start, max(len(text.sql) - 1, 0))
    return text.issue(
        Code.PARSE_ERROR,
        "the query cannot be read: a string, quoted name or comment is not closed",
        (start, len(text.sql)),
        hint="close every ' string, \" name and /* comment",
    )


def single_statement(text: QueryText, tokens: list[Token]) -> tuple[list[Token], list[Issue]]:
    """The tokens of the one statement, or an issue if there are none or several."""
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type is TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    statements = [s for s in statements if s]
    if not statements:
        return [], [text.issue(Code.EMPTY_QUERY, "the query is empty", hint="write one SELECT")]
    if len(statements) > 1:
        second = statements[1]
        return [], [
            text.issue(
                Code.MULTIPLE_STATEMENTS,
                f"the text holds {len(statements)} statements; the gateway runs exactly one",
                text.token_span(second[0], second[-1]),
                hint="submit a single SELECT, without a second statement after `;`",
            )
        ]
    return statements[0], []


def check_statement_kind(text: QueryText, statement: list[Token]) -> list[Issue]:
    """Refuse anything that does not start like a query, without parsing it."""
    first = statement[0]
    if first.token_type in _QUERY_STARTS:
        return []
    keyword = first.text.lower()
    span = text.token_span(first, first)
    if keyword in FORBIDDEN_STATEMENTS and first.token_type not in (
        TokenType.STRING,
        TokenType.IDENTIFIER,
    ):
        return [
            text.issue(
                Code.FORBIDDEN_STATEMENT,
                f"{first.text.upper()} statements change data, settings, files or extensions "
                "and are never run",
                span,
                hint="the gateway answers one read-only SELECT over the extract tables",
            )
        ]
    return [
        text.issue(
            Code.NOT_SELECT,
            f"the query starts with `{first.text}`; only SELECT queries are answered",
            span,
            hint="write SELECT ... FROM <table> ...",
        )
    ]


def check_nesting(text: QueryText, statement: list[Token], limits: Limits) -> list[Issue]:
    """Refuse nesting beyond the policy's limit, measured on the flat tokens.

    Parentheses, brackets, braces and CASE ... END open a level; a run of
    prefix operators (``NOT NOT -x``) adds one level per operator.
    """
    depth = run = 0
    for token in statement:
        kind = token.token_type
        if kind in _OPENERS:
            depth += 1
        elif kind in _CLOSERS:
            depth = max(depth - 1, 0)
        run = run + 1 if kind in _PREFIX else 0
        if depth + run > limits.max_nesting:
            return [too_deep(text, text.token_span(token, token), limits)]
    return []


def too_deep(text: QueryText, span: tuple[int, int] | None, limits: Limits) -> Issue:
    return text.issue(
        Code.TOO_DEEPLY_NESTED,
        f"the query nests expressions deeper than the policy's limit of {limits.max_nesting}",
        span,
        hint="remove redundant parentheses or split the condition into simpler terms",
    )
