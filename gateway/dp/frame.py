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

Grouping the records by member and cell is the costly step, and choosing
bounds, the frame and the cut estimates all start from it; so it is done once
per query (``Reduction``), into a temporary table of one row per member and
cell with unclamped totals. A clamp is applied afterwards: a cell's clamped
sum is its sum less how far its values lie beyond the clamp, and only the few
records beyond it are read again for that.
"""

from __future__ import annotations

import contextlib
import math
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq

from gateway.dp.release import Cell
from gateway.dp.shape import (
    Pipeline,
    Shape,
    StatKind,
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
            columns.update({f"{name}{i}": pl.Int64() for name in _sums(shape, i)})
    else:
        columns["f"] = pl.Int64()
        for i in range(len(shape.measures)):
            columns[f"x{i}"] = pl.Int64()
    return pl.Schema(columns)


def _sums(shape: Shape, measure: int) -> list[str]:
    """The sums of a measure that OpenDP reads: ``s`` for a sum, ``d`` (centred) for a mean."""
    kinds = shape.kinds(measure)
    return [name for name, kind in (("s", StatKind.SUM), ("d", StatKind.CENTRED)) if kind in kinds]


def load_frame(
    plan: QueryPlan,
    policy: Policy,
    shape: Shape,
    connection: duckdb.DuckDBPyConnection,
    directory: Path,
) -> Frame:
    """The frame of ``plan`` within ``shape``'s bounds, for a query that reads nothing else."""
    with reduced(plan, policy, shape, connection, directory) as reduction:
        return reduction.frame(shape)


@contextmanager
def reduced(
    plan: QueryPlan,
    policy: Policy,
    shape: Shape,
    connection: duckdb.DuckDBPyConnection,
    directory: Path,
) -> Iterator[Reduction]:
    """The filtered extract of ``plan``, reduced per member and cell while the block runs.

    What OpenDP is to read is written to files in ``directory``, which should
    be private to this query and removed after the release.
    """
    reduction = Reduction(plan, policy, shape, connection, directory)
    try:
        yield reduction
    finally:
        reduction.drop()


