"""The DuckDB half: filters are bound, not pasted; the per-member reduction keeps neighbours.

The key property of the reduction is that it is a function of one member's
records at a time: removing a member from the extract removes exactly that
member's rows from the frame and changes nothing else. Then two extracts that
differ in one member give frames that differ in one member (OpenDP's privacy
unit), and OpenDP's user-level guarantee on the frame is one on the extract.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.errors import DpError
from gateway.policy import Policy
from gateway.policy.model import Aggregation
from gateway.vet.plan import And, Between, Compare, InSet, IsNull, Not, Or, Predicate, QueryPlan
from tests.dp import factories as f

THEMES = ("sleep", "stress", "nutrition")
MONTHS = (dt.date(2024, 1, 9), dt.date(2024, 2, 9), dt.date(2024, 3, 9))

CELLS_PLAN = f.plan(
    "tips",
    f.count(),
    f.members(),
    f.measure(Aggregation.MEAN, "tips", "helpful_votes", "votes"),
    group_by=[f.by("tips", "theme"), f.by("tips", "created_month", "month", bucket="month")],
)
ROWS_PLAN = f.plan(
    "tips",
    f.measure(Aggregation.MEDIAN, "tips", "helpful_votes", "median_votes"),
    group_by=[f.by("tips", "theme"), f.by("tips", "created_month", "month", bucket="month")],
)

tips_strategy = st.lists(
    st.tuples(
        st.integers(0, 5),  # member
        st.sampled_from(THEMES),
        st.sampled_from(MONTHS),
        st.one_of(st.none(), st.integers(-5, 80)),  # votes, some out of the clamp bounds
    ),
    max_size=60,
)


def _extract(policy: Policy, tips: list[tuple[int, str, dt.date, int | None]]) -> Any:
    rows = [f.tip(m, theme, day, votes, n=i) for i, (m, theme, day, votes) in enumerate(tips)]
    return f.extract(policy, {"tips": rows})


def _frame_rows(plan: QueryPlan, policy: Policy, con: duckdb.DuckDBPyConnection) -> Counter[Any]:
    data, _ = f.frame(plan, policy, con)
    return Counter(data.drop("h", strict=False).iter_rows())


def _member_hash(member: int) -> int:
    value = duckdb.execute("SELECT hash(?::VARCHAR)", [f.pid(member)]).fetchone()
    assert value is not None
    return int(value[0])


@pytest.mark.parametrize("plan", [CELLS_PLAN, ROWS_PLAN], ids=["cells", "rows"])
@settings(max_examples=20, deadline=None)
@given(tips=tips_strategy, removed=st.integers(0, 5))
def test_removing_a_member_removes_only_their_frame_rows(
    plan: QueryPlan, tips: list[tuple[int, str, dt.date, int | None]], removed: int
) -> None:
    policy = f.policy()
    everyone = _frame_rows(plan, policy, _extract(policy, tips))
    without = _frame_rows(plan, policy, _extract(policy, [t for t in tips if t[0] != removed]))
    unit = _member_hash(removed)
    assert without == Counter({row: n for row, n in everyone.items() if row[0] != unit})


def test_cells_add_up_to_the_exact_sql_answer_for_members_within_bounds(
    health_policy: Policy,
) -> None:
    tips = [
        (m, THEMES[m % 3], MONTHS[(m + i) % 3], (m * i) % 90 or None)
        for m in range(30)
        for i in range(4)
    ]
    con = _extract(health_policy, tips)
    data, keys = f.frame(CELLS_PLAN, health_policy, con)
    totals = data.group_by("cell").agg(
        rows=pl.sum("n"), members=pl.len(), total=pl.sum("s0"), counted=pl.sum("c0")
    )
    got = {
        keys[r["cell"]]: (r["rows"], r["members"], r["total"], r["counted"])
        for r in totals.iter_rows(named=True)
    }
    exact = con.execute(
        """SELECT theme, strftime(created_month, '%Y-%m-%d'), count(*), count(DISTINCT member_pid),
                  coalesce(sum(least(greatest(helpful_votes, 0), 50)), 0), count(helpful_votes)
           FROM tips GROUP BY ALL"""
    ).fetchall()
    assert got == {(t, m): (n, d, s, c) for t, m, n, d, s, c in exact}


def test_a_heavy_member_is_scaled_to_the_bound_keeping_their_mean(health_policy: Policy) -> None:
    k = health_policy.tables["tips"].contributions.max_rows_per_group
    tips = [(0, "sleep", MONTHS[0], 30)] * 500 + [(0, "sleep", MONTHS[0], 10)] * 500
    data, _ = f.frame(CELLS_PLAN, health_policy, _extract(health_policy, tips))
    (row,) = data.iter_rows(named=True)
    assert (row["n"], row["c0"], row["s0"]) == (k, k, 20 * k)


def _count_where(policy: Policy, con: duckdb.DuckDBPyConnection, where: Predicate) -> int:
    plan = f.plan("tips", f.count(), where=where)
    data, _ = f.frame(plan, policy, con)
    return int(data["n"].sum())


@pytest.mark.parametrize(
    ("where", "sql"),
    [
        (Compare(column=f.col("tips", "theme"), op="=", value="sleep"), "theme = 'sleep'"),
        (
            Compare(column=f.col("tips", "created_date"), op=">=", value="2024-02-01"),
            "created_date >= DATE '2024-02-01'",
        ),
        (
            InSet(column=f.col("tips", "theme"), values=("sleep", "stress"), negated=True),
            "theme NOT IN ('sleep', 'stress')",
        ),
        (InSet(column=f.col("tips", "theme"), values=()), "FALSE"),
        (
            Between(column=f.col("tips", "helpful_votes"), low=10, high=40),
            "helpful_votes BETWEEN 10 AND 40",
        ),
        (IsNull(column=f.col("tips", "helpful_votes")), "helpful_votes IS NULL"),
        (
            Not(
                term=Or(
                    terms=(
                        Compare(column=f.col("tips", "theme"), op="=", value="sleep"),
                        And(
                            terms=(
                                Compare(column=f.col("tips", "helpful_votes"), op="<", value=20),
                                IsNull(column=f.col("tips", "helpful_votes"), negated=True),
                            )
                        ),
                    )
                )
            ),
            "NOT (theme = 'sleep' OR (helpful_votes < 20 AND helpful_votes IS NOT NULL))",
        ),
    ],
)
def test_filters_select_the_rows_sql_selects(
    health_policy: Policy, where: Predicate, sql: str
) -> None:
    tips = [(m % 4, THEMES[m % 3], MONTHS[m % 3], None if m % 5 == 0 else m) for m in range(60)]
    con = _extract(health_policy, tips)
    exact = con.execute(f"SELECT count(*) FROM tips WHERE {sql}").fetchone()
    assert exact is not None
    assert _count_where(health_policy, con, where) == exact[0]


class _Recorder:
    """A connection that records the SQL it is given."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.statements: list[str] = []

    def execute(self, sql: str, params: list[object]) -> duckdb.DuckDBPyConnection:
        self.statements.append(sql)
        return self.con.execute(sql, params)


