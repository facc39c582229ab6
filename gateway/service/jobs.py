"""Jobs: a researcher's SQL query or Python analysis, from submission to release.

Submission vets the query (SQL at once; an analysis's plan when it runs),
holds its ε and δ in the project's budget (and so in the platform's, per
member cohort: ``gateway.service.privacy_loss``) and either queues it or,
when the policy's ``review`` setting says so, waits for a reviewer. A dummy
job runs on the policy's dummy extract: it holds no budget and waits for no
one. A refused submission is kept too, with its final status, so the
researcher and the audit trail see why.
Every change of status goes through ``set_status``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, computed_field
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.analyses.collect import check_size
from gateway.config import Settings
from gateway.db import session
from gateway.errors import (
    AnalysisError,
    BudgetError,
    ConflictError,
    ForbiddenError,
    GatewayError,
    NotFoundError,
    ServiceError,
)
from gateway.policy.epsilon import asked_epsilon
from gateway.policy.model import Policy
from gateway.service import audit, budget, privacy_loss
from gateway.service.accounts import Principal
from gateway.service.audit import Actor
from gateway.service.inputs import EPSILON_DEFAULT, Epsilon, Id
from gateway.service.models import Job, JobKind, Project, ProjectStatus, ReleaseRecord, utcnow
from gateway.service.projects import get_project, may_see, only_visible, visible_project
from gateway.service.status import NEXT, State, StatusCode
from gateway.service.transaction import transaction
from gateway.vet.bounds import FixedBounds

Dummy = Annotated[
    bool,
    Field(
        description="run on the policy's dummy extract (synthetic members, built on demand): "
        "free, no reviewer, every number labelled dummy; to try a query before spending ε"
    ),
]


class QueryCreate(BaseModel):
    project_id: Id
    sql: str = Field(min_length=1, description="one SELECT over the extract's tables")
    epsilon: Epsilon | None = Field(default=None, description=EPSILON_DEFAULT)
    bounds: FixedBounds | None = Field(
        default=None,
        description="bounds to fix within the policy's maxima: rows_per_group, groups, "
        "clamps {column: [low, high]}; left out, each is chosen per query with DP",
    )
    dummy: Dummy = False


class AnalysisCreate(BaseModel):
    """Either ``code`` (a Python analysis) or the name of a vetted ``template``."""

    project_id: Id
    code: str | None = None
    template: str | None = Field(default=None, max_length=100)
    epsilon: Epsilon | None = Field(default=None, description=EPSILON_DEFAULT)
    dummy: Dummy = False


class ReviewDecision(BaseModel):
    approve: bool
    note: str = Field(min_length=3, max_length=5000)


class JobPublic(BaseModel):
    id: int
    project_id: int
    kind: JobKind
    template: str | None
    dummy: bool = Field(default=False, description="run on dummy data: free, not an insight")
    text: str
    bounds: FixedBounds | None = Field(
        default=None, description="bounds the researcher fixed; the rest are chosen with DP"
    )
    epsilon: float
    delta: float = Field(description="δ held: the policy's per-query δ per release it may make")
    state: State
    status: StatusCode
    message: str
    vet_report: dict[str, Any] | None
    review_reasons: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    attempts: int
    release_id: int | None = None

    model_config = ConfigDict(from_attributes=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_description(self) -> str:
        return self.status.description

    @computed_field  # type: ignore[prop-decorator]
    @property
    def is_final(self) -> bool:
        return self.status.is_final


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int


class JobRefused(GatewayError):
    """A submission refused with a final status; the job is kept, ``instance`` points at it."""

    def __init__(self, job_id: int, error: GatewayError) -> None:
        super().__init__(error.code, error.message, hint=error.hint, issues=error.issues)
        self.status = error.status
        self.title = error.title
        self.job_id = job_id
        self.instance = f"/api/jobs/{job_id}"


def set_status(s: Session, job: Job, code: StatusCode, message: str, actor: Actor) -> None:
    """Move ``job`` to ``code``: check the move, stamp the times, write the audit record."""
    current = None if job.id is None else job.status
    if code not in NEXT.get(current, frozenset()):
        raise ValueError(
            f"job {job.id} cannot move from {current} to {code}; "
            f"allowed: {sorted(NEXT.get(current, frozenset())) or 'nothing, it is final'}"
        )
    now = utcnow()
    job.state, job.status, job.message, job.updated_at = code.state, code, message, now
    if job.id is None:
        job.created_at = now
        s.add(job)
        s.flush()
    if code is StatusCode.RUNNING and job.started_at is None:
        job.started_at = now
    if code.is_final:
        job.finished_at = now
        job.lease_expires_at = None
    audit.record(
        s,
        actor,
        f"job.{code.value}",
        "job",
        job.id,
        outcome="failure" if code.state is State.FAILED else "success",
        previous=None if current is None else current.value,
        project=job.project_id,
        message=message,
    )


def review_reasons(
    kind: JobKind, template: str | None, epsilon: float, policy: Policy
) -> list[str]:
    """Why a reviewer must see this job first; empty when the policy's ``review`` lets it run."""
    if kind is JobKind.SQL:
        if policy.review.sql == "always":
            return ["the policy has a reviewer approve every SQL query (review.sql: always)"]
        return []
    if policy.review.analyses == "always":
        return ["the policy has a reviewer approve every analysis (review.analyses: always)"]
    if policy.review.analyses == "auto":
        return []
    rule = policy.auto_approval
    reasons = []
    if template is None or template not in rule.templates:
        reasons.append("not one of the policy's vetted templates")
    if epsilon > rule.max_epsilon:
        reasons.append(f"ε = {epsilon:g} is above the auto-approval limit of {rule.max_epsilon:g}")
    return reasons


