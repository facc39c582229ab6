"""Build an extract: the policy's tables, reduced, pseudonymised, rights applied, encrypted.

The steps, all inside one DuckDB connection so no row leaves the database
engine:

1. check everything that can be checked without data: the purpose, the
   policy's ``derive`` specs, the output path, the source's schema;
2. decide each member's state from the source's rights tables and the ledger
   (``rights.member_states_sql``): included, no consent, restricted; content
   erased; unlinked (deleted or account-erased);
3. per policy table, count the rows left out per reason, then write the rows
   kept, each column reduced as its ``derive`` spec says (``derive``);
4. hash the decrypted contents, write the manifest, and move both into place.

The extract is written to a temporary file beside ``out`` and renamed only
when complete; on any error the temporary file and the new key are removed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from gateway.config import Settings
from gateway.errors import ExtractError
from gateway.extract import derive
from gateway.extract._sql import ident, literal, naive
from gateway.extract.encryption import writer_connection
from gateway.extract.keys import (
    check_out_path,
    check_project_id,
    delete_extract_key,
    new_extract_key,
    pseudonym_key,
)
from gateway.extract.ledger import ledger_entries
from gateway.extract.manifest import Manifest, manifest_path
from gateway.extract.rights import load_rights, member_states_sql
from gateway.extract.source import SOURCE, attach_source, source_snapshot_at
from gateway.policy import Policy, policy_hash
from gateway.source.geography import CITY_PROVINCE

OUT = "extract"
"""The name the extract being written is attached under."""

RETENTION: dict[str, str] = {"support_requests": "created_at"}
"""Source tables kept only ``policy.extract.support_retention_years``, by this column."""

EXCLUSION_REASONS: tuple[str, ...] = ("no_consent", "restricted", "erased", "retention", "orphaned")
"""Why a source row is left out, in order of precedence (a row counts once)."""


def build_extract(
    source: Path,
    policy: Policy,
    project: str,
    purpose: str,
    out: Path,
    settings: Settings,
    *,
    force: bool = False,
    progress: bool = False,
    now: dt.datetime | None = None,
    city_province: Mapping[str, str] = CITY_PROVINCE,
) -> Manifest:
    """Write the encrypted extract ``out`` and its manifest; return the manifest.

    ``now`` is the clock (build time, retention, expiry); ``city_province``
    maps Dutch cities to provinces for the ``province`` reduction.
    """
    built_at = now or dt.datetime.now(dt.UTC)
    consent_purpose = _check_request(
        policy, project, purpose, Path(source), Path(out), force, settings
    )
    with _connection(out) as con, _steps(progress, len(policy.tables) + 3, con) as step:
        step("checking the source")
        attach_source(con, Path(source))
        snapshot_at = source_snapshot_at(con)
        _prepare(con, project, settings, city_province)
        with _staged(Path(out), settings) as (tmp, key_id, key):
            con.execute(f"SET temp_directory = {literal(str(tmp) + '.spill')}")
            con.execute(f"ATTACH {literal(str(tmp))} AS {OUT} (ENCRYPTION_KEY {literal(key)})")
            step("deciding who is in")
            load_rights(con, ledger_entries(settings))
            con.execute(
                "CREATE TEMP TABLE _members AS SELECT *, CASE WHEN state = 'included' "
                f"THEN _pseudonym('{derive.MEMBER_NAMESPACE}', account_id) END AS member_pid "
                f"FROM ({member_states_sql(consent_purpose, max(snapshot_at, built_at))})"
            )
            excluded = dict.fromkeys(EXCLUSION_REASONS, 0)
            ctx = derive.Context(
                as_of=f"DATE {literal(snapshot_at.date().isoformat())}",
                age_bands=policy.extract.age_bands,
            )
            cutoff = naive(built_at).replace(microsecond=0)
            for name in policy.tables:
                step(f"writing {name}")
                rows = _Rows(policy, name, cutoff, policy.extract.support_retention_years)
                for reason, n in rows.excluded(con).items():
                    excluded[reason] += n
                con.execute(rows.create_sql(ctx))
            step("hashing the contents")
            row_counts, content_hash = _content_hash(con, policy)
            con.execute(f"DETACH {OUT}")
            manifest = Manifest(
                project=project,
                purpose=purpose,
                policy_name=policy.name,
                policy_hash=policy_hash(policy),
                source_snapshot_at=snapshot_at,
                built_at=built_at,
                expires_at=built_at + dt.timedelta(days=policy.extract.expiry_days),
                row_counts=row_counts,
                excluded=excluded,
                content_hash=content_hash,
                key_id=key_id,
            )
            _publish(tmp, Path(out), manifest, settings)
    return manifest


def _check_request(
    policy: Policy,
    project: str,
    purpose: str,
    source: Path,
    out: Path,
    force: bool,
    settings: Settings,
) -> str | None:
    """Everything that can be refused before reading data; the purpose needing consent."""
    check_project_id(project)
    consent_purpose = _consent_purpose(policy, purpose)
    derive.check_policy(policy)
    if out.resolve() == source.resolve():
        raise ExtractError(
            "out_is_source",
            f"--out {out} is the source database itself",
            hint="write the extract to another file",
        )
    check_out_path(out, settings)
    if not out.parent.is_dir():
        raise ExtractError(
            "out_dir_missing",
            f"directory {out.parent} does not exist",
            hint="create it first, or choose another --out",
        )
    if (out.exists() or manifest_path(out).exists()) and not force:
        raise ExtractError(
            "extract_exists", f"{out} already exists", hint="pass --force to replace it"
        )
    return consent_purpose


@contextmanager
def _connection(out: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The build's connection; a DuckDB failure becomes ``extract_build_failed``."""
    con = writer_connection()
    try:
        yield con
    except duckdb.Error as exc:
        raise ExtractError("extract_build_failed", f"building {out} failed: {exc}") from None
    finally:
        con.close()


