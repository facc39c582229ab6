"""The reviewer console: projects to decide, queries to review, results to publish, audit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from gateway.db import session
from gateway.policy.model import Policy
from gateway.service import audit, jobs, privacy_loss, projects, releases
from gateway.service.audit import AuditEntry, Verdict
from gateway.service.deps import CurrentReviewer, PolicyDep, SameOrigin, SettingsDep
from gateway.service.inputs import PathId, Seq
from gateway.service.jobs import JobPublic, JobsPublic, ReviewDecision
from gateway.service.models import ProjectStatus
from gateway.service.preview import PlanView, job_plan
from gateway.service.privacy_loss import PrivacyLossPublic
from gateway.service.projects import BudgetTopUp, ProjectDecision, ProjectPublic, ProjectsPublic
from gateway.service.releases import (
    Publication,
    PublishPreview,
    PublishRequest,
    ReleasePublic,
    ReleasesPublic,
)
from gateway.service.status import StatusCode
from gateway.web import render

router = APIRouter(prefix="/review", include_in_schema=False)


class GrantLimits(BaseModel):
    """The policy's limits a reviewer grants ε within."""

    default_epsilon: float = Field(description="budget.default_project_epsilon")
    max_epsilon: float = Field(description="budget.max_project_epsilon: a project's total")

    @classmethod
    def of(cls, policy: Policy) -> GrantLimits:
        budget = policy.budget
        return cls(
            default_epsilon=budget.default_project_epsilon, max_epsilon=budget.max_project_epsilon
        )


RECENT_JOBS = 25
"""Jobs the console lists under "recent queries"; all are in ``GET /api/jobs``."""


class ConsolePage(BaseModel):
    proposed: ProjectsPublic
    default_grants: dict[int, float] = Field(
        description="per proposed project, the ε its grant field starts at"
    )
    approved: ProjectsPublic
    queue: JobsPublic
    recent: JobsPublic = Field(
        description="the latest jobs of every project, those that ran without review too"
    )
    unpublished: ReleasesPublic
    limits: GrantLimits
    query_delta: float
    project_delta: float
    privacy_loss: PrivacyLossPublic = Field(
        description="what all projects spent on each member cohort: a grant is a claim on it"
    )


class ProjectPage(BaseModel):
    project: ProjectPublic
    jobs: JobsPublic
    limits: GrantLimits
    room: float = Field(description="the most ε a top-up may add now")
    privacy_loss: PrivacyLossPublic


class ReviewJobPage(BaseModel):
    job: JobPublic
    project: ProjectPublic
    plan: PlanView | None = Field(
        description="the vetted plan; None for an analysis, whose plan is vetted when it runs"
    )


class PublishPage(BaseModel):
    release: ReleasePublic
    project: ProjectPublic


class PreviewPage(BaseModel):
    preview: PublishPreview
    publication: Publication


class AuditPage(BaseModel):
    verdict: Verdict
    entries: list[AuditEntry]
    after: int


@router.get("")
@router.get(".json")
def console(
    request: Request, who: CurrentReviewer, settings: SettingsDep, policy: PolicyDep
) -> Response:
    proposed = projects.list_projects(settings, who, ProjectStatus.PROPOSED)
    data = ConsolePage(
        proposed=proposed,
        default_grants={p.id: projects.default_grant(p, policy) for p in proposed.data},
        approved=projects.list_projects(settings, who, ProjectStatus.APPROVED),
        queue=jobs.list_jobs(settings, who, status=StatusCode.AWAITING_REVIEW),
        recent=jobs.list_jobs(settings, who, limit=RECENT_JOBS),
        unpublished=releases.list_releases(settings, who, published=False),
        limits=GrantLimits.of(policy),
        query_delta=policy.budget.delta,
        project_delta=policy.budget.default_project_delta,
        privacy_loss=privacy_loss.privacy_loss(settings, policy),
    )
    return render(request, "review.html", data)


