"""Projects: researchers propose and follow theirs; reviewers decide; admins set extracts."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from gateway.service import projects
from gateway.service.deps import (
    CurrentAdmin,
    CurrentOverseer,
    CurrentResearcher,
    CurrentReviewer,
    CurrentUser,
    PolicyDep,
    SettingsDep,
)
from gateway.service.inputs import PathId
from gateway.service.models import ProjectStatus
from gateway.service.projects import (
    BudgetTopUp,
    ExtractUpdate,
    ProjectCreate,
    ProjectDecision,
    ProjectPublic,
    ProjectsPublic,
)

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.post("", status_code=201)
def propose(
    data: ProjectCreate, who: CurrentResearcher, settings: SettingsDep, policy: PolicyDep
) -> ProjectPublic:
    """Propose a project; no query runs for it until a reviewer approves it."""
    return projects.propose(settings, who, data, policy)


@router.get("")
def list_projects(
    who: CurrentUser, settings: SettingsDep, status: ProjectStatus | None = None
) -> ProjectsPublic:
    """Your own projects (researchers), or every project (reviewers, admins)."""
    return projects.list_projects(settings, who, status)


@router.get("/{project_id}")
def get_project(project_id: PathId, who: CurrentUser, settings: SettingsDep) -> ProjectPublic:
    """A project with its budget: granted, held by running jobs, spent, remaining."""
    return projects.project_public(settings, who, project_id)


@router.post("/{project_id}/decision")
def decide(
    project_id: PathId,
    decision: ProjectDecision,
    who: CurrentReviewer,
    settings: SettingsDep,
    policy: PolicyDep,
) -> ProjectPublic:
    """Approve (granting an ε and a δ budget) or reject a proposed project, with a note."""
    return projects.decide(settings, who, project_id, decision, policy)


@router.post("/{project_id}/budget")
def top_up(
    project_id: PathId,
    data: BudgetTopUp,
    who: CurrentOverseer,
    settings: SettingsDep,
    policy: PolicyDep,
) -> ProjectPublic:
    """Add ε to an approved project (reviewers and admins), with a note; kept and audited.

    The project's total may not pass the policy's ``budget.max_project_epsilon``.
    """
    return projects.top_up(settings, who, project_id, data, policy)


@router.put("/{project_id}/extract", status_code=204)
def set_extract(
    project_id: PathId, data: ExtractUpdate, who: CurrentAdmin, settings: SettingsDep
) -> None:
    """Point a project at its (re)built extract; it must have been built for this project."""
    projects.set_extract(settings, who.actor, project_id, Path(data.path))
