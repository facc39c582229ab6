"""Dummy extracts: the schema of a real extract, filled with synthetic values.

Researchers develop and test analyses against these: every table, column and
type the policy defines, with plausible values, and no member behind any row.
Only the policy is read, never a source, so nothing real can leak into one.
Values follow each column's role and derivation: categories come from their
public domain, measures stay within their clamp bounds (right-skewed, as
counts of votes or days tend to be), a member's birth year and age band
agree, month columns are the month of their date column, and activity follows
the member's joining month. Rows per member are heavy-tailed around a mean
derived from each table's contribution bounds, with a few members above the
bounds so that truncation shows. The file is unencrypted and its manifest
says ``dummy: true``; releases computed on it are labelled dummy and cost no
budget.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import itertools
import math
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from gateway.errors import ExtractError
from gateway.extract.derive import PSEUDONYM_HEX
from gateway.extract.manifest import Manifest, manifest_path
from gateway.policy import ColumnRole, Policy, Table, policy_hash
from gateway.policy.model import Column

MAX_MEMBERS = 5_000_000
DEFAULT_MEMBERS = 20_000
"""Enough members that monthly groups clear DP partition selection, as on a real platform."""
HISTORY_MONTHS = 36
"""How far back joining months reach from the build date."""
UNKNOWN_BIRTH_RATE = 0.03
OPEN_REQUEST_RATE = 0.1
"""Share of ``days_between`` measures left empty, like support requests still open."""

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "DATE": pa.date32(),
}


@dataclass(frozen=True)
class _Members:
    """What every table's rows agree on: who the member is and since when."""

    pids: np.ndarray
    since: np.ndarray  # datetime64[D], the member's first date