@router.post("/projects/{project_id:int}", dependencies=[SameOrigin])
def decide(
    project_id: PathId,
    who: CurrentReviewer,
    settings: SettingsDep,
    policy: PolicyDep,
    decision: Annotated[ProjectDecision, Form()],
) -> Response:
    projects.decide(settings, who, project_id, decision, policy)
    return RedirectResponse("/review", status_code=303)


@router.get("/projects/{project_id:int}.json")
@router.get("/projects/{project_id:int}")
def project_page(
    project_id: PathId,
    request: Request,
    who: CurrentReviewer,
    settings: SettingsDep,
    policy: PolicyDep,
) -> Response:
    project = projects.project_public(settings, who, project_id)
    data = ProjectPage(
        project=project,
        jobs=jobs.list_jobs(settings, who, project_id=project_id),
        limits=GrantLimits.of(policy),
        room=max(policy.budget.max_project_epsilon - project.budget.granted, 0.0),
        privacy_loss=privacy_loss.privacy_loss(settings, policy),
    )
    return render(request, "review_project.html", data)


@router.post("/projects/{project_id:int}/budget", dependencies=[SameOrigin])
def top_up(
    project_id: PathId,
    who: CurrentReviewer,
    settings: SettingsDep,
    policy: PolicyDep,
    data: Annotated[BudgetTopUp, Form()],
) -> Response:
    projects.top_up(settings, who, project_id, data, policy)
    return RedirectResponse(f"/review/projects/{project_id}", status_code=303)


@router.get("/jobs/{job_id:int}.json")
@router.get("/jobs/{job_id:int}")
def review_job(
    job_id: PathId, request: Request, who: CurrentReviewer, settings: SettingsDep, policy: PolicyDep
) -> Response:
    job = jobs.job_public(settings, who, job_id)
    project = projects.project_public(settings, who, job.project_id)
    data = ReviewJobPage(job=job, project=project, plan=job_plan(job, policy))
    return render(request, "review_job.html", data)


@router.post("/jobs/{job_id:int}", dependencies=[SameOrigin])
def review(
    job_id: PathId,
    who: CurrentReviewer,
    settings: SettingsDep,
    decision: Annotated[ReviewDecision, Form()],
) -> Response:
    jobs.review(settings, who, job_id, decision)
    return RedirectResponse("/review", status_code=303)


@router.get("/releases/{release_id:int}.json")
@router.get("/releases/{release_id:int}")
def release_page(
    release_id: PathId, request: Request, who: CurrentReviewer, settings: SettingsDep
) -> Response:
    release = releases.read_release(settings, who, release_id)
    project = projects.project_public(settings, who, release.project_id)
    return render(request, "publish.html", PublishPage(release=release, project=project))


@router.post("/releases/{release_id:int}/preview", dependencies=[SameOrigin])
def preview(
    release_id: PathId,
    request: Request,
    who: CurrentReviewer,
    settings: SettingsDep,
    policy: PolicyDep,
    publication: Annotated[Publication, Form()],
) -> Response:
    """The insight as members will see it (in the page's language), its caveats, and publish."""
    data = PreviewPage(
        preview=releases.preview(settings, who, release_id, publication, policy),
        publication=publication,
    )
    return render(request, "publish_preview.html", data)


@router.post("/releases/{release_id:int}", dependencies=[SameOrigin])
def publish(
    release_id: PathId,
    who: CurrentReviewer,
    settings: SettingsDep,
    policy: PolicyDep,
    publication: Annotated[PublishRequest, Form()],
) -> Response:
    releases.publish(settings, who, release_id, publication, policy)
    return RedirectResponse(f"/insights/{release_id}", status_code=303)


@router.get("/audit")
@router.get("/audit.json")
def audit_page(
    request: Request, who: CurrentReviewer, settings: SettingsDep, after: Seq = 0
) -> Response:
    with session(settings) as s:
        entries = audit.entries(s, after=after, limit=200)
    data = AuditPage(verdict=audit.verify(settings), entries=entries, after=after)
    return render(request, "audit.html", data)
