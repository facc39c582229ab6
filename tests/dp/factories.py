"""Builders for DP engine tests: small extracts in the policy's schema, and plans.

An extract here is a plain in-memory DuckDB database with the tables and
column types the policy declares; rows are given per test so that every
expected number can be worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from gateway.dp.engine import execute
from gateway.dp.frame import load_frame
from gateway.dp.release import Release
from gateway.dp.shape import shape_of
from gateway.plan import Aggregate, ColumnRef, GroupKey, Predicate, QueryPlan
from gateway.policy import Policy, load_policy
from gateway.policy.model import Aggregation, Bounding

POLICY_PATH = Path(__file__).parents[2] / "policies" / "health_thing.yaml"


def policy() -> Policy:
    return load_policy(POLICY_PATH)


def released(
    plan: QueryPlan,
    policy: Policy,
    connection: duckdb.DuckDBPyConnection,
    *,
    epsilon: float,
    extract_hash: str,
    dummy: bool = False,
) -> Release:
    """The engine's release of ``plan``, its shape derived first as the pipeline derives it."""
    shape = shape_of(plan, policy, epsilon=epsilon)
    outcome = execute(
        plan,
        policy,
        connection,
        shape=shape,
        epsilon=epsilon,
        extract_hash=extract_hash,
        dummy=dummy,
    )
    return outcome.release


def fixed(policy: Policy, rows: int = 20, groups: int = 24) -> Policy:
    """``policy`` with its bounds fixed, as they were before the engine chose them per query.

    Tests of the mechanism itself (sensitivity, noise, accuracy) need bounds
    that do not depend on the data.
    """
    unchosen = policy.model_copy(update={"bounding": Bounding(choose=False)})
    return with_contributions(unchosen, "tips", rows, groups)


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
            data = pl.DataFrame(rows, schema=list(table.columns), orient="row").to_arrow()
            con.register("new_rows", data)
            con.execute(f'INSERT INTO "{name}" SELECT * FROM new_rows')
            con.unregister("new_rows")
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


def with_column(policy: Policy, table: str, column: str, **update: Any) -> Policy:
    """``policy`` with one column's fields replaced (e.g. a public date domain)."""
    columns = dict(policy.tables[table].columns)
    columns[column] = columns[column].model_copy(update=update)
    return _with_table(policy, table, columns=columns)


def with_contributions(policy: Policy, table: str, rows: int, groups: int) -> Policy:
    """``policy`` with other contribution bounds on ``table``."""
    bounds = policy.tables[table].contributions.model_copy(
        update={"max_rows_per_group": rows, "max_groups": groups}
    )
    return _with_table(policy, table, contributions=bounds)


def _with_table(policy: Policy, table: str, **update: Any) -> Policy:
    tables = dict(policy.tables)
    tables[table] = tables[table].model_copy(update=update)
    return policy.model_copy(update={"tables": tables})


def tips_per_theme(
    con: duckdb.DuckDBPyConnection, per_theme: dict[str, int], per_member: int = 1
) -> None:
    """Add ``per_theme[t]`` tips in theme t, ``per_member`` by each member, in March 2024."""
    offset = 0
    for theme, n in per_theme.items():
        con.execute(
            """INSERT INTO tips SELECT sha256('tip' || (i + $o)::VARCHAR),
                   sha256('member-' || ((i + $o) // $k)::VARCHAR), $t, DATE '2024-03-05',
                   DATE '2024-03-01', (i % 7)::INTEGER, 40 FROM range($n) r(i)""",
            {"o": offset, "t": theme, "n": n, "k": per_member},
        )
        offset += n + per_member


def members_per_value(
    con: duckdb.DuckDBPyConnection, column: str, per_value: dict[str, int]
) -> None:
    """Add ``per_value[v]`` members whose ``column`` (province, country) is v."""
    offset = 0
    for value, n in per_value.items():
        province = value if column == "province" else "Utrecht"
        country = value if column == "country" else "NL"
        con.execute(
            """INSERT INTO members SELECT sha256('member-' || (i + $o)::VARCHAR), 1980,
                   '35-44', $p, $c, DATE '2020-01-01' FROM range($n) r(i)""",
            {"o": offset, "p": province, "c": country, "n": n},
        )
        offset += n


def frame(
    plan: QueryPlan, policy: Policy, con: Any
) -> tuple[pl.DataFrame, dict[int, tuple[Any, ...]]]:
    """The frame OpenDP would read for ``plan``, collected, and the names of its cells."""
    shape = shape_of(plan, policy, epsilon=1.0)
    with tempfile.TemporaryDirectory() as directory:
        loaded = load_frame(plan, policy, shape, con, Path(directory))
        return loaded.data.collect(), loaded.keys
