"""``check_plan(plan, policy)``: a plan built in code, held to the SQL vetter's rules.

The analysis SDK builds ``QueryPlan``s directly, so they are checked as plans,
clause by clause, and refused with the codes the vetter gives for the same
mistake written as SQL (a property test holds the two together). It fails
closed: a part it does not know is refused. Every issue is collected, then
raised once.

What comes back is the plan the vetter compiles from the same question: a
month bucket on a column that holds months is dropped, constants are typed
by their column, ANDs and ORs are flat and NOT of IN, BETWEEN or IS NULL is
its negated form. An identical question so has an identical plan, and is
answered from the same stored release, however it was asked.
"""

from __future__ import annotations

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
    Predicate,
    QueryPlan,
)
from gateway.plan import Literal_ as Value
from gateway.policy.literals import LiteralProblem, typed_literal
from gateway.policy.model import Aggregation, Column, ColumnRole, Policy
from gateway.vet.bounds import check_bounds
from gateway.vet.codes import Code
from gateway.vet.estimate import estimate_groups
from gateway.vet.scope import PROTECTED
from gateway.vet.shapes import grain
from gateway.vet.vetting import rejected

MAX_ALIAS = 64
COUNTS = frozenset({Aggregation.COUNT, Aggregation.COUNT_DISTINCT_MEMBERS})
GROUPABLE = frozenset({ColumnRole.CATEGORY, ColumnRole.DATE})
_OUTPUT_IDENTIFIER = (Code.IDENTIFIER_IN_OUTPUT, Code.IDENTIFIER_IN_GROUP_BY)
"""A group key is both selected and grouped on, as the SQL it stands for."""


def check_plan(plan: QueryPlan, policy: Policy) -> QueryPlan:
    """The plan as the vetter compiles the same question; raises one ``VetError`` otherwise."""
    most = policy.limits.max_query_bytes // 2
    if (size := _size(plan)) > most:
        raise rejected(
            [
                Issue(
                    code=Code.QUERY_TOO_LONG,
                    message=f"the plan has {size} parts; the policy allows {most}",
                    hint="shorten the query: long IN lists can often become a range (between)",
                )
            ]
        )
    check = _Check(plan, policy)
    keys = tuple(check.key(k) for k in plan.group_by)
    for aggregate in plan.aggregates:
        check.aggregate(aggregate)
    where = check.predicate(plan.where, 1) if plan.where is not None else None
    check.outputs(plan, keys)
    check.order_and_limit(plan)
    check.issues += check_bounds(plan, policy)
    if check.issues:
        raise rejected(check.issues)
    checked = plan.model_copy(update={"group_by": keys, "where": where})
    most = policy.limits.max_groups
    if (estimate := estimate_groups(checked, policy)) > most:
        check.add(
            Code.TOO_MANY_GROUPS,
            f"the query has at least {estimate} groups; the policy allows {most}",
            "group on fewer or coarser keys (year), or narrow the date range in the filter",
        )
        raise rejected(check.issues)
    return checked


def _size(plan: QueryPlan) -> int:
    """Aggregates, keys, conditions and constants: each takes at least two bytes of SQL
    (``1,``), so a plan over the policy's query size in halves has no SQL the vetter
    would take. Counted before anything else, so a huge plan costs no more than this."""
    size = len(plan.aggregates) + len(plan.group_by)
    stack = [plan.where] if plan.where is not None else []
    while stack:
        term = stack.pop()
        size += 1
        if isinstance(term, And | Or):
            stack += term.terms
        elif isinstance(term, Not):
            stack.append(term.term)
        elif isinstance(term, InSet):
            size += len(term.values)
    return size


