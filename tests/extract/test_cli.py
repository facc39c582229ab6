"""The command contract: `gateway extract build/status` and `gateway rights import`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings
from tests.extract.conftest import POLICY, Build


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    """The environment that makes the CLI use the test's ``settings``."""
    return {"GATEWAY_DATA_DIR": str(settings.data_dir), "GATEWAY_KEY_DIR": str(settings.key_dir)}


def gateway(env: dict[str, str], *args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    return result.exit_code, result.output


def build_args(source: Path, out: Path, *extra: str | Path) -> list[str | Path]:
    return [
        "extract", "build", "--source", source, "--policy", POLICY,
        "--project", "p1", "--purpose", "mission", "--out", out, *extra,
    ]  # fmt: skip


def test_build_status_import_status(
    env: dict[str, str], source: Path, outdir: Path, tmp_path: Path
) -> None:
    out = outdir / "e.duckdb"
    code, output = gateway(env, *build_args(source, out, "--json"))
    assert code == 0, output
    manifest = json.loads(output)
    assert manifest["purpose"] == "mission"
    assert manifest["row_counts"]["members"] == 9
    assert set(manifest["excluded"]) >= {"no_consent", "restricted", "erased", "retention"}

    code, output = gateway(env, "extract", "status", "--source", source, out, "--json")
    assert code == 0, output
    assert [s["state"] for s in json.loads(output)] == ["fresh"]

    changes = tmp_path / "changes.jsonl"
    changes.write_text(
        json.dumps(
            {"change_id": "e1", "type": "erasure", "account_id": 1, "scope": "content",
             "requested_at": "2026-03-03T00:00:00Z"}
        ) + "\n"
    )  # fmt: skip
    code, output = gateway(env, "rights", "import", "--file", changes)
    assert (code, output.strip()) == (
        0,
        f"imported 1 change(s) from {changes}; 0 were already in the ledger",
    )
    code, output = gateway(env, "rights", "import", "--file", changes, "--json")
    assert json.loads(output)["already_present"] == 1

    code, output = gateway(env, "extract", "status", "--source", source, out)
    assert code == 1
    assert output.startswith(f"stale   {out}")
    assert "1 erasure request(s) imported into the ledger after the build" in output


def test_build_prints_a_human_summary(env: dict[str, str], source: Path, outdir: Path) -> None:
    code, output = gateway(env, *build_args(source, outdir / "e.duckdb"))
    assert code == 0, output
    assert f"wrote {outdir / 'e.duckdb'} (mission, project p1)" in output
    assert "members 9" in output


def test_refusals_exit_1_with_code_and_hint(
    env: dict[str, str], source: Path, outdir: Path, tmp_path: Path
) -> None:
    code, output = gateway(env, *build_args(tmp_path / "missing.duckdb", outdir / "e.duckdb"))
    assert code == 1
    assert "error [source_not_found]" in output

    raw = yaml.safe_load(POLICY.read_text())
    raw["tables"]["tips"]["columns"]["word_count"]["derive"]["transform"] = "teleport"
    bad_policy = tmp_path / "bad.yaml"
    bad_policy.write_text(yaml.safe_dump(raw))
    args = build_args(source, outdir / "e.duckdb", "--json")
    args[args.index(POLICY)] = bad_policy
    code, output = gateway(env, *args)
    assert code == 1
    error = json.loads(output)["error"]
    assert error["code"] == "policy_invalid"
    assert "tables.tips.columns.word_count.derive.transform" in error["message"]

    code, output = gateway(env, *build_args(source, outdir / "e.duckdb", "--purpose", "ads"))
    assert code == 1
    assert "hint: known purposes: external_research, mission" in output
    assert list(outdir.iterdir()) == []


def test_rights_import_names_the_bad_line(env: dict[str, str], tmp_path: Path) -> None:
    changes = tmp_path / "changes.jsonl"
    changes.write_text('{"change_id": "a", "type": "account_deletion", "account_id": 1, '
                       '"deleted_at": "2026-01-01"}\n{"change_id": "b"}\n')  # fmt: skip
    code, output = gateway(env, "rights", "import", "--file", changes, "--json")
    assert code == 1
    error = json.loads(output)["error"]
    assert error["code"] == "rights_file_invalid"
    assert [issue["line"] for issue in error["issues"]] == [2]


def test_status_of_an_expired_extract_exits_1(
    env: dict[str, str], build: Build, outdir: Path
) -> None:
    """``build`` sets the clock to March 2026: by the real clock that extract has expired."""
    manifest = build()
    assert manifest.expires_at < dt.datetime.now(dt.UTC)
    code, output = gateway(env, "extract", "status", outdir / "e.duckdb", "--json")
    assert code == 1
    (status,) = json.loads(output)
    assert status["state"] == "expired"
    assert status["reasons"] == [f"expired at {manifest.expires_at.isoformat()}"]
