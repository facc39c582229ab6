"""The budget ledger never overspends, and refunds what was not released."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from gateway.config import Settings
from gateway.db import session
from gateway.errors import ForbiddenError
from gateway.policy import Policy
from gateway.service.accounts import Principal
from gateway.service.budget import budget_state
from gateway.service.jobs import JobRefused, QueryCreate, ReviewDecision, review, submit_query
from gateway.service.models import BudgetEntry, LedgerKind, Project
from gateway.service.projects import propose
from gateway.service.status import StatusCode
from tests.service.factories import (
    Cast,
    approved_project,
    project_create,
    submit,
    user,
)


def _state(settings: Settings, project_id: int) -> tuple[float, float, float]:
    with session(settings) as s:
        project = s.get(Project, project_id)
        assert project is not None
        state = budget_state(s, project)
        return state.remaining, state.held, state.spent


def _ledger(settings: Settings, project_id: int) -> list[tuple[LedgerKind, float]]:
    with session(settings) as s:
        rows = s.execute(
            select(BudgetEntry.kind, BudgetEntry.epsilon)
            .where(BudgetEntry.project_id == project_id)
            .order_by(BudgetEntry.id)
        )
        return [(kind, epsilon) for kind, epsilon in rows]


def test_concurrent_submissions_never_overspend(backend: Settings, policy: Policy) -> None:
    """Sixteen submissions of ε = 0.5 race for a budget of 2: exactly four get it."""
    cast = approved_project(backend, policy, epsilon=2.0)
    start = threading.Barrier(16)
    outcomes: list[str] = []

    def attempt() -> None:
        start.wait()
        try:
            outcomes.append(submit(backend, policy, cast, 0.5).status.value)
        except JobRefused as refusal:
            outcomes.append(refusal.code)

    threads = [threading.Thread(target=attempt) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["awaiting_review"] * 4 + ["budget_exhausted"] * 12
    reserved = [e for kind, e in _ledger(backend, cast.project_id) if kind is LedgerKind.RESERVE]
    assert reserved == [0.5] * 4
    assert _state(backend, cast.project_id) == (0.0, 2.0, 0.0)


def test_a_budget_of_small_steps_fits_exactly(settings: Settings, policy: Policy) -> None:
    cast = approved_project(settings, policy, epsilon=1.0)
    for _ in range(10):
        submit(settings, policy, cast, 0.1)
    assert _state(settings, cast.project_id)[0] == 0.0
    with pytest.raises(JobRefused) as refused:
        submit(settings, policy, cast, 0.1)
    assert refused.value.code == "budget_exhausted"
    assert refused.value.status == 403


def test_a_refused_submission_is_kept_with_its_status(settings: Settings, policy: Policy) -> None:
    cast = approved_project(settings, policy, epsilon=1.0)
    with pytest.raises(JobRefused) as refused:
        submit_query(
            settings,
            cast.researcher,
            QueryCreate(project_id=cast.project_id, sql="SELECT * FROM tips"),
            policy,
        )
    assert refused.value.status == 422
    assert refused.value.issues
    assert refused.value.instance.startswith("/api/jobs/")
    assert _ledger(settings, cast.project_id) == []
    from gateway.service.jobs import job_public

    job = job_public(settings, cast.researcher, refused.value.job_id)
    assert job.status is StatusCode.VETTING_REFUSED
    assert job.is_final
    assert job.vet_report is not None
    assert not job.vet_report["allowed"]


def test_no_query_runs_for_a_project_that_is_not_approved(
    settings: Settings, policy: Policy
) -> None:
    researcher = user(settings, "ann")
    project = propose(settings, researcher, project_create(), policy)
    with pytest.raises(ForbiddenError) as refused:
        submit(settings, policy, Cast(researcher, researcher, project.id))
    assert refused.value.code == "project_not_approved"


def test_only_the_projects_researcher_submits(settings: Settings, policy: Policy) -> None:
    cast = approved_project(settings, policy)
    other = user(settings, "bob")
    with pytest.raises(Exception) as refused:
        submit(settings, policy, Cast(other, cast.reviewer, cast.project_id))
    assert getattr(refused.value, "code", None) == "project_not_found"


def test_a_rejected_job_gets_its_epsilon_back(settings: Settings, policy: Policy) -> None:
    cast = approved_project(settings, policy, epsilon=2.0)
    job = submit(settings, policy, cast, 1.5)
    assert _state(settings, cast.project_id) == (0.5, 1.5, 0.0)
    review(settings, cast.reviewer, job.id, ReviewDecision(approve=False, note="too broad"))
    assert _state(settings, cast.project_id) == (2.0, 0.0, 0.0)
    assert _ledger(settings, cast.project_id) == [
        (LedgerKind.RESERVE, 1.5),
        (LedgerKind.REFUND, 1.5),
    ]


def test_a_reviewer_does_not_review_their_own_job(settings: Settings, policy: Policy) -> None:
    cast = approved_project(settings, policy)
    job = submit(settings, policy, cast)
    as_reviewer = Principal(cast.researcher.id, cast.researcher.name, cast.reviewer.role)
    with pytest.raises(ForbiddenError):
        review(settings, as_reviewer, job.id, ReviewDecision(approve=True, note="mine"))
