"""The DuckDB half: filters are bound, not pasted; members are bounded; neighbours stay so.

The key property of the frame is that it is a function of one member's
records at a time (and of a salt drawn per query): removing a member from the
extract removes exactly that member's rows and changes nothing else, and no
member has more rows than the bounds OpenDP is told (``mechanism.bounds``).
Then two extracts that differ in one member give frames that differ by at
most those bounds, and OpenDP's guarantee on the frame is one on the extract.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dp.frame import reduced
from gateway.dp.mechanism import bounds
from gateway.dp.shape import Pipeline, shape_of
from gateway.errors import DpError
from gateway.plan import And, Between, Compare, InSet, IsNull, Not, Or, Predicate, QueryPlan
from gateway.policy import Policy
from gateway.policy.model import Aggregation
from tests.dp import factories as f

THEMES = ("sleep", "stress", "nutrition")
MONTHS = (dt.date(2024, 1, 9), dt.date(2024, 2, 9), dt.date(2024, 3, 9))

CELLS_PLAN = f.plan(
    "tips",
    f.count(),
    f.members(),
    f.measure(Aggregation.MEAN, "tips", "helpful_votes", "votes"),
    f.measure(Aggregation.SUM, "tips", "helpful_votes", "total_votes"),
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


TIGHT = f.with_contributions(f.policy(), "tips", rows=2, groups=3)
"""At most 2 rows per cell and 3 cells per member: the generated members often exceed both."""

UNGROUPED_CELLS = f.plan(
    "tips", f.count(), f.measure(Aggregation.SUM, "tips", "helpful_votes", "v")
)
UNGROUPED_ROWS = f.plan("tips", f.measure(Aggregation.MEDIAN, "tips", "helpful_votes", "m"))
PLANS = {
    "cells": CELLS_PLAN,
    "rows": ROWS_PLAN,
    "cells-1": UNGROUPED_CELLS,
    "rows-1": UNGROUPED_ROWS,
}


def _member_hash(member: int) -> int:
    value = duckdb.execute("SELECT hash(?::VARCHAR)", [f.pid(member)]).fetchone()
    assert value is not None
    return int(value[0])


def _by_member(data: pl.DataFrame) -> dict[int, Counter[Any]]:
    """Each member's frame rows, without their pseudonym."""
    rows: dict[int, Counter[Any]] = {}
    for row in data.iter_rows():
        rows.setdefault(row[0], Counter())[row[1:]] += 1
    return rows


def _cell_counts(rows: Counter[Any], plan: QueryPlan) -> Counter[Any]:
    """Rows per cell, the part of a member's frame rows that no random sample changes."""
    counts = Counter[Any]()
    for row, n in rows.items():
        counts[row[0] if plan.group_by else None] += n
    return counts


@pytest.mark.parametrize("plan", PLANS.values(), ids=PLANS)
@settings(max_examples=25, deadline=None)
@given(tips=tips_strategy, removed=st.integers(0, 5))
def test_removing_a_member_changes_only_their_frame_rows(
    plan: QueryPlan, tips: list[tuple[int, str, dt.date, int | None]], removed: int
) -> None:
    """Other members keep the same rows: the same cells, from a salt that is not theirs.

    With one salt for both extracts (as for two runs of one query), which
    cells a member keeps depends on their own records alone. Which of their
    records stand for a cell (pipeline rows) is a fresh random sample each
    time, so for those the counts per cell must match and the values be the
    member's own.
    """
    with mock.patch("gateway.dp.frame.secrets.randbits", return_value=12345):
        everyone = _by_member(f.frame(plan, TIGHT, _extract(TIGHT, tips))[0])
        kept = [t for t in tips if t[0] != removed]
        without = _by_member(f.frame(plan, TIGHT, _extract(TIGHT, kept))[0])
    everyone.pop(_member_hash(removed), None)
    assert everyone.keys() == without.keys()
    for member, rows in everyone.items():
        if plan is CELLS_PLAN or plan is UNGROUPED_CELLS:
            assert without[member] == rows
        else:
            assert _cell_counts(without[member], plan) == _cell_counts(rows, plan)


