"""The exact half of a query, in DuckDB: filter, members join, buckets, member bounds.

DuckDB does what is safe to do exactly. The filter is compiled from the plan's
predicate tree with bound parameters, never pasted values; names are quoted
and come from the policy. What OpenDP receives is already bounded per member,
as the policy's contribution limits say:

- pipeline ``cells``: one row per member and cell (a combination of group
  keys) with the member's row count and clamped sums there, counts capped at
  ``per_group``; a random ``num_groups`` of a member's cells are kept;
- pipeline ``rows``: one row per record, when quantiles need the values; a
  random ``per_group`` of a member's records per cell and a random
  ``num_groups`` of their cells are kept.

Either row is a function of one member's records (and a salt drawn per query)
only, so two extracts that differ in one member give frames that differ in
that member's rows alone, and by no more rows than the bounds: that is the
privacy unit OpenDP is told about (``mechanism.bounds``), and it derives
sensitivity, noise and thresholds from it. DuckDB bounds members here because
it does so with one window over the reduced rows; OpenDP's own truncation in
its Polars build spends seconds per million rows on the same work.
"""

from __future__ import annotations

import contextlib
import math
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq

from gateway.dp.release import Cell
from gateway.dp.shape import (
    Pipeline,
    Shape,
    filter_column,
    filter_value,
    key_sql,
    key_value,
)
from gateway.errors import DpError
from gateway.plan import (
    And,
    Between,
    ColumnRef,
    Compare,
    InSet,
    IsNull,
    Not,
    Or,
    Predicate,
    QueryPlan,
)
from gateway.policy.model import Policy

TABLE = "t"
MEMBERS = "m"
BATCH_ROWS = 1_000_000
PART_ROWS = 3_000_000


@dataclass(frozen=True)
class Frame:
    """What OpenDP reads, and how to name the cells it releases."""

    data: pl.LazyFrame
    keys: dict[int, tuple[Cell, ...]]


def schema(shape: Shape) -> pl.Schema:
    """Column names and types of the frame; calibration uses the same, without data."""
    columns: dict[str, pl.DataType] = {"pid": pl.UInt64()}
    if shape.grouped:
        columns["cell"] = pl.UInt64()
    if shape.pipeline is Pipeline.CELLS:
        columns["n"] = pl.Int64()
        for i in range(len(shape.measures)):
            columns[f"c{i}"] = pl.Int64()
            columns[f"s{i}"] = pl.Int64()
            columns[f"d{i}"] = pl.Int64()
    else:
        columns["f"] = pl.Int64()
        for i in range(len(shape.measures)):
            columns[f"x{i}"] = pl.Int64()
    return pl.Schema(columns)


def load_frame(
    plan: QueryPlan,
    policy: Policy,
    shape: Shape,
    connection: duckdb.DuckDBPyConnection,
    directory: Path,
) -> Frame:
    """Run the exact part of ``plan``; its per-member reduction goes to a file in ``directory``.

    OpenDP runs on its own build of Polars: an in-memory frame would be copied
    into it, a Parquet file is read there directly. ``directory`` should be
    private to this query and removed after the release.
    """
    sql = _Sql(plan, policy, shape)
    path = directory / "frame.parquet"
    with _refusing_data_in_errors(), contextlib.ExitStack() as stack:
        parts = _parts(connection, plan.table)
        writer: pq.ParquetWriter | None = None
        for part in range(parts):
            reader = connection.execute(*sql.frame(part, parts)).fetch_record_batch(BATCH_ROWS)
            if writer is None:
                writer = stack.enter_context(
                    pq.ParquetWriter(path, reader.schema, compression="none")
                )
            for batch in reader:
                writer.write_batch(batch)
    data = pl.scan_parquet(path)
    if data.collect_schema() != schema(shape):
        raise DpError(
            "frame_schema", "the frame does not have the columns OpenDP was calibrated for"
        )
    keys = dict(shape.public_keys) if shape.public_keys is not None else {}
    if shape.grouped and shape.public_keys is None:
        with _refusing_data_in_errors():
            decoded = connection.execute(*sql.cells()).fetchall()
        keys = {row[0]: tuple(key_value(v) for v in row[1:]) for row in decoded}
        if len(keys) != len(decoded):
            raise DpError(
                "cell_hash_collision", "two group keys share a cell id; regroup the query"
            )
    return Frame(data, keys)


