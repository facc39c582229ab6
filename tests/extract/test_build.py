"""What an extract holds: the minimum, pseudonymised, with every member's rights honoured."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.extract.manifest import Manifest, manifest_path
from gateway.policy import policy_hash
from gateway.policy.model import Policy
from tests.extract.conftest import PROJECT, Build, Built, pseudonym
from tests.extract.factories import (
    BUILT_AT,
    T0,
    identifying_values,
    read_tables,
    story_members,
)

NOTHING = {"members": 0, "tips": 0, "theme_follows": 0, "support_requests": 0}
EVERYTHING = {"members": 1, "tips": 2, "theme_follows": 1, "support_requests": 1}
"""A story member's rows when fully included (the second support request is too old)."""


@pytest.mark.parametrize("purpose", ["mission", "external"])
def test_no_identifying_source_value_appears_in_any_column(
    purpose: str, request: pytest.FixtureRequest
) -> None:
    built: Built = request.getfixturevalue(purpose)
    assert set(built.tables) == {"members", "tips", "theme_follows", "support_requests"}
    cells = [str(v) for rows in built.tables.values() for row in rows for v in row.values()]
    assert len(cells) > 100
    leaked = {value for value in identifying_values() for cell in cells if value in cell}
    assert leaked == set()


def test_extract_columns_are_exactly_the_policy_columns(mission: Built, policy: Policy) -> None:
    for name, table in policy.tables.items():
        assert list(mission.tables[name][0]) == list(table.columns)


def test_mission_includes_every_unrestricted_member_on_the_contract_basis(mission: Built) -> None:
    members = {r["member_pid"] for r in mission.tables["members"]}
    assert members == {mission.pid(m.name) for m in story_members() if m.name != "carla"}
    assert mission.rows_of("floor")["members"] == 1  # consented to nothing, included anyway


def test_external_research_includes_only_members_whose_latest_consent_is_a_grant(
    external: Built,
) -> None:
    members = {r["member_pid"] for r in external.tables["members"]}
    consenting = {"anna", "daan", "eva", "gijs", "hanna", "ivo", "jet"}
    assert members == {external.pid(n) for n in consenting}
    assert external.rows_of("bram") == NOTHING  # granted, then withdrew
    assert external.rows_of("floor") == NOTHING  # never granted
    # bram: 1 member row, 2 tips, 1 follow, 2 requests; floor: 1, 1, 1, 2
    assert external.manifest.excluded["no_consent"] == 6 + 5


def test_restricted_member_is_absent_and_an_ended_restriction_is_not(mission: Built) -> None:
    assert mission.rows_of("carla") == NOTHING
    assert mission.rows_of("gijs") == EVERYTHING
    assert mission.manifest.excluded["restricted"] == 6


def test_content_erasure_removes_the_members_content_but_not_the_member(mission: Built) -> None:
    assert mission.rows_of("daan") == {**NOTHING, "members": 1}
    assert mission.manifest.excluded["erased"] == 2 + 1 + 2


def test_deleted_account_keeps_its_content_linked_only_to_the_pseudonym(mission: Built) -> None:
    eva = mission.pid("eva")
    assert mission.rows_of("eva") == EVERYTHING
    (row,) = [r for r in mission.tables["members"] if r["member_pid"] == eva]
    assert row == {
        "member_pid": eva,
        "birth_year": None,
        "age_band": "unknown",
        "province": "unknown",
        "country": None,
        "joined_month": dt.date(2020, 1, 1),
    }


def test_account_erasure_unlinks_the_profile_and_keeps_the_content(mission: Built) -> None:
    """hanna asked to erase her account: the source still has her profile, the extract not."""
    hanna = mission.pid("hanna")
    (row,) = [r for r in mission.tables["members"] if r["member_pid"] == hanna]
    profile = (row["birth_year"], row["age_band"], row["province"], row["country"])
    assert profile == (None, "unknown", "unknown", None)
    assert mission.rows_of("hanna") == EVERYTHING


