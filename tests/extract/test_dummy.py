"""A dummy extract has the policy's schema, plausible synthetic values, and no real member."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings
from gateway.errors import ExtractError
from gateway.extract import dummy
from gateway.extract.dummy import build_dummy
from gateway.extract.manifest import Manifest, manifest_path
from gateway.extract.reader import open_extract
from gateway.policy import ColumnRole, Policy
from tests.extract.conftest import Built

POLICY = Path(__file__).parent.parent.parent / "policies" / "health_thing.yaml"
AS_OF = dt.date(2025, 6, 15)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, policy: Policy) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("dummy") / "dummy.duckdb"
    return out, build_dummy(policy, out, members=400, seed=3, as_of=AS_OF)


@pytest.fixture
def con(built: tuple[Path, Manifest]) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(built[0]), read_only=True)
    yield connection
    connection.close()


def test_schema_is_exactly_the_policys(policy: Policy, con: duckdb.DuckDBPyConnection) -> None:
    tables = {r[0] for r in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == set(policy.tables)
    for name, table in policy.tables.items():
        described = con.sql(f'DESCRIBE "{name}"').fetchall()
        assert [(r[0], r[1]) for r in described] == [
            (c, col.type) for c, col in table.columns.items()
        ]


def test_schema_is_exactly_a_real_extracts(mission: Built, con: duckdb.DuckDBPyConnection) -> None:
    real, _ = open_extract(mission.path, mission.settings, now=mission.manifest.built_at)
    try:
        for table in mission.manifest.row_counts:
            assert (
                con.sql(f'DESCRIBE "{table}"').fetchall()
                == real.sql(f"DESCRIBE {table}").fetchall()
            )
        pid = "SELECT min(length(member_pid)), max(length(member_pid)) FROM members"
        assert con.sql(pid).fetchall() == real.sql(pid).fetchall()
    finally:
        real.close()


def test_dummy_opens_like_an_extract_without_a_key(
    built: tuple[Path, Manifest], tmp_path: Path
) -> None:
    connection, manifest = open_extract(built[0], Settings(data_dir=tmp_path / "state"))
    try:
        assert manifest.dummy
        assert connection.sql("SELECT count(*) FROM members").fetchone() == (400,)
    finally:
        connection.close()
    assert not (tmp_path / "state").exists()  # no key looked up, none created


def test_manifest_marks_it_dummy_and_counts_rows(
    built: tuple[Path, Manifest], con: duckdb.DuckDBPyConnection, policy: Policy
) -> None:
    out, manifest = built
    assert manifest.dummy
    assert Manifest.model_validate_json(manifest_path(out).read_text()) == manifest
    assert manifest.policy_name == policy.name
    assert manifest.excluded == {}
    assert manifest.expires_at - manifest.built_at == dt.timedelta(days=policy.extract.expiry_days)
    for name, rows in manifest.row_counts.items():
        assert con.sql(f'SELECT count(*) FROM "{name}"').fetchone() == (rows,)
    assert manifest.row_counts["members"] == 400
    assert all(n > 0 for n in manifest.row_counts.values())


def test_values_respect_domains_and_bounds(policy: Policy, con: duckdb.DuckDBPyConnection) -> None:
    for name, table in policy.tables.items():
        for column, spec in table.columns.items():
            if spec.domain is not None:
                seen = {
                    r[0] for r in con.sql(f'SELECT DISTINCT "{column}" FROM "{name}"').fetchall()
                }
                assert seen <= set(spec.domain), (name, column)
                assert len(seen) > 1, (name, column)
            if spec.role is ColumnRole.MEASURE:
                low, high = con.sql(
                    f'SELECT min("{column}"), max("{column}") FROM "{name}"'
                ).fetchone()  # type: ignore[misc]
                assert spec.lower <= low < high <= spec.upper, (name, column)  # type: ignore[operator]


def test_pseudonyms_are_random_and_consistent_across_tables(con: duckdb.DuckDBPyConnection) -> None:
    members, distinct, shape = con.sql(
        "SELECT count(*), count(DISTINCT member_pid), "
        "bool_and(regexp_full_match(member_pid, '[0-9a-f]{32}')) FROM members"
    ).fetchone()  # type: ignore[misc]
    assert members == distinct == 400
    assert shape
    for child in ("tips", "theme_follows", "support_requests"):
        orphans = con.sql(
            f"SELECT count(*) FROM {child} WHERE member_pid NOT IN (SELECT member_pid FROM members)"
        ).fetchone()
        assert orphans == (0,)
    tips, tip_pids = con.sql("SELECT count(*), count(DISTINCT tip_pid) FROM tips").fetchone()  # type: ignore[misc]
    assert tips == tip_pids


def test_derived_columns_agree(con: duckdb.DuckDBPyConnection) -> None:
    # Columns derived from one source value are derived from the same one.
    assert con.sql(
        "SELECT count(*) FROM tips WHERE created_month != date_trunc('month', created_date)"
    ).fetchone() == (0,)
    bands = (18, 25, 35, 45, 55, 65, 75)
    labels = ["<18", "18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"]

    def band(age: int) -> str:
        return labels[sum(age >= edge for edge in bands)]

    rows = con.sql("SELECT birth_year, age_band FROM members WHERE birth_year IS NOT NULL")
    for birth_year, age_band in rows.fetchall():
        age = AS_OF.year - birth_year  # or one less, before the birthday
        assert age_band in {band(age), band(age - 1)}, (birth_year, age_band)
    assert con.sql(
        "SELECT count(*) FROM members WHERE (birth_year IS NULL) != (age_band = 'unknown')"
    ).fetchone() == (0,)
    # Activity follows joining; nothing lies after the build date.
    assert con.sql(
        "SELECT count(*) FROM tips JOIN members USING (member_pid) "
        "WHERE created_date < joined_month"
    ).fetchone() == (0,)
    assert con.sql(f"SELECT max(created_date) <= DATE '{AS_OF}' FROM tips").fetchone() == (True,)
    # One follow per member and theme, as the table's contribution bound implies.
    assert con.sql(
        "SELECT count(*) = count(DISTINCT (member_pid, theme)) FROM theme_follows"
    ).fetchone() == (True,)


def test_some_members_exceed_the_contribution_bounds(
    policy: Policy, con: duckdb.DuckDBPyConnection
) -> None:
    bounds = policy.tables["tips"].contributions
    busiest = con.sql(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM tips GROUP BY member_pid)"
    ).fetchone()
    assert busiest is not None
    assert busiest[0] > bounds.max_rows_per_group


def test_same_seed_same_extract_other_seed_other_extract(tmp_path: Path, policy: Policy) -> None:
    one = build_dummy(policy, tmp_path / "a.duckdb", members=50, seed=1, as_of=AS_OF)
    again = build_dummy(policy, tmp_path / "b.duckdb", members=50, seed=1, as_of=AS_OF)
    other = build_dummy(policy, tmp_path / "c.duckdb", members=50, seed=2, as_of=AS_OF)
    assert one.content_hash == again.content_hash
    assert one.row_counts == again.row_counts
    assert other.content_hash != one.content_hash


def test_replaces_a_dummy_but_never_a_real_extract(tmp_path: Path, policy: Policy) -> None:
    out = tmp_path / "e.duckdb"
    first = build_dummy(policy, out, members=20, seed=1)
    second = build_dummy(policy, out, members=30, seed=2)
    assert second.content_hash != first.content_hash
    real = tmp_path / "real.duckdb"
    real.write_bytes(b"encrypted extract")
    manifest_path(real).write_text(second.model_copy(update={"dummy": False}).model_dump_json())
    with pytest.raises(ExtractError) as err:
        build_dummy(policy, real, members=20)
    assert err.value.code == "extract_exists"
    assert real.read_bytes() == b"encrypted extract"


def test_failure_leaves_nothing_behind(
    tmp_path: Path, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(path: Path, *_: object) -> None:
        path.write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(dummy, "_write", disk_full)
    with pytest.raises(OSError, match="disk full"):
        build_dummy(policy, tmp_path / "e.duckdb", members=10)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("members", [0, -5, 10**9])
def test_refuses_a_silly_member_count(tmp_path: Path, policy: Policy, members: int) -> None:
    with pytest.raises(ExtractError) as err:
        build_dummy(policy, tmp_path / "e.duckdb", members=members)
    assert err.value.code == "dummy_members_invalid"
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_missing_folder(tmp_path: Path, policy: Policy) -> None:
    with pytest.raises(ExtractError) as err:
        build_dummy(policy, tmp_path / "nope" / "e.duckdb")
    assert err.value.code == "out_dir_missing"


def test_command_writes_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "d.duckdb"
    args = ["extract", "dummy", "--policy", str(POLICY), "--out", str(out), "--members", "25"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    printed = Manifest.model_validate(json.loads(result.output))
    assert printed.dummy
    assert printed.row_counts["members"] == 25
    assert manifest_path(out).exists()
    human = CliRunner().invoke(app, [*args, "--seed", "9"])
    assert human.exit_code == 0
    assert "members 25" in human.output
    assert "dummy" in human.output


def test_command_refusal_is_one_json_error(tmp_path: Path) -> None:
    (tmp_path / "x.duckdb").write_bytes(b"not mine")
    result = CliRunner().invoke(
        app,
        [
            "extract",
            "dummy",
            "--policy",
            str(POLICY),
            "--out",
            str(tmp_path / "x.duckdb"),
            "--json",
        ],
    )
    assert result.exit_code == 1
    assert json.loads(result.output)["error"]["code"] == "extract_exists"