def per_member(
    kind: str, plan: QueryPlan, policy: Policy, shape: Shape, connection: duckdb.DuckDBPyConnection
) -> pl.LazyFrame:
    """A per-member summary of the filtered extract: ``members`` or ``cuts`` of ``_Sql``.

    One row per member, so it is held in memory (a few columns, a row a member).
    """
    sql = _Sql(plan, policy, shape)
    query, params = sql.members() if kind == "members" else sql.cuts()
    with _refusing_data_in_errors():
        table = connection.execute(query, params).fetch_arrow_table()
    return pl.from_arrow(table).lazy()  # type: ignore[union-attr]


def _parts(connection: duckdb.DuckDBPyConnection, table: str) -> int:
    """How many passes over members keep DuckDB's per-member work in bounded memory.

    Grouping by member and cell holds a row per pair; in passes of
    ``PART_ROWS`` source rows a 10M-row table peaks at about 0.6 GB instead
    of 1.1 GB, for about the same time.
    """
    counted = connection.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()
    rows = int(counted[0]) if counted is not None else 0
    return max(1, math.ceil(rows / PART_ROWS))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Sql:
    def __init__(self, plan: QueryPlan, policy: Policy, shape: Shape) -> None:
        self.plan, self.policy, self.shape = plan, policy, shape
        self.unit = f"{TABLE}.{_quote(policy.privacy_unit)}"
        self.keys = ", ".join(key_sql(self.ref(g.column), g.bucket) for g in shape.groups)
        self.salt = secrets.randbits(64)

    def ref(self, ref: ColumnRef) -> str:
        alias = TABLE if ref.table == self.plan.table else MEMBERS
        return f"{alias}.{_quote(ref.column)}"

    def frame(self, part: int = 0, parts: int = 1) -> tuple[str, list[object]]:
        """The frame's query for the members in ``part`` of ``parts``, within the bounds.

        Members are split by their hash, so each part holds whole members and
        the parts together are the frame.
        """
        select = [f"hash({self.unit}) AS pid"]
        if self.shape.grouped:
            select.append(f"hash({self.keys}) AS cell")
        share = [f"hash({self.unit}) % {parts} = {part}"] if parts > 1 else []
        body, params = self._body(*share)
        columns = ", ".join(schema(self.shape))
        if self.shape.pipeline is Pipeline.CELLS:
            rows = f"SELECT {', '.join(select + self._sums())} {body} GROUP BY ALL"
            if not self.shape.grouped:
                return rows, params
            return f"SELECT {columns} FROM ({rows}) QUALIFY {self._cells()}", [*params, self.salt]
        for i, measure in enumerate(self.shape.measures):
            x = self.ref(measure.column)
            clamped = f"least(greatest({x}, {measure.lower}), {measure.upper})"
            select.append(f"CAST({clamped} AS BIGINT) AS x{i}")
        rows = f"SELECT {', '.join(select)} {body}"
        query = f"SELECT {columns} FROM ({self._ranked(rows)}) WHERE r <= {self.shape.per_group}"
        if not self.shape.grouped:
            return query, params
        return f"{query} QUALIFY {self._cells()}", [*params, self.salt]

    def _ranked(self, rows: str) -> str:
        """Records with a random rank ``r`` within their member's cell; ``f`` marks rank 1.

        Keeping ranks up to ``per_group`` samples a member's records in a cell
        at random, and ``f`` is 1 on exactly one kept record per member and
        cell: summed, it counts a cell's members.
        """
        within = "pid, cell" if self.shape.grouped else "pid"
        ranked = f"SELECT *, row_number() OVER (PARTITION BY {within} ORDER BY random()) AS r"
        return f"SELECT *, CAST(r = 1 AS BIGINT) AS f FROM ({ranked} FROM ({rows}))"

    def _sums(self) -> list[str]:
        """Per member and cell: rows, and each measure's non-null count and clamped sums.

        A member with more than ``per_group`` rows in a cell is scaled down to
        that many, keeping their mean; the counts are capped at the bound, the
        sums by OpenDP's clamp at ``per_group`` times the measure's bounds.
        ``d`` sums the clamped values less the middle of their range, for means.
        """
        k = self.shape.per_group
        sums = [f"CAST(least(count(*), {k}) AS BIGINT) AS n"]
        for i, measure in enumerate(self.shape.measures):
            x = self.ref(measure.column)
            clamped = f"least(greatest({x}, {measure.lower}), {measure.upper})"
            sums.append(f"CAST(least(count({x}), {k}) AS BIGINT) AS c{i}")
            for name, value in (("s", clamped), ("d", f"{clamped} - {measure.middle}")):
                scaled = self._scaled(f"sum({value})", x)
                sums.append(f"CAST(coalesce(round({scaled}), 0) AS BIGINT) AS {name}{i}")
        return sums

    def _cells(self) -> str:
        """The window condition keeping a random ``num_groups`` of each member's cells.

        Cells are ranked per member by a hash salted per query, so which cells
        a heavy member keeps is random and not the same from query to query.
        With a row per cell, ``row_number`` never gives two rows one rank; with
        many (pipeline rows), ``dense_rank`` gives a cell's rows one rank, and
        the cell itself breaks ties, so no two cells share one.
        """
        if self.shape.pipeline is Pipeline.CELLS:
            rank = "row_number() OVER (PARTITION BY pid ORDER BY hash(cell, CAST(? AS UBIGINT)))"
        else:
            order = "hash(cell, CAST(? AS UBIGINT)), cell"
            rank = f"dense_rank() OVER (PARTITION BY pid ORDER BY {order})"
        return f"{rank} <= {self.shape.num_groups}"

    def members(self) -> tuple[str, list[object]]:
        """One row per member: their most rows in one cell ``k``, their cells ``g``, their
        rows ``t``, and one of their values of each measure ``v<i>``, drawn at random.

        What bounds to choose is read from this (``bounding``); each row is a
        function of one member's records only.
        """
        body, params = self._body()
        cell = f"hash({self.keys})" if self.shape.grouped else "0"
        inner = [f"hash({self.unit}) AS pid", f"{cell} AS cell", "count(*) AS x"]
        outer = [
            "CAST(max(x) AS BIGINT) AS k",
            "CAST(count(*) AS BIGINT) AS g",
            "CAST(sum(x) AS BIGINT) AS t",
        ]
        for i, measure in enumerate(self.shape.measures):
            x = self.ref(measure.column)
            inner.append(f"arg_min({x}, random()) FILTER (WHERE {x} IS NOT NULL) AS v{i}")
            outer.append(
                f"CAST(arg_min(v{i}, random()) FILTER (WHERE v{i} IS NOT NULL) AS BIGINT) AS v{i}"
            )
        cells = f"SELECT {', '.join(inner)} {body} GROUP BY ALL"
        return f"SELECT {', '.join(outer)} FROM ({cells}) GROUP BY pid", params

    def cuts(self) -> tuple[str, list[object]]:
        """One row per member: what the shape's bounds cut from them.

        ``rows``: records not counted (a random ``num_groups`` of their cells
        are kept, so cells beyond it are cut in expectation); ``cells``:
        cells not counted; per measure, ``sum<i>``: how much less of their sum
        is counted, and ``over<i>``: how far the values a mean counts lie above
        the clamp, weighed as the mean weighs them (a member's rows in a cell
        at most ``per_group``, in the cells kept).
        """
        k, groups = self.shape.per_group, self.shape.num_groups
        body, params = self._body()
        cell = f"hash({self.keys})" if self.shape.grouped else "0"
        inner = [f"hash({self.unit}) AS pid", f"{cell} AS cell", "count(*) AS x"]
        kept = f"least(1.0, {groups} / count(*))"
        outer = [
            f"CAST(round(sum(x) - sum(least(x, {k})) * {kept}) AS BIGINT) AS rows",
            f"CAST(greatest(count(*) - {groups}, 0) AS BIGINT) AS cells",
        ]
        for i, measure in enumerate(self.shape.measures):
            x = self.ref(measure.column)
            clamped = f"sum(least(greatest({x}, {measure.lower}), {measure.upper}))"
            over = f"sum(greatest({x} - {measure.upper}, 0))"
            inner += [
                f"coalesce(sum({x}), 0) AS t{i}",
                f"coalesce({self._scaled(clamped, x)}, 0) AS b{i}",
                f"coalesce({self._scaled(over, x)}, 0) AS o{i}",
            ]
            outer += [
                f"CAST(round(sum(t{i}) - sum(b{i}) * {kept}) AS BIGINT) AS sum{i}",
                f"CAST(round(sum(o{i}) * {kept}) AS BIGINT) AS over{i}",
            ]
        cells = f"SELECT {', '.join(inner)} {body} GROUP BY ALL"
        return f"SELECT {', '.join(outer)} FROM ({cells}) GROUP BY pid", params

    def _scaled(self, total: str, x: str) -> str:
        """``total`` over a member's values ``x`` in a cell, as if they had at most
        ``per_group`` of them: scaled down, at their average."""
        k = self.shape.per_group
        return f"CASE WHEN count({x}) <= {k} THEN {total} ELSE {total} * {k} / count({x}) END"

    def cells(self) -> tuple[str, list[object]]:
        """Cell id -> key values, for naming the cells OpenDP decides to release."""
        body, params = self._body()
        return f"SELECT hash({self.keys}), {self.keys} {body} GROUP BY ALL", params

    def _body(self, *extra: str) -> tuple[str, list[object]]:
        source = f"FROM {_quote(self.plan.table)} AS {TABLE}"
        if self.plan.join_members and self.plan.table != self.policy.unit_table:
            unit = _quote(self.policy.privacy_unit)
            source += (
                f" JOIN {_quote(self.policy.unit_table)} AS {MEMBERS}"
                f" ON {MEMBERS}.{unit} = {TABLE}.{unit}"
            )
        params: list[object] = []
        conditions = list(extra)
        if self.plan.where is not None:
            conditions.insert(0, _Where(self, params).sql(self.plan.where))
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return source + where, params


