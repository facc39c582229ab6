"""``seed_demo`` leaves a service a visitor can walk through: tokens, a project, an insight."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.db import session
from gateway.errors import ConflictError, GatewayError
from gateway.policy import Policy
from gateway.service.accounts import Principal, user_by_name
from gateway.service.app import create_app
from gateway.service.audit import verify
from gateway.service.budget import budget_state
from gateway.service.execute import PipelineExecutor
from gateway.service.jobs import QueryCreate, job_public, submit_query
from gateway.service.models import Project, Role
from gateway.service.seed import DEMO_QUERY, demo_project_id, seed_demo
from gateway.service.status import StatusCode
from gateway.service.worker import run_worker
from tests.service.factories import StubExecutor, manifest_only

ExtractFor = Callable[[str], Path]


@pytest.fixture
def extract(tmp_path: Path) -> ExtractFor:
    """Where the demo's extract would be: only a manifest naming the project it is built for."""
    return lambda project: manifest_only(tmp_path / "demo.duckdb", project)


def test_the_demo_is_seeded_through_the_service(
    settings: Settings, policy: Policy, extract: ExtractFor, tmp_path: Path
) -> None:
    executor = StubExecutor()
    seed = seed_demo(settings, policy, extract, executor=executor)
    assert [call.text for call in executor.calls] == [DEMO_QUERY]
    assert executor.calls[0].extract == (tmp_path / "demo.duckdb").resolve()
    assert demo_project_id(settings) == seed.project_id
    client = TestClient(create_app(settings, policy))
    me = client.get("/api/me", headers={"Authorization": f"Bearer {seed.tokens[Role.ADMIN]}"})
    assert me.json()["role"] == "admin"
    insight = client.get(f"/api/public/insights/{seed.release_id}?lang=en").json()["data"][0]
    assert insight["title"] == "Which themes members share tips on"
    assert client.get("/api/public/register").json()["data"][0]["id"] == seed.project_id
    assert verify(settings).intact


def test_the_demo_is_seeded_once(settings: Settings, policy: Policy, extract: ExtractFor) -> None:
    seed_demo(settings, policy, extract, executor=StubExecutor())
    with pytest.raises(ConflictError) as again:
        seed_demo(settings, policy, extract, executor=StubExecutor())
    assert again.value.code == "demo_seeded"


def test_a_failed_demo_query_says_why(
    settings: Settings, policy: Policy, extract: ExtractFor
) -> None:
    from gateway.errors import SandboxError

    failing = StubExecutor(fail=SandboxError("sandbox_unavailable", "no bubblewrap"))
    with pytest.raises(GatewayError) as failed:
        seed_demo(settings, policy, extract, executor=failing)
    assert failed.value.code == "demo_query_failed"
    assert "sandbox_failed" in failed.value.message


def test_the_demo_runs_its_query_through_the_real_pipeline(
    tmp_path: Path, settings: Settings, policy: Policy
) -> None:
    """A small synthetic platform, its real (encrypted) extract, the sandbox and the DP engine."""
    from gateway.extract.build import build_extract
    from gateway.source.generate import generate

    generate(2000, 1, tmp_path / "platform.duckdb")
    (tmp_path / "extracts").mkdir()
    extract = tmp_path / "extracts" / "demo.duckdb"  # never beside the key directory
    built_for: list[str] = []

    def extract_for(project: str) -> Path:
        built_for.append(project)
        build_extract(tmp_path / "platform.duckdb", policy, project, "mission", extract, settings)
        return extract

    seed = seed_demo(settings, policy, extract_for)
    assert built_for == [str(seed.project_id)]
    client = TestClient(create_app(settings, policy))
    (insight,) = client.get(f"/api/public/insights/{seed.release_id}").json()["data"]
    release = insight["parts"][0]
    assert release["columns"] == ["theme", "tips"]
    assert not release["dummy"]
    assert release["epsilon_spent"] == 0.5
    themes = {row[0] for row in release["rows"]}
    assert themes <= set(policy.tables["tips"].columns["theme"].domain or ())
    project = client.get(
        f"/api/projects/{seed.project_id}",
        headers={"Authorization": f"Bearer {seed.tokens[Role.RESEARCHER]}"},
    ).json()
    assert project["budget"]["spent"] == 0.5

    again = submit_query(
        settings,
        researcher_of(settings),
        QueryCreate(project_id=seed.project_id, sql=DEMO_QUERY, epsilon=0.5),
        policy,
    )
    run_worker(settings, PipelineExecutor(settings, policy), once=True)
    repeated = job_public(settings, researcher_of(settings), again.id)
    assert repeated.status is StatusCode.RELEASED
    with session(settings) as s:
        project_row = s.get(Project, seed.project_id)
        assert project_row is not None
        state = budget_state(s, project_row)
    assert (state.spent, state.remaining) == (0.5, 4.5)  # the store answered: no new cost


def researcher_of(settings: Settings) -> Principal:
    return _principal(settings, "demo-researcher")


def reviewer_of(settings: Settings) -> Principal:
    return _principal(settings, "demo-reviewer")


def _principal(settings: Settings, name: str) -> Principal:
    user = user_by_name(settings, name)
    return Principal(id=user.id, name=user.name, role=user.role)