@contextmanager
def _staged(out: Path, settings: Settings) -> Iterator[tuple[Path, str, str]]:
    """A temporary file beside ``out`` and a new key: ``(tmp, key_id, key)``.

    The temporary files go whatever happens; the key goes too if the build fails.
    """
    key_id, key = new_extract_key(settings)
    tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp, key_id, key
    except BaseException:
        delete_extract_key(key_id, settings)
        raise
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(tmp.with_name(tmp.name + ".spill"), ignore_errors=True)


def _consent_purpose(policy: Policy, purpose: str) -> str | None:
    """None for the contract basis (everyone), else the purpose consent is needed for."""
    known = policy.purposes.get(purpose)
    if known is None:
        raise ExtractError(
            "unknown_purpose",
            f"purpose {purpose!r} is not in policy {policy.name!r}",
            hint="known purposes: " + ", ".join(sorted(policy.purposes)),
        )
    return None if known.basis == "contract" else purpose


def _prepare(
    con: duckdb.DuckDBPyConnection,
    project: str,
    settings: Settings,
    city_province: Mapping[str, str],
) -> None:
    """The temp lookups and the keyed-hash macro; none of them is written to the extract.

    HMAC-SHA256(k, m) = SHA256((k ^ opad) || SHA256((k ^ ipad) || m)), with the
    key padded to the 64-byte block; DuckDB computes it, vectorised.
    """
    key = pseudonym_key(project, settings).ljust(64, b"\0")
    ipad = bytes(b ^ 0x36 for b in key).hex()
    opad = bytes(b ^ 0x5C for b in key).hex()
    con.execute(
        "CREATE TEMP MACRO _pseudonym(namespace, value) AS "
        f"left(sha256(unhex('{opad}') || unhex(sha256(unhex('{ipad}') || "
        f"encode(namespace || ':' || CAST(value AS VARCHAR))))), {derive.PSEUDONYM_HEX})"
    )
    con.execute("CREATE TEMP TABLE _city_province (city VARCHAR PRIMARY KEY, province VARCHAR)")
    con.executemany("INSERT INTO _city_province VALUES (?, ?)", sorted(city_province.items()))


