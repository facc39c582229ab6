"""The budget ledger never overspends, and refunds what was not released."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from gateway.config import Settings
from gateway.db import session
from gateway.errors import ForbiddenError
from gateway.policy import Policy
from gateway.service.accounts import Principal
from gateway.service.budget import budget_state
from gateway.service.jobs import JobRefused, QueryCreate, ReviewDecision, review, submit_query
from gateway.service.models import BudgetEntry, LedgerKind, Project, Role
from gateway.service.projects import propose
from gateway.service.status import StatusCode
from tests.service.factories import (
    ANALYSIS,
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


def _delta_state(settings: Settings, project_id: int) -> tuple[float, float, float, float]:
    with session(settings) as s:
        project = s.get(Project, project_id)
        assert project is not None
        state = budget_state(s, project)
        return state.granted_delta, state.remaining_delta, state.held_delta, state.spent_delta


def _deltas(settings: Settings, project_id: int) -> list[tuple[LedgerKind, float]]:
    with session(settings) as s:
        rows = s.execute(
            select(BudgetEntry.kind, BudgetEntry.delta)
            .where(BudgetEntry.project_id == project_id)
            .order_by(BudgetEntry.id)
        )
        return [(kind, delta) for kind, delta in rows]


def _ledger(settings: Settings, project_id: int) -> list[tuple[LedgerKind, float]]:
    with session(settings) as s:
        rows = s.execute(
            select(BudgetEntry.kind, BudgetEntry.epsilon)
            .where(BudgetEntry.project_id == project_id)
            .order_by(BudgetEntry.id)
        )
        return [(kind, epsilon) for kind, epsilon in rows]


def _race(backend: Settings, policy: Policy, cast: Any, submissions: int = 16) -> list[str]:
    """``submissions`` threads submit a query of ε = 0.5 at once: each one's status or refusal."""
    start = threading.Barrier(submissions)
    outcomes: list[str] = []

    def attempt() -> None:
        start.wait()
        try:
            outcomes.append(submit(backend, policy, cast, 0.5).status.value)
        except JobRefused as refusal:
            outcomes.append(refusal.code)

    threads = [threading.Thread(target=attempt) for _ in range(submissions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_submissions_never_overspend(backend: Settings, policy: Policy) -> None:
    """Sixteen submissions of ε = 0.5 race for a budget of 2: exactly four get it."""
    cast = approved_project(backend, policy, epsilon=2.0)
    outcomes = _race(backend, policy, cast)
    assert sorted(outcomes) == ["budget_exhausted"] * 12 + ["queued"] * 4
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


def test_a_rejected_job_gets_its_epsilon_back(settings: Settings, reviewed_policy: Policy) -> None:
    cast = approved_project(settings, reviewed_policy, epsilon=2.0)
    job = submit(settings, reviewed_policy, cast, 1.5)
    assert _state(settings, cast.project_id) == (0.5, 1.5, 0.0)
    review(settings, cast.reviewer, job.id, ReviewDecision(approve=False, note="too broad"))
    assert _state(settings, cast.project_id) == (2.0, 0.0, 0.0)
    assert _ledger(settings, cast.project_id) == [
        (LedgerKind.RESERVE, 1.5),
        (LedgerKind.REFUND, 1.5),
    ]


def test_a_reviewer_does_not_review_their_own_job(
    settings: Settings, reviewed_policy: Policy
) -> None:
    cast = approved_project(settings, reviewed_policy)
    job = submit(settings, reviewed_policy, cast)
    as_reviewer = Principal(cast.researcher.id, cast.researcher.name, cast.reviewer.role)
    with pytest.raises(ForbiddenError):
        review(settings, as_reviewer, job.id, ReviewDecision(approve=True, note="mine"))


def test_concurrent_submissions_never_overspend_delta(backend: Settings, policy: Policy) -> None:
    """Sixteen submissions race for a δ budget of four queries (ε to spare): four get it."""
    delta = policy.budget.delta
    cast = approved_project(backend, policy, epsilon=30.0, delta=4 * delta)
    outcomes = _race(backend, policy, cast)
    assert sorted(outcomes) == ["delta_budget_exhausted"] * 12 + ["queued"] * 4
    reserved = [d for kind, d in _deltas(backend, cast.project_id) if kind is LedgerKind.RESERVE]
    assert reserved == [delta] * 4
    granted, remaining, held, spent = _delta_state(backend, cast.project_id)
    assert (granted, remaining, spent) == (4 * delta, 0.0, 0.0)
    assert held == pytest.approx(4 * delta, rel=1e-9)
    assert _state(backend, cast.project_id) == (28.0, 2.0, 0.0)  # ε held only by those four


def test_a_project_gets_the_policys_delta_and_a_hundred_releases_fit(
    settings: Settings, policy: Policy
) -> None:
    """The default δ budget holds exactly 100 queries' δ, float sums notwithstanding."""
    cast = approved_project(settings, policy, epsilon=10.0)
    granted = _delta_state(settings, cast.project_id)[0]
    assert granted == policy.budget.default_project_delta
    assert granted == pytest.approx(100 * policy.budget.delta, rel=1e-12)
    for _ in range(100):
        submit(settings, policy, cast, 0.05)
    assert _delta_state(settings, cast.project_id)[1] == 0.0
    assert _state(settings, cast.project_id)[0] == 5.0  # ε is not what ran out
    with pytest.raises(JobRefused) as refused:
        submit(settings, policy, cast, 0.05)
    assert refused.value.code == "delta_budget_exhausted"
    assert refused.value.status == 403
    assert refused.value.hint is not None
    assert "δ" in refused.value.message
    from gateway.service.jobs import job_public

    job = job_public(settings, cast.researcher, refused.value.job_id)
    assert job.status is StatusCode.BUDGET_EXHAUSTED
    assert len(_deltas(settings, cast.project_id)) == 100  # the refused job holds nothing


def test_an_analysis_holds_delta_for_its_largest_plan(settings: Settings, policy: Policy) -> None:
    from gateway.analyses.plan import MAX_QUERIES
    from gateway.service.jobs import AnalysisCreate, submit_analysis

    delta = policy.budget.delta
    cast = approved_project(settings, policy, delta=MAX_QUERIES * delta)
    job = submit_analysis(
        settings,
        cast.researcher,
        AnalysisCreate(project_id=cast.project_id, code=ANALYSIS, epsilon=0.5),
        policy,
    )
    assert job.delta == pytest.approx(MAX_QUERIES * delta)
    assert _delta_state(settings, cast.project_id)[1] == 0.0
    with pytest.raises(JobRefused) as refused:
        submit(settings, policy, cast, 0.1)
    assert refused.value.code == "delta_budget_exhausted"


def test_a_rejected_job_gets_its_delta_back(settings: Settings, reviewed_policy: Policy) -> None:
    cast = approved_project(settings, reviewed_policy, epsilon=2.0)
    delta = reviewed_policy.budget.delta
    job = submit(settings, reviewed_policy, cast, 0.5)
    assert job.delta == delta
    review(settings, cast.reviewer, job.id, ReviewDecision(approve=False, note="too broad"))
    assert _deltas(settings, cast.project_id) == [
        (LedgerKind.RESERVE, delta),
        (LedgerKind.REFUND, delta),
    ]
    remaining_held_spent = (reviewed_policy.budget.default_project_delta, 0.0, 0.0)
    assert _delta_state(settings, cast.project_id)[1:] == remaining_held_spent


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_a_reviewer_grants_delta_within_the_policy(
    settings: Settings, policy: Policy, factor: float
) -> None:
    """Less than the policy's project δ may be granted, not more, nor less than a query's."""
    from gateway.errors import ServiceError
    from gateway.service.projects import ProjectDecision, decide

    researcher, reviewer = user(settings, "ann"), user(settings, "rita", Role.REVIEWER)
    project = propose(settings, researcher, project_create(), policy)
    granted = factor * policy.budget.default_project_delta
    decision = ProjectDecision(approve=True, note="fits", granted_delta=granted)
    if factor > 1:
        with pytest.raises(ServiceError) as refused:
            decide(settings, reviewer, project.id, decision, policy)
        assert refused.value.code == "delta_grant_out_of_range"
        return
    approved = decide(settings, reviewer, project.id, decision, policy)
    assert approved.budget.granted_delta == granted
    assert approved.budget.remaining_delta == granted
    too_small = ProjectDecision(approve=True, note="fits", granted_delta=policy.budget.delta / 2)
    other = propose(settings, researcher, project_create(), policy)
    with pytest.raises(ServiceError):
        decide(settings, reviewer, other.id, too_small, policy)