def test_filter_values_are_bound_parameters_never_sql_text(health_policy: Policy) -> None:
    con = _extract(health_policy, [(1, "sleep", MONTHS[0], 3)])
    hostile = "sleep' OR '1'='1"
    plan = f.plan(
        "tips", f.count(), where=Compare(column=f.col("tips", "theme"), op="=", value=hostile)
    )
    recorder = _Recorder(con)
    data, _ = f.frame(plan, health_policy, recorder)
    assert data.height == 0
    assert recorder.statements
    assert all(hostile not in s and "sleep" not in s for s in recorder.statements)


@pytest.mark.parametrize("column", ["member_pid", "tip_pid"])
def test_identifiers_cannot_be_filtered_on(health_policy: Policy, column: str) -> None:
    plan = f.plan("tips", f.count(), where=Compare(column=f.col("tips", column), op="=", value="x"))
    with pytest.raises(DpError) as err:
        f.frame(plan, health_policy, f.extract(health_policy))
    assert err.value.code == "identifier_in_filter"


def test_members_columns_need_the_join(health_policy: Policy) -> None:
    where = Compare(column=f.col("members", "province"), op="=", value="Utrecht")
    plan = f.plan("tips", f.count(), where=where)
    with pytest.raises(DpError) as err:
        f.frame(plan, health_policy, f.extract(health_policy))
    assert err.value.code == "unknown_column"
    joined = f.plan("tips", f.count(), where=where, join_members=True)
    con = f.extract(
        health_policy,
        {
            "tips": [f.tip(1), f.tip(2, n=1)],
            "members": [f.member(1), f.member(2, province="Zeeland")],
        },
    )
    data, _ = f.frame(joined, health_policy, con)
    assert int(data["n"].sum()) == 1


def test_a_literal_of_the_wrong_type_is_refused_without_quoting_data(health_policy: Policy) -> None:
    con = _extract(health_policy, [(1, "sleep", MONTHS[0], 3)])
    plan = f.plan(
        "tips",
        f.count(),
        where=Compare(column=f.col("tips", "helpful_votes"), op="=", value="many"),
    )
    with pytest.raises(DpError) as err:
        f.frame(plan, health_policy, con)
    assert err.value.code == "query_failed"
    assert "many" not in err.value.message
