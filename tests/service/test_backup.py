"""`gateway backup` and `gateway restore`: back up, wipe, restore: the same gateway."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import tarfile
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings
from gateway.db import engine_for, session
from gateway.errors import BackupError
from gateway.extract.build import build_extract
from gateway.extract.reader import open_extract
from gateway.policy import Policy
from gateway.release_store import ReleaseStore
from gateway.service import audit
from gateway.service.app import create_app
from gateway.service.audit import SYSTEM, verify
from gateway.service.backup import backup, restore
from gateway.service.models import AuditRecord
from gateway.service.projects import propose
from gateway.service.transaction import transaction
from tests.conftest import postgres_url
from tests.extract.factories import BUILT_AT, make_source
from tests.service.factories import Api, make_api, project_create, user
from tests.service.factories import release as make_release
from tests.service.test_web import published

PASSPHRASE = "correct horse battery staple"


def sealed(settings: Settings, passphrase: str = PASSPHRASE) -> Settings:
    return settings.model_copy(update={"backup_passphrase": SecretStr(passphrase)})


def fresh(root: Path, passphrase: str = PASSPHRASE) -> Settings:
    """Empty data and key directories on SQLite, where a backup is restored."""
    return sealed(Settings(data_dir=root / "data", GATEWAY_KEY_DIR=root / "keys"), passphrase)


@dataclasses.dataclass
class Gateway:
    """A gateway with a published insight, a stored release and a built extract."""

    api: Api
    extract: Path
    stored_key: str


@pytest.fixture
def gateway(backend: Settings, policy: Policy, tmp_path: Path) -> Gateway:
    settings = sealed(backend)
    api = make_api(settings, policy)
    published(api)
    stored_key = "k" * 64
    ReleaseStore(settings).put(
        stored_key, make_release(0.5).model_copy(update={"policy_hash": "h" * 64})
    )
    source = make_source(tmp_path / "platform.duckdb")
    extract = tmp_path / "extracts" / "mission.duckdb"
    extract.parent.mkdir()
    build_extract(source, policy, "1", "mission", extract, settings, now=BUILT_AT)
    return Gateway(api, extract, stored_key)


def test_backup_wipe_restore_gives_the_same_gateway(
    gateway: Gateway, policy: Policy, tmp_path: Path
) -> None:
    before = gateway.api.settings
    insights = gateway.api.client.get("/insights.json?lang=en").json()
    register = gateway.api.client.get("/register.json").json()
    archive = tmp_path / "gateway.backup"
    made = backup(before, archive)
    assert made.rows["audit_log"] == verify(before).records
    assert made.key_files == 2  # the project's pseudonym key and the extract's key

    target = fresh(tmp_path / "restored")
    restored = restore(target, archive)
    assert restored.audit.intact
    assert restored.audit.records == verify(before).records + 1
    with session(target) as s:
        actions = s.execute(select(AuditRecord.action).order_by(AuditRecord.seq)).scalars().all()
    assert actions[-2:] == ["backup.create", "backup.restore"]

    client = TestClient(create_app(target, policy))
    assert client.get("/insights.json?lang=en").json() == insights
    assert client.get("/register.json").json() == register
    answered = ReleaseStore(target).get(gateway.stored_key)
    assert answered is not None
    assert answered.rows == make_release(0.5).rows
    assert answered.from_store
    connection, manifest = open_extract(gateway.extract, target, now=BUILT_AT)
    assert connection.execute("SELECT COUNT(*) FROM members").fetchone() == (
        manifest.row_counts["members"],
    )
    assert (target.key_dir.stat().st_mode & 0o777) == 0o700
    # new rows follow the restored ones
    ann = user(target, "zoe")
    newest = max(p["id"] for p in register["data"])
    assert propose(target, ann, project_create(), policy).id > newest


def test_no_key_is_in_the_backup_in_the_clear(gateway: Gateway, tmp_path: Path) -> None:
    archive = tmp_path / "gateway.backup"
    backup(gateway.api.settings, archive)
    raw = gzip.decompress(archive.read_bytes())
    keys = list(gateway.api.settings.key_dir.rglob("*.key"))
    assert len(keys) == 2
    for key in keys:
        secret = key.read_bytes().strip()
        assert len(secret) >= 16
        assert secret not in raw
    assert PASSPHRASE.encode() not in raw
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert "keys.sealed" in names
    assert not any(name.endswith(".key") for name in names)
    assert manifest["keys"]["cipher"] == "AES-256-GCM"
    assert (archive.stat().st_mode & 0o777) == 0o600


def test_a_backup_taken_while_the_service_writes_is_consistent(
    gateway: Gateway, tmp_path: Path
) -> None:
    settings = gateway.api.settings
    done = threading.Event()

    def write() -> None:
        while not done.is_set():
            with transaction(settings) as s:
                audit.record(s, SYSTEM, "busy", "test")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        archive = tmp_path / "busy.backup"
        backup(settings, archive)
    finally:
        done.set()
        writer.join()
    restored = restore(fresh(tmp_path / "restored"), archive)
    assert restored.audit.intact, restored.audit.first_broken
    assert restored.audit.head_seq == restored.audit.records


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_restore_refuses_a_directory_that_is_not_empty(gateway: Gateway, tmp_path: Path) -> None:
    archive = tmp_path / "gateway.backup"
    backup(gateway.api.settings, archive)
    target = fresh(tmp_path / "restored")
    target.data_dir.mkdir(parents=True)
    (target.data_dir / "notes.txt").write_text("keep me")
    with pytest.raises(BackupError) as refused:
        restore(target, archive)
    assert refused.value.code == "restore_target_not_empty"
    assert "GATEWAY_DATA_DIR" in (refused.value.hint or "")
    assert not target.key_dir.exists()
    assert [p.name for p in target.data_dir.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_restore_refuses_a_wrong_passphrase_and_an_altered_file(
    gateway: Gateway, tmp_path: Path
) -> None:
    archive = tmp_path / "gateway.backup"
    backup(gateway.api.settings, archive)
    wrong = fresh(tmp_path / "wrong", passphrase="not the passphrase at all")
    with pytest.raises(BackupError) as refused:
        restore(wrong, archive)
    assert refused.value.code == "backup_passphrase_wrong"
    assert not wrong.data_dir.exists()
    assert not wrong.key_dir.exists()

    altered = tmp_path / "altered.backup"
    with tarfile.open(archive) as tar, tarfile.open(altered, "w:gz") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "db/projects.jsonl":
                data = data.replace(b"Radboud University", b"Somewhere Elsewhere")
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    target = fresh(tmp_path / "restored")
    with pytest.raises(BackupError) as refused:
        restore(target, altered)
    assert refused.value.code == "backup_altered"
    assert not target.data_dir.exists()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_restore_refuses_what_is_no_backup_and_cleans_up_after_a_failed_load(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a tar at all")
    with pytest.raises(BackupError) as refused:
        restore(fresh(tmp_path / "junk"), junk)
    assert refused.value.code == "backup_unreadable"

    archive = tmp_path / "gateway.backup"
    backup(gateway.api.settings, archive)

    def broken_load(settings: Settings, *args: object) -> None:
        settings.data_dir.mkdir(parents=True)
        (settings.data_dir / "gateway.sqlite").write_text("half a database")
        raise RuntimeError("the disk filled up")

    monkeypatch.setattr("gateway.service.backup._load", broken_load)
    target = fresh(tmp_path / "restored")
    with pytest.raises(RuntimeError):
        restore(target, archive)
    assert list(target.key_dir.iterdir()) == []  # no key left behind
    assert list(target.data_dir.iterdir()) == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_backup_needs_a_passphrase_and_a_new_file(gateway: Gateway, tmp_path: Path) -> None:
    settings = gateway.api.settings
    for passphrase in (None, SecretStr("short")):
        with pytest.raises(BackupError) as refused:
            backup(settings.model_copy(update={"backup_passphrase": passphrase}), tmp_path / "b")
        assert refused.value.code == "backup_passphrase_missing"
    taken = tmp_path / "taken.backup"
    taken.write_text("an older backup")
    with pytest.raises(BackupError) as refused:
        backup(settings, taken)
    assert refused.value.code == "backup_exists"
    assert taken.read_text() == "an older backup"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_commands_round_trip(
    gateway: Gateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    settings = gateway.api.settings
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GATEWAY_BACKUP_PASSPHRASE", PASSPHRASE)
    archive = tmp_path / "cli.backup"
    made = runner.invoke(app, ["backup", "--out", str(archive), "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["key_files"] == 2
    again = runner.invoke(app, ["backup", "--out", str(archive)])
    assert again.exit_code == 1
    assert "backup_exists" in again.output

    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / "restored"))
    restored = runner.invoke(app, ["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert "audit chain intact" in restored.output
    verified = runner.invoke(app, ["audit", "verify", "--json"])
    assert json.loads(verified.output)["intact"] is True
    refused = runner.invoke(app, ["restore", str(archive), "--json"])
    assert refused.exit_code == 1
    assert json.loads(refused.output)["error"]["code"] == "restore_target_not_empty"


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_sqlite_backup_restores_into_postgresql(
    gateway: Gateway, policy: Policy, postgres_schema: str, tmp_path: Path
) -> None:
    archive = tmp_path / "gateway.backup"
    backup(gateway.api.settings, archive)
    insights = gateway.api.client.get("/insights.json").json()
    target = fresh(tmp_path / "restored").model_copy(
        update={"database_url": postgres_url(postgres_schema)}
    )
    assert restore(target, archive).audit.intact
    assert TestClient(create_app(target, policy)).get("/insights.json").json() == insights
    with pytest.raises(BackupError) as refused:
        restore(
            fresh(tmp_path / "again").model_copy(update={"database_url": target.database_url}),
            archive,
        )
    assert refused.value.code == "restore_target_not_empty"
    assert "GATEWAY_DATABASE_URL" in (refused.value.hint or "")
    engine_for(target.metadata_url).dispose()
