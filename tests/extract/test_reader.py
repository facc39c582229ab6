"""Encryption at rest, and the locked-down connection the DP engine and sandbox query through."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from gateway.config import Settings
from gateway.errors import ExtractError
from gateway.extract.manifest import load_manifest, manifest_path
from gateway.extract.reader import attach, open_extract
from gateway.extract.usable import extract_key
from tests.extract.conftest import Built
from tests.extract.factories import BUILT_AT, identifying_values


def test_the_file_cannot_be_opened_without_its_key(mission: Built) -> None:
    con = duckdb.connect()
    with pytest.raises(duckdb.Error, match="without a key"):
        con.execute(f"ATTACH '{mission.path}' AS e (READ_ONLY)")
    with pytest.raises(ExtractError) as err:
        attach(mission.path, "0" * 64)
    assert err.value.code == "extract_unreadable"


def test_the_files_bytes_hold_no_plain_value(mission: Built) -> None:
    raw = mission.path.read_bytes()
    assert len(raw) > 10_000
    plain = identifying_values() | {
        mission.pid("anna"),  # even the pseudonyms and reduced values are ciphertext
        "Noord-Holland",
        "stress",
    }
    assert [v for v in plain if v.encode() in raw] == []
    assert extract_key(mission.manifest, mission.settings).encode() not in raw


def test_the_key_is_neither_in_the_extract_directory_nor_the_manifest(mission: Built) -> None:
    key = extract_key(mission.manifest, mission.settings)
    for path in mission.path.parent.iterdir():
        assert key.encode() not in path.read_bytes(), path
    key_files = list(mission.settings.key_dir.rglob("*.key"))
    assert {p.stat().st_mode & 0o777 for p in key_files} == {0o600}
    assert mission.settings.key_dir.stat().st_mode & 0o777 == 0o700


def test_tables_are_visible_unqualified_and_read_only(mission: Built) -> None:
    con = attach(mission.path, extract_key(mission.manifest, mission.settings))
    try:
        count = con.execute("SELECT count(*) FROM tips").fetchone()
        assert count == (mission.manifest.row_counts["tips"],)
        assert con.execute("SELECT count(*) FROM main.members").fetchone() == (
            mission.manifest.row_counts["members"],
        )
        with pytest.raises(duckdb.Error):
            con.execute("DELETE FROM members")
    finally:
        con.close()


HOSTILE = [
    "ATTACH '{other}' AS other",
    "COPY (SELECT * FROM members) TO '{dump}'",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_parquet('{other}')",
    "SELECT * FROM '{other}'",
    "INSTALL httpfs",
    "LOAD spatial",
    "LOAD '{other}'",
    "SELECT * FROM read_csv('https://example.org/x.csv')",
    "SELECT * FROM 's3://bucket/x.parquet'",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "SET memory_limit = '100GB'",
    "RESET enable_external_access",
    "EXPORT DATABASE '{dump}'",
]


@pytest.mark.parametrize("sql", HOSTILE)
def test_hostile_statements_fail_on_an_attached_extract(
    sql: str, mission: Built, tmp_path: Path
) -> None:
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    dump = tmp_path / "dump.csv"
    con = attach(mission.path, extract_key(mission.manifest, mission.settings))
    try:
        with pytest.raises(duckdb.Error):
            con.execute(sql.format(other=other, dump=dump))
        assert not dump.exists()
        assert con.execute("SELECT current_setting('enable_external_access')").fetchone() == (
            False,
        )
    finally:
        con.close()


def test_open_extract_returns_a_connection_and_the_manifest(mission: Built) -> None:
    con, manifest = open_extract(mission.path, mission.settings, now=BUILT_AT)
    try:
        assert manifest == load_manifest(mission.path)
        assert con.execute("SELECT count(*) FROM members").fetchone() == (
            manifest.row_counts["members"],
        )
    finally:
        con.close()


def test_open_extract_refuses_an_expired_extract_with_the_rebuild_command(mission: Built) -> None:
    later = mission.manifest.expires_at + dt.timedelta(seconds=1)
    with pytest.raises(ExtractError) as err:
        open_extract(mission.path, mission.settings, now=later)
    assert err.value.code == "extract_expired"
    assert err.value.hint is not None
    assert "gateway extract build" in err.value.hint
    assert "--purpose mission" in err.value.hint


def test_a_missing_key_is_a_clear_error(mission: Built, tmp_path: Path) -> None:
    elsewhere = Settings(data_dir=mission.settings.data_dir, GATEWAY_KEY_DIR=tmp_path / "keys")
    with pytest.raises(ExtractError) as err:
        open_extract(mission.path, elsewhere, now=BUILT_AT)
    assert err.value.code == "extract_key_missing"


def test_a_dummy_extract_opens_without_a_key_and_a_real_one_does_not(
    mission: Built, tmp_path: Path
) -> None:
    dummy = tmp_path / "dummy.duckdb"
    con = duckdb.connect(str(dummy))
    con.execute("CREATE TABLE members AS SELECT 'x' AS member_pid")
    con.close()
    manifest = mission.manifest.model_copy(update={"dummy": True, "key_id": "none"})
    manifest_path(dummy).write_text(manifest.model_dump_json())
    opened, loaded = open_extract(dummy, mission.settings, now=BUILT_AT)
    try:
        assert loaded.dummy
        assert opened.execute("SELECT member_pid FROM members").fetchall() == [("x",)]
    finally:
        opened.close()
    with pytest.raises(ExtractError):
        extract_key(loaded, mission.settings)
    with pytest.raises(ExtractError) as err:
        attach(mission.path, None)
    assert err.value.code == "extract_unreadable"


def test_the_reader_imports_neither_the_metadata_database_nor_the_key_store() -> None:
    """The sandbox imports the reader for ``attach``; it must stay light and key-free."""
    import subprocess
    import sys

    heavy = ("sqlalchemy", "pyarrow", "gateway.db", "gateway.extract.keys", "gateway.config")
    code = (
        "import sys, gateway.extract.reader; "
        f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
