"""Compile one parsed SELECT into a ``QueryPlan``, or list everything wrong with it.

This is an allow-list: each clause accepts exactly the shapes the plan can
express (see docs/vetting.md) and hands anything else to ``_reject``, which
names the construct with its own error code. No node, function or clause
reaches the plan unless a line here accepts it explicitly.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, cast

from sqlglot import exp
from sqlglot.tokenizer_core import TokenType

from gateway.errors import Issue
from gateway.policy.model import Aggregation, Column, ColumnRole, Policy
from gateway.vet import names
from gateway.vet.codes import Code
from gateway.vet.plan import (
    Aggregate,
    And,
    Between,
    ColumnRef,
    Compare,
    GroupKey,
    InSet,
    IsNull,
    Not,
    Or,
    OrderBy,
    Predicate,
    QueryPlan,
)
from gateway.vet.plan import Literal_ as Value
from gateway.vet.scope import Bound, Scope
from gateway.vet.text import QueryText, Span, did_you_mean, fold

Context = Literal["output", "filter", "group", "other"]
Bucket = Literal["month", "year"]

_IDENTIFIER_CODES: dict[Context, Code] = {
    "output": Code.IDENTIFIER_IN_EXPRESSION,
    "filter": Code.IDENTIFIER_IN_FILTER,
    "group": Code.IDENTIFIER_IN_GROUP_BY,
    "other": Code.IDENTIFIER_IN_EXPRESSION,
}
_AGGREGATES: dict[type[exp.Expr], tuple[Aggregation, frozenset[str]]] = {
    exp.Count: (Aggregation.COUNT, frozenset({"this", "big_int"})),
    exp.Sum: (Aggregation.SUM, frozenset({"this"})),
    exp.Avg: (Aggregation.MEAN, frozenset({"this"})),
    exp.Median: (Aggregation.MEDIAN, frozenset({"this"})),
    exp.PercentileCont: (Aggregation.QUANTILE, frozenset({"this", "expression"})),
    exp.PercentileDisc: (Aggregation.QUANTILE, frozenset({"this", "expression"})),
    exp.Quantile: (Aggregation.QUANTILE, frozenset({"this", "quantile"})),
}
"""The aggregate calls the plan expresses, with the arguments each may carry."""

_COMPARISONS: dict[type[exp.Expr], tuple[str, str]] = {
    exp.EQ: ("=", "="),
    exp.NEQ: ("!=", "!="),
    exp.LT: ("<", ">"),
    exp.LTE: ("<=", ">="),
    exp.GT: (">", "<"),
    exp.GTE: (">=", "<="),
}
"""Operator, and the operator with its sides swapped (``5 < x`` is ``x > 5``)."""

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
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MAX_ALIAS = 64


@dataclass(frozen=True)
class Key:
    """A group key: a category or date column, perhaps bucketed."""

    bound: Bound
    bucket: Bucket | None

    @property
    def ident(self) -> tuple[ColumnRef, Bucket | None]:
        return self.bound.ref, self.bucket

    def default_alias(self) -> str:
        column = self.bound.ref.column
        return column if self.bucket is None else f"{column}_{self.bucket}"


@dataclass(frozen=True)
class Stat:
    """An accepted aggregate, before it is given its output name."""

    function: Aggregation
    bound: Bound | None = None
    quantile: float | None = None

    @property
    def ident(self) -> tuple[Aggregation, ColumnRef | None, float | None]:
        return self.function, self.bound.ref if self.bound else None, self.quantile

    def default_alias(self) -> str:
        if self.bound is None:
            return self.function.value
        column = self.bound.ref.column
        if self.quantile is not None:
            return f"p{self.quantile * 100:g}_{column}"
        return f"{self.function.value}_{column}"

    def to_plan(self, alias: str) -> Aggregate:
        """The plan's aggregate, with the policy's clamp bounds copied in."""
        if self.bound is None:
            return Aggregate(function=self.function, alias=alias)
        spec = self.bound.spec
        return Aggregate(
            function=self.function,
            column=self.bound.ref,
            quantile=self.quantile,
            lower=spec.lower,
            upper=spec.upper,
            alias=alias,
        )


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


class _Invalid:
    """Marks a literal that could not be accepted (its issue is recorded)."""


_INVALID = _Invalid()


def compile_select(
    tree: exp.Expr, text: QueryText, policy: Policy
) -> tuple[QueryPlan | None, list[Issue]]:
    """The plan for a parsed statement, and every issue found on the way."""
    compiler = _Compiler(text, policy)
    plan = compiler.compile(tree)
    return (plan if not compiler.issues else None), compiler.issues


class _Compiler:
    def __init__(self, text: QueryText, policy: Policy) -> None:
        self.text = text
        self.policy = policy
        self.scope = Scope(policy, text)
        self.issues: list[Issue] = []
        self.fallback: Span | None = None
        """Where the clause being compiled starts: the place of an issue with none."""

    def add(
        self,
        code: Code,
        message: str,
        at: exp.Expr | Span | None,
        hint: str | None = None,
    ) -> None:
        self.push(self.text.issue(code, message, at, hint))

    def push(self, issue: Issue) -> None:
        if issue.start is None and self.fallback is not None:
            issue = self.text.issue(Code(issue.code), issue.message, self.fallback, issue.hint)
        self.issues.append(issue)

    def _has(self, code: Code) -> bool:
        return any(issue.code == code for issue in self.issues)

    # ------------------------------------------------------------ statement

    def compile(self, tree: exp.Expr) -> QueryPlan | None:
        if type(tree) is not exp.Select:
            self._not_a_select(tree)
            return None
        self._clauses(tree)
        table, joined = self._from(tree)
        self.fallback = self.text.keyword("SELECT")
        items = [self._item(node) for node in tree.expressions]
        if not items:
            self.add(Code.PARSE_ERROR, "the SELECT list is empty", None, "select an aggregate")
        self.fallback = self.text.keyword("WHERE")
        where = self._where(tree.args.get("where"))
        self.fallback = self.text.keyword("GROUP")
        keys = self._group_by(tree.args.get("group"), items)
        aggregated = any(item.aggregate_attempt for item in items)
        if aggregated:
            self._grouped(items, keys)
        stats = [(item, item.stat) for item in items if item.stat is not None]
        if items and not aggregated and not self._has(Code.ROW_LEVEL_OUTPUT):
            self.add(
                Code.ROW_LEVEL_OUTPUT,
                "the query has no aggregate, so it would return rows; only aggregates are released",
                _union(self.text, [i.node for i in items]),
                hint="add an aggregate such as COUNT(*) or AVG(helpful_votes), with GROUP BY",
            )
        outputs, named_keys = self._outputs(items, keys)
        self.fallback = self.text.keyword("ORDER")
        order = self._order_by(tree.args.get("order"), items, named_keys, outputs)
        self.fallback = self.text.keyword("LIMIT")
        limit = self._limit(tree.args.get("limit"))
        if self.issues or table is None:
            return None
        plan = QueryPlan(
            table=table,
            join_members=joined,
            where=where,
            group_by=tuple(
                GroupKey(column=k.bound.ref, bucket=k.bucket, alias=a) for k, a in named_keys
            ),
            aggregates=tuple(stat.to_plan(_name(item)) for item, stat in stats),
            order_by=tuple(order),
            limit=limit,
        )
        self._check_group_count(plan)
        return plan

    def _not_a_select(self, tree: exp.Expr) -> None:
        if isinstance(tree, exp.SetOperation):
            self.add(
                Code.SET_OPERATION,
                f"{type(tree).__name__.upper()} combines several queries; the gateway answers one",
                self.text.keyword(type(tree).__name__) or tree,
                hint="submit each SELECT as its own query",
            )
        elif isinstance(tree, exp.Subquery):
            self.add(
                Code.SUBQUERY,
                "the whole query is wrapped in parentheses",
                tree,
                hint="remove the outer parentheses",
            )
        elif isinstance(tree, exp.DDL | exp.DML | exp.Command):
            self.add(
                Code.FORBIDDEN_STATEMENT,
                "this statement changes data or settings and is never run",
                tree,
                hint="the gateway answers one read-only SELECT over the extract tables",
            )
        else:
            self.add(
                Code.NOT_SELECT,
                f"a {type(tree).__name__.upper()} statement is not a SELECT query",
                tree,
                hint="write SELECT ... FROM <table> ...",
            )

    def _clauses(self, select: exp.Select) -> None:
        for name, value in select.args.items():
            if name in _ACCEPTED_CLAUSES or not _present(value):
                continue
            code, keyword, hint = _CLAUSES.get(
                name,
                (
                    Code.UNSUPPORTED_CLAUSE,
                    name.strip("_").upper(),
                    "write SELECT ... FROM ... [JOIN members] [WHERE] [GROUP BY] "
                    "[ORDER BY] [LIMIT]",
                ),
            )
            node = value[0] if isinstance(value, list) else value
            at = _widen(self.text.keyword(keyword.split()[0]), self.text.span(node))
            self.add(code, f"{keyword} is not supported", at, hint)
            if code in {Code.CTE, Code.TABLE_FUNCTION}:
                self._reject_inside(node, "other", nested=True)

    # ------------------------------------------------------------ FROM / JOIN

    def _from(self, select: exp.Select) -> tuple[str | None, bool]:
        """The table the query reads, and whether members is joined to it."""
        source = select.args.get("from_")
        if source is None:
            self.add(
                Code.MISSING_FROM,
                "the query reads no table",
                _union(self.text, select.expressions),
                hint="add FROM tips (or another extract table)",
            )
            return None, False
        base = self._bind(source.this)
        joins: list[exp.Join] = select.args.get("joins") or []
        for extra in joins[1:]:
            self.add(
                Code.JOIN_NOT_ALLOWED,
                "only one join is allowed: the members table, on member_pid",
                extra,
                hint=self._join_hint(),
            )
        if not joins:
            return base, False
        other = self._bind(joins[0].this)
        self._check_join(joins[0], base, other)
        unit = self.policy.unit_table
        if base is None or other is None:
            return None, True
        if (base == unit) == (other == unit):
            self.add(
                Code.JOIN_NOT_ALLOWED,
                f"a join must pair {unit} with one other table",
                joins[0],
                hint=self._join_hint(),
            )
            return None, True
        return (other if base == unit else base), True

    def _bind(self, node: exp.Expr) -> str | None:
        """Add a FROM/JOIN source to the scope; the policy table it reads."""
        if type(node) is not exp.Table:
            if isinstance(node, exp.Query):
                self._reject(node, "other")
            else:
                self.add(
                    Code.TABLE_FUNCTION, "only extract tables can be read", node, self._tables()
                )
                self._reject_inside(node, "other", skip_root=True, nested=True)
            self.scope.complete = False
            return None
        table = self._table(node)
        if table is None:
            self.scope.complete = False
            return None
        alias = node.args.get("alias")
        extra = _extra_args(node, {"this", "db", "catalog", "alias"})
        if extra:
            self.add(
                Code.UNSUPPORTED_CLAUSE,
                f"table modifiers ({', '.join(extra)}) are not supported",
                node,
                hint="name the table, optionally with an alias: FROM tips t",
            )
        name = table
        if alias is not None:
            if _extra_args(alias, {"this"}):
                self.add(
                    Code.UNSUPPORTED_CLAUSE,
                    "renaming columns in FROM is not supported",
                    node,
                    hint="alias the table only: FROM tips t",
                )
            name = alias.name
        key = fold(name)
        if key is None or key in self.scope.bindings:
            self.scope.complete = False
            self.add(
                Code.DUPLICATE_OUTPUT if key else Code.UNKNOWN_TABLE,
                f"the table name or alias `{name}` is used twice"
                if key
                else f"`{name}` is not a usable alias",
                node,
                hint="give each table its own ASCII alias",
            )
            return None
        self.scope.bindings[key] = table
        return table

    def _table(self, node: exp.Table) -> str | None:
        """The policy table a FROM item names, or None with the reason recorded."""
        issue = self._table_issue(node)
        if isinstance(issue, Issue):
            self.push(issue)
            return None
        return issue

    def _table_issue(self, node: exp.Table) -> str | Issue:
        target = node.this
        if isinstance(target, exp.Func):
            name = _func_name(target)
            if names.is_system(name) and not names.is_file_reader(name):
                return self.text.issue(
                    Code.SYSTEM_CATALOG,
                    f"`{name}()` reads the engine's catalog or settings",
                    node,
                    hint="query the extract tables: " + ", ".join(self.policy.tables),
                )
            return self.text.issue(
                Code.TABLE_FUNCTION,
                f"`{name}()` is a table function; only extract tables can be read",
                node,
                hint="query the extract tables: " + ", ".join(self.policy.tables),
            )
        if not isinstance(target, exp.Identifier):
            return self.text.issue(
                Code.TABLE_FUNCTION, "only extract tables can be read", node, hint=self._tables()
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
                hint=self._tables(),
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
                hint=self._tables(),
            )
        if table in self.policy.tables:
            return table
        return self.text.issue(
            Code.UNKNOWN_TABLE,
            f"`{name}` is not an extract table",
            node,
            hint=did_you_mean(name, self.policy.tables) or self._tables(),
        )

    def _tables(self) -> str:
        return "the extract tables are: " + ", ".join(self.policy.tables)

    def _join_hint(self) -> str:
        pid, unit = self.policy.privacy_unit, self.policy.unit_table
        return f"JOIN {unit} m ON t.{pid} = m.{pid}"

    def _check_join(self, join: exp.Join, base: str | None, other: str | None) -> None:
        kind = join.args.get("kind")
        extra = _extra_args(join, {"this", "on", "kind"})
        if extra or (kind is not None and str(kind).upper() != "INNER"):
            described = " ".join(
                str(join.args[a]).upper() for a in ("method", "side", "kind") if join.args.get(a)
            )
            if join.args.get("using"):
                described = "USING"
            self.add(
                Code.JOIN_NOT_ALLOWED,
                f"{described or 'this'} join is not allowed; only an inner join on "
                f"{self.policy.privacy_unit} is",
                join,
                hint=self._join_hint(),
            )
            return
        on = join.args.get("on")
        if on is None:
            self.add(
                Code.JOIN_NOT_ALLOWED,
                "a join without ON pairs every row with every row",
                join,
                hint=self._join_hint(),
            )
            return
        if base is None or other is None:
            return
        condition = _unparen(on)
        sides = (
            [_unparen(condition.this), _unparen(condition.expression)]
            if type(condition) is exp.EQ
            else []
        )
        bound = [self.scope.resolve(s) for s in sides if type(s) is exp.Column]
        refs = {b.ref.table for b in bound if isinstance(b, Bound) and b.spec.role is _UNIT}
        if len(bound) != 2 or refs != {base, other}:
            self.add(
                Code.JOIN_NOT_ALLOWED,
                f"the join condition must be exactly "
                f"{self.policy.unit_table}.{self.policy.privacy_unit} = "
                f"<table>.{self.policy.privacy_unit}",
                on,
                hint=self._join_hint(),
            )

    # ------------------------------------------------------------ SELECT list

    def _item(self, node: exp.Expr) -> Item:
        alias_node: exp.Expr | None = None
        alias: str | None = None
        if type(node) is exp.Alias:
            alias_node = node.args.get("alias")
            alias = node.alias
            self._check_alias(alias, alias_node or node)
            node = node.this
        node = _unparen(node)
        item = Item(node=node, alias=alias, alias_node=alias_node)
        item.aggregate_attempt = any(
            _is_aggregate_call(n) or isinstance(n, exp.Window | exp.Filter) for n in node.walk()
        )
        if type(node) in _AGGREGATES:
            item.stat = self._aggregate(node)
        elif _is_key_shape(node):
            item.key = self._key(node, "output")
        else:
            self._reject(node, "output")
        return item

    def _check_alias(self, alias: str, at: exp.Expr) -> None:
        if not alias or len(alias) > _MAX_ALIAS or not alias.isprintable():
            self.add(
                Code.INVALID_ALIAS,
                f"an output name must be 1 to {_MAX_ALIAS} printable characters",
                at,
                hint="use a short plain name, e.g. AS tips_per_theme",
            )

    def _aggregate(self, node: exp.Expr) -> Stat | None:
        function, allowed = _AGGREGATES[type(node)]
        extra = _extra_args(node, allowed)
        if extra:
            self.add(
                Code.UNSUPPORTED_EXPRESSION,
                f"{_func_name(node).upper()} with {', '.join(extra)} is not supported",
                node,
                hint="call the aggregate on one column, e.g. SUM(helpful_votes)",
            )
            return None
        argument = _unparen(node.this)
        if type(node) is exp.Count:
            return self._count(node, argument)
        if isinstance(argument, exp.Distinct):
            self.add(
                Code.AGGREGATE_NOT_ALLOWED,
                f"{_func_name(node).upper()}(DISTINCT ...) is not supported",
                node,
                hint="drop DISTINCT; only COUNT(DISTINCT member_pid) counts distinct values",
            )
            return None
        if not self._allowed(function, node):
            return None
        quantile = self._quantile(node) if function is Aggregation.QUANTILE else None
        bound = self._measure(node, argument)
        if bound is None or (function is Aggregation.QUANTILE and quantile is None):
            return None
        return Stat(function, bound, quantile)

    def _allowed(self, function: Aggregation, node: exp.Expr) -> bool:
        if function in self.policy.aggregations:
            return True
        self.add(
            Code.AGGREGATE_NOT_ALLOWED,
            f"the policy does not allow {function.value} aggregates",
            node,
            hint="allowed: " + ", ".join(a.value for a in self.policy.aggregations),
        )
        return False

    def _count(self, node: exp.Expr, argument: exp.Expr) -> Stat | None:
        if isinstance(argument, exp.Star) and not _extra_args(argument, set()):
            return Stat(Aggregation.COUNT) if self._allowed(Aggregation.COUNT, node) else None
        unit = self.policy.privacy_unit
        if isinstance(argument, exp.Distinct):
            values = [_unparen(v) for v in argument.expressions]
            if (
                len(values) == 1
                and not argument.args.get("on")
                and type(values[0]) is exp.Column
                and self._is_unit(values[0])
            ):
                function = Aggregation.COUNT_DISTINCT_MEMBERS
                return Stat(function) if self._allowed(function, node) else None
            self.add(
                Code.AGGREGATE_NOT_ALLOWED,
                f"COUNT(DISTINCT ...) is allowed only as COUNT(DISTINCT {unit})",
                node,
                hint=f"count members with COUNT(DISTINCT {unit}), rows with COUNT(*)",
            )
        else:
            self.add(
                Code.AGGREGATE_NOT_ALLOWED,
                "COUNT takes * or DISTINCT " + unit,
                node,
                hint="write COUNT(*), with WHERE <column> IS NOT NULL to skip missing values",
            )
        self._reject_inside(argument, "other")
        return None

    def _is_unit(self, column: exp.Column) -> bool:
        """Whether a reference is the privacy unit (unqualified is fine in a join)."""
        if not column.table and fold(column.name) == self.policy.privacy_unit:
            return True
        bound = self._resolved(column)
        return bound is not None and bound.spec.role is _UNIT

    def _quantile(self, node: exp.Expr) -> float | None:
        raw = node.args.get("expression") or node.args.get("quantile")
        value = _number(_unparen(raw)) if raw is not None else None
        if value is not None and 0 < value < 1:
            return value
        self.add(
            Code.INVALID_QUANTILE,
            "the quantile must be one number strictly between 0 and 1",
            raw if raw is not None else node,
            hint="e.g. QUANTILE_CONT(word_count, 0.9); MEDIAN(x) for the middle",
        )
        return None

    def _measure(self, node: exp.Expr, argument: exp.Expr) -> Bound | None:
        """The bounded measure column an aggregate reads."""
        measures = self._measures_hint()
        if type(argument) is not exp.Column or isinstance(argument.this, exp.Star):
            self.add(
                Code.UNBOUNDED_MEASURE,
                f"{_func_name(node).upper()} of an expression has no clamp bounds",
                argument,
                hint=f"aggregate a measure column as it is ({measures}); filter with WHERE",
            )
            self._reject_inside(argument, "other", above=_QUIET)
            return None
        bound = self._resolved(argument)
        if bound is None:
            return None
        if bound.protected:
            self._identifier(argument, bound, "other")
            return None
        if bound.spec.role is not ColumnRole.MEASURE:
            self.add(
                Code.UNBOUNDED_MEASURE,
                f"`{bound.ref.column}` is a {bound.spec.role.value} column, not a measure "
                "with clamp bounds",
                argument,
                hint=f"measures: {measures}; count rows with COUNT(*)",
            )
            return None
        return bound

    def _measures_hint(self) -> str:
        tables = list(dict.fromkeys(self.scope.bindings.values())) or list(self.policy.tables)
        found = [
            name
            for table in tables
            for name, spec in self.policy.tables[table].columns.items()
            if spec.role is ColumnRole.MEASURE
        ]
        return ", ".join(found) or "none in these tables"

    def _resolved(self, column: exp.Column) -> Bound | None:
        bound = self.scope.resolve(column)
        if isinstance(bound, Issue):
            self.push(bound)
            return None
        return bound

    def _identifier(self, node: exp.Expr, bound: Bound, context: Context) -> None:
        self.push(self._identifier_issue(node, bound, context, bare=True))

    def _identifier_issue(
        self, node: exp.Expr, bound: Bound, context: Context, bare: bool
    ) -> Issue:
        column = bound.ref.column
        what = "the privacy unit" if bound.spec.role is _UNIT else "an identifier"
        code = _IDENTIFIER_CODES[context]
        if context == "output" and bare:
            code = Code.IDENTIFIER_IN_OUTPUT
        unit = self.policy.privacy_unit
        messages = {
            Code.IDENTIFIER_IN_OUTPUT: f"`{column}` is {what} and is never released",
            Code.IDENTIFIER_IN_FILTER: f"filtering on `{column}` ({what}) would single out rows",
            Code.IDENTIFIER_IN_GROUP_BY: f"grouping on `{column}` ({what}) would make groups "
            "of one",
            Code.IDENTIFIER_IN_EXPRESSION: f"`{column}` is {what}; it may appear only in the "
            f"members join and in COUNT(DISTINCT {unit})",
        }
        hints = {
            Code.IDENTIFIER_IN_OUTPUT: f"count instead: COUNT(DISTINCT {unit}) or COUNT(*)",
            Code.IDENTIFIER_IN_FILTER: "filter on categories, dates or measures",
            Code.IDENTIFIER_IN_GROUP_BY: "group on a category or date column",
            Code.IDENTIFIER_IN_EXPRESSION: f"use COUNT(DISTINCT {unit}) to count members",
        }
        return self.text.issue(code, messages[code], node, hints[code])

    # ------------------------------------------------------------ GROUP BY

    def _key(self, node: exp.Expr, context: Context) -> Key | None:
        """A group-key candidate (column or date_trunc), resolved but not yet judged."""
        if type(node) is exp.Column:
            bound = self._resolved(node)
            if bound is None:
                return None
            if bound.protected:
                self._identifier(node, bound, context)
                return None
            return Key(bound, None)
        assert type(node) is exp.TimestampTrunc
        unit = node.args.get("unit")
        column = _unparen(node.this)
        extra = _extra_args(node, {"this", "unit", "input_type_preserved"})
        if (
            extra
            or not isinstance(unit, exp.Var | exp.Literal)
            or type(column) is not exp.Column
            or isinstance(column.this, exp.Star)
        ):
            self.add(
                Code.UNSUPPORTED_EXPRESSION,
                "date_trunc takes a unit and a date column",
                node,
                hint="e.g. date_trunc('month', created_date)",
            )
            self._reject_inside(node, context, above=_QUIET, skip_root=True)
            return None
        bound = self._resolved(column)
        if bound is None:
            return None
        if bound.protected:
            self._identifier(column, bound, context)
            return None
        if bound.spec.type != "DATE":
            self.add(
                Code.TYPE_MISMATCH,
                f"date_trunc needs a date column; `{bound.ref.column}` is a "
                f"{bound.spec.role.value}",
                node,
                hint="truncate a date column, e.g. date_trunc('month', created_date)",
            )
            return None
        bucket = self._bucket(unit.name.lower(), bound.spec, unit)
        return None if isinstance(bucket, _Invalid) else Key(bound, bucket)

    def _bucket(self, unit: str, spec: Column, at: exp.Expr) -> Bucket | _Invalid | None:
        """The plan's bucket for a truncation; truncating to the column's own grain is a no-op."""
        monthly = _grain(spec) == "month"
        if unit == "day" or (unit == "month" and monthly):
            return None
        if unit in ("month", "year"):
            return cast(Bucket, unit)
        self.add(
            Code.UNSUPPORTED_BUCKET,
            f"date_trunc to '{unit}' is not supported",
            at,
            hint="truncate to 'month' or 'year'",
        )
        return _INVALID

    def _group_by(self, group: exp.Group | None, items: list[Item]) -> list[tuple[Key, exp.Expr]]:
        """The group keys in GROUP BY, each with the node that named it."""
        if group is None:
            return []
        extra = _extra_args(group, {"expressions", "all"})
        if extra:
            self.add(
                Code.UNSUPPORTED_GROUPING,
                f"{', '.join(e.upper() for e in extra)} is not supported",
                group.args[extra[0]] if not isinstance(group.args[extra[0]], list) else group,
                hint="group by plain columns: GROUP BY theme, created_month",
            )
        if group.args.get("all"):
            return [(i.key, i.node) for i in items if i.key is not None]
        keys: list[tuple[Key, exp.Expr]] = []
        aliases = {fold(i.alias): i for i in items if i.alias is not None and fold(i.alias)}
        for node in (_unparen(g) for g in group.expressions):
            item = self._group_item(node, items, aliases)
            if isinstance(item, Item):
                if item.key is not None:
                    keys.append((item.key, node))
                elif item.aggregate_attempt:
                    self._misplaced(node, "GROUP BY")
            elif item is not None:
                keys.append((item, node))
        for key, node in keys:
            if key.bound.spec.role not in (ColumnRole.CATEGORY, ColumnRole.DATE):
                self.add(
                    Code.NOT_GROUPABLE,
                    f"`{key.bound.ref.column}` is a {key.bound.spec.role.value}; only "
                    "category and date columns can be grouped on",
                    node,
                    hint="aggregate measures (SUM, AVG, MEDIAN) instead of grouping on them",
                )
        return keys

    def _group_item(
        self, node: exp.Expr, items: list[Item], aliases: dict[str | None, Item]
    ) -> Item | Key | None:
        """What one GROUP BY entry names: a SELECT item (by position or alias) or a key."""
        if isinstance(node, exp.Rollup | exp.Cube | exp.GroupingSets):
            self.add(
                Code.UNSUPPORTED_GROUPING,
                f"{type(node).__name__.upper()} is not supported",
                node,
                hint="group by plain columns: GROUP BY theme, created_month",
            )
            return None
        if _is_int_literal(node):
            position = int(node.name)
            if 1 <= position <= len(items):
                return items[position - 1]
            self.add(
                Code.INVALID_GROUP_BY,
                f"GROUP BY {position}: the SELECT list has {len(items)} items",
                node,
                hint="number SELECT items from 1, or name the column",
            )
            return None
        if type(node) is exp.Column and not node.table and not isinstance(node.this, exp.Star):
            name = fold(node.name)
            in_scope = any(name in self.scope.column_names(t) for t in self.scope.bindings.values())
            if not in_scope and name in aliases:
                return aliases[name]
        if _is_key_shape(node):
            return self._key(node, "group")
        if type(node) in _AGGREGATES or _is_aggregate_call(node):
            self._misplaced(node, "GROUP BY")
            return None
        self._reject(node, "group")
        return None

    def _misplaced(self, node: exp.Expr, clause: str) -> None:
        self.add(
            Code.MISPLACED_AGGREGATE,
            f"an aggregate cannot appear in {clause}",
            node,
            hint="aggregates belong in the SELECT list",
        )

    def _grouped(self, items: list[Item], keys: list[tuple[Key, exp.Expr]]) -> None:
        grouped = {k.ident for k, _ in keys}
        for item in items:
            if item.key is not None and item.key.ident not in grouped:
                self.add(
                    Code.COLUMN_NOT_GROUPED,
                    f"`{item.key.bound.ref.column}` is selected but not grouped on",
                    item.node,
                    hint=f"add it to GROUP BY, or aggregate it; ({self._measures_hint()} "
                    "can be aggregated)",
                )

    def _outputs(
        self, items: list[Item], keys: list[tuple[Key, exp.Expr]]
    ) -> tuple[dict[str, Item | Key], list[tuple[Key, str]]]:
        """Output name -> what it shows, and the group keys with their output names.

        Group keys come in SELECT order, unselected keys last (in GROUP BY
        order): the column order of the release.
        """
        outputs: dict[str, Item | Key] = {}
        named: dict[tuple[ColumnRef, Bucket | None], str] = {}
        for item in items:
            name = item.output_name()
            if name is None:
                continue
            if item.key is not None and item.key.ident in named:
                self.add(
                    Code.DUPLICATE_OUTPUT,
                    f"`{item.key.bound.ref.column}` is selected twice",
                    item.node,
                    hint="select each group key once",
                )
                continue
            self._claim(outputs, name, item, item.alias_node or item.node)
            if item.key is not None:
                named[item.key.ident] = name
        grouped = {key.ident: key for key, _ in keys}
        result = [(grouped[ident], name) for ident, name in named.items() if ident in grouped]
        for key, node in keys:
            if key.ident not in named:
                named[key.ident] = key.default_alias()
                self._claim(outputs, named[key.ident], key, node)
                result.append((key, named[key.ident]))
        return outputs, result

    def _claim(
        self, outputs: dict[str, Item | Key], name: str, what: Item | Key, at: exp.Expr
    ) -> None:
        key = name.lower()
        if any(key == existing.lower() for existing in outputs):
            self.add(
                Code.DUPLICATE_OUTPUT,
                f"two output columns would both be called `{name}`",
                at,
                hint="give each output column its own alias with AS",
            )
            return
        outputs[name] = what

    # ------------------------------------------------------------ WHERE

    def _where(self, where: exp.Where | None) -> Predicate | None:
        if where is None:
            return None
        return self._predicate(where.this)

    def _predicate(self, node: exp.Expr) -> Predicate | None:
        node = _unparen(node)
        kind = type(node)
        if kind in (exp.And, exp.Or):
            terms = [self._predicate(t) for t in _flatten(node, kind)]
            if any(t is None for t in terms):
                return None
            accepted = tuple(cast(list[Predicate], terms))
            return And(terms=accepted) if kind is exp.And else Or(terms=accepted)
        if kind is exp.Not:
            inner = _unparen(node.this)
            if type(inner) in (exp.In, exp.Between, exp.Is):
                return self._atom(inner, negated=True)
            term = self._predicate(inner)
            return Not(term=term) if term is not None else None
        if kind in _COMPARISONS or kind in (exp.In, exp.Between, exp.Is):
            return self._atom(node, negated=False)
        self._reject(node, "filter")
        return None

    def _atom(self, node: exp.Expr, negated: bool) -> Predicate | None:
        """One comparison of a column with constants."""
        kind = type(node)
        if kind in _COMPARISONS:
            return self._compare(node)
        column = _unparen(node.this)
        if type(column) is not exp.Column or isinstance(column.this, exp.Star):
            self._not_comparison(node)
            return None
        bound = self._filter_column(column)
        if kind is exp.In:
            if _extra_args(node, {"this", "expressions"}) or not node.expressions:
                self._not_comparison(node)
                return None
            values = [self._value(v, bound, "in") for v in node.expressions]
            if bound is None or any(isinstance(v, _Invalid) for v in values):
                return None
            return InSet(column=bound.ref, values=tuple(cast(list[Value], values)), negated=negated)
        if kind is exp.Between:
            if _extra_args(node, {"this", "low", "high"}):
                self._not_comparison(node)
                return None
            low = self._value(node.args["low"], bound, "between")
            high = self._value(node.args["high"], bound, "between")
            if bound is None or isinstance(low, _Invalid) or isinstance(high, _Invalid):
                return None
            return Between(column=bound.ref, low=low, high=high, negated=negated)
        if type(node.expression) is not exp.Null or _extra_args(node, {"this", "expression"}):
            self._not_comparison(node)
            return None
        return IsNull(column=bound.ref, negated=negated) if bound is not None else None

    def _compare(self, node: exp.Expr) -> Predicate | None:
        op, swapped = _COMPARISONS[type(node)]
        left, right = _unparen(node.this), _unparen(node.expression)
        if type(right) is exp.Column and type(left) is not exp.Column:
            left, right, op = right, left, swapped
        if (
            type(left) is not exp.Column
            or isinstance(left.this, exp.Star)
            or (type(right) is exp.Column)
        ):
            self._not_comparison(node)
            return None
        bound = self._filter_column(left)
        value = self._value(right, bound, op)
        if bound is None or isinstance(value, _Invalid):
            return None
        return Compare(column=bound.ref, op=cast(_Op, op), value=value)

    def _not_comparison(self, node: exp.Expr) -> None:
        self.add(
            Code.UNSUPPORTED_EXPRESSION,
            "WHERE accepts a column compared with constants (=, <>, <, <=, >, >=, IN, "
            "BETWEEN, IS NULL), combined with AND, OR and NOT",
            node,
            hint="e.g. WHERE theme IN ('sleep', 'stress') AND created_date >= DATE '2024-01-01'",
        )
        self._reject_inside(node, "filter", above=_QUIET, skip_root=True)

    def _filter_column(self, column: exp.Column) -> Bound | None:
        bound = self._resolved(column)
        if bound is not None and bound.protected:
            self._identifier(column, bound, "filter")
            return None
        return bound

    def _value(self, node: exp.Expr, bound: Bound | None, op: str) -> Value | _Invalid:
        """A constant compared with ``bound``, in the form the plan stores it."""
        node = _unparen(node)
        if type(node) is exp.Null:
            self.add(
                Code.UNSUPPORTED_EXPRESSION,
                "a comparison with NULL is never true",
                node,
                hint="use IS NULL or IS NOT NULL",
            )
            return _INVALID
        if not _is_constant(node):
            self._reject(node, "filter")
            return _INVALID
        if bound is None:
            return _INVALID
        spec = bound.spec
        if spec.type == "DATE":
            return self._date(node, bound, op)
        if spec.type == "VARCHAR":
            if type(node) is exp.Literal and node.is_string:
                return self._in_domain(node.this, node, bound, op)
        elif (number := _number(node)) is not None:
            return number
        self._mismatch(node, bound)
        return _INVALID

    def _date(self, node: exp.Expr, bound: Bound, op: str) -> Value | _Invalid:
        literal = node
        if type(node) is exp.Cast:
            if _extra_args(node, {"this", "to"}) or not node.to.is_type(exp.DataType.Type.DATE):
                self._mismatch(node, bound)
                return _INVALID
            literal = _unparen(node.this)
        if type(literal) is not exp.Literal or not literal.is_string:
            self._mismatch(node, bound)
            return _INVALID
        try:
            if not _ISO_DATE.fullmatch(literal.this):
                raise ValueError(literal.this)
            day = dt.date.fromisoformat(literal.this)
        except ValueError:
            self.add(
                Code.INVALID_LITERAL,
                f"'{literal.this}' is not a date",
                node,
                hint="write dates as 'YYYY-MM-DD', e.g. DATE '2024-03-01'",
            )
            return _INVALID
        if _grain(bound.spec) == "month" and op in ("=", "!=", "in") and day.day != 1:
            self.add(
                Code.INVALID_LITERAL,
                f"`{bound.ref.column}` holds the first day of each month, never {day}",
                node,
                hint=f"compare with '{day.replace(day=1)}', or use a range",
            )
            return _INVALID
        return day.isoformat()

    def _in_domain(self, value: str, node: exp.Expr, bound: Bound, op: str) -> Value | _Invalid:
        domain = bound.spec.domain
        if domain is None or op not in ("=", "!=", "in") or value in domain:
            return value
        self.add(
            Code.VALUE_NOT_IN_DOMAIN,
            f"'{value}' is not a value of `{bound.ref.column}`",
            node,
            hint=did_you_mean(value, domain) or "values: " + ", ".join(domain),
        )
        return _INVALID

    def _mismatch(self, node: exp.Expr, bound: Bound) -> None:
        expected = {"DATE": "a date such as DATE '2024-01-01'", "VARCHAR": "a 'string'"}
        self.add(
            Code.TYPE_MISMATCH,
            f"`{bound.ref.column}` is {bound.spec.type}; it cannot be compared with "
            f"`{node.sql(dialect='duckdb')}`",
            node,
            hint="compare it with " + expected.get(bound.spec.type, "a number"),
        )

    # ------------------------------------------------------------ ORDER BY / LIMIT

    def _order_by(
        self,
        order: exp.Order | None,
        items: list[Item],
        keys: list[tuple[Key, str]],
        outputs: dict[str, Item | Key],
    ) -> list[OrderBy]:
        if order is None:
            return []
        if _extra_args(order, {"expressions"}):
            self.add(Code.UNSUPPORTED_CLAUSE, "this ORDER BY form is not supported", order)
            return []
        result: list[OrderBy] = []
        for ordered in order.expressions:
            if type(ordered) is not exp.Ordered or _extra_args(
                ordered, {"this", "desc", "nulls_first"}
            ):
                self.add(
                    Code.UNSUPPORTED_CLAUSE,
                    "ORDER BY accepts output columns with ASC or DESC",
                    ordered,
                    hint="e.g. ORDER BY n DESC",
                )
                continue
            descending = bool(ordered.args.get("desc"))
            target = _unparen(ordered.this)
            if type(target) is exp.Var and target.name.upper() == "ALL":
                result += [OrderBy(alias=name, descending=descending) for name in outputs]
                continue
            name = self._order_target(target, items, keys, outputs)
            if name is not None:
                result.append(OrderBy(alias=name, descending=descending))
        return result

    def _order_target(
        self,
        target: exp.Expr,
        items: list[Item],
        keys: list[tuple[Key, str]],
        outputs: dict[str, Item | Key],
    ) -> str | None:
        """The output column an ORDER BY entry names: position, alias or expression."""
        if _is_int_literal(target):
            position = int(target.name)
            if 1 <= position <= len(items):
                return _name(items[position - 1]) if items[position - 1].output_name() else None
        elif type(target) is exp.Column and not target.table:
            for name in outputs:
                if fold(name) == fold(target.name):
                    return name
        shown: str | None = None
        if type(target) in _AGGREGATES:
            stat = self._aggregate(target)
            if stat is None:
                return None
            shown = next((_name(i) for i in items if i.stat and i.stat.ident == stat.ident), None)
        elif _is_key_shape(target):
            key = self._key(target, "other")
            if key is None:
                return None
            shown = next((alias for k, alias in keys if k.ident == key.ident), None)
        elif not _is_int_literal(target):
            self._reject_inside(target, "other")
        if shown is None:
            self.add(
                Code.ORDER_BY_NOT_OUTPUT,
                "ORDER BY can only sort on output columns",
                target,
                hint="sort on one of: " + ", ".join(outputs),
            )
        return shown

    def _limit(self, limit: exp.Expr | None) -> int | None:
        if limit is None:
            return None
        ceiling = self.policy.limits.max_groups
        options = limit.args.get("limit_options")
        plain = type(limit) is exp.Limit and not _extra_args(limit, {"expression", "limit_options"})
        if not plain or (options is not None and any(options.args.values())):
            self.add(
                Code.UNSUPPORTED_CLAUSE,
                "only a plain LIMIT n is supported",
                limit,
                hint=f"write LIMIT n with 1 <= n <= {ceiling}",
            )
            return None
        count = _unparen(limit.expression)
        if _is_int_literal(count) and 1 <= int(count.name) <= ceiling:
            return int(count.name)
        self.add(
            Code.INVALID_LIMIT,
            f"LIMIT must be a whole number from 1 to {ceiling}",
            limit,
            hint=f"write LIMIT n with 1 <= n <= {ceiling}",
        )
        return None

    # ------------------------------------------------------------ group count

    def _check_group_count(self, plan: QueryPlan) -> None:
        """Refuse a query whose groups, counted from public domains, exceed the limit.

        Domains come from the policy (categories) and from the query's own
        top-level filters (a date range, an IN list). A key with no known
        domain counts as one group, so the estimate is a lower bound.
        """
        terms = _conjuncts(plan.where)
        estimate = 1
        for key in plan.group_by:
            spec = self.policy.column(key.column.table, key.column.column)
            estimate *= _domain_size(key, spec, terms)
        limit = self.policy.limits.max_groups
        if estimate > limit:
            self.add(
                Code.TOO_MANY_GROUPS,
                f"the query has at least {estimate} groups; the policy allows {limit}",
                self.text.keyword("GROUP"),
                hint="group on fewer or coarser keys (date_trunc('year', ...)), or narrow "
                "the date range in WHERE",
            )

    # ------------------------------------------------------------ fail closed

    def _reject(self, root: exp.Expr, context: Context) -> None:
        """Refuse ``root``, and name every refused construct inside it."""
        before = len(self.issues)
        self._reject_inside(root, context, bare=True)
        if len(self.issues) == before:
            self.add(*_unsupported(root, context))

    def _reject_inside(
        self,
        root: exp.Expr,
        context: Context,
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
            issue = None if skip else self._classify(node, context, is_bare, inner)
            if issue is not None and issue.code not in codes:
                self.push(issue)
                codes = codes | (
                    {issue.code} | _CONSTRUCTS if issue.code in _CONSTRUCTS else {issue.code}
                )
            inner = inner or isinstance(node, exp.Query)
            stack.extend((child, codes, False, inner, False) for child in node.iter_expressions())

    def _classify(self, node: exp.Expr, context: Context, bare: bool, nested: bool) -> Issue | None:
        """The issue a node is by itself, or None for neutral parts (names, constants)."""
        issue = self.text.issue
        if type(node) is exp.Table:
            found = self._table_issue(node)
            return found if isinstance(found, Issue) else None
        if nested:
            return self._classify_read(node) if isinstance(node, exp.Func) else None
        if type(node) is exp.Column:
            if isinstance(node.this, exp.Star):
                return issue(Code.ROW_LEVEL_OUTPUT, "`*` stands for whole rows", node, _ROWS_HINT)
            bound = self.scope.resolve(node)
            if not isinstance(bound, Bound):
                return bound
            if not bound.protected:
                return None
            return self._identifier_issue(node, bound, context, bare)
        if isinstance(node, exp.Star) and type(node.parent) is not exp.Count:
            return issue(Code.ROW_LEVEL_OUTPUT, "`*` stands for whole rows", node, _ROWS_HINT)
        if isinstance(node, exp.Query):
            return issue(
                Code.SUBQUERY,
                "subqueries cannot be bounded by the DP engine",
                node,
                "filter with constants in WHERE; join only members",
            )
        if isinstance(node, exp.Window | exp.WindowSpec):
            return issue(
                Code.WINDOW_FUNCTION,
                "window functions are not supported",
                node,
                "aggregate with GROUP BY instead of OVER (...)",
            )
        if isinstance(node, exp.Filter):
            return issue(
                Code.UNSUPPORTED_EXPRESSION,
                "FILTER (WHERE ...) on an aggregate is not supported",
                node,
                "move the condition to the query's WHERE",
            )
        if isinstance(node, exp.Case):
            return issue(
                Code.UNSUPPORTED_EXPRESSION,
                "CASE expressions are not supported",
                node,
                "filter rows with WHERE instead of choosing values with CASE",
            )
        if isinstance(node, exp.Lambda):
            return issue(Code.LAMBDA, "lambda functions are not supported", node, _SUBSET_HINT)
        if isinstance(node, exp.Placeholder | exp.Parameter):
            return issue(
                Code.UNSUPPORTED_EXPRESSION,
                "query parameters are not supported",
                node,
                "write the value into the query",
            )
        if isinstance(node, _NEUTRAL) or _is_constant(node):
            return None
        if isinstance(node, exp.Func):
            return self._classify_call(node, context)
        return self.text.issue(*_unsupported(node, context))

    def _classify_read(self, node: exp.Func) -> Issue | None:
        """A call that reads the engine's settings or catalog, or files."""
        name = _func_name(node)
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
                self._tables(),
            )
        return None

    def _classify_call(self, node: exp.Func, context: Context) -> Issue | None:
        name = _func_name(node)
        read = self._classify_read(node)
        if read is not None:
            return read
        if type(node) in _AGGREGATES or _is_aggregate_call(node):
            if context in ("filter", "group"):
                clause = "WHERE" if context == "filter" else "GROUP BY"
                return self.text.issue(
                    Code.MISPLACED_AGGREGATE,
                    f"an aggregate cannot appear in {clause}",
                    node,
                    "aggregates belong in the SELECT list",
                )
            if type(node) in _AGGREGATES:
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
                Code.UNKNOWN_FUNCTION,
                f"`{name}` is not a function the vetter knows; user-defined functions and "
                "macros cannot be called",
                node,
                _SUBSET_HINT,
            )
        return self.text.issue(
            Code.FUNCTION_NOT_ALLOWED,
            f"`{name}` is not allowed here",
            node,
            _SUBSET_HINT,
        )