class Reduction:
    """One row per member and cell of ``plan``'s filtered records, kept for one query.

    The rows are unbounded: each use bounds them as its ``shape`` says, so the
    bounds chosen from them (``members``) give the frame and the cuts without
    grouping the extract again. The table is made on first use: a quantile
    over fixed bounds reads records only.
    """

    def __init__(
        self,
        plan: QueryPlan,
        policy: Policy,
        shape: Shape,
        connection: duckdb.DuckDBPyConnection,
        directory: Path,
    ) -> None:
        self.plan, self.policy, self.shape = plan, policy, shape
        self.connection, self.directory = connection, directory
        self.name = f"member_cells_{secrets.token_hex(8)}"

    @cached_property
    def table(self) -> str:
        """The temporary table's name, once it holds the rows."""
        with _refusing_data_in_errors():
            self.connection.execute(*_Sql(self.plan, self.policy, self.shape).reduce(self.name))
        return self.name

    @cached_property
    def totals(self) -> str:
        """A second temporary table, of one row per member (``_Sql.members``)."""
        name = f"{self.name}_members"
        with _refusing_data_in_errors():
            sql = _Sql(self.plan, self.policy, self.shape)
            self.connection.execute(sql.members(name, self.table))
        return name

    def members(self) -> pl.LazyFrame:
        """One row per member, to choose bounds from (``totals`` without the member)."""
        everyone = f"SELECT * EXCLUDE (pid) FROM {_quote(self.totals)}"
        return self._written("members", [(everyone, [])])

    def cuts(self, shape: Shape) -> pl.LazyFrame:
        """One row per member: what ``shape``'s bounds cut from them (``_Sql.cuts``)."""
        sql = _Sql(self.plan, self.policy, shape)
        return self._written("cuts", [sql.cuts(self.table, self.totals)])

    def frame(self, shape: Shape) -> Frame:
        """Reduce to ``shape``'s bounds, into a file for OpenDP to read (``_written``)."""
        sql = _Sql(self.plan, self.policy, shape)
        data = self._written("frame", self._frame_queries(sql))
        if data.collect_schema() != schema(shape):
            raise DpError(
                "frame_schema", "the frame does not have the columns OpenDP was calibrated for"
            )
        return Frame(data, self._keys(sql))

    def drop(self) -> None:
        """Free the tables' memory; the query's connection may be used again."""
        for made in ("totals", "table"):
            if made in self.__dict__:
                self.connection.execute(f"DROP TABLE IF EXISTS {_quote(self.__dict__[made])}")

    def _frame_queries(self, sql: _Sql) -> Iterator[tuple[str, list[object]]]:
        """The queries whose rows, together, are the frame (``_Sql.bounded``, ``_Sql.sampled``)."""
        if sql.shape.pipeline is Pipeline.ROWS:
            parts = self._parts(f"SELECT count(*) FROM {_quote(self.plan.table)}")
            yield from (sql.sampled(part, parts) for part in range(parts))
        elif not sql.shape.grouped:
            yield sql.bounded(self.table)
        else:
            yield sql.bounded(self.table, self.totals, many=False)
            parts = self._parts(sql.many_rows(self.totals))
            yield from (sql.bounded(self.table, self.totals, part, parts) for part in range(parts))

    def _keys(self, sql: _Sql) -> dict[int, tuple[Cell, ...]]:
        if not self.shape.grouped:
            return {}
        if self.shape.public_keys is not None:
            return dict(self.shape.public_keys)
        with _refusing_data_in_errors():
            decoded = self.connection.execute(*sql.cells()).fetchall()
        keys = {row[0]: tuple(key_value(v) for v in row[1:]) for row in decoded}
        if len(keys) != len(decoded):
            raise DpError(
                "cell_hash_collision", "two group keys share a cell id; regroup the query"
            )
        return keys

    def _written(self, name: str, queries: Iterable[tuple[str, list[object]]]) -> pl.LazyFrame:
        """The rows of ``queries``, one after the other, in a Parquet file of the directory.

        OpenDP runs on its own build of Polars: an in-memory frame would be
        copied into it for every release (a quarter of a second for half a
        million members), a Parquet file is read there directly.
        """
        path = self.directory / f"{name}.parquet"
        with _refusing_data_in_errors(), contextlib.ExitStack() as stack:
            writer: pq.ParquetWriter | None = None
            for query in queries:
                reader = self.connection.execute(*query).fetch_record_batch(BATCH_ROWS)
                if writer is None:
                    writer = stack.enter_context(
                        pq.ParquetWriter(
                            path,
                            reader.schema,
                            compression="none",
                            use_dictionary=False,
                            write_statistics=False,
                        )
                    )
                for batch in reader:
                    writer.write_batch(batch)
        return pl.scan_parquet(path)

    def _parts(self, count: str) -> int:
        """How many passes over members keep DuckDB's per-member work in bounded memory.

        A window over members holds their rows (as many as ``count`` counts);
        in passes of ``PART_ROWS`` rows a 10M-row table peaks at about 0.6 GB
        instead of 1.1 GB, for about the same time.
        """
        counted = self.connection.execute(count).fetchone()
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

    def reduce(self, name: str) -> tuple[str, list[object]]:
        """The temporary table ``name``: per member and cell, the rows ``x`` and, per
        measure, the non-null values ``c<i>``, their sum ``t<i>`` and, where its
        clamp is to be chosen, one of them drawn at random ``v<i>`` (``arg_min``
        passes over nulls). Sums are doubles: arithmetic on DuckDB's 128-bit
        integer sums is several times slower, and a double is exact to 2⁵³."""
        body, params = self._body()
        cell = f"hash({self.keys})" if self.shape.grouped else "0"
        select = [f"hash({self.unit}) AS pid", f"{cell} AS cell", "count(*) AS x"]
        for i, measure in enumerate(self.shape.measures):
            x = self.ref(measure.column)
            select += [f"count({x}) AS c{i}", f"CAST(sum({x}) AS DOUBLE) AS t{i}"]
            if i in self.shape.choice.measures:
                select.append(f"arg_min({x}, random()) AS v{i}")
        query = f"CREATE TEMPORARY TABLE {_quote(name)} AS SELECT {', '.join(select)} {body}"
        return f"{query} GROUP BY ALL", params

    def bounded(
        self, table: str, totals: str = "", part: int = 0, parts: int = 1, *, many: bool = True
    ) -> tuple[str, list[object]]:
        """Frame rows of pipeline ``cells`` from the reduced ``table``: counts capped at
        ``per_group``; sums clamped, and a member with more than ``per_group`` values
        in a cell scaled down to that many at their mean; ``d`` sums the clamped
        values less the middle of their range, for means. Only the sums that the
        shape's statistics read are written (``_sums``).

        Grouped, the members with more cells than ``num_groups`` (by ``totals``)
        keep a random ``num_groups`` of them: ``many`` gives their rows, for those
        in ``part`` of ``parts`` (split by member hash, so each part holds whole
        members), ranked by a window; ``many=False`` gives the rows of all other
        members, which keep every cell and need no window. A window sorts all
        the rows it ranks, so it is spared the two thirds of rows that belong
        to members within the bound.
        """
        k = self.shape.per_group
        select = ["pid", "cell"] if self.shape.grouped else ["pid"]
        select.append(f"CAST(least(x, {k}) AS BIGINT) AS n")
        for i, measure in enumerate(self.shape.measures):
            clamped = self._clamped(i)
            select.append(f"CAST(least(c{i}, {k}) AS BIGINT) AS c{i}")
            sums = {"s": clamped, "d": f"{clamped} - {measure.middle} * c{i}"}
            for name in _sums(self.shape, i):
                scaled = self._scaled(sums[name], f"c{i}")
                select.append(f"CAST(coalesce(round({scaled}), 0) AS BIGINT) AS {name}{i}")
        if not self.shape.grouped:
            source, params = self._source(_quote(table))
            return f"SELECT {', '.join(select)} FROM {source}", params
        join = "SEMI" if many else "ANTI"
        members = f"(SELECT * FROM {_quote(table)} {join} JOIN {self._many(totals)} USING (pid))"
        source, params = self._source(members)
        query = f"SELECT {', '.join(select)} FROM {source}"
        if not many:
            return query, params
        share = f" WHERE pid % {parts} = {part}" if parts > 1 else ""
        return f"{query}{share} QUALIFY {self._cells()}", [*params, self.salt]

    def many_rows(self, totals: str) -> str:
        """How many rows of the reduced table ``bounded(many=True)`` ranks."""
        groups = self.shape.num_groups
        return f"SELECT coalesce(sum(g), 0) FROM {_quote(totals)} WHERE g > {groups}"

    def _many(self, totals: str) -> str:
        """The members with more cells than ``num_groups``."""
        return f"(SELECT pid FROM {_quote(totals)} WHERE g > {self.shape.num_groups})"

    def sampled(self, part: int = 0, parts: int = 1) -> tuple[str, list[object]]:
        """The frame of pipeline ``rows`` for the members in ``part`` of ``parts``:
        a random ``per_group`` of a member's records in a cell, clamped."""
        select = [f"hash({self.unit}) AS pid"]
        if self.shape.grouped:
            select.append(f"hash({self.keys}) AS cell")
        share = [f"hash({self.unit}) % {parts} = {part}"] if parts > 1 else []
        body, params = self._body(*share)
        for i, measure in enumerate(self.shape.measures):
            x = self.ref(measure.column)
            clamped = f"least(greatest({x}, {measure.lower}), {measure.upper})"
            select.append(f"CAST({clamped} AS BIGINT) AS x{i}")
        rows = f"SELECT {', '.join(select)} {body}"
        columns = ", ".join(schema(self.shape))
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

    def _cells(self) -> str:
        """The window condition keeping a random ``num_groups`` of each member's cells.

        Cells are ranked per member by a hash of the member, the cell and a
        salt drawn per query, so which cells a heavy member keeps is random,
        not the same from query to query, and independent of which cells other
        members keep: what bounding cuts is spread over the cells instead of
        piling onto the ones a shared order happens to put last. With a row per
        cell, ``row_number`` never gives two rows one rank; with many (pipeline
        rows), ``dense_rank`` gives a cell's rows one rank, and the cell itself
        breaks ties, so no two cells share one.
        """
        order = "hash(pid, cell, CAST(? AS UBIGINT))"
        if self.shape.pipeline is Pipeline.CELLS:
            rank = f"row_number() OVER (PARTITION BY pid ORDER BY {order})"
        else:
            rank = f"dense_rank() OVER (PARTITION BY pid ORDER BY {order}, cell)"
        return f"{rank} <= {self.shape.num_groups}"

    def _source(self, rows: str) -> tuple[str, list[object]]:
        """``rows`` of the reduced table with, per member and cell, how far its records
        lie beyond a clamp: ``o<i>`` above measure i's, ``u<i>`` below (null in a cell
        with none). Only those records are read again."""
        if not self.shape.measures:
            return rows, []
        beyond, select = [], [f"hash({self.unit}) AS pid"]
        select.append(f"hash({self.keys}) AS cell" if self.shape.grouped else "0 AS cell")
        for i, measure in enumerate(self.shape.measures):
            x = self.ref(measure.column)
            beyond.append(f"{x} > {measure.upper} OR {x} < {measure.lower}")
            select += [
                f"CAST(sum(greatest({x} - {measure.upper}, 0)) AS DOUBLE) AS o{i}",
                f"CAST(sum(greatest({measure.lower} - {x}, 0)) AS DOUBLE) AS u{i}",
            ]
        body, params = self._body(f"({' OR '.join(beyond)})")
        over = f"(SELECT {', '.join(select)} {body} GROUP BY ALL)"
        return f"{rows} LEFT JOIN {over} USING (pid, cell)", params

    def _clamped(self, i: int) -> str:
        """A cell's sum of measure i with its values clamped (null with no values)."""
        return f"(t{i} - coalesce(o{i}, 0) + coalesce(u{i}, 0))"

    def members(self, name: str, table: str) -> str:
        """The temporary table ``name`` of one row per member ``pid``: their most rows
        in one cell ``k`` and in another ``k2`` (null with one cell), their cells
        ``g``, their rows ``t``, and one of their values ``v<i>`` of each measure
        whose clamp is to be chosen, drawn at random.

        What bounds to choose is read from this (``bounding``); each row is a
        function of one member's records only.
        """
        select = [
            "CAST(max(x) AS BIGINT) AS k",
            "CAST(max(x, 2)[2] AS BIGINT) AS k2",
            "CAST(count(*) AS BIGINT) AS g",
            "CAST(sum(x) AS BIGINT) AS t",
        ]
        for i in self.shape.choice.measures:
            select.append(f"CAST(arg_min(v{i}, random()) AS BIGINT) AS v{i}")
        query = f"SELECT pid, {', '.join(select)} FROM {_quote(table)} GROUP BY pid"
        return f"CREATE TEMPORARY TABLE {_quote(name)} AS {query}"

    def cuts(self, table: str, totals: str) -> tuple[str, list[object]]:
        """A row per member with something cut: what the shape's bounds cut from them.

        ``rows``: records not counted (a random ``num_groups`` of their cells
        are kept, so cells beyond it are cut in expectation); ``cells``:
        cells not counted; per measure, ``sum<i>``: how much less of their sum
        is counted, and ``over<i>``: how far the values a mean counts lie above
        the clamp, weighed as the mean weighs them (a member's rows in a cell
        at most ``per_group``, in the cells kept).

        Only what can be cut is read: the rows of members beyond the row or
        cell bound (by ``totals``), and the cells with values beyond a clamp.
        Every other row adds 0 to every column, so the sums are the same.
        """
        k, groups = self.shape.per_group, self.shape.num_groups
        kept = f"least(1.0, {groups} / count(*))"
        select = [
            f"CAST(round(sum(x) - sum(least(x, {k})) * {kept}) AS BIGINT) AS rows",
            f"CAST(greatest(count(*) - {groups}, 0) AS BIGINT) AS cells",
        ]
        cut = ["deep"]
        for i in range(len(self.shape.measures)):
            counted = f"sum(coalesce({self._scaled(self._clamped(i), f'c{i}')}, 0))"
            over = f"coalesce({self._scaled(f'o{i}', f'c{i}')}, 0)"
            select += [
                f"CAST(round(coalesce(sum(t{i}), 0) - {counted} * {kept}) AS BIGINT) AS sum{i}",
                f"CAST(round(sum({over}) * {kept}) AS BIGINT) AS over{i}",
            ]
            cut += [f"o{i} IS NOT NULL", f"u{i} IS NOT NULL"]
        deep = f"(SELECT pid, TRUE AS deep FROM {_quote(totals)} WHERE g > {groups} OR k > {k})"
        rows = f"(SELECT * FROM {_quote(table)} LEFT JOIN {deep} USING (pid))"
        source, params = self._source(rows)
        where = " OR ".join(cut)
        return f"SELECT {', '.join(select)} FROM {source} WHERE {where} GROUP BY pid", params

    def _scaled(self, total: str, count: str) -> str:
        """``total`` over a member's ``count`` values in a cell, as if they had at most
        ``per_group`` of them: scaled down, at their average."""
        k = self.shape.per_group
        return f"CASE WHEN {count} <= {k} THEN {total} ELSE ({total}) * {k} / {count} END"

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
