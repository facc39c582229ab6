"""Backup and restore: the metadata database and the keys, in one file with no key in the clear.

The metadata database holds everything the gateway remembers: projects,
budgets, jobs, the release store (so published insights and repeated queries
come back the same) and the hash-chained audit log. The key directory holds
the pseudonym key of each project and the key of each extract. A backup is a
gzipped tar of

- ``manifest.json``: format, gateway version, schema revision, per table its
  columns, row count and SHA-256, and how the keys are sealed;
- ``manifest.mac``: HMAC-SHA256 of the manifest under a key derived from the
  passphrase, so a wrong passphrase or an altered file is refused before
  anything is written;
- ``db/<table>.jsonl``: every row of every table, as JSON lines: portable
  between SQLite and PostgreSQL, so a backup of one restores into the other;
- ``keys.sealed``: a tar of the key directory, encrypted with AES-256-GCM
  under the same derived key (scrypt of ``GATEWAY_BACKUP_PASSPHRASE``).

The copy is consistent while the service runs: SQLite is first copied with its
online backup API, PostgreSQL is read in one read-only REPEATABLE READ
transaction. Extract files are not in the backup: they are large, rebuilt from
the platform in minutes and expire within a month; their keys are, so extracts
that survive on their own storage open again after a restore.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import json
import os
import secrets
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from pydantic import BaseModel, Field
from sqlalchemy import (
    JSON,
    Connection,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    create_engine,
    inspect,
    make_url,
    select,
    text,
)

from gateway.config import Settings, ensure_private_dir
from gateway.db import alembic_config, engine_for, migrate
from gateway.errors import BackupError
from gateway.service import audit
from gateway.service.audit import SYSTEM, Verdict, verify
from gateway.service.transaction import transaction

FORMAT = 1
MIN_PASSPHRASE = 12
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
KEYS_AAD = b"gateway backup keys v1"
"""Bound into the key seal, so a sealed blob is only ever read as this backup's keys."""

Kind = Literal["plain", "datetime", "date", "json", "bytes"]


class TableDump(BaseModel):
    name: str
    columns: list[tuple[str, Kind]]
    rows: int
    sha256: str


class KeySeal(BaseModel):
    cipher: Literal["AES-256-GCM"] = "AES-256-GCM"
    kdf: Literal["scrypt"] = "scrypt"
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P
    salt: str = Field(description="base64")
    nonce: str = Field(description="base64")
    files: int
    sha256: str = Field(description="of the sealed blob as stored")


class BackupManifest(BaseModel):
    format: int = FORMAT
    created_at: dt.datetime
    gateway: str
    revision: str = Field(description="the metadata database's Alembic revision")
    dialect: str
    tables: list[TableDump]
    keys: KeySeal


class BackupSummary(BaseModel):
    path: Path
    created_at: dt.datetime
    revision: str
    rows: dict[str, int]
    key_files: int
    bytes: int


class RestoreSummary(BaseModel):
    path: Path
    revision: str
    rows: dict[str, int]
    key_files: int
    audit: Verdict


def passphrase(settings: Settings) -> bytes:
    """The backup passphrase from ``GATEWAY_BACKUP_PASSPHRASE``; refused when absent or short."""
    secret = settings.backup_passphrase
    if secret is None or len(secret.get_secret_value()) < MIN_PASSPHRASE:
        raise BackupError(
            "backup_passphrase_missing",
            f"GATEWAY_BACKUP_PASSPHRASE must hold a passphrase of at least {MIN_PASSPHRASE} "
            "characters; it seals the keys in the backup",
            hint="export GATEWAY_BACKUP_PASSPHRASE from your secret store (never on the command "
            "line); keep it apart from the backup file",
        )
    return secret.get_secret_value().encode()


# ---------------------------------------------------------------- backup