class _Where:
    """A predicate tree as SQL text with ``?`` placeholders; typed values go to ``params``.

    Values are bound as Python values of the column's type (``filter_value``),
    never cast in SQL: a cast would run row by row and could fail on some rows.
    """

    def __init__(self, sql: _Sql, params: list[object]) -> None:
        self.sql_ = sql
        self.params = params

    def sql(self, predicate: Predicate) -> str:
        match predicate:
            case Compare(column=ref, op=op, value=value):
                return f"({self._column(ref)} {op} {self._value(ref, value)})"
            case InSet(column=ref, values=values, negated=negated):
                if not values:
                    return "TRUE" if negated else "FALSE"
                items = ", ".join(self._value(ref, v) for v in values)
                return f"({self._column(ref)} {'NOT ' if negated else ''}IN ({items}))"
            case Between(column=ref, low=low, high=high, negated=negated):
                low_, high_ = self._value(ref, low), self._value(ref, high)
                between = f"{'NOT ' if negated else ''}BETWEEN {low_} AND {high_}"
                return f"({self._column(ref)} {between})"
            case IsNull(column=ref, negated=negated):
                return f"({self._column(ref)} IS {'NOT ' if negated else ''}NULL)"
            case And(terms=terms):
                return "(" + " AND ".join(["TRUE", *(self.sql(t) for t in terms)]) + ")"
            case Or(terms=terms):
                return "(" + " OR ".join(["FALSE", *(self.sql(t) for t in terms)]) + ")"
            case Not(term=term):
                return f"(NOT {self.sql(term)})"
        raise DpError("unknown_predicate", f"cannot compile predicate {predicate!r}")

    def _column(self, ref: ColumnRef) -> str:
        filter_column(ref, self.sql_.plan, self.sql_.policy)
        return self.sql_.ref(ref)

    def _value(self, ref: ColumnRef, value: object) -> str:
        self.params.append(filter_value(ref, value, self.sql_.plan, self.sql_.policy))
        return "?"


@contextmanager
def _refusing_data_in_errors() -> Iterator[None]:
    """DuckDB's messages may quote data values; only the kind of error leaves."""
    try:
        yield
    except duckdb.Error as exc:
        raise DpError(
            "query_failed",
            f"the extract could not answer the compiled query ({type(exc).__name__})",
        ) from None
