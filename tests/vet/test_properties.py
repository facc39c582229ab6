"""Properties over generated input: the vetter fails closed and never crashes.

Whatever text arrives, ``vet`` returns a plan or raises ``VetError``, nothing
else. A plan comes back only for queries that an independent check (its own
sqlglot parse) finds free of identifier leaks and of file or catalog reads.
"""

from __future__ import annotations

import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from gateway.errors import VetError
from gateway.plan import And, Not, Or, Predicate, QueryPlan
from gateway.policy import ColumnRole, Policy
from gateway.vet import vet
from tests.vet.factories import health_thing

POLICY = health_thing()
PROTECTED = {"member_pid", "tip_pid"}
READERS = ("read_", "glob", "parquet_", "sqlite_", "duckdb_", "pragma_", "getenv")
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKENS = [
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "ORDER BY",
    "HAVING",
    "LIMIT",
    "JOIN",
    "LEFT JOIN",
    "ON",
    "AND",
    "OR",
    "NOT",
    "IN",
    "BETWEEN",
    "IS NULL",
    "AS",
    "DISTINCT",
    "UNION",
    "WITH",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "OVER",
    "(",
    ")",
    ",",
    ";",
    "*",
    "=",
    "<",
    ">=",
    "+",
    "-",
    "||",
    "::",
    ".",
    "COUNT(*)",
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MEDIAN",
    "QUANTILE_CONT",
    "date_trunc",
    "'month'",
    "tips",
    "members",
    "main.tips",
    "t",
    "m",
    "theme",
    "province",
    "helpful_votes",
    "word_count",
    "created_date",
    "member_pid",
    "tip_pid",
    "t.member_pid",
    "m.member_pid",
    "'sleep'",
    "'2024-01-01'",
    "DATE",
    "1",
    "0.9",
    "-3",
    "read_csv('x.csv')",
    "'x.csv'",
    "glob('*')",
    "information_schema.tables",
    "duckdb_tables()",
    "getenv('HOME')",
    "COPY",
    "ATTACH",
    "PRAGMA",
    "/* c */",
    "-- c\n",
    '"member_pid"',
    '"tips"',
    "$1",
    "?",
    "[1]",
    "{'a': 1}",
    "x -> x",
]


def _protected_use_is_allowed(column: exp.Column) -> bool:
    """Identifiers may appear in a JOIN's ON and in COUNT(DISTINCT ...) only."""
    parent = column.parent
    if isinstance(parent, exp.Distinct) and isinstance(parent.parent, exp.Count):
        return True
    return column.find_ancestor(exp.Join) is not None


def leaks(sql: str) -> bool:
    """An independent reading of the query: does it touch what must never be released?"""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except Exception:
        return True
    for column in tree.find_all(exp.Column):
        if column.name.lower() in PROTECTED and not _protected_use_is_allowed(column):
            return True
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier) or table.name.lower() not in POLICY.tables:
            return True
    for call in tree.find_all(exp.Func):
        name = (call.name if isinstance(call, exp.Anonymous) else call.key).lower()
        if name.startswith(READERS):
            return True
    return False


def _predicate_columns(term: Predicate | None) -> list[str]:
    found: list[str] = []
    stack = [term] if term is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, And | Or):
            stack.extend(current.terms)
        elif isinstance(current, Not):
            stack.append(current.term)
        else:
            found.append(f"{current.column}")
    return found


def check_plan(plan: QueryPlan, policy: Policy) -> None:
    """A plan names no protected column anywhere, and survives JSON unchanged."""

    def role(ref: str) -> ColumnRole:
        table, column = ref.split(".")
        return policy.column(table, column).role

    assert all(role(str(k.column)) in (ColumnRole.CATEGORY, ColumnRole.DATE) for k in plan.group_by)
    for aggregate in plan.aggregates:
        assert aggregate.column is None or role(str(aggregate.column)) is ColumnRole.MEASURE
    for ref in _predicate_columns(plan.where):
        assert role(ref) not in (ColumnRole.PRIVACY_UNIT, ColumnRole.IDENTIFIER)
    assert QueryPlan.model_validate_json(plan.model_dump_json()) == plan


def vet_or_refuse(sql: str) -> QueryPlan | None:
    """``vet``, where a refusal is an answer and any other exception a failure."""
    try:
        return vet(sql, POLICY)
    except VetError as error:
        issues = error.issues
    assert issues
    return None


@SETTINGS
@given(st.text(max_size=300))
def test_any_text_is_planned_or_refused(sql: str) -> None:
    plan = vet_or_refuse(sql)
    if plan is not None:
        check_plan(plan, POLICY)
        assert not leaks(sql)


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_token_soup_is_planned_or_refused(tokens: list[str]) -> None:
    sql = " ".join(tokens)
    plan = vet_or_refuse(sql)
    if plan is not None:
        check_plan(plan, POLICY)
        assert not leaks(sql)