_UNIT = ColumnRole.PRIVACY_UNIT
_Op = Literal["=", "!=", "<", "<=", ">", ">="]
_CONSTRUCTS = frozenset(
    {Code.UNSUPPORTED_EXPRESSION, Code.FUNCTION_NOT_ALLOWED, Code.UNKNOWN_FUNCTION}
)
"""Codes for "this construct is outside the subset": one per branch is enough.

Under a refused construct only what reads protected data (identifiers,
files, catalogs, subqueries) is still worth its own issue.
"""
_QUIET = frozenset({Code.UNSUPPORTED_EXPRESSION})
"""Codes a caller has already reported for the node it hands to ``_reject_inside``."""
_ROWS_HINT = "select group keys and aggregates such as COUNT(*)"
_SUBSET_HINT = "see docs/vetting.md for the SQL the gateway accepts"
_NEUTRAL = (
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


def _unsupported(node: exp.Expr, context: Context) -> tuple[Code, str, exp.Expr, str]:
    where = {
        "output": "the SELECT list holds group keys and aggregates only",
        "filter": "WHERE compares columns with constants written out, such as 'sleep' or "
        "DATE '2024-01-01'",
        "group": "GROUP BY takes category and date columns (optionally date_trunc)",
        "other": "this construct is outside the accepted SQL",
    }[context]
    if _is_constant(node) or isinstance(node, exp.Null):
        what = "a constant"
    elif isinstance(node, exp.Func):
        what = f"`{_func_name(node)}`"
    else:
        what = "this expression"
    return Code.UNSUPPORTED_EXPRESSION, f"{what} is not supported here: {where}", node, _SUBSET_HINT


def _name(item: Item) -> str:
    name = item.output_name()
    assert name is not None
    return name


def _func_name(node: exp.Expr) -> str:
    if type(node) is exp.Anonymous:
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return str(type(node).sql_names()[0]).lower()
    return type(node).__name__.lower()


def _is_aggregate_call(node: exp.Expr) -> bool:
    if isinstance(node, exp.AggFunc):
        return True
    return type(node) is exp.Anonymous and _func_name(node) in names.EXTRA_AGGREGATES


def _is_key_shape(node: exp.Expr) -> bool:
    """A column or date_trunc: what a group key looks like before it is judged."""
    if type(node) is exp.Column:
        return not isinstance(node.this, exp.Star)
    return type(node) is exp.TimestampTrunc


def _is_int_literal(node: exp.Expr) -> bool:
    return type(node) is exp.Literal and not node.is_string and node.name.isdigit()


def _is_constant(node: exp.Expr) -> bool:
    if type(node) is exp.Cast:
        return _is_constant(_unparen(node.this))
    if type(node) is exp.Neg:
        return _number(node) is not None
    return type(node) in (exp.Literal, exp.Boolean)


def _number(node: exp.Expr) -> int | float | None:
    sign = 1
    if type(node) is exp.Neg:
        node, sign = _unparen(node.this), -1
    if type(node) is not exp.Literal or node.is_string:
        return None
    text = node.name
    try:
        return sign * int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return sign * value if math.isfinite(value) else None


def _unparen(node: exp.Expr) -> exp.Expr:
    while type(node) is exp.Paren:
        node = node.this
    return node


def _flatten(node: exp.Expr, kind: type[exp.Expr]) -> Iterator[exp.Expr]:
    """The terms of a chain of ANDs (or ORs), left to right, without recursion."""
    stack = [node]
    while stack:
        current = _unparen(stack.pop())
        if type(current) is kind:
            stack += [current.expression, current.this]
        else:
            yield current


def _present(value: object) -> bool:
    return not (value is None or value is False or (isinstance(value, list) and not value))


def _extra_args(node: exp.Expr, allowed: set[str] | frozenset[str]) -> list[str]:
    """Arguments a node carries beyond the ones the vetter understands for it."""
    return [k for k, v in node.args.items() if k not in allowed and _present(v)]


def _grain(spec: Column) -> Literal["day", "month"]:
    """A date column's own granularity: the extract stores some as months."""
    return "month" if spec.derive is not None and spec.derive.transform == "month" else "day"


def _union(text: QueryText, nodes: list[exp.Expr]) -> Span | None:
    spans = [s for s in (text.span(n) for n in nodes) if s is not None]
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)


