"""What is wrong with one node of a refused query, named with its own code.

The compiler accepts shapes; everything it does not accept is handed here,
node by node, to be named: an identifier leak, a file or catalog read, a
subquery, a window, a function outside the subset... Nothing here accepts
anything: ``None`` only means "neutral by itself" (a name, a constant).
"""

from __future__ import annotations

from typing import Literal

from sqlglot import exp
from sqlglot.tokenizer_core import TokenType

from gateway.errors import Issue
from gateway.policy.model import ColumnRole, Policy
from gateway.vet import names
from gateway.vet.codes import Code
from gateway.vet.scope import Bound, Scope
from gateway.vet.shapes import AGGREGATES, func_name, is_aggregate_call, is_constant
from gateway.vet.text import QueryText, did_you_mean, fold

Clause = Literal["output", "filter", "group", "other"]
"""The clause a node sits in, which decides the code of an identifier found there."""

IDENTIFIER_CODES: dict[Clause, Code] = {
    "output": Code.IDENTIFIER_IN_EXPRESSION,
    "filter": Code.IDENTIFIER_IN_FILTER,
    "group": Code.IDENTIFIER_IN_GROUP_BY,
    "other": Code.IDENTIFIER_IN_EXPRESSION,
}
IDENTIFIER_WORDING: dict[Code, tuple[str, str]] = {
    Code.IDENTIFIER_IN_OUTPUT: (
        "`{column}` is {what} and is never released",
        "count instead: COUNT(DISTINCT {unit}) or COUNT(*)",
    ),
    Code.IDENTIFIER_IN_FILTER: (
        "filtering on `{column}` ({what}) would single out rows",
        "filter on categories, dates or measures",
    ),
    Code.IDENTIFIER_IN_GROUP_BY: (
        "grouping on `{column}` ({what}) would make groups of one",
        "group on a category or date column",
    ),
    Code.IDENTIFIER_IN_EXPRESSION: (
        "`{column}` is {what}; it may appear only in the members join and in "
        "COUNT(DISTINCT {unit})",
        "use COUNT(DISTINCT {unit}) to count members",
    ),
}
"""Message and hint per identifier code, filled in with the column, what it is and the unit."""
ROWS_HINT = "select group keys and aggregates such as COUNT(*)"
SUBSET_HINT = "see docs/vetting.md for the SQL the gateway accepts"
NEUTRAL = (
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Var,
    exp.DataType,
    exp.Paren,
    exp.Alias,
    exp.Distinct,
    exp.If,
    exp.IgnoreNulls,
    exp.RespectNulls,
    exp.Neg,
    exp.TableAlias,
)
"""Parts that are harmless in themselves; their parent or children carry any issue."""
REFUSED_CONSTRUCTS: tuple[tuple[type | tuple[type, ...], Code, str, str], ...] = (
    (
        exp.Query,
        Code.SUBQUERY,
        "subqueries cannot be bounded by the DP engine",
        "filter with constants in WHERE; join only members",
    ),
    (
        (exp.Window, exp.WindowSpec),
        Code.WINDOW_FUNCTION,
        "window functions are not supported",
        "aggregate with GROUP BY instead of OVER (...)",
    ),
    (
        exp.Filter,
        Code.UNSUPPORTED_EXPRESSION,
        "FILTER (WHERE ...) on an aggregate is not supported",
        "move the condition to the query's WHERE",
    ),
    (
        exp.Case,
        Code.UNSUPPORTED_EXPRESSION,
        "CASE expressions are not supported",
        "filter rows with WHERE instead of choosing values with CASE",
    ),
    (exp.Lambda, Code.LAMBDA, "lambda functions are not supported", SUBSET_HINT),
    (
        (exp.Placeholder, exp.Parameter),
        Code.UNSUPPORTED_EXPRESSION,
        "query parameters are not supported",
        "write the value into the query",
    ),
)
"""Constructs refused whatever they hold, in the order they are tried: code, message, hint."""