@pytest.mark.parametrize("plan", PLANS.values(), ids=PLANS)
@settings(max_examples=25, deadline=None)
@given(tips=tips_strategy, part_rows=st.sampled_from([1, 7, 1_000]))
def test_every_member_keeps_as_much_as_the_bounds_opendp_is_told_allow(
    plan: QueryPlan, tips: list[tuple[int, str, dt.date, int | None]], part_rows: int
) -> None:
    """Per member: no more rows, rows per cell or cells than ``bounds`` declares, and no fewer.

    Also when members are read in several passes (``part_rows`` source rows each).
    """
    shape = shape_of(plan, TIGHT, epsilon=1.0)
    declared = bounds(shape)
    per_cell = shape.per_group if shape.pipeline is Pipeline.ROWS else 1
    assert declared[0].per_group == per_cell * (shape.num_groups if plan.group_by else 1)
    if plan.group_by:
        assert (declared[1].per_group, declared[1].num_groups) == (per_cell, shape.num_groups)
    with mock.patch("gateway.dp.frame.PART_ROWS", part_rows):
        data, keys = f.frame(plan, TIGHT, _extract(TIGHT, tips))
    exact: dict[int, Counter[Any]] = {}
    for member, theme, day, _ in tips:
        cell = (theme, day.replace(day=1).isoformat()) if plan.group_by else None
        exact.setdefault(_member_hash(member), Counter())[cell] += 1
    assert data["pid"].n_unique() == len(exact)
    for member, rows in _by_member(data).items():
        cells = Counter[Any]()
        for row, n in rows.items():
            cell = keys[row[0]] if plan.group_by else None
            cells[cell] += row[1 if plan.group_by else 0] if shape.pipeline is Pipeline.CELLS else n
            assert shape.pipeline is Pipeline.ROWS or n == 1  # one row per member and cell
        assert rows.total() <= (declared[0].per_group or 0)
        assert len(cells) == min(len(exact[member]), shape.num_groups if plan.group_by else 1)
        assert all(n == min(exact[member][cell], shape.per_group) for cell, n in cells.items())


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
    assert row["d0"] == (20 - 25) * k  # centred on the middle of [0, 50], for the mean


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

    def execute(self, sql: str, params: list[object] | None = None) -> duckdb.DuckDBPyConnection:
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


def test_a_literal_of_the_wrong_type_is_refused_before_any_row_is_read(
    health_policy: Policy,
) -> None:
    con = _extract(health_policy, [(1, "sleep", MONTHS[0], 3)])
    plan = f.plan(
        "tips",
        f.count(),
        where=Compare(column=f.col("tips", "helpful_votes"), op="=", value="many"),
    )
    with pytest.raises(DpError) as err:
        f.frame(plan, health_policy, con)
    assert err.value.code == "type_mismatch"


def test_members_keep_their_cells_independently_of_each_other() -> None:
    """Which cells a member keeps is drawn for them alone, so bounding's loss spreads.

    200 members have one tip in each of the 9 theme × month cells and keep 3:
    drawn independently, each cell is kept by about 67 members (binomial, sd
    about 7, so within [33, 100] but with probability about 1e-6). A shared
    ranking of cells, as the engine once had, keeps every member's same 3
    cells: 200 in three cells and 0 in six, which this test refuses.
    """
    tips = [(m, theme, month, 1) for m in range(200) for theme in THEMES for month in MONTHS]
    rows = [f.tip(m, theme, day, votes, n=i) for i, (m, theme, day, votes) in enumerate(tips)]
    con = f.extract(TIGHT, {"tips": rows})
    data, keys = f.frame(CELLS_PLAN, TIGHT, con)
    kept = Counter(keys[cell] for cell in data["cell"])
    assert len(kept) == 9
    assert all(33 <= n <= 100 for n in kept.values()), kept
    temporary = con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()
    assert temporary == (0,)  # the per-member reduction is dropped with its query


