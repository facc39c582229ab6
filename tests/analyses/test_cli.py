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