def _approved_project(s: Session, who: Principal, project_id: int) -> Project:
    project = visible_project(s, who, project_id)
    if project.owner_id != who.id:
        raise ForbiddenError(
            "not_project_owner",
            "only the project's researcher submits its queries",
            hint="submit from the account that proposed the project",
        )
    if project.status is not ProjectStatus.APPROVED:
        raise ForbiddenError(
            "project_not_approved",
            f"project {project_id} is {project.status.value}, not approved; no query runs yet",
            hint="wait for a reviewer to approve the project",
        )
    return project


def submit_query(
    settings: Settings, who: Principal, data: QueryCreate, policy: Policy
) -> JobPublic:
    from gateway.vet import vet_report
    from gateway.vet.vetting import rejected

    epsilon = asked_epsilon(policy, data.epsilon)
    bounds = data.bounds if data.bounds is not None and not data.bounds.empty else None
    report = vet_report(data.sql, policy, epsilon, bounds)
    refusal = None if report.allowed else rejected(report.violations)
    return _submit(
        settings,
        who,
        policy,
        Job(
            project_id=data.project_id,
            kind=JobKind.SQL,
            dummy=data.dummy,
            text=data.sql,
            bounds=None if bounds is None else bounds.model_dump(mode="json"),
            epsilon=epsilon,
            vet_report=report.model_dump(mode="json"),
        ),
        refusal,
    )


def submit_analysis(
    settings: Settings, who: Principal, data: AnalysisCreate, policy: Policy
) -> JobPublic:
    """An analysis by code or by template name, vetted now: its code is run in a sandbox
    without data and every query it plans is vetted, so a broken one is refused with its
    issues (and their lines) before a reviewer or worker sees it."""
    from gateway.service.analysis_report import analysis_report, refusal

    if (data.code is None) == (data.template is None):
        raise ServiceError(
            "analysis_source",
            "give exactly one of `code` and `template`",
            hint=f"templates: {', '.join(policy.auto_approval.templates) or 'none'}",
        )
    code = data.code if data.code is not None else _template_code(settings, policy, data.template)
    try:
        check_size(len(code.encode()), "the analysis")
    except AnalysisError as err:  # refused as a request, before anything is recorded
        raise ServiceError(err.code, err.message, hint=err.hint) from None
    epsilon = asked_epsilon(policy, data.epsilon)
    report = analysis_report(settings, policy, code, epsilon)
    return _submit(
        settings,
        who,
        policy,
        Job(
            project_id=data.project_id,
            kind=JobKind.ANALYSIS,
            dummy=data.dummy,
            text=code,
            template=data.template,
            epsilon=epsilon,
            vet_report=report.model_dump(mode="json"),
        ),
        refusal(report),
    )