def _round(value: float) -> int:
    """DuckDB's ``round``: halves away from zero."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


@settings(max_examples=40, deadline=None)
@given(tips=tips_strategy)
def test_the_cuts_read_only_what_is_cut_and_add_up_to_the_whole_cut(
    tips: list[tuple[int, str, dt.date, int | None]],
) -> None:
    """``Reduction.cuts`` leaves out rows that cannot be cut; its sums are the whole cut's.

    Worked out here member by member from the records: cells beyond the cell
    bound, rows beyond the row bound, values beyond the clamp, as the frame
    keeps them (a random G of a member's cells: each cell kept with chance G/g).
    """
    shape = shape_of(CELLS_PLAN, TIGHT, epsilon=1.0)
    k, groups, votes = shape.per_group, shape.num_groups, shape.measures[0]
    with (
        tempfile.TemporaryDirectory() as directory,
        reduced(CELLS_PLAN, TIGHT, shape, _extract(TIGHT, tips), Path(directory)) as reduction,
    ):
        released = reduction.cuts(shape).collect()
    cells: dict[int, dict[Any, list[int | None]]] = {}
    for member, theme, day, value in tips:
        cells.setdefault(member, {}).setdefault((theme, day.month), []).append(value)
    expected = Counter[str]()
    for member_cells in cells.values():
        kept = min(1.0, groups / len(member_cells))
        rows = counted = over = whole = 0.0
        for values in member_cells.values():
            present = [v for v in values if v is not None]
            scale = 1.0 if len(present) <= k else k / len(present)
            rows += len(values) - min(len(values), k)
            clamped = sum(min(max(v, votes.lower), votes.upper) for v in present)
            whole += sum(present)
            counted += clamped * scale
            over += sum(max(v - votes.upper, 0) for v in present) * scale
        expected["rows"] += _round(rows * kept + sum(map(len, member_cells.values())) * (1 - kept))
        expected["cells"] += max(len(member_cells) - groups, 0)
        expected["sum0"] += _round(whole - counted * kept)
        expected["over0"] += _round(over * kept)
    totals = {name: int(released[name].sum()) for name in ("rows", "cells", "sum0", "over0")}
    assert totals == {name: expected[name] for name in totals}
    within = [
        member_cells
        for member_cells in cells.values()
        if len(member_cells) <= groups
        and all(len(values) <= k for values in member_cells.values())
        and all(
            v is None or votes.lower <= v <= votes.upper
            for values in member_cells.values()
            for v in values
        )
    ]
    assert released.height == len(cells) - len(within)  # members with nothing cut: not read


def test_what_opendp_reads_is_a_file_in_the_querys_own_directory(
    health_policy: Policy, tmp_path: Path
) -> None:
    """OpenDP's Polars would copy an in-memory frame on every release; a file it reads directly.

    Members, frame and cuts are each scanned from a Parquet file in the
    directory the query was given, and nowhere else.
    """
    tips = [(m, theme, MONTHS[0], 3) for m in range(4) for theme in THEMES]
    shape = shape_of(CELLS_PLAN, TIGHT, epsilon=1.0)
    with reduced(CELLS_PLAN, TIGHT, shape, _extract(TIGHT, tips), tmp_path) as reduction:
        read = [reduction.members(), reduction.frame(shape).data, reduction.cuts(shape)]
    for data in read:
        assert "Parquet SCAN" in data.explain()
        assert str(tmp_path) in data.explain()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "cuts.parquet",
        "frame.parquet",
        "members.parquet",
    ]


def test_each_member_draws_one_of_their_values_never_a_missing_one(tmp_path: Path) -> None:
    """A clamp is chosen from one value per member: one they have, even among many nulls."""
    plan = f.plan(
        "tips",
        f.measure(Aggregation.MEAN, "tips", "helpful_votes", "votes"),
        group_by=[f.by("tips", "theme")],
    )
    shape = shape_of(plan, TIGHT, epsilon=1.0)
    assert shape.choice.measures
    tips = [(m, THEMES[m], MONTHS[1], 7 + m) for m in range(3)]
    tips += [(m, theme, MONTHS[0], None) for m in range(3) for theme in THEMES for _ in range(30)]
    tips += [(3, THEMES[0], MONTHS[0], None)]  # a member with no value at all
    with reduced(plan, TIGHT, shape, _extract(TIGHT, tips), tmp_path) as reduction:
        drawn = reduction.members().collect()
    assert sorted(drawn["v0"].to_list(), key=lambda v: (v is None, v)) == [7, 8, 9, None]


def test_the_frame_holds_only_the_sums_opendp_reads(health_policy: Policy) -> None:
    """A mean reads a centred sum, a total the plain one: a frame column nobody reads is not
    written (a sixth of the frame for a count and a mean)."""
    mean = f.measure(Aggregation.MEAN, "tips", "helpful_votes", "votes")
    total = f.measure(Aggregation.SUM, "tips", "helpful_votes", "total")
    for aggregates, sums in [([mean], {"d0"}), ([total], {"s0"}), ([mean, total], {"s0", "d0"})]:
        plan = f.plan("tips", f.count(), *aggregates, group_by=[f.by("tips", "theme")])
        data, _ = f.frame(plan, health_policy, f.extract(health_policy))
        assert {"s0", "d0"} & set(data.columns) == sums
