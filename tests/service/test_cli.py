"""``gateway user``, ``gateway worker`` and ``gateway audit verify`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings
from gateway.policy import Policy
from gateway.service.status import StatusCode
from tests.service.factories import approved_project, queued, tamper


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The command line over the ``settings`` fixture's data directory."""
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv(
        "GATEWAY_POLICY_FILE", str(Path(__file__).parents[2] / "policies/health_thing.yaml")
    )
    return CliRunner()


def test_user_add_prints_the_token_once(cli: CliRunner) -> None:
    result = cli.invoke(app, ["user", "add", "ann", "--role", "researcher", "--json"])
    assert result.exit_code == 0, result.output
    issued = json.loads(result.output)
    assert issued["user"] == "ann"
    assert issued["token"].startswith("gw_")
    again = cli.invoke(app, ["user", "add", "ann", "--role", "researcher"])
    assert again.exit_code == 1
    assert "user_exists" in again.output
    another = cli.invoke(app, ["user", "token", "ann", "--json"])
    assert json.loads(another.output)["token"] != issued["token"]


def test_user_add_refuses_an_unknown_role(cli: CliRunner) -> None:
    result = cli.invoke(app, ["user", "add", "ann", "--role", "owner"])
    assert result.exit_code != 0
    assert "role" in result.output


def test_audit_verify_passes_then_names_the_broken_record(
    cli: CliRunner, settings: Settings, policy: Policy
) -> None:
    approved_project(settings, policy)
    intact = cli.invoke(app, ["audit", "verify", "--json"])
    assert intact.exit_code == 0, intact.output
    assert json.loads(intact.output)["intact"]
    tamper(settings, "UPDATE audit_log SET actor = 'nobody' WHERE seq = 2")
    broken = cli.invoke(app, ["audit", "verify", "--json"])
    assert broken.exit_code == 1
    verdict = json.loads(broken.output)
    assert verdict["first_broken"]["seq"] == 2
    human = cli.invoke(app, ["audit", "verify"])
    assert human.exit_code == 1
    assert "broken at record 2" in human.output


def test_worker_once_runs_what_is_ready(cli: CliRunner, settings: Settings, policy: Policy) -> None:
    idle = cli.invoke(app, ["worker", "--once", "--json"])
    assert idle.exit_code == 0, idle.output
    assert json.loads(idle.output)["ran"] == []
    cast = approved_project(settings, policy)
    job = queued(settings, policy, cast)
    result = cli.invoke(app, ["worker", "--once", "--json"])
    assert result.exit_code == 0, result.output
    ran = json.loads(result.output)["ran"]
    assert ran == [{"job": job.id, "attempt": 1, "status": StatusCode.EXTRACT_UNUSABLE.value}]


def test_unsafe_settings_are_refused_clearly(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "production")
    monkeypatch.setenv("GATEWAY_INSECURE_NO_SANDBOX", "true")
    for command in (["serve"], ["worker", "--once"]):
        result = cli.invoke(app, command)
        assert result.exit_code == 1
        assert "invalid_settings" in result.output
        assert "GATEWAY_INSECURE_NO_SANDBOX" in result.output


@pytest.mark.parametrize(
    "command",
    [["extract", "status", "e.duckdb"], ["rights", "import", "--file"], ["audit", "verify"]],
    ids=" ".join,
)
def test_a_bad_setting_is_one_clear_error_on_every_command(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "bogus")
    changes = tmp_path / "changes.jsonl"
    changes.write_text("")
    result = cli.invoke(app, [*command, str(changes)] if command[-1] == "--file" else command)
    assert result.exit_code == 1
    assert "error [invalid_settings]: GATEWAY_ENVIRONMENT: Input should be" in result.output
    assert "Traceback" not in result.output


def test_the_service_refuses_to_run_unsandboxed_even_in_development(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "development")
    monkeypatch.setenv("GATEWAY_INSECURE_NO_SANDBOX", "true")
    for command in (["serve"], ["worker", "--once"]):
        result = cli.invoke(app, command)
        assert result.exit_code == 1
        assert "insecure_sandbox_refused" in result.output
