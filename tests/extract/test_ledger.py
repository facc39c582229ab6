"""The rights ledger: one change per line, idempotent by change_id, all or nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.errors import SourceError
from gateway.extract.ledger import Change, changes_imported_after, import_changes, ledger_entries
from tests.extract.conftest import PROJECT, Build, pseudonym
from tests.extract.factories import BUILT_AT, read_tables

CHANGES = [
    {
        "change_id": "a",
        "type": "consent",
        "account_id": 1,
        "purpose": "external_research",
        "granted": False,
        "changed_at": "2026-03-01T13:00:00+01:00",
    },
    {"change_id": "b", "type": "restriction", "account_id": 9, "since": "2026-02-01T00:00:00Z"},
    {
        "change_id": "c",
        "type": "erasure",
        "account_id": 10,
        "scope": "content",
        "requested_at": "2026-02-20T00:00:00Z",
    },
    {
        "change_id": "d",
        "type": "account_deletion",
        "account_id": 7,
        "deleted_at": "2026-02-21T00:00:00Z",
    },
]


def jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def test_import_stores_each_kind_of_change_in_utc(settings: Settings, tmp_path: Path) -> None:
    result = import_changes(jsonl(tmp_path / "c.jsonl", CHANGES), settings, now=BUILT_AT)
    assert (result.lines, result.imported, result.already_present) == (4, 4, 0)
    entries = {e.change_id: e for e in ledger_entries(settings)}
    assert entries["a"].kind == "consent"
    assert (entries["a"].purpose, entries["a"].granted) == ("external_research", False)
    assert entries["a"].effective_at == dt.datetime(2026, 3, 1, 12, 0)  # +01:00 -> UTC
    assert (entries["b"].kind, entries["b"].until) == ("restriction", None)
    assert (entries["c"].kind, entries["c"].scope) == ("erasure", "content")
    assert entries["d"].effective_at == dt.datetime(2026, 2, 21)
    assert {e.imported_at for e in entries.values()} == {BUILT_AT.replace(tzinfo=None)}


def test_importing_the_same_file_twice_changes_nothing(settings: Settings, tmp_path: Path) -> None:
    path = jsonl(tmp_path / "c.jsonl", CHANGES)
    import_changes(path, settings)
    again = import_changes(path, settings)
    assert (again.imported, again.already_present) == (0, 4)
    assert len(ledger_entries(settings)) == 4


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ("{not json", "line 3"),
        (
            {
                "change_id": "x",
                "type": "consent",
                "account_id": 1,
                "purpose": "marketing",
                "granted": True,
                "changed_at": "2026-01-01",
            },
            "unknown purpose",
        ),
        (
            {
                "change_id": "x",
                "type": "erasure",
                "account_id": 1,
                "scope": "everything",
                "requested_at": "2026-01-01",
            },
            "scope",
        ),
        ({"change_id": "x", "type": "teleport", "account_id": 1}, "line 3"),
        (
            {
                "change_id": "x",
                "type": "restriction",
                "account_id": 1,
                "since": "2026-01-02",
                "until": "2026-01-01",
            },
            "until",
        ),
        ({"type": "account_deletion", "account_id": 1, "deleted_at": "2026-01-01"}, "change_id"),
        (
            {
                "change_id": "a",
                "type": "account_deletion",
                "account_id": 1,
                "deleted_at": "2026-01-01",
            },
            "already used on line 1",
        ),
    ],
)
def test_a_bad_line_refuses_the_whole_file_and_names_the_line(
    bad: object, expected: str, settings: Settings, tmp_path: Path
) -> None:
    path = jsonl(tmp_path / "c.jsonl", [CHANGES[0], "", bad, CHANGES[1]])
    with pytest.raises(SourceError) as err:
        import_changes(path, settings)
    assert err.value.code == "rights_file_invalid"
    assert "line 3" in err.value.message
    assert expected in err.value.message
    assert [issue.line for issue in err.value.issues] == [3]
    assert ledger_entries(settings) == []


def test_a_change_id_reused_across_files_for_other_content_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    import_changes(jsonl(tmp_path / "1.jsonl", CHANGES[:1]), settings)
    altered = {**CHANGES[0], "granted": True}
    with pytest.raises(SourceError) as err:
        import_changes(jsonl(tmp_path / "2.jsonl", [CHANGES[1], altered]), settings)
    assert err.value.code == "change_id_conflict"
    assert [e.change_id for e in ledger_entries(settings)] == ["a"]


def test_a_missing_file_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as err:
        import_changes(tmp_path / "nope.jsonl", settings)
    assert err.value.code == "rights_file_not_found"


def test_builds_honour_the_ledger(
    build: Build, settings: Settings, outdir: Path, tmp_path: Path
) -> None:
    """Each ledger change does to the extract what the same change in the source does."""
    import_changes(jsonl(tmp_path / "c.jsonl", CHANGES), settings)
    manifest = build(purpose="external_research")
    tables = read_tables(outdir / "e.duckdb", manifest, settings)

    def rows_of(account_id: int) -> list[dict[str, object]]:
        pid = pseudonym(settings, PROJECT, "account", account_id)
        return [r for rows in tables.values() for r in rows if r["member_pid"] == pid]

    assert rows_of(1) == []  # anna withdrew
    assert rows_of(9) == []  # ivo restricted
    assert len(rows_of(10)) == 1  # jet's content erased: only her member row
    gijs = next(r for r in rows_of(7) if "birth_year" in r)
    assert (gijs["birth_year"], gijs["province"]) == (None, "unknown")  # deleted: unlinked
    assert len(rows_of(7)) == 5  # ... and her content stays


def test_a_ledger_restriction_sent_again_with_an_end_is_lifted(
    build: Build, settings: Settings, tmp_path: Path
) -> None:
    start = {
        "change_id": "r1",
        "type": "restriction",
        "account_id": 1,
        "since": "2026-01-01T00:00:00",
    }
    import_changes(jsonl(tmp_path / "1.jsonl", [start]), settings)
    member_rows = 1 + 2 + 1 + 2  # member, tips, follow, support requests
    assert build().excluded["restricted"] == 2 * member_rows  # carla and anna
    end = {**start, "change_id": "r2", "until": "2026-02-01T00:00:00"}
    import_changes(jsonl(tmp_path / "2.jsonl", [end]), settings)
    assert build(force=True).excluded["restricted"] == member_rows  # carla only


def test_latest_consent_wins_and_a_withdrawal_wins_a_tie(
    build: Build, settings: Settings, outdir: Path, tmp_path: Path
) -> None:
    """floor (6) never consented in the source; the ledger now grants, and so on."""

    def consent(change_id: str, account: int, granted: bool, at: str) -> dict[str, object]:
        return {"change_id": change_id, "type": "consent", "account_id": account,
                "purpose": "external_research", "granted": granted, "changed_at": at}  # fmt: skip

    changes = [
        consent("f1", 6, True, "2026-01-01T00:00:00"),  # floor: grants -> in
        consent("b1", 2, True, "2026-01-01T00:00:00"),  # bram: grants again after withdrawing
        consent("a1", 1, True, "2026-01-01T00:00:00"),  # anna: grant and withdrawal at once
        consent("a2", 1, False, "2026-01-01T00:00:00"),
    ]
    import_changes(jsonl(tmp_path / "c.jsonl", changes), settings)
    tables = read_tables(outdir / "e.duckdb", build(purpose="external_research"), settings)
    members = {r["member_pid"] for r in tables["members"]}
    assert pseudonym(settings, PROJECT, "account", 6) in members
    assert pseudonym(settings, PROJECT, "account", 2) in members
    assert pseudonym(settings, PROJECT, "account", 1) not in members


def test_a_concurrent_import_of_the_same_ids_is_refused_cleanly(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another import stores an id between our lookup and our commit: nothing of ours lands."""
    import_changes(jsonl(tmp_path / "1.jsonl", CHANGES[:1]), settings)
    monkeypatch.setattr("gateway.extract.ledger._chunks", lambda ids, size: [])  # lookup sees none
    with pytest.raises(SourceError) as err:
        import_changes(jsonl(tmp_path / "2.jsonl", [CHANGES[1], CHANGES[0]]), settings)
    assert err.value.code == "concurrent_import"
    assert [e.change_id for e in ledger_entries(settings)] == ["a"]


