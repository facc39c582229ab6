"""The researcher's workspace: projects, the SQL editor with live vetting, jobs and results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from gateway.errors import ServiceError, VetError
from gateway.service import jobs, projects, releases
from gateway.service.deps import CurrentResearcher, PolicyDep, SameOrigin, SettingsDep
from gateway.service.inputs import Epsilon, Id, PathId
from gateway.service.jobs import AnalysisCreate, JobPublic, JobsPublic, QueryCreate
from gateway.service.preview import (
    AnalysisVetRequest,
    VetPreview,
    VetRequest,
    preview,
    preview_analysis,
)
from gateway.service.projects import ProjectCreate, ProjectPublic, ProjectsPublic
from gateway.service.releases import ReleasePublic
from gateway.vet.bounds import FixedBounds, parse_clamps
from gateway.vet.codes import Code
from gateway.web import render

router = APIRouter(prefix="/workspace", include_in_schema=False)


class WorkspacePage(BaseModel):
    projects: ProjectsPublic
    themes: list[str]
    purposes: list[str]


class ProjectPage(BaseModel):
    project: ProjectPublic
    jobs: JobsPublic
    templates: list[str]
    default_epsilon: float
    epsilon_cap: float


class JobPage(BaseModel):
    job: JobPublic
    release: ReleasePublic | None


class VetPage(BaseModel):
    sql: str
    preview: VetPreview


class EditorForm(BaseModel):
    """The editor's fields, flat as a form sends them: a query, its ε, bounds it fixes.

    Bounds left empty are chosen per query with DP; ``clamps`` is
    ``measure=low:high`` items separated by commas.
    """

    project_id: Id | None = None
    sql: str
    epsilon: Epsilon | None = None
    rows_per_group: int | None = None
    groups: int | None = None
    clamps: str = ""
    dummy: bool = False

    def bounds(self) -> FixedBounds | None:
        items = [item for item in self.clamps.replace(";", ",").split(",") if item.strip()]
        try:
            clamps = parse_clamps(items)
        except ValueError as err:
            raise VetError(
                Code.INVALID_BOUNDS,
                f"clamps: {err}",
                hint="write each as measure=low:high, separated by commas",
            ) from None
        fixed = FixedBounds(rows_per_group=self.rows_per_group, groups=self.groups, clamps=clamps)
        return None if fixed.empty else fixed


@router.get("")
@router.get(".json")
def workspace(
    request: Request, who: CurrentResearcher, settings: SettingsDep, policy: PolicyDep
) -> Response:
    data = WorkspacePage(
        projects=projects.list_projects(settings, who),
        themes=list(projects.learning_themes(policy)),
        purposes=list(policy.purposes),
    )
    return render(request, "workspace.html", data)


@router.post("/projects", dependencies=[SameOrigin])
def propose(
    who: CurrentResearcher,
    settings: SettingsDep,
    policy: PolicyDep,
    data: Annotated[ProjectCreate, Form()],
) -> Response:
    project = projects.propose(settings, who, data, policy)
    return RedirectResponse(f"/workspace/projects/{project.id}", status_code=303)


@router.get("/projects/{project_id:int}.json")
@router.get("/projects/{project_id:int}")
def project_page(
    project_id: PathId,
    request: Request,
    who: CurrentResearcher,
    settings: SettingsDep,
    policy: PolicyDep,
) -> Response:
    data = ProjectPage(
        project=projects.project_public(settings, who, project_id),
        jobs=jobs.list_jobs(settings, who, project_id=project_id),
        templates=list(policy.auto_approval.templates),
        default_epsilon=policy.budget.default_query_epsilon,
        epsilon_cap=policy.budget.per_query_epsilon_cap,
    )
    return render(request, "project.html", data)


@router.post("/queries", dependencies=[SameOrigin])
def submit_query(
    who: CurrentResearcher,
    settings: SettingsDep,
    policy: PolicyDep,
    form: Annotated[EditorForm, Form()],
) -> Response:
    if form.project_id is None:
        raise ServiceError("project_required", "a query is submitted for a project", hint=None)
    data = QueryCreate(
        project_id=form.project_id,
        sql=form.sql,
        epsilon=form.epsilon,
        bounds=form.bounds(),
        dummy=form.dummy,
    )
    job = jobs.submit_query(settings, who, data, policy)
    return RedirectResponse(f"/workspace/jobs/{job.id}", status_code=303)


@router.post("/analyses", dependencies=[SameOrigin])
def submit_template(
    who: CurrentResearcher,
    settings: SettingsDep,
    policy: PolicyDep,
    data: Annotated[AnalysisCreate, Form()],
) -> Response:
    job = jobs.submit_analysis(settings, who, data, policy)
    return RedirectResponse(f"/workspace/jobs/{job.id}", status_code=303)


@router.post("/vet", dependencies=[SameOrigin])
def vet(
    request: Request,
    who: CurrentResearcher,
    settings: SettingsDep,
    policy: PolicyDep,
    form: Annotated[EditorForm, Form()],
) -> Response:
    """The live verdict on the editor's query: a fragment for the page's script, else a page."""
    data = VetRequest(
        sql=form.sql, epsilon=form.epsilon, project_id=form.project_id, bounds=form.bounds()
    )
    result = preview(settings, who, data, policy)
    sql = data.sql
    fragment = request.headers.get("x-fragment") == "1"
    return render(
        request, "_vet.html" if fragment else "vet.html", VetPage(sql=sql, preview=result)
    )


@router.post("/vet/analysis", dependencies=[SameOrigin])
def vet_analysis(
    request: Request,
    who: CurrentResearcher,
    settings: SettingsDep,
    policy: PolicyDep,
    data: Annotated[AnalysisVetRequest, Form()],
) -> Response:
    """The verdict on an analysis's code, as a page: its planned queries or its issues."""
    result = preview_analysis(settings, who, data, policy)
    return render(request, "vet.html", VetPage(sql=data.code, preview=result))


@router.get("/jobs/{job_id:int}.json")
@router.get("/jobs/{job_id:int}")
def job_page(
    job_id: PathId, request: Request, who: CurrentResearcher, settings: SettingsDep
) -> Response:
    job = jobs.job_public(settings, who, job_id)
    release = (
        releases.read_release(settings, who, job.release_id) if job.release_id is not None else None
    )
    return render(request, "job.html", JobPage(job=job, release=release))