def test_support_requests_past_retention_are_left_out(mission: Built, build: Build) -> None:
    assert {r["created_month"] for r in mission.tables["support_requests"]} == {dt.date(2025, 6, 1)}
    kept_members = len(story_members()) - 2  # carla restricted, daan's content erased
    assert mission.manifest.excluded["retention"] == kept_members
    # Ten years before the build, the 2014 requests were still within retention.
    assert build(now=dt.datetime(2023, 6, 1, tzinfo=dt.UTC)).excluded["retention"] == 0


def test_reductions_give_years_bands_provinces_months_and_word_counts(mission: Built) -> None:
    members = {r["member_pid"]: r for r in mission.tables["members"]}
    anna, ivo, jet = (members[mission.pid(n)] for n in ("anna", "ivo", "jet"))
    assert (anna["birth_year"], anna["age_band"], anna["province"]) == (
        1980,
        "45-54",
        "Noord-Holland",
    )
    assert (ivo["province"], ivo["country"]) == ("abroad", "BE")
    assert (jet["age_band"], jet["province"]) == ("<18", "Zuid-Holland")
    tips = [r for r in mission.tables["tips"] if r["member_pid"] == mission.pid("anna")]
    tips.sort(key=lambda r: str(r["created_date"]))
    assert [(t["theme"], t["created_month"], t["word_count"]) for t in tips] == [
        ("sleep", dt.date(2025, 1, 1), 9),
        ("stress", dt.date(2025, 2, 1), 9),
    ]
    anna_tip_ids = (101, 102)
    assert {t["tip_pid"] for t in tips} == {
        pseudonym(mission.settings, PROJECT, "tip", i) for i in anna_tip_ids
    }
    assert {r["days_to_close"] for r in mission.tables["support_requests"]} == {3}


def test_pseudonyms_are_stable_within_a_project_and_differ_across_projects(
    build: Build, outdir: Path, settings: Settings
) -> None:
    def pids(manifest: Manifest, path: Path) -> set[object]:
        tables = read_tables(path, manifest, settings)
        return {r["member_pid"] for r in tables["members"]} | {r["tip_pid"] for r in tables["tips"]}

    first = pids(build(), outdir / "e.duckdb")
    again = pids(build(force=True), outdir / "e.duckdb")
    other = pids(build(project="stress-study", out=outdir / "o.duckdb"), outdir / "o.duckdb")
    assert again == first
    assert len(other) == len(first) > 0
    assert other.isdisjoint(first)


def test_manifest_records_policy_snapshot_counts_expiry_and_a_stable_content_hash(
    mission: Built, external: Built, policy: Policy
) -> None:
    manifest = mission.manifest
    stored = manifest_path(mission.path).read_text()
    assert manifest.model_dump_json(indent=2) == stored
    assert manifest.policy_hash == policy_hash(policy)
    assert manifest.source_snapshot_at == T0.replace(tzinfo=dt.UTC)
    assert manifest.built_at == BUILT_AT
    assert manifest.expires_at == BUILT_AT + dt.timedelta(days=30)
    assert manifest.row_counts == {name: len(rows) for name, rows in mission.tables.items()}
    assert set(manifest.excluded) == {"no_consent", "restricted", "erased", "retention", "orphaned"}
    assert manifest.excluded["orphaned"] == 2
    assert external.manifest.content_hash != manifest.content_hash


def test_a_rebuild_gives_the_same_content_hash_and_a_new_key(build: Build) -> None:
    first = build()
    second = build(force=True)
    assert second.content_hash == first.content_hash
    assert second.key_id != first.key_id


@pytest.mark.parametrize("purpose", ["mission", "external"])
def test_every_source_row_is_kept_or_counted_as_excluded(
    purpose: str, request: pytest.FixtureRequest
) -> None:
    manifest = request.getfixturevalue(purpose).manifest
    members = story_members()
    orphaned_tips = 2
    source_rows = (
        len(members)  # accounts
        + sum(m.tips for m in members)
        + orphaned_tips
        + len(members)  # theme follows
        + 2 * len(members)  # support requests
    )
    assert sum(manifest.row_counts.values()) + sum(manifest.excluded.values()) == source_rows


def test_a_build_with_a_progress_bar_gives_the_same_extract(
    build: Build, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = build()
    assert build(progress=True, force=True).content_hash == plain.content_hash
    assert capsys.readouterr().out == ""  # the bar goes to standard error, never to --json output