def test_only_changes_imported_after_a_build_are_counted_and_by_kind(
    backend: Settings, tmp_path: Path
) -> None:
    """The check before every query counts in the database, on SQLite and PostgreSQL alike."""
    built_at = BUILT_AT + dt.timedelta(hours=1)
    import_changes(jsonl(tmp_path / "before.jsonl", CHANGES[:2]), backend, now=BUILT_AT)
    granted = {**CHANGES[0], "change_id": "g", "granted": True}
    other_purpose = {**CHANGES[0], "change_id": "m", "purpose": "research_contact"}
    after = [*CHANGES, granted, other_purpose, {**CHANGES[2], "change_id": "c2"}]
    import_changes(jsonl(tmp_path / "after.jsonl", after), backend, now=built_at)
    assert changes_imported_after(backend, built_at, "external_research") == {}
    counted = changes_imported_after(backend, BUILT_AT, "external_research")
    assert counted == {Change.ERASURE: 2, Change.ACCOUNT_DELETION: 1}
    later = {**CHANGES[0], "change_id": "w"}
    import_changes(jsonl(tmp_path / "later.jsonl", [later]), backend, now=built_at)
    assert changes_imported_after(backend, BUILT_AT, "external_research") == {
        Change.CONSENT_WITHDRAWN: 1,
        Change.ERASURE: 2,
        Change.ACCOUNT_DELETION: 1,
    }
    assert changes_imported_after(backend, BUILT_AT, "mission") == {
        Change.ERASURE: 2,
        Change.ACCOUNT_DELETION: 1,
    }
