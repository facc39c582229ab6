"""The job queue in the metadata database: claim, keep the lease, finish.

A worker claims the oldest queued job, or a running one whose lease has run
out (its worker stopped). On PostgreSQL the candidate row is locked with
``FOR UPDATE SKIP LOCKED``, so workers pass each other by; on SQLite the
claim transaction holds the write lock, and the ``UPDATE`` is guarded by the
same condition, so a job is claimed by one worker only. While it runs, the
worker renews its lease. Finishing checks that the worker still holds the
job; a worker that lost its lease has its result discarded.

Budget: a released job is charged its ε and δ once (the ledger allows one
commit per job), less any part the release store answered with a release
that existed before the job first started (an identical earlier question
costs nothing again). A release this job itself stored before its worker
stopped is charged. A job that failed after its data was read (an error
with ``charged`` set, such as ``ReleaseFailed``) is charged its whole
reservation, since whether it failed may depend on the data; any other
failure is refunded. A job claimed ``job_max_attempts`` times is given up
with its reservation charged, since an interrupted run may already have
spent it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.dp.release import Release
from gateway.errors import (
    AnalysisError,
    BudgetError,
    DpError,
    EpsilonError,
    ExtractError,
    GatewayError,
    ReleaseFailed,
    SandboxError,
    VetError,
)
from gateway.policy.model import Aggregation
from gateway.service import budget
from gateway.service.audit import Actor
from gateway.service.budget import PrivacyLoss
from gateway.service.jobs import set_status
from gateway.service.models import Job, JobKind, Project, ReleaseRecord, utcnow
from gateway.service.status import StatusCode
from gateway.service.transaction import transaction
from gateway.vet.bounds import FixedBounds

log = logging.getLogger(__name__)


class Part(BaseModel):
    """One DP release of a job, with the name and ε it was asked under."""

    name: str
    epsilon: float
    sql: str | None = None
    table: str | None = Field(
        default=None,
        description="the extract table whose rows the query counts, to say in words what "
        "bounding did ('at most 50 tips per member per theme')",
    )
    aggregates: dict[str, Aggregation] = Field(
        default_factory=dict, description="output column -> its aggregate, for the same words"
    )
    sources: dict[str, str] = Field(
        default_factory=dict,
        description="output column -> the policy column it reads (a group key, or an "
        "aggregate's measure), so that members read it under its own name in their language",
    )
    release: Release


class Outcome(BaseModel):
    """What running a job gives: its releases and, for an analysis, what it printed."""

    parts: list[Part]
    output: str | None = None


@dataclass(frozen=True)
class ClaimedJob:
    """What a worker needs to run a job, detached from the database session."""

    id: int
    project_id: int
    purpose: str
    kind: JobKind
    text: str
    template: str | None
    epsilon: float
    extract: Path | None
    attempt: int
    bounds: FixedBounds | None = None
    dummy: bool = False

    @classmethod
    def of(cls, job: Job, project: Project) -> ClaimedJob:
        return cls(
            id=job.id,
            project_id=job.project_id,
            purpose=project.purpose,
            kind=job.kind,
            text=job.text,
            template=job.template,
            epsilon=job.epsilon,
            extract=Path(project.extract) if project.extract else None,
            attempt=job.attempts,
            bounds=None if job.bounds is None else FixedBounds.model_validate(job.bounds),
            dummy=job.dummy,
        )


def worker_actor(worker: str) -> Actor:
    return Actor(f"worker {worker}", "system")


def _claimable(now: dt.datetime) -> ColumnElement[bool]:
    return or_(
        Job.status == StatusCode.QUEUED,
        and_(Job.status == StatusCode.RUNNING, Job.lease_expires_at < now),
    )


def claim(settings: Settings, worker: str, *, now: dt.datetime | None = None) -> ClaimedJob | None:
    """The next job for ``worker``, now RUNNING under its lease; None when nothing is ready."""
    now = now or utcnow()
    lease = dt.timedelta(seconds=settings.job_lease_seconds)
    with transaction(settings) as s:
        while True:
            job = s.execute(
                select(Job)
                .where(_claimable(now))
                .order_by(Job.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if job is None:
                return None
            taken = s.execute(
                update(Job)
                .where(Job.id == job.id, _claimable(now))
                .values(worker=worker, lease_expires_at=now + lease, attempts=Job.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue
            s.refresh(job)
            actor = worker_actor(worker)
            if job.attempts > settings.job_max_attempts:
                budget.settle_in_full(s, job)
                set_status(
                    s,
                    job,
                    StatusCode.ATTEMPTS_EXHAUSTED,
                    f"given up after {job.attempts - 1} interrupted runs",
                    actor,
                )
                continue
            retry = job.status is StatusCode.RUNNING
            set_status(
                s,
                job,
                StatusCode.RUNNING,
                f"attempt {job.attempts}" + (" (its previous worker stopped)" if retry else ""),
                actor,
            )
            return ClaimedJob.of(job, s.get_one(Project, job.project_id))


def heartbeat(
    settings: Settings, job_id: int, worker: str, *, now: dt.datetime | None = None
) -> bool:
    """Renew ``worker``'s lease on a running job; False if the job is no longer its own."""
    now = now or utcnow()
    with transaction(settings) as s:
        renewed = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.worker == worker, Job.status == StatusCode.RUNNING)
            .values(lease_expires_at=now + dt.timedelta(seconds=settings.job_lease_seconds))
        )
        return bool(renewed.rowcount)  # type: ignore[attr-defined]


