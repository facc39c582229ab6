"""Compile one parsed SELECT into a ``QueryPlan``, or list everything wrong with it.

This is an allow-list: each clause accepts exactly the shapes the plan can
express (see docs/vetting.md) and hands anything else to ``_reject``, which
walks it and has ``classify.py`` name each construct with its own error code.
No node, function or clause reaches the plan unless a line here accepts it
explicitly.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal, cast

from sqlglot import exp

from gateway.errors import Issue
from gateway.plan import (
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
from gateway.plan import Literal_ as Value
from gateway.policy.literals import LiteralProblem, typed_literal
from gateway.policy.model import Aggregation, Column, ColumnRole, Policy
from gateway.vet.classify import Classifier, Context, unsupported
from gateway.vet.codes import Code
from gateway.vet.estimate import estimate_groups
from gateway.vet.scope import Bound, Scope
from gateway.vet.shapes import (
    AGGREGATES,
    extra_args,
    flatten,
    func_name,
    grain,
    is_aggregate_call,
    is_constant,
    is_int_literal,
    is_key_shape,
    number,
    present,
    unparen,
)
from gateway.vet.text import QueryText, Span, did_you_mean, fold

Bucket = Literal["month", "year"]

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
        """The plan's aggregate; its clamp range is left to the engine (or fixed later).

        SQL cannot fix a clamp range: the engine chooses it per query with DP
        within the policy's, unless the researcher fixes one (``bounds.py``).
        """
        if self.bound is None:
            return Aggregate(function=self.function, alias=alias)
        return Aggregate(
            function=self.function, column=self.bound.ref, quantile=self.quantile, alias=alias
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
        self.classify = Classifier(text, self.scope, policy)
        self.issues: list[Issue] = []
        self.fallback: Span | None = None
        """Where the clause being compiled starts: the place of an issue with none."""
        self.derived: set[str | None] = set()
        """Names defined by WITH, refused there rather than again as unknown tables."""

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
            if name in _ACCEPTED_CLAUSES or not present(value):
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
            if code is Code.CTE:
                self.derived = {fold(cte.alias) for cte in value.expressions}
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
                    Code.TABLE_FUNCTION,
                    "only extract tables can be read",
                    node,
                    self.classify.tables_hint(),
                )
                self._reject_inside(node, "other", skip_root=True, nested=True)
            self.scope.complete = False
            return None
        table = self._table(node)
        if table is None:
            self.scope.complete = False
            return None
        alias = node.args.get("alias")
        extra = extra_args(node, {"this", "db", "catalog", "alias"})
        if extra:
            self.add(
                Code.UNSUPPORTED_CLAUSE,
                f"table modifiers ({', '.join(extra)}) are not supported",
                node,
                hint="name the table, optionally with an alias: FROM tips t",
            )
        name = table
        if alias is not None:
            if extra_args(alias, {"this"}):
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
        issue = self.classify.table(node)
        if not isinstance(issue, Issue):
            return issue
        if not (issue.code == Code.UNKNOWN_TABLE and fold(node.name) in self.derived):
            self.push(issue)  # a name WITH defined is already refused as a CTE
        return None

    def _join_hint(self) -> str:
        pid, unit = self.policy.privacy_unit, self.policy.unit_table
        return f"JOIN {unit} m ON t.{pid} = m.{pid}"

    def _joins_on_unit(self, join: exp.Join) -> bool:
        """``USING (member_pid)``: the same pairing as ``ON a.member_pid = b.member_pid``."""
        using = join.args.get("using") or []
        names = [
            fold(column.name) for column in using if isinstance(column, exp.Identifier | exp.Column)
        ]
        return len(using) == 1 and names == [fold(self.policy.privacy_unit)]

    def _check_join(self, join: exp.Join, base: str | None, other: str | None) -> None:
        kind = join.args.get("kind")
        using_unit = self._joins_on_unit(join)
        extra = extra_args(join, {"this", "on", "kind"} | ({"using"} if using_unit else set()))
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
        if using_unit:
            return
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
        condition = unparen(on)
        sides = (
            [unparen(condition.this), unparen(condition.expression)]
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
        node = unparen(node)
        item = Item(node=node, alias=alias, alias_node=alias_node)
        item.aggregate_attempt = any(
            is_aggregate_call(n) or isinstance(n, exp.Window | exp.Filter) for n in node.walk()
        )
        if type(node) in AGGREGATES:
            item.stat = self._aggregate(node)
        elif is_key_shape(node):
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
        function, allowed = AGGREGATES[type(node)]
        extra = extra_args(node, allowed)
        if extra:
            self.add(
                Code.UNSUPPORTED_EXPRESSION,
                f"{func_name(node).upper()} with {', '.join(extra)} is not supported",
                node,
                hint="call the aggregate on one column, e.g. SUM(helpful_votes)",
            )
            return None
        argument = unparen(node.this)
        if type(node) is exp.Count:
            return self._count(node, argument)
        if isinstance(argument, exp.Distinct):
            self.add(
                Code.AGGREGATE_NOT_ALLOWED,
                f"{func_name(node).upper()}(DISTINCT ...) is not supported",
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
        if isinstance(argument, exp.Star) and not extra_args(argument, set()):
            return Stat(Aggregation.COUNT) if self._allowed(Aggregation.COUNT, node) else None
        unit = self.policy.privacy_unit
        if isinstance(argument, exp.Distinct):
            values = [unparen(v) for v in argument.expressions]
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
        value = number(unparen(raw)) if raw is not None else None
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
                f"{func_name(node).upper()} of an expression has no clamp bounds",
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
        self.push(self.classify.identifier(node, bound, context, bare=True))

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
        column = unparen(node.this)
        extra = extra_args(node, {"this", "unit", "input_type_preserved"})
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
        monthly = grain(spec) == "month"
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
        extra = extra_args(group, {"expressions", "all"})
        if extra:
            self.add(
                Code.UNSUPPORTED_GROUPING,
                f"{', '.join(e.upper() for e in extra)} is not supported",
                group.args[extra[0]] if not isinstance(group.args[extra[0]], list) else group,
                hint="group by plain columns: GROUP BY theme, created_month",
            )
        keys: list[tuple[Key, exp.Expr]] = []
        if group.args.get("all"):
            keys += [(i.key, i.node) for i in items if i.key is not None]
        aliases = {fold(i.alias): i for i in items if i.alias is not None and fold(i.alias)}
        for node in (unparen(g) for g in group.expressions):
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
        if is_int_literal(node):
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
        if is_key_shape(node):
            return self._key(node, "group")
        if type(node) in AGGREGATES or is_aggregate_call(node):
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
        node = unparen(node)
        kind = type(node)
        if kind in (exp.And, exp.Or):
            terms = [self._predicate(t) for t in flatten(node, kind)]
            if any(t is None for t in terms):
                return None
            accepted = tuple(cast(list[Predicate], terms))
            return And(terms=accepted) if kind is exp.And else Or(terms=accepted)
        if kind is exp.Not:
            inner = unparen(node.this)
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
        column = unparen(node.this)
        if type(column) is not exp.Column or isinstance(column.this, exp.Star):
            self._not_comparison(node)
            return None
        bound = self._filter_column(column)
        if kind is exp.In:
            if extra_args(node, {"this", "expressions"}) or not node.expressions:
                self._not_comparison(node)
                return None
            values = [self._value(v, bound, "in") for v in node.expressions]
            if bound is None or any(isinstance(v, _Invalid) for v in values):
                return None
            return InSet(column=bound.ref, values=tuple(cast(list[Value], values)), negated=negated)
        if kind is exp.Between:
            if extra_args(node, {"this", "low", "high"}):
                self._not_comparison(node)
                return None
            low = self._value(node.args["low"], bound, "between")
            high = self._value(node.args["high"], bound, "between")
            if bound is None or isinstance(low, _Invalid) or isinstance(high, _Invalid):
                return None
            return Between(column=bound.ref, low=low, high=high, negated=negated)
        if type(node.expression) is not exp.Null or extra_args(node, {"this", "expression"}):
            self._not_comparison(node)
            return None
        return IsNull(column=bound.ref, negated=negated) if bound is not None else None

    def _compare(self, node: exp.Expr) -> Predicate | None:
        op, swapped = _COMPARISONS[type(node)]
        left, right = unparen(node.this), unparen(node.expression)
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
        node = unparen(node)
        if type(node) is exp.Null:
            self.add(
                Code.UNSUPPORTED_EXPRESSION,
                "a comparison with NULL is never true",
                node,
                hint="use IS NULL or IS NOT NULL",
            )
            return _INVALID
        if not is_constant(node):
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
        elif (found := number(node)) is not None:
            try:
                typed = typed_literal(bound.ref.column, spec, found)
            except LiteralProblem as problem:
                self.add(Code(problem.code), problem.message, node, hint=problem.hint)
                return _INVALID
            assert isinstance(typed, int | float)  # a number column: INTEGER, BIGINT or DOUBLE
            return typed
        self._mismatch(node, bound)
        return _INVALID

    def _date(self, node: exp.Expr, bound: Bound, op: str) -> Value | _Invalid:
        literal = node
        if type(node) is exp.Cast:
            if extra_args(node, {"this", "to"}) or not node.to.is_type(exp.DataType.Type.DATE):
                self._mismatch(node, bound)
                return _INVALID
            literal = unparen(node.this)
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
        if grain(bound.spec) == "month" and op in ("=", "!=", "in") and day.day != 1:
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
        if extra_args(order, {"expressions"}):
            self.add(Code.UNSUPPORTED_CLAUSE, "this ORDER BY form is not supported", order)
            return []
        result: list[OrderBy] = []
        for ordered in order.expressions:
            if type(ordered) is not exp.Ordered or extra_args(
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
            target = unparen(ordered.this)
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
        if is_int_literal(target):
            position = int(target.name)
            if 1 <= position <= len(items):
                return _name(items[position - 1]) if items[position - 1].output_name() else None
        elif type(target) is exp.Column and not target.table:
            for name in outputs:
                if fold(name) == fold(target.name):
                    return name
        shown: str | None = None
        if type(target) in AGGREGATES:
            stat = self._aggregate(target)
            if stat is None:
                return None
            shown = next((_name(i) for i in items if i.stat and i.stat.ident == stat.ident), None)
        elif is_key_shape(target):
            key = self._key(target, "other")
            if key is None:
                return None
            shown = next((alias for k, alias in keys if k.ident == key.ident), None)
        elif not is_int_literal(target):
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
        plain = type(limit) is exp.Limit and not extra_args(limit, {"expression", "limit_options"})
        if not plain or (options is not None and any(options.args.values())):
            self.add(
                Code.UNSUPPORTED_CLAUSE,
                "only a plain LIMIT n is supported",
                limit,
                hint=f"write LIMIT n with 1 <= n <= {ceiling}",
            )
            return None
        count = unparen(limit.expression)
        if is_int_literal(count) and 1 <= int(count.name) <= ceiling:
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
        """Refuse a query whose groups, counted from public facts, exceed the limit."""
        estimate = estimate_groups(plan, self.policy)
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
            self.add(*unsupported(root, context))

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
            issue = None if skip else self.classify.node(node, context, is_bare, inner)
            if issue is not None and issue.code not in codes:
                self.push(issue)
                codes = codes | (
                    {issue.code} | _CONSTRUCTS if issue.code in _CONSTRUCTS else {issue.code}
                )
            inner = inner or isinstance(node, exp.Query)
            stack.extend((child, codes, False, inner, False) for child in node.iter_expressions())


_UNIT = ColumnRole.PRIVACY_UNIT
_Op = Literal["=", "!=", "<", "<=", ">", ">="]
_CONSTRUCTS = frozenset({Code.UNSUPPORTED_EXPRESSION, Code.FUNCTION_NOT_ALLOWED, Code.UDF})
"""Codes for "this construct is outside the subset": one per branch is enough.

Under a refused construct only what reads protected data (identifiers,
files, catalogs, subqueries) is still worth its own issue.
"""
_QUIET = frozenset({Code.UNSUPPORTED_EXPRESSION})
"""Codes a caller has already reported for the node it hands to ``_reject_inside``."""


def _name(item: Item) -> str:
    name = item.output_name()
    assert name is not None
    return name


def _union(text: QueryText, nodes: list[exp.Expr]) -> Span | None:
    spans = [s for s in (text.span(n) for n in nodes) if s is not None]
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)


def _widen(first: Span | None, second: Span | None) -> Span | None:
    if first is None or second is None:
        return first or second
    return min(first[0], second[0]), max(first[1], second[1])
