"""Jobs through the real pipeline: sandbox, DP engine and release store, over a dummy extract."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.errors import ConflictError
from gateway.extract.dummy import build_dummy
from gateway.policy import Policy
from gateway.policy.model import Aggregation
from gateway.service.audit import SYSTEM
from gateway.service.execute import PipelineExecutor
from gateway.service.jobs import (
    AnalysisCreate,
    QueryCreate,
    job_public,
    submit_analysis,
    submit_query,
)
from gateway.service.projects import set_extract
from gateway.service.releases import PublishRequest, publish, read_release
from gateway.service.status import StatusCode
from gateway.service.worker import run_worker
from gateway.vet import vet
from gateway.vet.bounds import FixedBounds, fix_bounds
from tests.service.factories import MEAN_VOTES, Cast, approved_project, queued

ANALYSES = Path(__file__).parents[2] / "analyses"


@pytest.fixture(scope="module")
def dummy_extract(tmp_path_factory: pytest.TempPathFactory, policy: Policy) -> Path:
    """300 synthetic members with the extract's schema; no real member is in it."""
    out = tmp_path_factory.mktemp("dummy") / "dummy.duckdb"
    build_dummy(policy, out, members=300, seed=7, as_of=dt.date.today())
    return out


@pytest.fixture
def on_extract(tmp_path: Path, policy: Policy, dummy_extract: Path) -> tuple[Settings, Cast]:
    settings = Settings(data_dir=tmp_path / "data", analyses_dir=ANALYSES)
    cast = approved_project(settings, policy)
    set_extract(settings, SYSTEM, cast.project_id, dummy_extract)
    return settings, cast


def test_a_query_is_released_through_the_sandbox(
    on_extract: tuple[Settings, Cast], policy: Policy
) -> None:
    settings, cast = on_extract
    job = queued(settings, policy, cast, 0.5)
    summary = run_worker(settings, PipelineExecutor(settings, policy), once=True)
    assert [r.status for r in summary.ran] == [StatusCode.RELEASED]
    done = job_public(settings, cast.researcher, job.id)
    assert done.release_id is not None
    release = read_release(settings, cast.researcher, done.release_id)
    part = release.parts[0].release
    assert part.columns == ["theme", "n"]
    assert all(interval is not None for row in part.ci for interval in row[1:])
    assert part.dummy
    assert release.epsilon_charged == 0.0  # dummy data costs nothing
    with pytest.raises(ConflictError) as refused:
        publish(
            settings,
            cast.reviewer,
            done.release_id,
            PublishRequest(
                title_nl="Proef",
                title_en="Trial",
                text_nl="Alleen proefdata.",
                text_en="Dummy only.",
            ),
            policy,
        )
    assert refused.value.code == "dummy_release"


def test_a_template_analysis_runs_without_review(
    on_extract: tuple[Settings, Cast], policy: Policy
) -> None:
    settings, cast = on_extract
    job = submit_analysis(
        settings,
        cast.researcher,
        AnalysisCreate(project_id=cast.project_id, template="theme_popularity", epsilon=0.5),
        policy,
    )
    assert job.status is StatusCode.QUEUED
    run_worker(settings, PipelineExecutor(settings, policy), once=True)
    done = job_public(settings, cast.researcher, job.id)
    assert done.status is StatusCode.RELEASED, done.message
    assert done.release_id is not None
    release = read_release(settings, cast.researcher, done.release_id)
    assert len(release.parts) >= 1
    assert sum(part.epsilon for part in release.parts) == pytest.approx(0.5)