class Classifier:
    """Names the issue a node is by itself, for one query."""

    def __init__(self, text: QueryText, scope: Scope, policy: Policy) -> None:
        self.text = text
        self.scope = scope
        self.policy = policy

    def table(self, node: exp.Table) -> str | Issue:
        """The policy table a FROM item names, or why it names none."""
        target = node.this
        if isinstance(target, exp.Func):
            name = func_name(target)
            hint = "query the extract tables: " + ", ".join(self.policy.tables)
            if names.is_system(name) and not names.is_file_reader(name):
                return self.text.issue(
                    Code.SYSTEM_CATALOG,
                    f"`{name}()` reads the engine's catalog or settings",
                    node,
                    hint=hint,
                )
            return self.text.issue(
                Code.TABLE_FUNCTION,
                f"`{name}()` is a table function; only extract tables can be read",
                node,
                hint=hint,
            )
        if not isinstance(target, exp.Identifier):
            return self.text.issue(
                Code.TABLE_FUNCTION,
                "only extract tables can be read",
                node,
                hint=self.tables_hint(),
            )
        name = target.name
        schema = node.text("db")
        if fold(schema) in names.SYSTEM_SCHEMAS or (
            fold(name) not in self.policy.tables and names.is_system(fold(name) or "")
        ):
            return self.text.issue(
                Code.SYSTEM_CATALOG,
                f"`{node.sql(dialect='duckdb')}` is a system catalog",
                node,
                hint=self.tables_hint(),
            )
        if node.args.get("catalog") is not None or (schema and fold(schema) != "main"):
            return self.text.issue(
                Code.UNKNOWN_TABLE,
                f"`{node.sql(dialect='duckdb')}` is not an extract table; the extract tables "
                "live in the schema `main`",
                node,
                hint=f"write {name} or main.{name}",
            )
        table = fold(name)
        if self.text.token_type(target) is TokenType.STRING or names.looks_like_path(name):
            return self.text.issue(
                Code.TABLE_FUNCTION,
                f"'{name}' would read a file; only extract tables can be read",
                node,
                hint=self.tables_hint(),
            )
        if table in self.policy.tables:
            return table
        return self.text.issue(
            Code.UNKNOWN_TABLE,
            f"`{name}` is not an extract table",
            node,
            hint=did_you_mean(name, self.policy.tables) or self.tables_hint(),
        )

    def tables_hint(self) -> str:
        return "the extract tables are: " + ", ".join(self.policy.tables)

    def identifier(self, node: exp.Expr, bound: Bound, clause: Clause, bare: bool) -> Issue:
        what = "the privacy unit" if bound.spec.role is ColumnRole.PRIVACY_UNIT else "an identifier"
        code = IDENTIFIER_CODES[clause]
        if clause == "output" and bare:
            code = Code.IDENTIFIER_IN_OUTPUT
        message, hint = IDENTIFIER_WORDING[code]
        words = {"column": bound.ref.column, "what": what, "unit": self.policy.privacy_unit}
        return self.text.issue(code, message.format(**words), node, hint.format(**words))

    def misplaced(self, node: exp.Expr, keyword: str) -> Issue:
        """An aggregate in WHERE or GROUP BY, which act on rows, not on groups."""
        return self.text.issue(
            Code.MISPLACED_AGGREGATE,
            f"an aggregate cannot appear in {keyword}",
            node,
            "aggregates belong in the SELECT list",
        )

    def node(self, node: exp.Expr, clause: Clause, bare: bool, nested: bool) -> Issue | None:
        """The issue a node is by itself, or None for neutral parts (names, constants)."""
        issue = self.text.issue
        if type(node) is exp.Table:
            found = self.table(node)
            return found if isinstance(found, Issue) else None
        if nested:
            return self._read(node) if isinstance(node, exp.Func) else None
        if type(node) is exp.Column:
            if isinstance(node.this, exp.Star):
                return issue(Code.ROW_LEVEL_OUTPUT, "`*` stands for whole rows", node, ROWS_HINT)
            bound = self.scope.resolve(node)
            if not isinstance(bound, Bound):
                return bound
            if not bound.protected:
                return None
            return self.identifier(node, bound, clause, bare)
        if isinstance(node, exp.Star) and type(node.parent) is not exp.Count:
            return issue(Code.ROW_LEVEL_OUTPUT, "`*` stands for whole rows", node, ROWS_HINT)
        for kinds, code, message, hint in REFUSED_CONSTRUCTS:
            if isinstance(node, kinds):
                return issue(code, message, node, hint)
        if isinstance(node, NEUTRAL) or is_constant(node):
            return None
        if isinstance(node, exp.Func):
            return self._call(node, clause)
        return self.text.issue(*unsupported(node, clause))

    def _read(self, node: exp.Func) -> Issue | None:
        """A call that reads the engine's settings or catalog, or files."""
        name = func_name(node)
        if names.is_system(name) and not names.is_file_reader(name):
            return self.text.issue(
                Code.SYSTEM_CATALOG,
                f"`{name}` reads the engine's settings, environment or catalog",
                node,
                "nothing about the engine is released",
            )
        if names.is_file_reader(name):
            return self.text.issue(
                Code.TABLE_FUNCTION,
                f"`{name}` reads files or other data; only extract tables can be read",
                node,
                self.tables_hint(),
            )
        return None

    def _call(self, node: exp.Func, clause: Clause) -> Issue | None:
        name = func_name(node)
        read = self._read(node)
        if read is not None:
            return read
        if type(node) in AGGREGATES or is_aggregate_call(node):
            if clause in ("filter", "group"):
                return self.misplaced(node, "WHERE" if clause == "filter" else "GROUP BY")
            if type(node) in AGGREGATES:
                return None
            return self.text.issue(
                Code.AGGREGATE_NOT_ALLOWED,
                f"`{name}` is not an aggregate the gateway can make differentially private",
                node,
                "allowed: COUNT(*), COUNT(DISTINCT member_pid), SUM, AVG, MEDIAN and "
                "QUANTILE_CONT over measures",
            )
        if type(node) is exp.Anonymous:
            return self.text.issue(
                Code.UDF,
                f"`{name}` is not a function the vetter knows; user-defined functions and "
                "macros cannot be called",
                node,
                SUBSET_HINT,
            )
        return self.text.issue(
            Code.FUNCTION_NOT_ALLOWED,
            f"`{name}` is not allowed here",
            node,
            SUBSET_HINT,
        )


def unsupported(node: exp.Expr, clause: Clause) -> tuple[Code, str, exp.Expr, str]:
    where = {
        "output": "the SELECT list holds group keys and aggregates only",
        "filter": "WHERE compares columns with constants written out, such as 'sleep' or "
        "DATE '2024-01-01'",
        "group": "GROUP BY takes category and date columns (optionally date_trunc)",
        "other": "this construct is outside the accepted SQL",
    }[clause]
    if is_constant(node) or isinstance(node, exp.Null):
        what = "a constant"
    elif isinstance(node, exp.Func):
        what = f"`{func_name(node)}`"
    else:
        what = "this expression"
    return Code.UNSUPPORTED_EXPRESSION, f"{what} is not supported here: {where}", node, SUBSET_HINT
