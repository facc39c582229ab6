"""Bad input: a clear error with a stable code, and nothing half-written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from gateway.config import Settings
from gateway.errors import ConfigError, ExtractError, GatewayError, PolicyError, SourceError
from gateway.policy import Policy
from gateway.policy.model import Policy as PolicyModel
from tests.extract.conftest import POLICY, Build
from tests.extract.factories import make_source


def with_column(policy: Policy, table: str, column: str, spec: dict[str, object]) -> Policy:
    raw = yaml.safe_load(POLICY.read_text())
    raw["tables"][table]["columns"][column] = spec
    return PolicyModel.model_validate(raw)


def assert_nothing_written(outdir: Path, settings: Settings) -> None:
    assert list(outdir.iterdir()) == []
    extract_keys = settings.key_dir / "extract"
    assert not extract_keys.exists() or list(extract_keys.iterdir()) == []


def refusal(build: Build, **overrides: object) -> GatewayError:
    with pytest.raises(GatewayError) as err:
        build(**overrides)
    return err.value


def test_missing_source(build: Build, outdir: Path, settings: Settings, tmp_path: Path) -> None:
    err = refusal(build, source=tmp_path / "nope.duckdb")
    assert isinstance(err, SourceError)
    assert err.code == "source_not_found"
    assert_nothing_written(outdir, settings)


def test_a_file_that_is_not_a_database(
    build: Build, outdir: Path, settings: Settings, tmp_path: Path
) -> None:
    bogus = tmp_path / "bogus.duckdb"
    bogus.write_text("hello")
    err = refusal(build, source=bogus)
    assert err.code == "source_unreadable"
    assert_nothing_written(outdir, settings)


@pytest.mark.parametrize("drop", ["tips.body", "accounts.deleted_at", "erasure_requests"])
def test_a_source_with_the_wrong_schema_names_what_is_missing(
    drop: str, build: Build, outdir: Path, settings: Settings, tmp_path: Path
) -> None:
    broken = make_source(tmp_path / "broken.duckdb", drop=drop)
    err = refusal(build, source=broken)
    assert err.code == "source_schema_mismatch"
    assert drop in err.message
    assert_nothing_written(outdir, settings)


@pytest.mark.parametrize(
    ("table", "column", "spec", "code"),
    [
        (
            "members",
            "email",
            {
                "role": "category",
                "type": "VARCHAR",
                "derive": {"source": "accounts.email", "transform": "copy"},
            },
            "raw_sensitive_column",
        ),
        (
            "tips",
            "body",
            {
                "role": "category",
                "type": "VARCHAR",
                "derive": {"source": "tips.body", "transform": "copy"},
            },
            "raw_sensitive_column",
        ),
        (
            "members",
            "city",
            {
                "role": "category",
                "type": "VARCHAR",
                "derive": {"source": "accounts.city", "transform": "copy"},
            },
            "raw_sensitive_column",
        ),
        (
            "tips",
            "tip_pid",
            {
                "role": "identifier",
                "type": "BIGINT",
                "derive": {"source": "tips.tip_id", "transform": "copy"},
            },
            "raw_sensitive_column",
        ),
        (
            "tips",
            "theme",
            {
                "role": "category",
                "type": "VARCHAR",
                "derive": {"source": "tips.helpful_votes", "transform": "pseudonym"},
            },
            "transform_not_allowed",
        ),
        (
            "tips",
            "tip_pid",
            {
                "role": "identifier",
                "type": "DATE",
                "derive": {"source": "tips.created_at", "transform": "date"},
            },
            "identifier_not_pseudonymised",
        ),
        (
            "members",
            "secret",
            {
                "role": "category",
                "type": "VARCHAR",
                "derive": {"source": "accounts.secret", "transform": "copy"},
            },
            "unknown_source_column",
        ),
        (
            "members",
            "theme",
            {
                "role": "category",
                "type": "VARCHAR",
                "derive": {"source": "tips.theme_id", "transform": "theme_name"},
            },
            "foreign_source_column",
        ),
        ("members", "nothing", {"role": "category", "type": "VARCHAR"}, "no_derivation"),
    ],
)
def test_a_policy_that_would_copy_something_identifying_is_refused(
    table: str,
    column: str,
    spec: dict[str, object],
    code: str,
    build: Build,
    policy: Policy,
    outdir: Path,
    settings: Settings,
) -> None:
    err = refusal(build, policy=with_column(policy, table, column, spec))
    assert isinstance(err, PolicyError)
    assert err.code == "policy_unsafe_for_extract"
    assert code in {issue.code for issue in err.issues}
    assert any(f"tables.{table}.columns.{column}" in issue.message for issue in err.issues)
    assert_nothing_written(outdir, settings)


def test_unknown_purpose_lists_the_known_ones(
    build: Build, outdir: Path, settings: Settings
) -> None:
    err = refusal(build, purpose="marketing")
    assert err.code == "unknown_purpose"
    assert err.hint == "known purposes: external_research, mission"
    assert_nothing_written(outdir, settings)


def test_unsafe_key_dir_is_refused(build: Build, outdir: Path, settings: Settings) -> None:
    settings.key_dir.mkdir(mode=0o755)
    os.chmod(settings.key_dir, 0o755)
    err = refusal(build)
    assert isinstance(err, ConfigError)
    assert err.code == "unsafe_key_dir"
    assert_nothing_written(outdir, settings)


def test_an_extract_inside_the_key_dir_or_beside_it_is_refused(
    build: Build, settings: Settings, tmp_path: Path
) -> None:
    settings.key_dir.mkdir(mode=0o700, parents=True)
    assert refusal(build, out=settings.key_dir / "e.duckdb").code == "extract_in_key_dir"
    assert refusal(build, out=tmp_path / "e.duckdb").code == "key_dir_beside_extract"
    assert list(tmp_path.glob("*.duckdb*")) == [tmp_path / "platform.duckdb"]


def test_an_existing_extract_is_kept_unless_forced(
    build: Build, outdir: Path, settings: Settings
) -> None:
    first = build()
    before = (outdir / "e.duckdb").read_bytes()
    assert refusal(build).code == "extract_exists"
    assert (outdir / "e.duckdb").read_bytes() == before
    second = build(force=True)
    assert (outdir / "e.duckdb").read_bytes() != before
    # The replaced extract's key is retired; only the new one remains.
    keys = {p.stem for p in (settings.key_dir / "extract").iterdir()}
    assert keys == {second.key_id} != {first.key_id}


def test_a_failure_while_writing_leaves_nothing_behind(
    build: Build, policy: Policy, outdir: Path, settings: Settings
) -> None:
    """A cast that fails on the data fails mid-build: no file, no manifest, no extract key."""
    bad = with_column(
        policy,
        "members",
        "country",
        {
            "role": "category",
            "type": "INTEGER",
            "derive": {"source": "accounts.country", "transform": "copy"},
        },
    )
    err = refusal(build, policy=bad)
    assert isinstance(err, ExtractError)
    assert err.code == "extract_build_failed"
    assert_nothing_written(outdir, settings)


def test_a_missing_output_directory_and_a_bad_project_id(build: Build, tmp_path: Path) -> None:
    assert refusal(build, out=tmp_path / "no" / "e.duckdb").code == "out_dir_missing"
    assert refusal(build, project="../escape").code == "invalid_project"


def test_the_source_is_never_overwritten(build: Build, source: Path) -> None:
    before = source.read_bytes()
    assert refusal(build, out=source, force=True).code == "out_is_source"
    assert source.read_bytes() == before