def _pseudonyms(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random hex strings shaped like the builder's pseudonyms, but keyed to nothing."""
    raw = binascii.hexlify(rng.bytes(PSEUDONYM_HEX // 2 * n))
    return np.frombuffer(raw, dtype=f"S{PSEUDONYM_HEX}")  # ASCII: a quarter of str's memory


def _zipf_weights(k: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, k + 1) ** 0.8
    return np.asarray(weights / weights.sum())


def _labels(name: str, column: Column) -> tuple[str, ...]:
    return column.domain or tuple(f"{name} {chr(ord('A') + i)}" for i in range(5))


def _age_band_labels(bands: tuple[int, ...]) -> list[str]:
    inner = [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(bands)]
    return [f"<{bands[0]}", *inner, f"{bands[-1]}+"]


def _measure(rng: np.random.Generator, column: Column, n: int) -> np.ndarray:
    """Right-skewed values within the clamp bounds (mean about 13% of the range)."""
    assert column.lower is not None
    assert column.upper is not None
    span = column.upper - column.lower
    values = np.minimum(rng.gamma(2.0, span / 15, size=n), span) + column.lower
    return np.round(values) if column.type in ("INTEGER", "BIGINT") else values


def _rows_per_member(rng: np.random.Generator, table: Table, n: int, cap: int | None) -> np.ndarray:
    bounds = table.contributions
    mean = math.sqrt(bounds.max_rows_per_group * bounds.max_groups) / 2
    counts = rng.poisson(rng.lognormal(math.log(mean) - 0.5, 1.0, size=n))
    return np.minimum(counts, cap) if cap is not None else counts


def _distinct_choices(
    rng: np.random.Generator, counts: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """For member i, ``counts[i]`` distinct indices drawn by weight (Efraimidis–Spirakis)."""
    keys = rng.random((len(counts), len(weights))) ** (1 / weights)
    order = np.argsort(-keys, axis=1)
    return order[np.arange(len(weights)) < counts[:, None]]


class _TableBuilder:
    """Columns of one table; columns derived from one source value share it."""

    def __init__(
        self,
        rng: np.random.Generator,
        policy: Policy,
        owner: np.ndarray,
        members: _Members,
        as_of: np.datetime64,
        distinct: tuple[str, np.ndarray] | None = None,
    ) -> None:
        self.rng = rng
        self.policy = policy
        self.owner = owner
        self.members = members
        self.as_of = as_of
        self.distinct = distinct
        self.dates: dict[str, np.ndarray] = {}

    @property
    def n(self) -> int:
        return len(self.owner)

    def _first_date(self) -> np.ndarray:
        """A date per row between the member's first date and the build date."""
        start: np.ndarray = self.members.since[self.owner]
        days = (self.as_of - start).astype(np.int64)
        offset = np.floor(self.rng.random(self.n) * (days + 1)).astype("timedelta64[D]")
        dates: np.ndarray = start + offset
        return dates

    def _birth_date(self) -> np.ndarray:
        age_days = np.round(self.rng.triangular(14, 38, 92, size=self.n) * 365.25)
        born = self.as_of - age_days.astype("timedelta64[D]")
        born[self.rng.random(self.n) < UNKNOWN_BIRTH_RATE] = np.datetime64("NaT")
        return born

    def _date(self, source: str, birth: bool) -> np.ndarray:
        if source not in self.dates:
            self.dates[source] = self._birth_date() if birth else self._first_date()
        return self.dates[source]

    def column(self, name: str, column: Column) -> pa.Array:
        transform = column.derive.transform if column.derive else None
        source = column.derive.source if column.derive else name
        kind = _ARROW_TYPES[column.type]
        if column.role is ColumnRole.PRIVACY_UNIT:
            return pa.array(self.members.pids[self.owner], pa.binary(PSEUDONYM_HEX)).cast(kind)
        if column.role is ColumnRole.IDENTIFIER:
            return pa.array(_pseudonyms(self.rng, self.n), pa.binary(PSEUDONYM_HEX)).cast(kind)
        if transform == "age_band":
            return self._age_band(name, column, self._date(source, birth=True))
        if transform == "year" or column.role is ColumnRole.DATE:
            dates = self._date(source, birth=transform == "year")
            return self._from_date(dates, transform, column, kind)
        if column.role is ColumnRole.CATEGORY:
            labels = np.asarray(_labels(name, column))
            if self.distinct is not None and self.distinct[0] == name:
                return pa.array(labels[self.distinct[1]], kind)
            return pa.array(self.rng.choice(labels, size=self.n, p=_zipf_weights(len(labels))))
        values = _measure(self.rng, column, self.n)
        mask = None
        if transform == "days_between":
            mask = self.rng.random(self.n) < OPEN_REQUEST_RATE
        return pa.array(values, kind, mask=mask, from_pandas=False, safe=False)

    def _from_date(
        self, dates: np.ndarray, transform: str | None, column: Column, kind: pa.DataType
    ) -> pa.Array:
        mask = np.isnat(dates)
        if transform == "year":
            years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
            if column.lower is not None and column.upper is not None:
                years = np.clip(years, column.lower, column.upper)
            return pa.array(years, kind, mask=mask, safe=False)
        if transform == "month":
            dates = dates.astype("datetime64[M]").astype("datetime64[D]")
        return pa.array(dates, kind, mask=mask)

    def _age_band(self, name: str, column: Column, born: np.ndarray) -> pa.Array:
        bands = self.policy.extract.age_bands
        labels = np.asarray([*_age_band_labels(bands), "unknown"])
        unknown = np.isnat(born)
        age = np.where(unknown, 0, (self.as_of - born).astype(np.int64)) / 365.25
        index = np.searchsorted(np.asarray(bands), age, side="right")
        index[unknown] = len(labels) - 1
        values = labels[index]
        if column.domain is not None and not set(values) <= set(column.domain):
            raise ExtractError(
                "policy_age_bands_mismatch",
                f"{name}: age bands {sorted(set(values) - set(column.domain))} "
                "are not in the column's domain",
                hint="make extract.age_bands and the age_band domain agree in the policy",
            )
        return pa.array(values, _ARROW_TYPES[column.type])


def _distinct_category(table: Table) -> str | None:
    """A table of one row per member and group keeps one row per member per category key."""
    if table.contributions.max_rows_per_group != 1:
        return None
    for name, column in table.columns.items():
        if column.role is ColumnRole.CATEGORY and column.domain:
            return name
    return None


def _source(name: str, column: Column) -> str:
    return column.derive.source if column.derive else name


def _table(
    name: str,
    table: Table,
    policy: Policy,
    crowd: _Members,
    rng: np.random.Generator,
    today: np.datetime64,
) -> pa.Table:
    everyone = np.arange(len(crowd.pids))
    if name == policy.unit_table:
        builder = _TableBuilder(rng, policy, everyone, crowd, today)
        for column_name, column in table.columns.items():  # a member's own dates: joining
            if column.role is ColumnRole.DATE:
                builder.dates[_source(column_name, column)] = crowd.since
    else:
        distinct = _distinct_category(table)
        domain = table.columns[distinct].domain or () if distinct else ()
        counts = _rows_per_member(rng, table, len(everyone), len(domain) if distinct else None)
        picks = None
        if distinct is not None:
            picks = (distinct, _distinct_choices(rng, counts, _zipf_weights(len(domain))))
        builder = _TableBuilder(rng, policy, np.repeat(everyone, counts), crowd, today, picks)
    return pa.table({c: builder.column(c, column) for c, column in table.columns.items()})


def _generate(
    policy: Policy, members: int, rng: np.random.Generator, as_of: dt.date
) -> dict[str, pa.Table]:
    today = np.datetime64(as_of, "D")
    start = (today.astype("datetime64[M]") - HISTORY_MONTHS).astype("datetime64[D]")
    recent = rng.random(members) ** 0.7  # platforms grow: more members joined lately
    span = (today - start).astype(np.int64)
    since = start + np.floor(recent * span).astype("timedelta64[D]")
    crowd = _Members(pids=_pseudonyms(rng, members), since=since)
    return {
        name: _table(name, table, policy, crowd, rng, today)
        for name, table in policy.tables.items()
    }


def _content_hash(tables: dict[str, pa.Table]) -> str:
    digest = hashlib.sha256(b"dummy\0")
    for name, rows in tables.items():
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, rows.schema) as stream:
            stream.write_table(rows)
        digest.update(name.encode() + b"\0")
        digest.update(sink.getvalue().to_pybytes())
    return digest.hexdigest()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write(path: Path, policy: Policy, tables: dict[str, pa.Table]) -> None:
    import duckdb

    con = duckdb.connect(
        str(path),
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    con.execute("SET enable_progress_bar = false")
    try:
        for name, table in policy.tables.items():
            columns = ", ".join(f"{_quoted(c)} {col.type}" for c, col in table.columns.items())
            con.execute(f"CREATE TABLE {_quoted(name)} ({columns})")
            con.register("dummy_rows", tables[name])
            con.execute(f"INSERT INTO {_quoted(name)} SELECT * FROM dummy_rows")
            con.unregister("dummy_rows")
    finally:
        con.close()


def _refuse_to_replace_real(out: Path) -> None:
    """A dummy may replace a dummy, never a real extract or anything else."""
    if not out.parent.is_dir():
        raise ExtractError(
            "out_dir_missing",
            f"the folder of {out} does not exist",
            hint=f"create it first: mkdir -p {out.parent}",
        )
    if not out.exists():
        return
    try:
        previous = Manifest.model_validate_json(manifest_path(out).read_bytes())
    except (OSError, ValueError):
        previous = None
    if previous is None or not previous.dummy:
        raise ExtractError(
            "extract_exists",
            f"{out} exists and is not a dummy extract",
            hint="choose another --out; a dummy never replaces a real extract or other file",
        )


def build_dummy(
    policy: Policy,
    out: Path,
    *,
    members: int = DEFAULT_MEMBERS,
    seed: int = 0,
    as_of: dt.date | None = None,
) -> Manifest:
    """Write a dummy extract of ``members`` synthetic members to ``out``, with its manifest.

    Deterministic for a given seed and ``as_of`` date. Written beside ``out``
    under a temporary name and moved into place, so a failure leaves nothing.
    """
    if isinstance(members, bool) or not 1 <= members <= MAX_MEMBERS:
        raise ExtractError(
            "dummy_members_invalid",
            f"a dummy extract has 1 to {MAX_MEMBERS:,} members, not {members}",
            hint=f"e.g. --members {DEFAULT_MEMBERS}",
        )
    _refuse_to_replace_real(out)
    built_at = dt.datetime.now(dt.UTC)
    tables = _generate(policy, members, np.random.default_rng(seed), as_of or built_at.date())
    manifest = Manifest(
        project="dummy",
        purpose="mission",
        policy_name=policy.name,
        policy_hash=policy_hash(policy),
        source_snapshot_at=built_at,
        built_at=built_at,
        expires_at=built_at + dt.timedelta(days=policy.extract.expiry_days),
        row_counts={name: rows.num_rows for name, rows in tables.items()},
        excluded={},
        content_hash=_content_hash(tables),
        key_id="",
        dummy=True,
    )
    token = uuid.uuid4().hex
    staged = out.with_name(f".{out.name}.{token}.tmp")
    staged_manifest = out.with_name(f".{out.name}.{token}.manifest.tmp")
    try:
        _write(staged, policy, tables)
        staged_manifest.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        os.replace(staged, out)
        os.replace(staged_manifest, manifest_path(out))
    finally:
        for leftover in (staged, staged_manifest, staged.with_name(staged.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return manifest
