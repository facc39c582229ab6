"""The job queue: one worker per job, a stopped worker's job re-run, its ε charged once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from gateway.config import Settings
from gateway.db import session
from gateway.dp.release import Release
from gateway.errors import (
    AnalysisError,
    DpError,
    ExtractError,
    ReleaseFailed,
    SandboxError,
    VetError,
)
from gateway.policy import Policy
from gateway.service.audit import SYSTEM
from gateway.service.jobs import job_public, set_status
from gateway.service.models import BudgetEntry, Job, LedgerKind, Project, ReleaseRecord, utcnow
from gateway.service.queue import ClaimedJob, Outcome, Part, claim, finish, heartbeat
from gateway.service.status import StatusCode
from gateway.service.worker import run_worker
from tests.service.factories import ANALYSIS, StubExecutor, approved_project, queued, release


def _ledger(settings: Settings, job_id: int) -> dict[LedgerKind, float]:
    with session(settings) as s:
        rows = s.execute(
            select(BudgetEntry.kind, BudgetEntry.epsilon).where(BudgetEntry.job_id == job_id)
        )
        return dict(rows.all())


def _deltas(settings: Settings, job_id: int) -> dict[LedgerKind, float]:
    with session(settings) as s:
        rows = s.execute(
            select(BudgetEntry.kind, BudgetEntry.delta).where(BudgetEntry.job_id == job_id)
        )
        return dict(rows.all())


def _later(settings: Settings) -> dt.datetime:
    """A moment just after every lease taken now has run out."""
    return utcnow() + dt.timedelta(seconds=settings.job_lease_seconds + 1)


def test_two_workers_never_run_the_same_job(backend: Settings, policy: Policy) -> None:
    cast = approved_project(backend, policy, epsilon=20.0)
    jobs = {queued(backend, policy, cast, 0.5).id for _ in range(24)}
    claimed: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def work(name: str) -> None:
        start.wait()
        mine = claimed.setdefault(name, [])
        while (job := claim(backend, name)) is not None:
            mine.append(job.id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [job for mine in claimed.values() for job in mine]
    assert sorted(everything) == sorted(jobs)
    assert len(set(everything)) == len(everything)


def test_a_job_runs_once_and_is_charged(settings: Settings, policy: Policy) -> None:
    cast = approved_project(settings, policy)
    job = queued(settings, policy, cast, 0.5)
    executor = StubExecutor()
    summary = run_worker(settings, executor, once=True, worker="w1")
    assert [(r.job, r.status) for r in summary.ran] == [(job.id, StatusCode.RELEASED)]
    assert [call.id for call in executor.calls] == [job.id]
    assert _ledger(settings, job.id) == {LedgerKind.RESERVE: 0.5, LedgerKind.COMMIT: 0.5}
    delta = policy.budget.delta
    assert _deltas(settings, job.id) == {LedgerKind.RESERVE: delta, LedgerKind.COMMIT: delta}
    done = job_public(settings, cast.researcher, job.id)
    assert done.state.value == "SUCCEEDED"
    assert done.release_id is not None
    assert done.finished_at is not None


def test_an_expired_lease_is_reclaimed_and_charged_once(backend: Settings, policy: Policy) -> None:
    cast = approved_project(backend, policy)
    job = queued(backend, policy, cast, 0.5)
    first = claim(backend, "stopped")
    assert first is not None
    assert first.id == job.id
    assert claim(backend, "other") is None  # the lease still holds
    second = claim(backend, "other", now=_later(backend))
    assert second is not None
    assert (second.id, second.attempt) == (job.id, 2)
    assert not heartbeat(backend, job.id, "stopped")
    assert heartbeat(backend, job.id, "other", now=_later(backend))
    assert claim(backend, "third", now=_later(backend)) is None  # renewed, so still held
    made = release(0.5)
    assert finish(backend, job.id, "other", Outcome(parts=[_part(made)])) is StatusCode.RELEASED
    assert finish(backend, job.id, "stopped", Outcome(parts=[_part(made)])) is None
    assert _ledger(backend, job.id) == {LedgerKind.RESERVE: 0.5, LedgerKind.COMMIT: 0.5}
    with session(backend) as s:
        assert len(s.execute(select(ReleaseRecord)).all()) == 1


def _part(made: Release, epsilon: float = 0.5) -> Part:
    return Part(name="query", epsilon=epsilon, release=made)


def test_a_release_stored_by_the_stopped_run_is_charged(settings: Settings, policy: Policy) -> None:
    """The first run stored its release, then died; the re-run finds it in the store."""
    cast = approved_project(settings, policy)
    job = queued(settings, policy, cast, 0.5)
    assert claim(settings, "stopped") is not None
    stored_during_first_run = release(0.5, from_store=True, created_at=utcnow())
    executor = StubExecutor(releases=[stored_during_first_run])
    assert claim(settings, "other", now=_later(settings)) is not None
    outcome = executor.run(_claimed(settings, job.id))
    finish(settings, job.id, "other", outcome)
    assert _ledger(settings, job.id) == {LedgerKind.RESERVE: 0.5, LedgerKind.COMMIT: 0.5}


def test_an_earlier_identical_release_costs_nothing(settings: Settings, policy: Policy) -> None:
    cast = approved_project(settings, policy)
    earlier = release(0.5, from_store=True, created_at=utcnow() - dt.timedelta(days=1))
    job = queued(settings, policy, cast, 0.5)
    run_worker(settings, StubExecutor(releases=[earlier]), once=True)
    assert _ledger(settings, job.id) == {
        LedgerKind.RESERVE: 0.5,
        LedgerKind.COMMIT: 0.0,
        LedgerKind.REFUND: 0.5,
    }
    delta = policy.budget.delta
    assert _deltas(settings, job.id) == {
        LedgerKind.RESERVE: delta,
        LedgerKind.COMMIT: 0.0,
        LedgerKind.REFUND: delta,
    }


def _claimed(settings: Settings, job_id: int) -> ClaimedJob:
    with session(settings) as s:
        job = s.get(Job, job_id)
        assert job is not None
        return ClaimedJob.of(job, s.get_one(Project, job.project_id))


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (VetError("query_rejected", "no"), StatusCode.VETTING_REFUSED),
        (ExtractError("extract_stale", "stale"), StatusCode.EXTRACT_UNUSABLE),
        (AnalysisError("analysis_crashed", "boom"), StatusCode.ANALYSIS_FAILED),
        (DpError("dp_refused", "no"), StatusCode.DP_REFUSED),
        (SandboxError("sandbox_timeout", "slow"), StatusCode.SANDBOX_FAILED),
        (RuntimeError("row 17 has value 42"), StatusCode.INTERNAL_ERROR),
    ],
)
def test_a_failed_run_is_refunded_with_its_own_status(
    settings: Settings, policy: Policy, error: Exception, code: StatusCode
) -> None:
    cast = approved_project(settings, policy)
    job = queued(settings, policy, cast, 0.5)
    summary = run_worker(settings, StubExecutor(fail=error), once=True)
    assert summary.ran[0].status is code
    assert _ledger(settings, job.id) == {LedgerKind.RESERVE: 0.5, LedgerKind.REFUND: 0.5}
    delta = policy.budget.delta
    assert _deltas(settings, job.id) == {LedgerKind.RESERVE: delta, LedgerKind.REFUND: delta}
    failed = job_public(settings, cast.researcher, job.id)
    assert failed.state.value == "FAILED"
    assert "42" not in failed.message


def test_a_job_that_keeps_killing_workers_is_given_up_and_charged(
    settings: Settings, policy: Policy
) -> None:
    cast = approved_project(settings, policy)
    job = queued(settings, policy, cast, 0.5)
    now = utcnow()
    for attempt in range(settings.job_max_attempts):
        claimed = claim(settings, f"w{attempt}", now=now)
        assert claimed is not None
        now += dt.timedelta(seconds=settings.job_lease_seconds + 1)
    assert claim(settings, "last", now=now) is None
    given_up = job_public(settings, cast.researcher, job.id)
    assert given_up.status is StatusCode.ATTEMPTS_EXHAUSTED
    assert _ledger(settings, job.id) == {LedgerKind.RESERVE: 0.5, LedgerKind.COMMIT: 0.5}
    delta = policy.budget.delta
    assert _deltas(settings, job.id) == {LedgerKind.RESERVE: delta, LedgerKind.COMMIT: delta}


def _spent(settings: Settings, project_id: int) -> tuple[float, float, float, float]:
    from gateway.service.budget import budget_state
    from gateway.service.models import Project

    with session(settings) as s:
        project = s.get(Project, project_id)
        assert project is not None
        state = budget_state(s, project)
        return state.spent, state.remaining, state.spent_delta, state.held_delta


def test_a_failure_after_data_was_read_is_charged_in_full_once(
    backend: Settings, policy: Policy
) -> None:
    """ReleaseFailed spends the whole reservation; a second finish changes nothing."""
    cast = approved_project(backend, policy, epsilon=2.0)
    job = queued(backend, policy, cast, 0.5)
    claimed = claim(backend, "w1")
    assert claimed is not None
    assert finish(backend, job.id, "w1", ReleaseFailed()) is StatusCode.RELEASE_FAILED
    assert finish(backend, job.id, "w1", ReleaseFailed()) is None
    assert finish(backend, job.id, "w1", Outcome(parts=[_part(release(0.5))])) is None
    delta = policy.budget.delta
    assert _ledger(backend, job.id) == {LedgerKind.RESERVE: 0.5, LedgerKind.COMMIT: 0.5}
    assert _deltas(backend, job.id) == {LedgerKind.RESERVE: delta, LedgerKind.COMMIT: delta}
    assert _spent(backend, cast.project_id) == (0.5, 1.5, delta, 0.0)
    failed = job_public(backend, cast.researcher, job.id)
    assert failed.status is StatusCode.RELEASE_FAILED
    assert failed.state.value == "FAILED"
    assert failed.message == str(ReleaseFailed())
    assert failed.release_id is None
    assert claim(backend, "w2", now=_later(backend)) is None  # final: never run again


def test_a_retried_job_that_fails_after_reading_is_charged_once(
    settings: Settings, policy: Policy
) -> None:
    """The first worker stops; the retry fails after reading: one charge, the old run ignored."""
    cast = approved_project(settings, policy, epsilon=2.0)
    job = queued(settings, policy, cast, 0.5)
    assert claim(settings, "stopped") is not None
    retry = claim(settings, "other", now=_later(settings))
    assert retry is not None
    assert retry.attempt == 2
    summary = finish(settings, job.id, "other", ReleaseFailed())
    assert summary is StatusCode.RELEASE_FAILED
    assert finish(settings, job.id, "stopped", ReleaseFailed()) is None
    assert _ledger(settings, job.id) == {LedgerKind.RESERVE: 0.5, LedgerKind.COMMIT: 0.5}
    assert _spent(settings, cast.project_id)[:2] == (0.5, 1.5)


def test_a_charged_failure_reads_the_same_whatever_the_cause(
    settings: Settings, policy: Policy
) -> None:
    """Two failing jobs end with identical status and message; both are charged, not refunded."""
    cast = approved_project(settings, policy, epsilon=2.0)
    first, second = queued(settings, policy, cast, 0.5), queued(settings, policy, cast, 0.25)
    run_worker(settings, StubExecutor(fail=ReleaseFailed()), once=True)
    ends = [job_public(settings, cast.researcher, job.id) for job in (first, second)]
    assert {(end.status, end.message) for end in ends} == {
        (StatusCode.RELEASE_FAILED, str(ReleaseFailed()))
    }
    assert _ledger(settings, second.id) == {LedgerKind.RESERVE: 0.25, LedgerKind.COMMIT: 0.25}
    assert _spent(settings, cast.project_id)[:2] == (0.75, 1.25)


def test_an_analysis_is_charged_the_delta_of_the_releases_it_made(
    settings: Settings, policy: Policy
) -> None:
    """It holds δ for its largest plan; three releases are charged three δ, the rest refunded."""
    from gateway.analyses.plan import MAX_QUERIES
    from gateway.service.jobs import AnalysisCreate, ReviewDecision, review, submit_analysis

    cast = approved_project(settings, policy, epsilon=2.0)
    job = submit_analysis(
        settings,
        cast.researcher,
        AnalysisCreate(project_id=cast.project_id, code=ANALYSIS, epsilon=0.6),
        policy,
    )
    review(settings, cast.reviewer, job.id, ReviewDecision(approve=True, note="fine"))
    assert claim(settings, "w1") is not None
    parts = [_part(release(0.2), 0.2) for _ in range(3)]
    assert finish(settings, job.id, "w1", Outcome(parts=parts)) is StatusCode.RELEASED
    delta = policy.budget.delta
    deltas = _deltas(settings, job.id)
    assert deltas[LedgerKind.RESERVE] == pytest.approx(MAX_QUERIES * delta)
    assert deltas[LedgerKind.COMMIT] == pytest.approx(3 * delta)
    assert deltas[LedgerKind.REFUND] == pytest.approx((MAX_QUERIES - 3) * delta)
    assert _spent(settings, cast.project_id)[2:] == (pytest.approx(3 * delta), 0.0)
    with session(settings) as s:
        record = s.execute(select(ReleaseRecord).where(ReleaseRecord.job_id == job.id)).scalar_one()
        assert record.delta_charged == pytest.approx(3 * delta)
        commit = s.execute(
            select(BudgetEntry).where(
                BudgetEntry.job_id == job.id, BudgetEntry.kind == LedgerKind.COMMIT
            )
        ).scalar_one()
        assert commit.rho is None  # Laplace releases state no ρ


def test_the_ledger_records_rho_of_zcdp_releases(settings: Settings, policy: Policy) -> None:
    cast = approved_project(settings, policy)
    job = queued(settings, policy, cast, 0.5)
    gaussian = release(0.5).model_copy(update={"rho": 0.01, "rho_spent": 0.01})
    run_worker(settings, StubExecutor(releases=[gaussian]), once=True)
    with session(settings) as s:
        rows = s.execute(
            select(BudgetEntry.kind, BudgetEntry.rho).where(BudgetEntry.job_id == job.id)
        )
        rhos = dict(rows.all())
    assert rhos == {LedgerKind.RESERVE: None, LedgerKind.COMMIT: 0.01}


def test_a_final_status_is_final(settings: Settings, policy: Policy) -> None:
    cast = approved_project(settings, policy)
    job = queued(settings, policy, cast, 0.5)
    run_worker(settings, StubExecutor(), once=True)
    with session(settings) as s:
        row = s.get(Job, job.id)
        assert row is not None
        with pytest.raises(ValueError, match="final"):
            set_status(s, row, StatusCode.RUNNING, "again", SYSTEM)


_BLOCKING_WORKER = """
import sys, time
from pathlib import Path
from gateway.config import Settings
from gateway.dp.release import Release
from gateway.service.worker import run_worker

