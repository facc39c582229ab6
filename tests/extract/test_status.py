"""Freshness: a rights change after the build makes an extract stale; time makes it expire."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.errors import ExtractError
from gateway.extract.ledger import import_changes
from gateway.extract.manifest import manifest_path
from gateway.extract.reader import open_extract
from gateway.extract.status import ExtractStatus, Freshness, extract_status
from tests.extract.conftest import Build, Built
from tests.extract.factories import BUILT_AT, T0, add_rights

LATER = BUILT_AT + dt.timedelta(hours=1)


@pytest.fixture
def both(mission: Built, external: Built, tmp_path: Path) -> list[Path]:
    """The story extracts' manifests, copied: status reads only the manifest."""
    paths = []
    for built in (mission, external):
        path = tmp_path / built.path.name
        shutil.copy(manifest_path(built.path), manifest_path(path))
        paths.append(path)
    return paths


def write_changes(path: Path, *changes: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in changes))
    return path


def status(
    extract: Path, settings: Settings, source: Path | None, now: dt.datetime = LATER
) -> ExtractStatus:
    (result,) = extract_status([extract], settings, source=source, now=now)
    return result


def test_a_fresh_build_is_fresh(
    build: Build, outdir: Path, source: Path, settings: Settings
) -> None:
    build()
    result = status(outdir / "e.duckdb", settings, source)
    assert (result.state, result.reasons) == (Freshness.FRESH, [])


def test_an_erasure_request_in_the_source_after_the_snapshot_makes_it_stale(
    build: Build, outdir: Path, source: Path, settings: Settings
) -> None:
    build()
    add_rights(
        source,
        "INSERT INTO erasure_requests VALUES (1, 'content', ?)",
        [T0 + dt.timedelta(days=2)],
    )
    result = status(outdir / "e.duckdb", settings, source)
    assert result.state is Freshness.STALE
    assert result.reasons == ["1 erasure request(s) in the source after its snapshot"]
    # Without the source at hand only the ledger is consulted: nothing there.
    assert status(outdir / "e.duckdb", settings, None).state is Freshness.FRESH
    # Rebuilding fixes it.
    build(force=True, now=LATER)
    assert status(outdir / "e.duckdb", settings, source).state is Freshness.FRESH


def test_an_erasure_request_imported_after_the_build_makes_it_stale_and_unqueryable(
    build: Build, outdir: Path, source: Path, settings: Settings, tmp_path: Path
) -> None:
    build()
    changes = write_changes(
        tmp_path / "changes.jsonl",
        {
            "change_id": "c-1",
            "type": "erasure",
            "account_id": 1,
            "scope": "content",
            "requested_at": "2026-03-02T09:30:00Z",
        },
    )
    import_changes(changes, settings, now=LATER)
    result = status(outdir / "e.duckdb", settings, source, now=LATER)
    assert result.state is Freshness.STALE
    assert result.reasons == ["1 erasure request(s) imported into the ledger after the build"]
    with pytest.raises(ExtractError) as err:
        open_extract(outdir / "e.duckdb", settings, now=LATER)
    assert err.value.code == "extract_stale"
    # The rebuild honours the ledger: anna's content is gone, and the extract is fresh.
    manifest = build(force=True, now=LATER + dt.timedelta(minutes=1))
    daan_rows = anna_rows = 2 + 1 + 2  # tips, follow, support requests
    assert manifest.excluded["erased"] == daan_rows + anna_rows
    assert status(outdir / "e.duckdb", settings, source, now=LATER).state is Freshness.FRESH


@pytest.mark.parametrize(
    ("change", "stale_for"),
    [
        (
            {
                "type": "consent",
                "purpose": "external_research",
                "granted": False,
                "changed_at": "2026-03-02T10:00:00",
            },
            {"external_research"},
        ),
        (
            {
                "type": "consent",
                "purpose": "external_research",
                "granted": True,
                "changed_at": "2026-03-02T10:00:00",
            },
            set(),
        ),
        (
            {
                "type": "consent",
                "purpose": "research_contact",
                "granted": False,
                "changed_at": "2026-03-02T10:00:00",
            },
            set(),
        ),
        ({"type": "restriction", "since": "2026-03-02T10:00:00"}, {"mission", "external_research"}),
        (
            {"type": "account_deletion", "deleted_at": "2026-03-02T10:00:00"},
            {"mission", "external_research"},
        ),
    ],
)
def test_only_changes_affecting_the_purpose_make_it_stale(
    change: dict[str, object],
    stale_for: set[str],
    both: list[Path],
    settings: Settings,
    tmp_path: Path,
) -> None:
    import_changes(
        write_changes(tmp_path / "c.jsonl", {"change_id": "x", "account_id": 1, **change}),
        settings,
        now=LATER,
    )
    results = extract_status(both, settings, source=None, now=LATER)
    assert {r.purpose for r in results if r.state is Freshness.STALE} == stale_for


def test_a_withdrawal_in_the_source_is_stale_for_its_purpose_only(
    both: list[Path], source: Path, settings: Settings
) -> None:
    add_rights(
        source,
        "INSERT INTO consents VALUES (1, 'external_research', false, ?)",
        [T0 + dt.timedelta(hours=5)],
    )
    results = extract_status(both, settings, source=source, now=LATER)
    assert [(r.purpose, r.state) for r in results] == [
        ("mission", Freshness.FRESH),
        ("external_research", Freshness.STALE),
    ]


def test_an_extract_expires_after_the_policy_days(
    build: Build, outdir: Path, source: Path, settings: Settings
) -> None:
    manifest = build()
    just_before = manifest.expires_at - dt.timedelta(seconds=1)
    assert status(outdir / "e.duckdb", settings, source, now=just_before).state is Freshness.FRESH
    result = status(outdir / "e.duckdb", settings, source, now=manifest.expires_at)
    assert result.state is Freshness.EXPIRED
    assert result.reasons == [f"expired at {manifest.expires_at.isoformat()}"]


def test_a_missing_manifest_is_an_error(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(ExtractError) as err:
        extract_status([tmp_path / "nope.duckdb"], settings, source=None)
    assert err.value.code == "manifest_missing"
