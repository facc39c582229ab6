"""Builders for DP engine tests: small extracts in the policy's schema, and plans.

An extract here is a plain in-memory DuckDB database with the tables and
column types the policy declares; rows are given per test so that every
expected number can be worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from gateway.policy import Policy, load_policy
from gateway.policy.model import Aggregation
from gateway.vet.plan import Aggregate, ColumnRef, GroupKey, Predicate, QueryPlan

POLICY_PATH = Path(__file__).parents[2] / "policies" / "health_thing.yaml"


def policy() -> Policy:
    return load_policy(POLICY_PATH)


def pid(n: int) -> str:
    """A member pseudonym shaped like the extract's (64 hex digits)."""
    return hashlib.sha256(f"member-{n}".encode()).hexdigest()


def extract(
    policy: Policy, tables: dict[str, Iterable[Sequence[Any]]] | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory extract: every policy table, with the given rows (in column order)."""
    con = duckdb.connect(":memory:")
    for name, table in policy.tables.items():
        columns = ", ".join(f'"{c}" {col.type}' for c, col in table.columns.items())
        con.execute(f'CREATE TABLE "{name}" ({columns})')
        rows = list((tables or {}).get(name, ()))
        if rows:
            marks = ", ".join("?" for _ in table.columns)
            con.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)
    return con


def tip(
    member: int,
    theme: str = "sleep",
    day: dt.date = dt.date(2024, 3, 5),
    votes: int | None = 3,
    words: int = 40,
    n: int = 0,
) -> tuple[Any, ...]:
    """A tips row, in the extract's column order."""
    return (
        pid(10_000_000 + member * 100_000 + n),
        pid(member),
        theme,
        day,
        day.replace(day=1),
        votes,
        words,
    )


def member(
    n: int, age_band: str = "25-34", province: str = "Utrecht", birth_year: int = 1990
) -> tuple[Any, ...]:
    """A members row: (member_pid, birth_year, age_band, province, country, joined_month)."""
    return (pid(n), birth_year, age_band, province, "NL", dt.date(2020, 1, 1))


def col(table: str, column: str) -> ColumnRef:
    return ColumnRef(table=table, column=column)


def count(alias: str = "n") -> Aggregate:
    return Aggregate(function=Aggregation.COUNT, alias=alias)


def members(alias: str = "members") -> Aggregate:
    return Aggregate(function=Aggregation.COUNT_DISTINCT_MEMBERS, alias=alias)


def measure(
    function: Aggregation, table: str, column: str, alias: str, quantile: float | None = None
) -> Aggregate:
    return Aggregate(function=function, column=col(table, column), alias=alias, quantile=quantile)


def plan(
    table: str,
    *aggregates: Aggregate,
    group_by: Sequence[GroupKey] = (),
    where: Predicate | None = None,
    join_members: bool = False,
    **extra: Any,
) -> QueryPlan:
    return QueryPlan(
        table=table,
        aggregates=tuple(aggregates),
        group_by=tuple(group_by),
        where=where,
        join_members=join_members,
        **extra,
    )


def by(table: str, column: str, alias: str | None = None, bucket: str | None = None) -> GroupKey:
    return GroupKey(column=col(table, column), bucket=bucket, alias=alias or column)  # type: ignore[arg-type]
