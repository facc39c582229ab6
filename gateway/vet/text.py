"""The query text, its tokens, and how to point at a fragment of it.

Every ``Issue`` the vetter raises is located: ``start``/``end`` are 0-based
character offsets (``end`` exclusive), ``line``/``column`` are 1-based, and
``highlight`` is the fragment itself, so the CLI and the web portal can put a
caret under it.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Iterable

from sqlglot import exp
from sqlglot.tokenizer_core import Token, TokenType

from gateway.errors import Issue
from gateway.vet.codes import Code

Span = tuple[int, int]
"""``(start, end)`` character offsets, ``end`` exclusive."""

_L_PAREN = TokenType.L_PAREN
_PAIRS = {
    TokenType.L_PAREN: TokenType.R_PAREN,
    TokenType.L_BRACKET: TokenType.R_BRACKET,
    TokenType.L_BRACE: TokenType.R_BRACE,
    TokenType.CASE: TokenType.END,
}
_OPENED_BY: dict[type[exp.Expr], TokenType] = {
    exp.Paren: TokenType.L_PAREN,
    exp.Subquery: TokenType.L_PAREN,
    exp.Tuple: TokenType.L_PAREN,
    exp.Array: TokenType.L_BRACKET,
    exp.Struct: TokenType.L_BRACE,
    exp.Case: TokenType.CASE,
}
"""Nodes whose text starts at a bracket (or CASE) that no child records."""
_NOT_KEYWORDS = frozenset({TokenType.STRING, TokenType.IDENTIFIER})


class QueryText:
    """The researcher's SQL with its tokens, for locating issues."""

    def __init__(self, sql: str, tokens: list[Token] | None = None) -> None:
        self.sql = sql
        self.tokens = tokens or []
        self._token_at = {t.start: i for i, t in enumerate(self.tokens)}
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(sql) if ch == "\n"]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def issue(
        self,
        code: Code,
        message: str,
        at: exp.Expr | Span | None = None,
        hint: str | None = None,
    ) -> Issue:
        span = self.span(at) if isinstance(at, exp.Expr) else at
        if span is None:
            return Issue(code=code, message=message, hint=hint)
        start, end = span
        line, column = self.position(start)
        return Issue(
            code=code,
            message=message,
            line=line,
            column=column,
            start=start,
            end=end,
            highlight=self.sql[start:end],
            hint=hint,
        )

    def token_span(self, first: Token, last: Token) -> Span:
        return first.start, last.end + 1

    def token_type(self, node: exp.Expr) -> TokenType | None:
        """The kind of token a leaf node was read from (a 'string' or a "name")."""
        index = self._token_at.get(node.meta.get("start", -1))
        return None if index is None else self.tokens[index].token_type

    def keyword(self, word: str) -> Span | None:
        """Where a keyword (``HAVING``, ``UNION``, ...) first appears, if it does."""
        word = word.upper()
        for token in self.tokens:
            text = token.text.upper()
            if token.token_type not in _NOT_KEYWORDS and text.split(" ")[0] == word:
                return self.token_span(token, token)
        return None

    def span(self, node: exp.Expr) -> Span | None:
        """The text a node was parsed from, as far as its tokens tell.

        sqlglot records positions on identifiers, literals and function
        names. A node's span is the union of its descendants', widened to the
        brackets, ``CASE ... END`` or ``OVER (...)`` that belong to it; a node
        with no position at all borrows its nearest located ancestor's.
        """
        current: exp.Expr | None = node
        while current is not None:
            if isinstance(current, exp.Query) and current is not node:
                return None
            found = self._own_span(current)
            if found is not None:
                return found
            current = current.parent
        return None

    def _own_span(self, node: exp.Expr) -> Span | None:
        first = last = None
        for sub in node.walk():
            index = self._token_at.get(sub.meta.get("start", -1))
            if index is None:
                continue
            close = self._closing(index) if isinstance(sub, exp.Func) else index
            first = index if first is None else min(first, index)
            last = close if last is None else max(last, close)
        if first is None or last is None:
            return None
        first, last = self._widen(node, *self._balance(first, last))
        return self.tokens[first].start, self.tokens[last].end + 1

    def _balance(self, first: int, last: int) -> tuple[int, int]:
        """Grow tokens first..last until every bracket (and CASE/END) in it is paired."""
        tokens = self.tokens
        for opener, closer in _PAIRS.items():
            depth = 0
            for token in tokens[first : last + 1]:
                if token.token_type is opener:
                    depth += 1
                elif token.token_type is closer:
                    depth -= 1
            while depth > 0 and last + 1 < len(tokens):
                last += 1
                depth -= (tokens[last].token_type is closer) - (tokens[last].token_type is opener)
            while depth < 0 and first > 0:
                first -= 1
                depth += (tokens[first].token_type is opener) - (tokens[first].token_type is closer)
        return first, last

    def _widen(self, node: exp.Expr, first: int, last: int) -> tuple[int, int]:
        """Take in the tokens around a node's children that are part of the node."""
        tokens = self.tokens
        opener = _OPENED_BY.get(type(node))
        if opener is not None:
            return self._enclosing(first, last, opener)
        if isinstance(node, exp.Window):
            over = next(
                (i for i in range(first, len(tokens)) if tokens[i].token_type is TokenType.OVER),
                None,
            )
            if over is not None and over + 1 < len(tokens):
                return first, max(last, self._closing(over + 1))
        if isinstance(node, exp.Cast):
            if last + 2 < len(tokens) and tokens[last + 1].token_type is TokenType.DCOLON:
                return first, self._closing(last + 2)
            if first > 1 and tokens[first - 1].token_type is _L_PAREN:
                return first - 2, self._closing(first - 2)
            if first > 0:
                return first - 1, last
        unlocated_call = isinstance(node, exp.Func) and "start" not in node.meta
        if unlocated_call and first > 1 and tokens[first - 1].token_type is _L_PAREN:
            # sqlglot did not record this call: its name and "(" precede its arguments
            return first - 2, max(last, self._closing(first - 1))
        return first, last

    def _enclosing(self, first: int, last: int, opener: TokenType) -> tuple[int, int]:
        """The innermost ``opener`` ... closer pair around tokens first..last."""
        closer = _PAIRS[opener]
        depth = 0
        for index in range(first - 1, -1, -1):
            kind = self.tokens[index].token_type
            if kind is closer:
                depth += 1
            elif kind is opener:
                if depth == 0:
                    return index, max(last, self._closing(index))
                depth -= 1
        return first, last

    def _closing(self, index: int) -> int:
        """Index of the token closing the bracket, call or CASE that opens at ``index``."""
        kind = self.tokens[index].token_type
        if kind not in _PAIRS and index + 1 < len(self.tokens):
            if self.tokens[index + 1].token_type is not _L_PAREN:
                return index
            index, kind = index + 1, _L_PAREN
        if kind not in _PAIRS:
            return index
        close = _PAIRS[kind]
        depth = 0
        for offset, token in enumerate(self.tokens[index:]):
            if token.token_type is kind:
                depth += 1
            elif token.token_type is close:
                depth -= 1
                if depth == 0:
                    return index + offset
        return index


def covering(spans: Iterable[Span | None]) -> Span | None:
    """The smallest span that holds every located span given, if any is located."""
    found = [span for span in spans if span is not None]
    if not found:
        return None
    return min(span[0] for span in found), max(span[1] for span in found)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A hint naming the closest candidate, if any is close."""
    close = difflib.get_close_matches(name.lower(), sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def fold(name: str) -> str | None:
    """DuckDB's case-insensitive identifier key, or None for non-ASCII names.

    DuckDB folds identifiers with ASCII rules, quoted or not; Unicode case
    mappings (the Kelvin sign lower-cases to ``k``) must not make a look-alike
    name match a real one.
    """
    return name.lower() if name.isascii() else None