FAILURE_CODES: tuple[tuple[type[GatewayError], StatusCode], ...] = (
    (ReleaseFailed, StatusCode.RELEASE_FAILED),
    (VetError, StatusCode.VETTING_REFUSED),
    (EpsilonError, StatusCode.VETTING_REFUSED),
    (BudgetError, StatusCode.BUDGET_EXHAUSTED),
    (ExtractError, StatusCode.EXTRACT_UNUSABLE),
    (AnalysisError, StatusCode.ANALYSIS_FAILED),
    (DpError, StatusCode.DP_REFUSED),
    (SandboxError, StatusCode.SANDBOX_FAILED),
)


def failure_code(error: BaseException) -> tuple[StatusCode, str]:
    """The status and message a failed run ends with; unexpected errors say nothing of data."""
    if isinstance(error, GatewayError):
        for kind, code in FAILURE_CODES:
            if isinstance(error, kind):
                return code, str(error)
        return StatusCode.INTERNAL_ERROR, str(error)
    return StatusCode.INTERNAL_ERROR, "an unexpected error; an operator can read the worker's log"


def charge(parts: list[Part], started_at: dt.datetime) -> PrivacyLoss:
    """ε and δ this job spent: every part, except those the store answered from before the job.

    ρ is the sum of the charged parts' ρ when each states one (zCDP), else None.
    """
    charged = [
        part
        for part in parts
        if not part.release.dummy
        and not (part.release.from_store and _aware(part.release.created_at) < started_at)
    ]
    rhos = [part.release.rho for part in charged]
    return PrivacyLoss(
        epsilon=math.fsum(part.epsilon for part in charged),
        delta=math.fsum(part.release.delta for part in charged),
        rho=math.fsum(rho for rho in rhos if rho is not None)
        if rhos and None not in rhos
        else None,
    )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def finish(
    settings: Settings, job_id: int, worker: str, result: Outcome | BaseException
) -> StatusCode | None:
    """Record how ``worker``'s run ended; None when another worker holds the job now."""
    with transaction(settings) as s:
        job = s.get_one(Job, job_id, with_for_update=True)
        if job.status is not StatusCode.RUNNING or job.worker != worker:
            log.warning("job %s: worker %s lost its lease; its result is discarded", job_id, worker)
            return None
        actor = worker_actor(worker)
        if isinstance(result, Outcome):
            _release(s, job, result, actor)
            return StatusCode.RELEASED
        code, message = failure_code(result)
        if isinstance(result, GatewayError) and result.charged:
            budget.settle_in_full(s, job)
        else:
            budget.refund(s, job)
        set_status(s, job, code, message, actor)
        return code


def _release(s: Session, job: Job, outcome: Outcome, actor: Actor) -> None:
    assert job.started_at is not None
    charged = budget.settle(s, job, charge(outcome.parts, job.started_at))
    s.add(
        ReleaseRecord(
            job_id=job.id,
            project_id=job.project_id,
            created_at=utcnow(),
            epsilon_charged=charged.epsilon,
            delta_charged=charged.delta,
            parts=[part.model_dump(mode="json") for part in outcome.parts],
            output=outcome.output,
            published=False,
        )
    )
    set_status(
        s,
        job,
        StatusCode.RELEASED,
        f"released; ε = {charged.epsilon:g}, δ = {charged.delta:g} charged",
        actor,
    )
