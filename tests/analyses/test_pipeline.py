"""run_analysis and its stages: refusals come before data, and a dummy costs nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.errors import AnalysisError, ExtractError
from gateway.extract.manifest import Manifest, manifest_path
from gateway.pipeline import MAX_CODE_BYTES, parse_plan, read_analysis, usable_extract
from tests.analyses.factories import sleep_trends


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "state")


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (None, "analysis_file_not_found"),
        (b"\xff\xfe not text", "analysis_not_utf8"),
        (b"#" * (MAX_CODE_BYTES + 1), "analysis_too_large"),
    ],
)
def test_unreadable_files_are_refused_clearly(
    tmp_path: Path, content: bytes | None, code: str
) -> None:
    file = tmp_path / "analysis.py"
    if content is not None:
        file.write_bytes(content)
    with pytest.raises(AnalysisError) as err:
        read_analysis(file)
    assert err.value.code == code
    assert err.value.hint


def test_a_folder_is_not_an_analysis(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match="folder"):
        read_analysis(tmp_path)


def test_only_a_plan_comes_back_from_the_sandbox() -> None:
    plan = sleep_trends().plan()
    assert parse_plan(plan.model_dump(mode="json")) == plan
    for raw in [
        None,
        42,
        "plan",
        {"probe": 42},
        {**plan.model_dump(mode="json"), "code": "import os"},
    ]:
        with pytest.raises(AnalysisError) as err:
            parse_plan(raw)
        assert err.value.code == "analysis_not_a_plan"


def test_a_dummy_extract_needs_no_key(dummy_extract: Path, settings: Settings) -> None:
    manifest, key = usable_extract(dummy_extract, settings)
    assert manifest.dummy
    assert key.get_secret_value() == ""
    assert not settings.key_dir.exists()


def test_an_extract_without_manifest_is_refused(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "e.duckdb").write_bytes(b"")
    with pytest.raises(ExtractError) as err:
        usable_extract(tmp_path / "e.duckdb", settings)
    assert err.value.code == "extract_not_found"


def test_an_expired_extract_is_refused(
    tmp_path: Path, dummy_extract: Path, settings: Settings
) -> None:
    old = tmp_path / "old.duckdb"
    old.write_bytes(dummy_extract.read_bytes())
    manifest = Manifest.model_validate_json(manifest_path(dummy_extract).read_text())
    expired = manifest.model_copy(
        update={"expires_at": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}
    )
    manifest_path(old).write_text(expired.model_dump_json())
    with pytest.raises(ExtractError) as err:
        usable_extract(old, settings)
    assert err.value.code == "extract_expired"