def backup(settings: Settings, out: Path) -> BackupSummary:
    """Write ``out``: the whole metadata database and the sealed keys, consistently."""
    secret = passphrase(settings)  # 1. refuse early: no passphrase, no backup
    if out.exists():  # 2. never overwrite
        raise BackupError(
            "backup_exists", f"{out} exists", hint="choose a new file name for each backup"
        )
    if not out.parent.is_dir():
        raise BackupError("backup_dir_missing", f"{out.parent} is not a directory")
    migrate(settings)
    with transaction(settings) as s:  # 3. the backup itself is in the log, and in the backup
        audit.record(s, SYSTEM, "backup.create", "backup", out.name)
    salt = secrets.token_bytes(16)
    seal_key, mac_key = _derive(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    created = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with _snapshot(settings) as connection:  # 4. one consistent copy of every table
            revision, tables = _dump(connection, work)
        files, sealed, nonce = _seal_keys(settings.key_dir, seal_key)  # 5. keys, encrypted
        (work / "keys.sealed").write_bytes(sealed)
        manifest = BackupManifest(
            created_at=created,
            gateway=version("gateway"),
            revision=revision,
            dialect=make_url(settings.metadata_url).get_backend_name(),
            tables=tables,
            keys=KeySeal(
                salt=_b64(salt),
                nonce=_b64(nonce),
                files=files,
                sha256=hashlib.sha256(sealed).hexdigest(),
            ),
        )
        body = manifest.model_dump_json(indent=2).encode()
        (work / "manifest.json").write_bytes(body)
        (work / "manifest.mac").write_text(hmac.new(mac_key, body, "sha256").hexdigest())
        _pack(work, out)  # 6. written aside, then renamed: a backup is whole or absent
    return BackupSummary(
        path=out,
        created_at=created,
        revision=revision,
        rows={t.name: t.rows for t in tables},
        key_files=files,
        bytes=out.stat().st_size,
    )


@contextmanager
def _snapshot(settings: Settings) -> Iterator[Connection]:
    """A connection that sees the database as of one moment, while others keep writing."""
    url = make_url(settings.metadata_url)
    if url.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "snapshot.sqlite"
            source, target = sqlite3.connect(str(url.database)), sqlite3.connect(copy)
            try:
                source.backup(target)
            finally:
                source.close()
                target.close()
            engine = create_engine(f"sqlite:///{copy}")
            try:
                with engine.connect() as connection:
                    yield connection
            finally:
                engine.dispose()
        return
    engine = engine_for(settings.metadata_url)
    repeatable = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with repeatable as connection, connection.begin():
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        yield connection


def _dump(connection: Connection, work: Path) -> tuple[str, list[TableDump]]:
    metadata = MetaData()
    metadata.reflect(connection)
    revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    (work / "db").mkdir()
    tables = []
    for table in metadata.sorted_tables:
        columns = [(c.name, _kind(c.type)) for c in table.columns]
        path = work / "db" / f"{table.name}.jsonl"
        digest, count = hashlib.sha256(), 0
        with path.open("wb") as out:
            order = list(table.primary_key.columns) or list(table.columns)
            for row in connection.execute(select(table).order_by(*order)):
                line = json.dumps(
                    [_encode(value, kind) for value, (_, kind) in zip(row, columns, strict=True)],
                    separators=(",", ":"),
                    ensure_ascii=False,
                ).encode()
                out.write(line + b"\n")
                digest.update(line + b"\n")
                count += 1
        tables.append(
            TableDump(name=table.name, columns=columns, rows=count, sha256=digest.hexdigest())
        )
    return revision, tables


def _seal_keys(key_dir: Path, seal_key: bytes) -> tuple[int, bytes, bytes]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    buffer, files = io.BytesIO(), 0
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        if key_dir.is_dir():
            for path in sorted(p for p in key_dir.rglob("*") if p.is_file()):
                tar.add(path, arcname=str(path.relative_to(key_dir)))
                files += 1
    nonce = secrets.token_bytes(12)
    return files, AESGCM(seal_key).encrypt(nonce, buffer.getvalue(), KEYS_AAD), nonce


def _pack(work: Path, out: Path) -> None:
    partial = out.with_name(out.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for path in sorted(work.rglob("*")):
                if path.is_file():
                    tar.add(path, arcname=str(path.relative_to(work)))
        partial.rename(out)
    finally:
        partial.unlink(missing_ok=True)


# ---------------------------------------------------------------- restore


def restore(settings: Settings, archive: Path) -> RestoreSummary:
    """Restore ``archive`` into empty data and key directories and an empty database."""
    secret = passphrase(settings)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        manifest = _unpack(archive, work, secret)  # 1. whole, unaltered, and ours to open
        keys = _open_keys(work, manifest, secret)  # 2. the keys decrypt
        _known_revision(manifest.revision)  # 3. this gateway can read its schema
        _refuse_non_empty(settings)  # 4. nothing is overwritten
        try:
            files = _write_keys(keys, settings.key_dir)  # 5. keys back, mode 0700/0600
            _load(settings, work, manifest)  # 6. rows back at their revision, then upgraded
        except BaseException:
            _empty(settings)  # the targets were empty: a failed restore leaves them so
            raise
    with transaction(settings) as s:
        audit.record(s, SYSTEM, "backup.restore", "backup", archive.name)
    return RestoreSummary(
        path=archive,
        revision=manifest.revision,
        rows={t.name: t.rows for t in manifest.tables},
        key_files=files,
        audit=verify(settings),  # 7. the chain holds, the restore's own record included
    )


def _unpack(archive: Path, work: Path, secret: bytes) -> BackupManifest:
    if not archive.is_file():
        raise BackupError("backup_not_found", f"no backup at {archive}")
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            tar.extractall(work, filter="data")
        body = (work / "manifest.json").read_bytes()
        mac = (work / "manifest.mac").read_text().strip()
        manifest = BackupManifest.model_validate_json(body)
    except (OSError, tarfile.TarError, ValueError) as exc:
        raise BackupError(
            "backup_unreadable",
            f"{archive} is not a gateway backup ({exc.__class__.__name__})",
            hint="give the file `gateway backup --out` wrote",
        ) from None
    if manifest.format != FORMAT:
        raise BackupError(
            "backup_format_unknown",
            f"backup format {manifest.format}; this gateway reads format {FORMAT}",
            hint="restore with the gateway version that wrote it: " + manifest.gateway,
        )
    seal = manifest.keys
    _, mac_key = _derive(secret, _unb64(seal.salt), seal.n, seal.r, seal.p)
    if not hmac.compare_digest(mac, hmac.new(mac_key, body, "sha256").hexdigest()):
        raise BackupError(
            "backup_passphrase_wrong",
            "GATEWAY_BACKUP_PASSPHRASE does not open this backup, or the backup was altered",
            hint="set the passphrase the backup was made with",
        )
    for table in manifest.tables:
        data = (work / "db" / f"{table.name}.jsonl").read_bytes()
        if hashlib.sha256(data).hexdigest() != table.sha256:
            raise BackupError(
                "backup_altered", f"table {table.name} in {archive} does not match its manifest"
            )
    return manifest


def _open_keys(work: Path, manifest: BackupManifest, secret: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    seal = manifest.keys
    sealed = (work / "keys.sealed").read_bytes()
    seal_key, _ = _derive(secret, _unb64(seal.salt), seal.n, seal.r, seal.p)
    try:
        if hashlib.sha256(sealed).hexdigest() != seal.sha256:
            raise InvalidTag
        return AESGCM(seal_key).decrypt(_unb64(seal.nonce), sealed, KEYS_AAD)
    except InvalidTag:
        raise BackupError("backup_altered", "the sealed keys do not match their manifest") from None


def _known_revision(revision: str) -> None:
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except ResolutionError:
        raise BackupError(
            "backup_revision_unknown",
            f"the backup's schema revision {revision} is newer than this gateway knows",
            hint="restore with the gateway version that wrote the backup, or a newer one",
        ) from None


def _refuse_non_empty(settings: Settings) -> None:
    for name, folder in (("data", settings.data_dir), ("key", settings.key_dir)):
        if folder.exists() and any(folder.iterdir()):
            raise BackupError(
                "restore_target_not_empty",
                f"the {name} directory {folder} is not empty; a restore never overwrites",
                hint=f"point GATEWAY_{name.upper()}_DIR at a new, empty directory",
            )
    url = make_url(settings.metadata_url)
    if url.get_backend_name() == "sqlite" and not Path(str(url.database)).exists():
        return
    tables = inspect(engine_for(settings.metadata_url)).get_table_names()
    if tables:
        raise BackupError(
            "restore_target_not_empty",
            f"the metadata database already has {len(tables)} table(s)",
            hint="point GATEWAY_DATABASE_URL at a new, empty database",
        )


def _empty(settings: Settings) -> None:
    """Remove what a failed restore wrote (the database's own transaction rolls back)."""
    for folder in (settings.key_dir, settings.data_dir):
        if folder.is_dir():
            for child in folder.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()


def _write_keys(keys: bytes, key_dir: Path) -> int:
    ensure_private_dir(key_dir)
    files = 0
    with tarfile.open(fileobj=io.BytesIO(keys), mode="r") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            target = key_dir / member.name
            if not target.resolve().is_relative_to(key_dir.resolve()):
                raise BackupError("backup_altered", f"a key path leaves the key dir: {member.name}")
            ensure_private_dir(target.parent)
            source = tar.extractfile(member)
            assert source is not None
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(source.read())
            files += 1
    return files


def _load(settings: Settings, work: Path, manifest: BackupManifest) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = engine_for(settings.metadata_url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, manifest.revision)
        metadata = MetaData()
        metadata.reflect(connection)
        for dump in manifest.tables:
            if dump.name == "alembic_version":
                continue
            table = metadata.tables[dump.name]
            connection.execute(table.delete())  # rows a migration seeded (the audit head)
            kinds = dict(dump.columns)
            with (work / "db" / f"{dump.name}.jsonl").open("rb") as lines:
                batch: list[dict[str, Any]] = []
                for line in lines:
                    values = json.loads(line)
                    batch.append(
                        {
                            name: _decode(value, kinds[name])
                            for (name, _), value in zip(dump.columns, values, strict=True)
                        }
                    )
                    if len(batch) == 1000:
                        connection.execute(table.insert(), batch)
                        batch = []
                if batch:
                    connection.execute(table.insert(), batch)
            if connection.dialect.name == "postgresql":
                _continue_sequences(connection, table.name, metadata)
        command.upgrade(config, "head")


def _continue_sequences(connection: Connection, table: str, metadata: MetaData) -> None:
    """New rows get ids after the restored ones (PostgreSQL keeps counters apart from rows)."""
    for column in metadata.tables[table].primary_key.columns:
        if isinstance(column.type, Integer):
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{column.name}'), "
                    f"COALESCE((SELECT MAX({column.name}) FROM {table}), 0) + 1, false) "
                    f"WHERE pg_get_serial_sequence('{table}', '{column.name}') IS NOT NULL"
                )
            )


# ---------------------------------------------------------------- encoding


def _derive(secret: bytes, salt: bytes, n: int, r: int, p: int) -> tuple[bytes, bytes]:
    """Two 256-bit keys from the passphrase: one seals the keys, one signs the manifest."""
    key = hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=64)
    return key[:32], key[32:]


def _kind(column_type: object) -> Kind:
    if isinstance(column_type, DateTime):
        return "datetime"
    if isinstance(column_type, Date):
        return "date"
    if isinstance(column_type, JSON):
        return "json"
    if isinstance(column_type, LargeBinary):
        return "bytes"
    return "plain"


def _encode(value: Any, kind: Kind) -> Any:
    if value is None or kind in ("plain", "json"):
        return value
    if kind == "bytes":
        return _b64(bytes(value))
    return value.isoformat()


def _decode(value: Any, kind: Kind) -> Any:
    if value is None or kind in ("plain", "json"):
        return value
    if kind == "bytes":
        return _unb64(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    return dt.datetime.fromisoformat(value)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(data: str) -> bytes:
    return base64.b64decode(data)