class _Check:
    """One plan being checked: the tables it may read, and the issues so far."""

    def __init__(self, plan: QueryPlan, policy: Policy) -> None:
        self.policy = policy
        self.issues: list[Issue] = []
        unit = policy.unit_table
        self.complete = plan.table in policy.tables
        self.tables = {plan.table} | ({unit} if plan.join_members else set())
        if not self.complete:
            self.add(
                Code.UNKNOWN_TABLE,
                f"`{plan.table}` is not an extract table",
                "the extract tables are: " + ", ".join(policy.tables),
            )
        elif plan.join_members and (
            plan.table == unit or policy.tables[plan.table].columns.get(policy.privacy_unit) is None
        ):
            self.add(
                Code.JOIN_NOT_ALLOWED,
                f"a join must pair {unit} with one other table, on {policy.privacy_unit}",
                f"join {unit} to one of the other tables",
            )
        if not plan.aggregates:
            self.add(
                Code.ROW_LEVEL_OUTPUT,
                "the query has no aggregate, so it would return rows",
                "add an aggregate such as count()",
            )

    def add(self, code: Code, message: str, hint: str) -> None:
        self.issues.append(Issue(code=code, message=message, hint=hint))

    def column(self, ref: ColumnRef, protected: tuple[Code, ...]) -> Column | None:
        """The policy column ``ref`` names, if known and not protected (else the issues)."""
        if ref.table not in self.tables or (ref.table not in self.policy.tables):
            if self.complete:
                self.add(
                    Code.UNKNOWN_TABLE,
                    f"`{ref.table}` is not a table this query reads",
                    "read members' columns after join_members()",
                )
            return None
        spec = self.policy.tables[ref.table].columns.get(ref.column)
        if spec is None:
            self.add(
                Code.UNKNOWN_COLUMN,
                f"`{ref.column}` is not a column of {ref.table}",
                "columns: " + ", ".join(self.policy.tables[ref.table].columns),
            )
            return None
        if spec.role in PROTECTED:
            what = "the privacy unit" if spec.role is ColumnRole.PRIVACY_UNIT else "an identifier"
            for code in protected:
                self.add(
                    code,
                    f"`{ref}` is {what}: never released, grouped on or filtered on",
                    "count members with count_members(), rows with count()",
                )
            return None
        return spec

    def key(self, key: GroupKey) -> GroupKey:
        """The key as the vetter reads it: a bucket at the column's own grain is none."""
        spec = self.column(key.column, _OUTPUT_IDENTIFIER)
        if spec is None:
            return key
        if key.bucket is not None and spec.type != "DATE":
            self.add(
                Code.TYPE_MISMATCH,
                f"only a date column has a {key.bucket}; `{key.column}` is {spec.type}",
                "bucket a date column, e.g. col('created_date').month()",
            )
            return key
        if spec.role not in GROUPABLE:
            self.add(
                Code.NOT_GROUPABLE,
                f"`{key.column}` is a {spec.role.value}; only category and date columns "
                "can be grouped on",
                "aggregate measures (sum_, mean, median) instead of grouping on them",
            )
        if key.bucket == "month" and grain(spec) == "month":
            return key.model_copy(update={"bucket": None})
        return key

    def aggregate(self, aggregate: Aggregate) -> None:
        function, name = aggregate.function, aggregate.alias
        if function not in self.policy.aggregations:
            allowed = ", ".join(a.value for a in self.policy.aggregations)
            self.add(
                Code.AGGREGATE_NOT_ALLOWED,
                f"{name}: the policy does not allow {function.value} aggregates",
                f"allowed: {allowed}",
            )
            return
        fraction = aggregate.quantile
        if (fraction is not None) != (function is Aggregation.QUANTILE) or not (
            fraction is None or 0 < fraction < 1
        ):
            self.add(
                Code.INVALID_QUANTILE,
                f"{name}: a quantile, and only a quantile, has one fraction strictly "
                "between 0 and 1",
                "e.g. quantile('word_count', 0.9); median(...) for the middle",
            )
        if function in COUNTS:
            if aggregate.column is not None:
                self.add(
                    Code.AGGREGATE_NOT_ALLOWED,
                    f"{name}: a {function.value} counts rows or members, not a column",
                    "use count() or count_members()",
                )
            return
        spec = (
            None
            if aggregate.column is None
            else self.column(aggregate.column, (Code.IDENTIFIER_IN_EXPRESSION,))
        )
        if aggregate.column is None or (spec is not None and spec.role is not ColumnRole.MEASURE):
            self.add(
                Code.UNBOUNDED_MEASURE,
                f"{name}: a {function.value} needs a measure column with clamp bounds",
                "aggregate a measure column as it is",
            )

    def predicate(self, term: Predicate, depth: int) -> Predicate:
        """``term`` checked, in the vetter's form."""
        if depth > self.policy.limits.max_nesting:
            self.add(
                Code.TOO_DEEPLY_NESTED,
                f"the filter nests deeper than {self.policy.limits.max_nesting} levels",
                "write the filter with fewer nested NOTs and parentheses",
            )
            return term
        if isinstance(term, And | Or):
            if len(term.terms) < 2:
                self.add(
                    Code.UNSUPPORTED_EXPRESSION,
                    "an AND or OR joins two or more conditions",
                    "combine conditions with & and |",
                )
            flat: list[Predicate] = []
            for inner in term.terms:
                checked = self.predicate(inner, depth + (not isinstance(inner, type(term))))
                flat += checked.terms if isinstance(checked, type(term)) else [checked]
            return term.model_copy(update={"terms": tuple(flat)})
        if isinstance(term, Not):
            inner = self.predicate(term.term, depth + 1)
            if isinstance(inner, InSet | Between | IsNull) and not inner.negated:
                return inner.model_copy(update={"negated": True})
            return term.model_copy(update={"term": inner})
        if isinstance(term, Compare):
            return term.model_copy(update={"value": self.value(term.column, term.value, term.op)})
        if isinstance(term, InSet):
            if not term.values:
                self.add(
                    Code.UNSUPPORTED_EXPRESSION,
                    "an IN list needs at least one value",
                    "e.g. col('theme').is_in(['sleep'])",
                )
            values = tuple(self.value(term.column, v, "in") for v in term.values)
            return term.model_copy(update={"values": values})
        if isinstance(term, Between):
            low = self.value(term.column, term.low, "between")
            high = self.value(term.column, term.high, "between")
            return term.model_copy(update={"low": low, "high": high})
        if isinstance(term, IsNull):
            self.column(term.column, (Code.IDENTIFIER_IN_FILTER,))
            return term
        self.add(Code.UNSUPPORTED_EXPRESSION, "this filter is not supported", "see docs")
        return term

    def value(self, ref: ColumnRef, value: Value, op: str) -> Value:
        """``value`` typed by its column, as the vetter binds it."""
        if value is None:
            self.add(
                Code.UNSUPPORTED_EXPRESSION,
                f"a comparison of `{ref}` with NULL is never true",
                "use is_null() or is_not_null()",
            )
            return value
        spec = self.column(ref, (Code.IDENTIFIER_IN_FILTER,))
        if spec is None:
            return value
        expected = {"DATE": str, "VARCHAR": str}.get(spec.type, int | float)
        if isinstance(value, bool) or not isinstance(value, expected):
            return self._problem(_mismatch(ref, spec, value), value)
        try:
            typed = typed_literal(ref.column, spec, value)
        except LiteralProblem as problem:
            return self._problem(problem, value)
        if spec.type == "DATE":
            return self._date(ref, spec, str(typed), op)
        if spec.type == "VARCHAR":
            return self._in_domain(ref, spec, str(typed), op)
        assert isinstance(typed, int | float)
        return typed

    def _problem(self, problem: LiteralProblem, value: Value) -> Value:
        self.add(Code(problem.code), problem.message, problem.hint)
        return value

    def _date(self, ref: ColumnRef, spec: Column, day: str, op: str) -> Value:
        if grain(spec) == "month" and op in ("=", "!=", "in") and not day.endswith("-01"):
            self.add(
                Code.INVALID_LITERAL,
                f"`{ref}` holds the first day of each month, never {day}",
                f"compare with '{day[:8]}01', or use a range",
            )
        return day

    def _in_domain(self, ref: ColumnRef, spec: Column, value: str, op: str) -> Value:
        if spec.domain is not None and op in ("=", "!=", "in") and value not in spec.domain:
            self.add(
                Code.VALUE_NOT_IN_DOMAIN,
                f"'{value}' is not a value of `{ref}`",
                "values: " + ", ".join(spec.domain),
            )
        return value

    def outputs(self, plan: QueryPlan, keys: tuple[GroupKey, ...]) -> None:
        """Output names: plain, each once; each group key selected once."""
        seen: set[str] = set()
        grouped: set[tuple[ColumnRef, str | None]] = set()
        for key in keys:
            if (key.column, key.bucket) in grouped:
                self.add(
                    Code.DUPLICATE_OUTPUT,
                    f"`{key.column}` is grouped on twice",
                    "group on each key once",
                )
            else:
                grouped.add((key.column, key.bucket))
                self._claim(key.alias, seen)
        for aggregate in plan.aggregates:
            self._claim(aggregate.alias, seen)

    def _claim(self, alias: str, seen: set[str]) -> None:
        if not alias or len(alias) > MAX_ALIAS or not alias.isprintable():
            self.add(
                Code.INVALID_ALIAS,
                f"an output name must be 1 to {MAX_ALIAS} printable characters",
                "use a short plain name, e.g. .alias('tips_per_theme')",
            )
        if alias.lower() in seen:
            self.add(
                Code.DUPLICATE_OUTPUT,
                f"two output columns would both be called `{alias}`",
                "give each output column its own alias",
            )
        seen.add(alias.lower())

    def order_and_limit(self, plan: QueryPlan) -> None:
        outputs = plan.output_columns
        for order in plan.order_by:
            if order.alias not in outputs:
                self.add(
                    Code.ORDER_BY_NOT_OUTPUT,
                    f"`{order.alias}` is not an output column; only they can be sorted on",
                    "sort on one of: " + ", ".join(outputs),
                )
        most = self.policy.limits.max_groups
        if plan.limit is not None and not 1 <= plan.limit <= most:
            self.add(
                Code.INVALID_LIMIT,
                f"the limit must be a whole number from 1 to {most}",
                f"limit(n) with 1 <= n <= {most}",
            )


def _mismatch(ref: ColumnRef, spec: Column, value: Value) -> LiteralProblem:
    expected = {"DATE": "a datetime.date", "VARCHAR": "a string"}.get(spec.type, "a number")
    return LiteralProblem(
        Code.TYPE_MISMATCH,
        f"`{ref}` is {spec.type}; it cannot be compared with {value!r}",
        hint=f"compare it with {expected}",
    )