def _widen(first: Span | None, second: Span | None) -> Span | None:
    if first is None or second is None:
        return first or second
    return min(first[0], second[0]), max(first[1], second[1])


def _conjuncts(where: Predicate | None) -> list[Predicate]:
    if where is None:
        return []
    return list(where.terms) if isinstance(where, And) else [where]


def _domain_size(key: GroupKey, spec: Column, terms: list[Predicate]) -> int:
    """How many groups a key has at least, from public facts; 1 when unknown."""
    values: set[Value] | None = set(spec.domain) if spec.domain is not None else None
    low: dt.date | None = None
    high: dt.date | None = None
    for term in terms:
        if getattr(term, "column", None) != key.column or getattr(term, "negated", False):
            continue
        if isinstance(term, InSet):
            values = set(term.values) & values if values is not None else set(term.values)
        elif isinstance(term, Compare) and term.op == "=":
            values = {term.value} & values if values is not None else {term.value}
        elif spec.type == "DATE" and isinstance(term, Compare | Between):
            low, high = _narrow(term, low, high)
    if values is not None:
        return len(values)
    if low is None or high is None:
        return 1
    return _buckets(low, high, key.bucket, _grain(spec))


def _narrow(
    term: Compare | Between, low: dt.date | None, high: dt.date | None
) -> tuple[dt.date | None, dt.date | None]:
    """Tighten an inclusive date range with one comparison."""
    one = dt.timedelta(days=1)
    bounds: list[tuple[str, Value]] = (
        [(">=", term.low), ("<=", term.high)]
        if isinstance(term, Between)
        else [(term.op, term.value)]
    )
    for op, value in bounds:
        day = dt.date.fromisoformat(str(value))
        if op in (">", ">="):
            day = day + one if op == ">" else day
            low = max(low, day) if low else day
        elif op in ("<", "<="):
            day = day - one if op == "<" else day
            high = min(high, day) if high else day
    return low, high


def _buckets(low: dt.date, high: dt.date, bucket: str | None, grain: str) -> int:
    """Distinct key values a column of ``grain`` can take within [low, high]."""
    if high < low:
        return 0

    def month(day: dt.date) -> int:
        return day.year * 12 + day.month - 1

    first_month = month(low) + (grain == "month" and low.day != 1)
    if bucket == "year":
        return max(0, high.year - first_month // 12 + 1)
    if bucket == "month" or grain == "month":
        return max(0, month(high) - first_month + 1)
    return (high - low).days + 1
