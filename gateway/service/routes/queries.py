"""Queries and analyses: vet live, submit, and follow the jobs they become."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.service import jobs
from gateway.service.deps import CurrentResearcher, CurrentUser, PolicyDep, SettingsDep
from gateway.service.inputs import PathId, QueryId
from gateway.service.jobs import AnalysisCreate, JobPublic, JobsPublic, QueryCreate
from gateway.service.preview import (
    AnalysisVetRequest,
    VetPreview,
    VetRequest,
    preview,
    preview_analysis,
)
from gateway.service.status import StatusCode

router = APIRouter(prefix="/api", tags=["queries"])


@router.post("/vet")
def vet(
    data: VetRequest, who: CurrentResearcher, settings: SettingsDep, policy: PolicyDep
) -> VetPreview:
    """What the policy says of a query, its predicted accuracy and its cost; nothing runs."""
    return preview(settings, who, data, policy)


@router.post("/vet/analysis")
def vet_analysis(
    data: AnalysisVetRequest, who: CurrentResearcher, settings: SettingsDep, policy: PolicyDep
) -> VetPreview:
    """The same preview for a Python analysis: its code runs in a sandbox without data, each
    query it plans is vetted; issues name the analysis's lines."""
    return preview_analysis(settings, who, data, policy)


@router.post("/queries", status_code=201)
def submit_query(
    data: QueryCreate, who: CurrentResearcher, settings: SettingsDep, policy: PolicyDep
) -> JobPublic:
    """Submit SQL for an approved project; a refusal is a problem whose ``instance`` is the job."""
    return jobs.submit_query(settings, who, data, policy)


@router.post("/analyses", status_code=201)
def submit_analysis(
    data: AnalysisCreate, who: CurrentResearcher, settings: SettingsDep, policy: PolicyDep
) -> JobPublic:
    """Submit a Python analysis, by code or by template name; vetted at once, a refusal is a
    problem with the issues and their lines, whose ``instance`` is the job."""
    return jobs.submit_analysis(settings, who, data, policy)


@router.get("/jobs")
def list_jobs(
    who: CurrentUser,
    settings: SettingsDep,
    project_id: QueryId = None,
    status: StatusCode | None = None,
) -> JobsPublic:
    return jobs.list_jobs(settings, who, project_id=project_id, status=status)


@router.get("/jobs/{job_id}")
def get_job(job_id: PathId, who: CurrentUser, settings: SettingsDep) -> JobPublic:
    """A job's status, its vetting report and, once released, its release id."""
    return jobs.job_public(settings, who, job_id)