def test_a_query_runs_with_the_bounds_its_researcher_fixed(
    on_extract: tuple[Settings, Cast], policy: Policy
) -> None:
    settings, cast = on_extract
    bounds = FixedBounds(rows_per_group=2, groups=3, clamps={"helpful_votes": (0, 10)})
    job = submit_query(
        settings,
        cast.researcher,
        QueryCreate(project_id=cast.project_id, sql=MEAN_VOTES, epsilon=0.5, bounds=bounds),
        policy,
    )
    summary = run_worker(settings, PipelineExecutor(settings, policy), once=True)
    assert [r.status for r in summary.ran] == [StatusCode.RELEASED]
    done = job_public(settings, cast.researcher, job.id)
    assert done.release_id is not None
    (part,) = read_release(settings, cast.researcher, done.release_id).parts
    fixed = fix_bounds(
        vet(MEAN_VOTES, policy),
        policy,
        contributions=bounds.contributions,
        clamps=bounds.clamps,
    )
    assert part.release.plan_hash == fixed.plan_hash()
    assert (part.table, part.aggregates) == ("tips", {"votes": Aggregation.MEAN})


def test_the_served_app_runs_submitted_jobs_itself(
    on_extract: tuple[Settings, Cast], policy: Policy
) -> None:
    """With embedded workers, a query submitted over the API is released with no other process;
    with none, it stays queued for a separate ``gateway worker``."""
    from fastapi.testclient import TestClient

    from gateway.service.accounts import issue_token
    from gateway.service.app import create_app

    settings, cast = on_extract
    token = {"Authorization": f"Bearer {issue_token(settings, SYSTEM, cast.researcher.id).token}"}
    body = {"project_id": cast.project_id, "sql": MEAN_VOTES, "epsilon": 0.5}
    with TestClient(create_app(settings, policy, workers=0)) as client:
        idle = client.post("/api/queries", json=body, headers=token).json()
    with TestClient(create_app(settings, policy, workers=1)) as client:
        job = client.post("/api/queries", json=body, headers=token).json()
        for _ in range(600):
            job = client.get(f"/api/jobs/{job['id']}", headers=token).json()
            if job["is_final"]:
                break
            time.sleep(0.1)
        assert job["status"] == "released", job["message"]
        first = client.get(f"/api/jobs/{idle['id']}", headers=token).json()
        assert first["status"] == "released"  # the queued one was picked up too
    assert idle["status"] == "queued"


def test_a_dummy_run_needs_no_extract_budget_or_reviewer(
    tmp_path: Path, reviewed_policy: Policy
) -> None:
    """Even where every query waits for a reviewer, a dummy run goes at once, on the policy's
    dummy extract built on demand, and is charged nothing."""
    from sqlalchemy import select

    from gateway.db import session
    from gateway.service.budget import budget_state
    from gateway.service.models import BudgetEntry, Project

    settings = Settings(data_dir=tmp_path / "data", analyses_dir=ANALYSES)
    cast = approved_project(settings, reviewed_policy)  # the project has no extract
    ask = QueryCreate(project_id=cast.project_id, sql=MEAN_VOTES, epsilon=1.0, dummy=True)
    first = submit_query(settings, cast.researcher, ask, reviewed_policy)
    second = submit_query(settings, cast.researcher, ask, reviewed_policy)
    assert (first.status, first.dummy, first.review_reasons) == (StatusCode.QUEUED, True, [])
    summary = run_worker(settings, PipelineExecutor(settings, reviewed_policy), once=True)
    assert [ran.status for ran in summary.ran] == [StatusCode.RELEASED] * 2
    done = job_public(settings, cast.researcher, second.id)
    assert done.release_id is not None
    release = read_release(settings, cast.researcher, done.release_id)
    assert release.parts[0].release.dummy
    assert release.epsilon_charged == 0.0
    with session(settings) as s:
        project = s.get_one(Project, cast.project_id)
        state = budget_state(s, project)
        ledger = s.execute(select(BudgetEntry).where(BudgetEntry.project_id == project.id)).all()
    assert (state.held, state.spent, ledger) == (0.0, 0.0, [])
    assert len(list((settings.data_dir / "dummy").glob("*.duckdb"))) == 1  # built once
