"""The researcher's workspace: projects, the SQL editor with live vetting, jobs and results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from gateway.config import Settings
from gateway.errors import GatewayError, Issue, ServiceError, VetError
from gateway.policy.model import Policy
from gateway.service import jobs, projects, releases
from gateway.service.accounts import Principal
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
    purpose_help: dict[str, str] = Field(
        default_factory=dict, description="per purpose, the policy's words and its legal basis"
    )


class Refusal(BaseModel):
    """Why a form's submission was refused, shown beside the form that keeps what was typed."""

    form: Literal["sql", "analysis"]
    code: str
    message: str
    hint: str | None
    issues: list[Issue]
    rendered: str = Field(description="the text with each issue under its line")
    job_id: int | None = Field(default=None, description="the refused job, when one was kept")


class ProjectPage(BaseModel):
    project: ProjectPublic
    jobs: JobsPublic
    templates: list[str]
    default_epsilon: float
    epsilon_cap: float
    typed: dict[str, str] = Field(
        default_factory=dict, description="what a refused form held, to show it again"
    )
    refusal: Refusal | None = None


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
        purpose_help={name: purpose.description for name, purpose in policy.purposes.items()},
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
    return _project_page(request, who, settings, policy, project_id)


def _project_page(
    request: Request,
    who: Principal,
    settings: Settings,
    policy: Policy,
    project_id: int,
    *,
    typed: dict[str, str] | None = None,
    refusal: Refusal | None = None,
) -> Response:
    """The project page; after a refused form, with what was typed and why, inline (422)."""
    data = ProjectPage(
        project=projects.project_public(settings, who, project_id),
        jobs=jobs.list_jobs(settings, who, project_id=project_id),
        templates=list(policy.auto_approval.templates),
        default_epsilon=policy.budget.default_query_epsilon,
        epsilon_cap=policy.budget.per_query_epsilon_cap,
        typed=typed or {},
        refusal=refusal,
    )
    return render(request, "project.html", data, status=422 if refusal else 200)


def _submitted(
    request: Request,
    who: Principal,
    settings: Settings,
    policy: Policy,
    submit: Callable[[], JobPublic],
    *,
    project_id: int,
    form: BaseModel,
    kept: set[str],
    refused: Literal["sql", "analysis"],
    text: str,
) -> Response:
    """Run ``submit``: on to its job's page, or back to the project page with the refusal.

    The refusal is shown beside the ``refused`` form, which keeps the ``kept``
    fields it held; each issue is drawn under its line of ``text``.
    """
    from gateway.vet.render import render_issues

    try:
        job = submit()
    except GatewayError as error:
        typed = {name: str(value) for name, value in form.model_dump(include=kept).items() if value}
        refusal = Refusal(
            form=refused,
            code=error.code,
            message=error.message,
            hint=error.hint,
            issues=error.issues,
            rendered=render_issues(text, error.issues) if error.issues else "",
            job_id=getattr(error, "job_id", None),
        )
        return _project_page(
            request, who, settings, policy, project_id, typed=typed, refusal=refusal
        )
    return RedirectResponse(f"/workspace/jobs/{job.id}", status_code=303)


@router.post("/queries", dependencies=[SameOrigin])
def submit_query(
    request: Request,
    who: CurrentResearcher,
    settings: SettingsDep,
    policy: PolicyDep,
    form: Annotated[EditorForm, Form()],
) -> Response:
    """Submit the editor's query; a refusal comes back on the project page, the query kept."""
    project_id = form.project_id
    if project_id is None:
        raise ServiceError("project_required", "a query is submitted for a project", hint=None)

    def submit() -> JobPublic:
        data = QueryCreate(
            project_id=project_id,
            sql=form.sql,
            epsilon=form.epsilon,
            bounds=form.bounds(),
            dummy=form.dummy,
        )
        return jobs.submit_query(settings, who, data, policy)

    return _submitted(
        request,
        who,
        settings,
        policy,
        submit,
        project_id=project_id,
        form=form,
        kept={"sql", "epsilon", "rows_per_group", "groups", "clamps"},
        refused="sql",
        text=form.sql,
    )


@router.post("/analyses", dependencies=[SameOrigin])
def submit_analysis(
    request: Request,
    who: CurrentResearcher,
    settings: SettingsDep,
    policy: PolicyDep,
    data: Annotated[AnalysisCreate, Form()],
) -> Response:
    """Submit an analysis (code or template); a refusal comes back on the project page, the
    code kept."""
    return _submitted(
        request,
        who,
        settings,
        policy,
        lambda: jobs.submit_analysis(settings, who, data, policy),
        project_id=data.project_id,
        form=data,
        kept={"code", "epsilon"},
        refused="analysis",
        text=data.code or "",
    )


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