def _template_code(settings: Settings, policy: Policy, name: str | None) -> str:
    if name not in policy.auto_approval.templates:
        raise ServiceError(
            "unknown_template",
            f"{name!r} is not one of the policy's templates",
            hint=f"templates: {', '.join(policy.auto_approval.templates) or 'none'}",
        )
    path = settings.analyses_dir / f"{name}.py"
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        raise ServiceError(
            "template_missing",
            f"the template {name!r} is listed by the policy but not installed",
            hint="an operator sets GATEWAY_ANALYSES_DIR to the folder of analysis templates",
        ) from None


def _submit(
    settings: Settings, who: Principal, policy: Policy, job: Job, refusal: GatewayError | None
) -> JobPublic:
    """Record the job with its first status; raise ``JobRefused`` after committing a refusal."""
    job.submitted_by = who.id
    job.attempts = 0
    job.delta = budget.job_delta(job.kind, policy)
    job.review_reasons = (
        [] if job.dummy else review_reasons(job.kind, job.template, job.epsilon, policy)
    )
    with transaction(settings) as s:
        project = _approved_project(s, who, job.project_id)
        code = StatusCode.VETTING_REFUSED
        if refusal is None and not job.dummy:
            try:
                budget.check(budget.locked_state(s, job.project_id), job.epsilon, job.delta)
                privacy_loss.check(s, policy, project.purpose, job.epsilon, job.delta)
            except BudgetError as error:
                refusal, code = error, StatusCode.BUDGET_EXHAUSTED
        if refusal is not None:
            set_status(s, job, code, refusal.message, who.actor)
        elif job.review_reasons:
            set_status(s, job, StatusCode.AWAITING_REVIEW, "; ".join(job.review_reasons), who.actor)
        elif job.dummy:
            set_status(s, job, StatusCode.QUEUED, "a dummy run: free, on synthetic data", who.actor)
        else:
            set_status(s, job, StatusCode.QUEUED, "auto-approved by the policy", who.actor)
        if refusal is None and not job.dummy:
            budget.reserve(s, job)
        public = _public(s, job)
    if refusal is not None:
        raise JobRefused(public.id, refusal)
    return public


def review(settings: Settings, who: Principal, job_id: int, decision: ReviewDecision) -> JobPublic:
    """A reviewer lets a waiting job run, or rejects it and refunds its ε and δ."""
    with transaction(settings) as s:
        job = s.get(Job, job_id, with_for_update=True)
        if job is None:
            raise NotFoundError("job_not_found", f"no job {job_id}", hint="see the review queue")
        if job.status is not StatusCode.AWAITING_REVIEW:
            raise ConflictError(
                "not_awaiting_review",
                f"job {job_id} is {job.status.value}, not awaiting review",
                hint="only jobs in the review queue are approved or rejected",
            )
        if job.submitted_by == who.id:
            raise ForbiddenError("own_job", "a reviewer does not review their own job", hint=None)
        job.reviewed_by = who.id
        if decision.approve:
            set_status(s, job, StatusCode.QUEUED, f"approved: {decision.note}", who.actor)
        else:
            budget.refund(s, job)
            set_status(s, job, StatusCode.REVIEW_REJECTED, f"rejected: {decision.note}", who.actor)
        return _public(s, job)


def _public(s: Session, job: Job) -> JobPublic:
    release_id = s.execute(
        select(ReleaseRecord.id).where(ReleaseRecord.job_id == job.id)
    ).scalar_one_or_none()
    public = JobPublic.model_validate(job)
    return public.model_copy(update={"release_id": release_id})


def job_public(settings: Settings, who: Principal, job_id: int) -> JobPublic:
    """A job, for its project's researcher, reviewers and admins."""
    with session(settings) as s:
        job = s.get(Job, job_id)
        if job is None or not may_see(who, get_project(s, job.project_id)):
            raise NotFoundError("job_not_found", f"no job {job_id}", hint="list your jobs first")
        return _public(s, job)


def list_jobs(
    settings: Settings,
    who: Principal,
    *,
    project_id: int | None = None,
    status: StatusCode | None = None,
    limit: int = 500,
) -> JobsPublic:
    """Jobs newest first: a researcher's own projects' only; all for reviewers and admins."""
    with session(settings) as s:
        query = only_visible(select(Job).order_by(Job.id.desc()), who, Job.project_id)
        if project_id is not None:
            query = query.where(Job.project_id == project_id)
        if status is not None:
            query = query.where(Job.status == status)
        data = [_public(s, job) for job in s.execute(query.limit(limit)).scalars()]
        return JobsPublic(data=data, count=len(data))
