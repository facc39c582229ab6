"""`gateway demo` leaves a working service behind: users, a project, a published insight."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gateway.cli import app
from gateway.config import Settings
from gateway.extract.manifest import load_manifest
from gateway.policy import load_policy
from gateway.service.app import create_app

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_demo_seeds_a_service_with_a_published_insight(tmp_path: Path) -> None:
    env = {
        "GATEWAY_DATA_DIR": str(tmp_path / "state"),
        "GATEWAY_POLICY_FILE": str(ROOT / "policies" / "health_thing.yaml"),
        "GATEWAY_ANALYSES_DIR": str(ROOT / "analyses"),
    }
    args = ["demo", "--members", "3000", "--no-serve", "--json"]
    first = CliRunner().invoke(app, args, env=env)
    assert first.exit_code == 0, first.output
    seeded = json.loads(first.output)
    assert set(seeded["tokens"]) == {"researcher", "reviewer", "admin"}
    assert Path(seeded["extract"]).exists()
    assert load_manifest(Path(seeded["extract"])).project == str(seeded["project_id"])

    again = CliRunner().invoke(app, args, env=env)
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["tokens"] == {}  # tokens are shown once only

    settings = Settings(
        data_dir=tmp_path / "state", policy_file=ROOT / "policies" / "health_thing.yaml"
    )
    client = TestClient(create_app(settings, load_policy(settings.policy_file)))
    assert client.get("/index.json").json() == {"insights": 1, "projects": 1}
    researcher = {"Authorization": f"Bearer {seeded['tokens']['researcher']}"}
    assert client.get("/api/projects", headers=researcher).status_code == 200