@dataclass(frozen=True)
class _Rows:
    """The rows of one extract table: which source rows, which are kept, and why not."""

    policy: Policy
    name: str
    cutoff: dt.datetime
    retention_years: int

    @property
    def _source(self) -> str:
        return self.policy.tables[self.name].source

    def _from(self, join: str) -> str:
        link = derive.member_link(self.policy.tables[self.name], self.policy)
        return (
            f"FROM {SOURCE}.{ident(self._source)} t "
            f"{join} _members m ON t.{ident(link)} = m.account_id"
        )

    def _erased(self) -> str:
        is_content = self.name != self.policy.unit_table
        return "m.content_erased" if is_content else "false"

    def _expired(self) -> str:
        column = RETENTION.get(self._source)
        if column is None:
            return "false"
        limit = f"TIMESTAMP {literal(self.cutoff.isoformat(sep=' '))}"
        return f"t.{ident(column)} < {limit} - INTERVAL {self.retention_years} YEAR"

    def excluded(self, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
        kept = "m.state = 'included'"
        filters = {
            "no_consent": "m.state = 'no_consent'",
            "restricted": "m.state = 'restricted'",
            "erased": f"{kept} AND {self._erased()}",
            "retention": f"{kept} AND NOT {self._erased()} AND {self._expired()}",
            "orphaned": "m.account_id IS NULL",
        }
        counts = ", ".join(f"count(*) FILTER (WHERE {where})" for where in filters.values())
        row = con.execute(f"SELECT {counts} {self._from('LEFT JOIN')}").fetchone()
        assert row is not None
        return dict(zip(filters, row, strict=True))

    def create_sql(self, ctx: derive.Context) -> str:
        table = self.policy.tables[self.name]
        columns = []
        for column_name, column in table.columns.items():
            assert column.derive is not None  # check_policy guarantees it
            columns.append(derive.column_sql(column_name, column.derive, column.type, ctx))
        return (
            f"CREATE TABLE {OUT}.{ident(self.name)} AS SELECT {', '.join(columns)} "
            f"{self._from('JOIN')} "
            f"WHERE m.state = 'included' AND NOT {self._erased()} AND NOT {self._expired()}"
        )


def _content_hash(con: duckdb.DuckDBPyConnection, policy: Policy) -> tuple[dict[str, int], str]:
    """Row counts and a SHA-256 over each table's schema, row count and row-hash sum.

    The sum of per-row hashes does not depend on row order, so the same
    contents give the same hash however DuckDB laid them out.
    """
    summary: dict[str, object] = {}
    counts: dict[str, int] = {}
    for name, table in policy.tables.items():
        cols = ", ".join(ident(c) for c in table.columns)
        row = con.execute(
            f"SELECT count(*), CAST(coalesce(sum(CAST(hash({cols}) AS HUGEINT)), 0) AS VARCHAR) "
            f"FROM {OUT}.{ident(name)}"
        ).fetchone()
        assert row is not None
        counts[name] = int(row[0])
        summary[name] = {
            "columns": [[c, col.type] for c, col in table.columns.items()],
            "rows": counts[name],
            "row_hash_sum": row[1],
        }
    canonical = json.dumps(summary, sort_keys=True).encode()
    return counts, hashlib.sha256(canonical).hexdigest()


def _publish(tmp: Path, out: Path, manifest: Manifest, settings: Settings) -> None:
    """Move the finished extract and its manifest into place; retire a replaced key."""
    target = manifest_path(out)
    previous = _previous_key_id(target)
    tmp_manifest = tmp.with_name(tmp.name + ".manifest")
    try:
        tmp_manifest.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
        os.replace(tmp, out)
        os.replace(tmp_manifest, target)
    except BaseException:
        tmp_manifest.unlink(missing_ok=True)
        raise
    if previous is not None and previous != manifest.key_id:
        delete_extract_key(previous, settings)


def _previous_key_id(path: Path) -> str | None:
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8")).key_id
    except (OSError, ValueError):
        return None


@contextmanager
def _steps(
    show: bool, total: int, con: duckdb.DuckDBPyConnection
) -> Iterator[Callable[[str], None]]:
    """A progress bar on standard error; each call starts the next build step.

    Within a step the bar follows DuckDB's own progress of the running query,
    polled from a second thread.
    """
    if not show:
        yield lambda _description: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    started = itertools.count()
    current = [0]
    stop = threading.Event()
    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("building", total=total * 100)

        def follow() -> None:
            while not stop.wait(0.25):
                within = max(0.0, min(con.query_progress(), 100.0))
                bar.update(task, completed=current[0] * 100 + within)

        def step(description: str) -> None:
            current[0] = next(started)
            bar.update(task, description=description, completed=current[0] * 100)

        poller = threading.Thread(target=follow, daemon=True)
        poller.start()
        try:
            yield step
        finally:
            stop.set()
            poller.join()