SAFE_ITEMS = [
    "COUNT(*)",
    "COUNT(*) AS n",
    "COUNT(DISTINCT member_pid)",
    "SUM(helpful_votes)",
    "AVG(word_count)",
    "MEDIAN(word_count)",
    "QUANTILE_CONT(helpful_votes, 0.9)",
    "theme",
    "date_trunc('month', created_date)",
]
HOSTILE_ITEMS = [
    "member_pid",
    "t.member_pid",
    "tip_pid",
    "province",
    "MIN(member_pid)",
    "md5(tip_pid)",
    "string_agg(member_pid, ',')",
    "list(member_pid)",
    "any_value(tip_pid)",
    "arg_max(member_pid, helpful_votes)",
    "COUNT(DISTINCT tip_pid)",
    "SUM(CASE WHEN member_pid = 'a' THEN 1 ELSE 0 END)",
    "member_pid || ''",
    "hash(member_pid)",
    "getenv('HOME')",
    "*",
    "t.*",
]
SAFE_SOURCES = [
    "tips",
    "tips t",
    "main.tips t",
    '"tips" t',
    "tips t JOIN members m ON t.member_pid = m.member_pid",
    "members m JOIN tips t ON m.member_pid = t.member_pid",
]
HOSTILE_SOURCES = [
    "members m",
    "theme_follows",
    "tips t JOIN members m ON t.tip_pid = m.member_pid",
    "tips t LEFT JOIN members m ON t.member_pid = m.member_pid",
    "tips t, members m",
    "read_csv('leak.csv')",
    "'leak.csv'",
    "glob('*')",
    "information_schema.tables",
    "duckdb_tables()",
    "other.tips",
    "(SELECT * FROM tips) t",
]
SAFE_FILTERS = [
    "theme = 'sleep'",
    "theme IN ('sleep', 'stress')",
    "helpful_votes > 3",
    "created_date >= DATE '2024-01-01'",
    "NOT (theme = 'stress')",
]
HOSTILE_FILTERS = [
    "tip_pid = 'x'",
    "member_pid IN ('a', 'b')",
    "length(member_pid) > 3",
    "m.member_pid IS NOT NULL",
    "theme = getenv('X')",
    "theme IN (SELECT theme FROM read_csv('x'))",
]
SAFE_KEYS = ["theme", "1", "ALL", "date_trunc('month', created_date)"]
HOSTILE_KEYS = ["member_pid", "tip_pid", "province", "md5(member_pid)", "2"]


def mostly_safe(safe: list[str], hostile: list[str]) -> st.SearchStrategy[str]:
    """Two parts in three harmless, so that whole queries are often accepted."""
    return st.one_of(st.sampled_from(safe), st.sampled_from(safe), st.sampled_from(hostile))


@st.composite
def queries(draw: st.DrawFn) -> str:
    items = draw(st.lists(mostly_safe(SAFE_ITEMS, HOSTILE_ITEMS), min_size=1, max_size=3))
    sql = f"SELECT {', '.join(items)} FROM {draw(mostly_safe(SAFE_SOURCES, HOSTILE_SOURCES))}"
    filters = draw(st.lists(mostly_safe(SAFE_FILTERS, HOSTILE_FILTERS), max_size=3))
    if filters:
        sql += " WHERE " + draw(st.sampled_from([" AND ", " OR "])).join(filters)
    keys = draw(st.lists(mostly_safe(SAFE_KEYS, HOSTILE_KEYS), max_size=2))
    if keys:
        sql += " GROUP BY " + ", ".join(keys)
    return sql


@SETTINGS
@given(queries())
def test_composed_queries_never_plan_a_leak(sql: str) -> None:
    plan = vet_or_refuse(sql)
    if plan is not None:
        check_plan(plan, POLICY)
        assert not leaks(sql), sql


def vet_or_refuse_issues(sql: str) -> list[str]:
    try:
        vet(sql, POLICY)
    except VetError as error:
        return [issue.code for issue in error.issues]
    return []


@settings(SETTINGS, max_examples=100)
@given(
    st.sampled_from(["({})", "NOT {}", "- {}", "CASE WHEN {} THEN 1 END", "[{}]", "{} + 1"]),
    st.integers(min_value=1, max_value=400),
)
def test_deep_nesting_is_refused_without_crashing(wrapper: str, depth: int) -> None:
    condition = "theme = 'sleep'"
    for _ in range(depth):
        condition = wrapper.format(condition)
    sql = f"SELECT COUNT(*) FROM tips WHERE {condition}"
    codes = vet_or_refuse_issues(sql)
    if depth > POLICY.limits.max_nesting:
        assert "too_deeply_nested" in codes or "query_too_long" in codes
