"""What the clause modules share while they compile one SELECT.

Each clause reads the same query text, policy and scope, and records its
issues in the same list, so that every issue is collected before vetting
raises once. Anything a clause does not accept goes to ``reject``, which
fails closed: it has ``classify.py`` name each construct inside with its own
code.
"""

from __future__ import annotations

from sqlglot import exp

from gateway.errors import Issue
from gateway.policy.model import ColumnRole, Policy
from gateway.vet.classify import Classifier, Clause, unsupported
from gateway.vet.codes import Code
from gateway.vet.scope import Bound, Scope
from gateway.vet.text import QueryText, Span

CONSTRUCTS = frozenset({Code.UNSUPPORTED_EXPRESSION, Code.FUNCTION_NOT_ALLOWED, Code.UDF})
"""Codes for "this construct is outside the subset": one per branch is enough.

Under a refused construct only what reads protected data (identifiers,
files, catalogs, subqueries) is still worth its own issue.
"""
QUIET = frozenset({Code.UNSUPPORTED_EXPRESSION})
"""Codes a caller has already reported for the node it hands to ``reject_inside``."""


class Invalid:
    """Marks a part that could not be accepted (its issue is recorded)."""


INVALID = Invalid()


class Context:
    """One query being compiled: its text and policy, the tables in scope, the issues so far."""

    def __init__(self, text: QueryText, policy: Policy) -> None:
        self.text = text
        self.policy = policy
        self.scope = Scope(policy, text)
        self.classify = Classifier(text, self.scope, policy)
        self.issues: list[Issue] = []
        self._fallback: Span | None = None
        """Where the clause being compiled starts: the place of an issue with none."""
        self.derived: set[str | None] = set()
        """Names defined by WITH, refused there rather than again as unknown tables."""

    def enter(self, keyword: str) -> None:
        """Start on the clause ``keyword`` opens: issues with no place of their own point there."""
        self._fallback = self.text.keyword(keyword)

    def add(
        self,
        code: Code,
        message: str,
        at: exp.Expr | Span | None,
        hint: str | None = None,
    ) -> None:
        self.push(self.text.issue(code, message, at, hint))

    def push(self, issue: Issue) -> None:
        if issue.start is None and self._fallback is not None:
            issue = self.text.issue(Code(issue.code), issue.message, self._fallback, issue.hint)
        self.issues.append(issue)

    def has(self, code: Code) -> bool:
        return any(issue.code == code for issue in self.issues)

    def resolved(self, column: exp.Column) -> Bound | None:
        """The policy column a reference names, or None with the reason recorded."""
        bound = self.scope.resolve(column)
        if isinstance(bound, Issue):
            self.push(bound)
            return None
        return bound

    def unprotected(self, column: exp.Column, clause: Clause) -> Bound | None:
        """The policy column a reference names, or None if it is unknown or protected.

        A protected column (the privacy unit, an identifier) is refused with
        the code for the clause it stands in.
        """
        bound = self.resolved(column)
        if bound is not None and bound.protected:
            self.push(self.classify.identifier(column, bound, clause, bare=True))
            return None
        return bound

    def measures_hint(self) -> str:
        """The measure columns of the tables in scope (of all tables before FROM is bound)."""
        tables = list(dict.fromkeys(self.scope.bindings.values())) or list(self.policy.tables)
        found = [
            name
            for table in tables
            for name, spec in self.policy.tables[table].columns.items()
            if spec.role is ColumnRole.MEASURE
        ]
        return ", ".join(found) or "none in these tables"

    def reject(self, root: exp.Expr, clause: Clause) -> None:
        """Refuse ``root``, and name every refused construct inside it."""
        before = len(self.issues)
        self.reject_inside(root, clause, bare=True)
        if len(self.issues) == before:
            self.add(*unsupported(root, clause))

    def reject_inside(
        self,
        root: exp.Expr,
        clause: Clause,
        *,
        above: frozenset[str] = frozenset(),
        skip_root: bool = False,
        nested: bool = False,
        bare: bool = False,
    ) -> None:
        """Name each refused construct under ``root``, once per code along a branch.

        ``above`` holds codes already reported for an enclosing node;
        ``nested`` means inside a subquery, where only reads of files, system
        catalogs and tables are worth naming.
        """
        stack = [(root, above, bare, nested, skip_root)]
        while stack:
            node, codes, is_bare, inner, skip = stack.pop()
            issue = None if skip else self.classify.node(node, clause, is_bare, inner)
            if issue is not None and issue.code not in codes:
                self.push(issue)
                codes = codes | (
                    {issue.code} | CONSTRUCTS if issue.code in CONSTRUCTS else {issue.code}
                )
            inner = inner or isinstance(node, exp.Query)
            stack.extend((child, codes, False, inner, False) for child in node.iter_expressions())
