"""`gateway analysis run`: one JSON document or one clear refusal, exit status to match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from tests.analyses.factories import EXAMPLES, POLICY


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("GATEWAY_INSECURE_NO_SANDBOX", raising=False)
    return CliRunner()


def run(runner: CliRunner, extract: Path, file: Path, *extra: str) -> tuple[int, str]:
    args = ["analysis", "run", "--extract", str(extract), "--policy", str(POLICY)]
    result = runner.invoke(app, [*args, "--file", str(file), *extra])
    return result.exit_code, result.output


def test_missing_file_is_one_json_error(
    runner: CliRunner, dummy_extract: Path, tmp_path: Path
) -> None:
    code, output = run(runner, dummy_extract, tmp_path / "nope.py", "--json")
    assert code == 1
    assert json.loads(output)["error"]["code"] == "analysis_file_not_found"


def test_over_budget_is_refused_with_a_hint(runner: CliRunner, dummy_extract: Path) -> None:
    code, output = run(runner, dummy_extract, EXAMPLES[0], "--epsilon", "5")
    assert code == 1
    assert "error [epsilon_over_cap]" in output
    assert "hint: run it with --epsilon 2 or less" in output


def test_hostile_file_is_refused_in_human_form(
    runner: CliRunner, dummy_extract: Path, tmp_path: Path
) -> None:
    file = tmp_path / "evil.py"
    file.write_text("import ctypes\nctypes.CDLL(None)\n")
    code, output = run(runner, dummy_extract, file)
    assert code == 1
    assert "error [analysis_forbidden]: import of 'ctypes' is not allowed" in output
    assert "evil.py, line 1" in output


@pytest.mark.slow
def test_a_dummy_run_prints_releases_labelled_dummy(runner: CliRunner, dummy_extract: Path) -> None:
    example = next(p for p in EXAMPLES if p.stem == "themes_followed_together")
    code, output = run(runner, dummy_extract, example, "--epsilon", "1.0", "--json")
    assert code == 0, output
    printed = json.loads(output)
    assert printed["dummy"] is True
    assert printed["epsilon_spent"] == 0
    assert [r["name"] for r in printed["results"]] == [
        "followers_by_theme_age",
        "followers_by_theme_province",
    ]
    assert all(r["release"]["dummy"] for r in printed["results"])
    code, human = run(runner, dummy_extract, example, "--epsilon", "1.0")
    assert code == 0, human
    assert human.startswith("DUMMY DATA: synthetic values, not an insight; no budget spent")
    assert "from the release store" in human
    assert "themes_followed_together: ε spent 0 (planned 1 of 1 given)" in human