class Hang:
    def run(self, job):
        Path(sys.argv[2]).write_text(str(job.id))
        time.sleep(600)

run_worker(Settings(data_dir=Path(sys.argv[1]), job_lease_seconds=30), Hang(), once=True)
"""


def test_a_killed_worker_process_leaves_its_job_to_another(
    settings: Settings, policy: Policy, tmp_path: Path
) -> None:
    cast = approved_project(settings, policy)
    job = queued(settings, policy, cast, 0.5)
    started = tmp_path / "started"
    worker = subprocess.Popen(
        [sys.executable, "-c", _BLOCKING_WORKER, str(settings.data_dir), str(started)],
        cwd=Path(__file__).parents[2],
    )
    try:
        while not started.exists():
            assert worker.poll() is None, "the worker exited before running the job"
            time.sleep(0.05)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    assert job_public(settings, cast.researcher, job.id).status is StatusCode.RUNNING
    executor = StubExecutor()
    second = claim(settings, "survivor", now=_later(settings))
    assert second is not None
    assert second.attempt == 2
    finish(settings, job.id, "survivor", executor.run(second))
    assert _ledger(settings, job.id) == {LedgerKind.RESERVE: 0.5, LedgerKind.COMMIT: 0.5}
    assert job_public(settings, cast.researcher, job.id).status is StatusCode.RELEASED


def test_a_worker_outlives_an_unreachable_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = Settings(
        data_dir=tmp_path, database_url="postgresql+psycopg://postgres@127.0.0.1:9/none"
    )
    looks = iter(range(3))
    summary = run_worker(
        nowhere, StubExecutor(), poll_seconds=0, should_stop=lambda: next(looks, None) is None
    )
    assert summary.ran == []
    assert caplog.text.count("did not answer") == 3
    with pytest.raises(OperationalError):
        run_worker(nowhere, StubExecutor(), once=True)
