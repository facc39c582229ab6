"""Projects: a researcher proposes, a reviewer approves or rejects, the public sees the approved.

A project names the learning themes it serves (from the policy's theme
domain), its purpose (one the policy lists) and the ε budget it asks for. No
query runs for a project until a reviewer has approved it and granted a
budget: the ε asked or less, and a δ of at most the policy's
``default_project_delta``.

A project's extract is built for it (``gateway extract build --project ID``,
with the project's numeric id): its pseudonyms are keyed per project, and its
releases are kept per extract. An extract whose manifest names another
project or purpose is refused, when it is set and again when a job runs; a
dummy extract (synthetic values, no real member) fits any project.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from gateway.config import Settings
from gateway.db import session
from gateway.errors import (
    ConflictError,
    ExtractError,
    ForbiddenError,
    NotFoundError,
    ServiceError,
)
from gateway.extract.manifest import Manifest, load_manifest, manifest_path
from gateway.policy.model import Policy
from gateway.service import audit
from gateway.service.accounts import Principal
from gateway.service.audit import Actor
from gateway.service.budget import TOLERANCE, BudgetState, TopUpPublic, budget_state, top_ups
from gateway.service.inputs import Epsilon
from gateway.service.models import (
    BudgetGrant,
    Project,
    ProjectStatus,
    ReleaseRecord,
    Role,
    User,
    utcnow,
)
from gateway.service.transaction import transaction
from gateway.web.i18n import Lang

Q = TypeVar("Q", bound=Select[Any])


class ProjectCreate(BaseModel):
    title: str = Field(min_length=3, max_length=200)
    summary: str = Field(min_length=20, max_length=5000, description="what and why, for the public")
    organisation: str = Field(
        min_length=2, max_length=200, description="who does the research, for the public register"
    )
    themes: list[str] = Field(min_length=1, description="learning themes the project serves")
    purpose: str = Field(default="mission", max_length=64, description="a purpose the policy lists")
    requested_epsilon: Epsilon = Field(le=1000, description="total ε the project asks for")


class ProjectDecision(BaseModel):
    approve: bool
    note: str = Field(min_length=3, max_length=5000, description="why; shown to the researcher")
    granted_epsilon: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="ε granted; default: the policy's default_project_epsilon, or what was "
        "asked if that is less; never more than asked",
    )
    granted_delta: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="δ granted; default and most: the policy's default_project_delta",
    )


class BudgetTopUp(BaseModel):
    """More ε for an approved project, with the reviewer's reason (kept and audited)."""

    add_epsilon: float = Field(
        gt=0,
        allow_inf_nan=False,
        description="ε to add; the project's total may not pass the policy's max_project_epsilon",
    )
    note: str = Field(min_length=3, max_length=5000, description="why; shown with the budget")


class ProjectPublic(BaseModel):
    id: int
    title: str
    summary: str
    organisation: str | None
    themes: list[str]
    purpose: str
    requested_epsilon: float
    status: ProjectStatus
    owner: str
    reviewer: str | None
    decision_note: str | None
    decided_at: dt.datetime | None
    created_at: dt.datetime
    has_extract: bool
    budget: BudgetState
    top_ups: list[TopUpPublic] = Field(
        default_factory=list, description="ε reviewers added after approval, oldest first"
    )


class ProjectsPublic(BaseModel):
    data: list[ProjectPublic]
    count: int


class PublishedInsight(BaseModel):
    """A link from the register to one of the project's published insights."""

    id: int
    title: str
    published_at: dt.datetime


class RegisterEntry(BaseModel):
    """What the public register shows of an approved project: who, why, and what it took."""

    id: int
    title: str
    summary: str
    organisation: str | None
    themes: list[str]
    purpose: str
    approved_at: dt.datetime | None
    granted_epsilon: float | None
    spent_epsilon: float = Field(description="ε its results have cost so far (held ε excluded)")
    insights: list[PublishedInsight] = Field(description="its published insights, newest first")


class Register(BaseModel):
    data: list[RegisterEntry]
    count: int
    lang: Lang


def learning_themes(policy: Policy) -> tuple[str, ...]:
    """The themes a project may name: the public domain of the policy's ``theme`` columns."""
    themes: dict[str, None] = {}
    for table in policy.tables.values():
        column = table.columns.get("theme")
        for theme in (column.domain if column else None) or ():
            themes[theme] = None
    return tuple(themes)


def _public(s: Session, project: Project) -> ProjectPublic:
    def name(user_id: int | None) -> str | None:
        user = None if user_id is None else s.get(User, user_id)
        return None if user is None else user.name

    return ProjectPublic(
        id=project.id,
        title=project.title,
        summary=project.summary,
        organisation=project.organisation,
        themes=project.themes,
        purpose=project.purpose,
        requested_epsilon=project.requested_epsilon,
        status=project.status,
        owner=name(project.owner_id) or "",
        reviewer=name(project.reviewer_id),
        decision_note=project.decision_note,
        decided_at=project.decided_at,
        created_at=project.created_at,
        has_extract=project.extract is not None,
        budget=budget_state(s, project),
        top_ups=top_ups(s, project),
    )


def get_project(s: Session, project_id: int) -> Project:
    project = s.get(Project, project_id)
    if project is None:
        raise NotFoundError(
            "project_not_found", f"no project {project_id}", hint="list your projects first"
        )
    return project


def may_see(who: Principal, project: Project) -> bool:
    """Its researcher, reviewers and admins see a project; other researchers do not."""
    return who.role is not Role.RESEARCHER or project.owner_id == who.id


def only_visible(query: Q, who: Principal, project_id: InstrumentedAttribute[int]) -> Q:
    """``query`` narrowed to rows of projects ``who`` may see: ``may_see`` in SQL."""
    if who.role is not Role.RESEARCHER:
        return query
    return query.where(project_id.in_(select(Project.id).where(Project.owner_id == who.id)))


def visible_project(s: Session, who: Principal, project_id: int) -> Project:
    """A project ``who`` may see; to anyone else it does not exist."""
    project = get_project(s, project_id)
    if not may_see(who, project):
        raise NotFoundError(
            "project_not_found", f"no project {project_id}", hint="list your projects first"
        )
    return project


def propose(
    settings: Settings, who: Principal, data: ProjectCreate, policy: Policy
) -> ProjectPublic:
    known = learning_themes(policy)
    unknown = [t for t in data.themes if t not in known]
    if unknown:
        raise ServiceError(
            "unknown_theme",
            f"not a learning theme: {', '.join(unknown)}",
            hint=f"choose from: {', '.join(known)}",
        )
    if data.purpose not in policy.purposes:
        raise ServiceError(
            "unknown_purpose",
            f"the policy does not list the purpose {data.purpose!r}",
            hint=f"choose from: {', '.join(policy.purposes)}",
        )
    with transaction(settings) as s:
        project = Project(
            title=data.title,
            summary=data.summary,
            organisation=data.organisation,
            themes=list(dict.fromkeys(data.themes)),
            purpose=data.purpose,
            requested_epsilon=data.requested_epsilon,
            status=ProjectStatus.PROPOSED,
            owner_id=who.id,
            created_at=utcnow(),
        )
        s.add(project)
        s.flush()
        audit.record(s, who.actor, "project.propose", "project", project.id, title=project.title)
        return _public(s, project)


def decide(
    settings: Settings,
    who: Principal,
    project_id: int,
    decision: ProjectDecision,
    policy: Policy,
) -> ProjectPublic:
    """A reviewer's verdict on a proposed project; a decided project stays decided."""
    with transaction(settings) as s:
        project = s.get(Project, project_id, with_for_update=True)
        if project is None:
            raise NotFoundError("project_not_found", f"no project {project_id}", hint=None)
        if project.status is not ProjectStatus.PROPOSED:
            raise ConflictError(
                "project_decided",
                f"project {project_id} was already {project.status.value}",
                hint="a decided project is not decided again; the researcher can propose anew",
            )
        _not_own(who, project)
        project.status = ProjectStatus.APPROVED if decision.approve else ProjectStatus.REJECTED
        project.granted_epsilon = _granted(decision, project, policy) if decision.approve else None
        project.granted_delta = _granted_delta(decision, policy) if decision.approve else None
        project.reviewer_id = who.id
        project.decision_note = decision.note
        project.decided_at = utcnow()
        audit.record(
            s,
            who.actor,
            "project.approve" if decision.approve else "project.reject",
            "project",
            project.id,
            granted_epsilon=project.granted_epsilon,
            granted_delta=project.granted_delta,
        )
        return _public(s, project)


def default_grant(project: Project | ProjectPublic, policy: Policy) -> float:
    """The ε a grant starts from: the policy's default, or what was asked if that is less."""
    return min(policy.budget.default_project_epsilon, project.requested_epsilon)


def top_up(
    settings: Settings, who: Principal, project_id: int, data: BudgetTopUp, policy: Policy
) -> ProjectPublic:
    """Add ε to an approved project's grant: one append-only line, audited.

    The project's row is locked, as a reservation locks it, so a top-up and
    concurrent submissions see one total.
    """
    with transaction(settings) as s:
        project = s.get(Project, project_id, with_for_update=True)
        if project is None:
            raise NotFoundError("project_not_found", f"no project {project_id}", hint=None)
        if project.status is not ProjectStatus.APPROVED or project.granted_epsilon is None:
            raise ForbiddenError(
                "project_not_approved",
                f"project {project_id} is {project.status.value}; only an approved project's "
                "budget is topped up",
                hint="decide on the proposal first; the grant is part of approving it",
            )
        _not_own(who, project)
        total = project.granted_epsilon + data.add_epsilon
        _within_policy(total, policy)
        project.granted_epsilon = total
        s.add(
            BudgetGrant(
                project_id=project.id,
                epsilon=data.add_epsilon,
                note=data.note,
                granted_by=who.id,
                at=utcnow(),
            )
        )
        s.flush()
        audit.record(
            s,
            who.actor,
            "project.budget",
            "project",
            project.id,
            add_epsilon=data.add_epsilon,
            granted_epsilon=total,
            note=data.note,
        )
        return _public(s, project)


def _granted(decision: ProjectDecision, project: Project, policy: Policy) -> float:
    """The ε an approval grants: the default unless given; never more than asked or allowed."""
    granted = decision.granted_epsilon or default_grant(project, policy)
    if granted > project.requested_epsilon:
        raise ServiceError(
            "grant_over_request",
            f"granting ε = {granted:g} is more than the {project.requested_epsilon:g} asked",
            hint="grant at most what the project asked for",
        )
    _within_policy(granted, policy)
    return granted


def _not_own(who: Principal, project: Project) -> None:
    if project.owner_id == who.id:
        raise ForbiddenError(
            "own_project", "a reviewer does not decide on their own project's budget", hint=None
        )


def _within_policy(granted: float, policy: Policy) -> None:
    """Refuse a project total above the policy's ``max_project_epsilon``."""
    most = policy.budget.max_project_epsilon
    if granted > most + TOLERANCE:
        raise ServiceError(
            "grant_over_policy",
            f"a project granted ε = {granted:g} in all is more than the policy allows "
            f"({most:g}, budget.max_project_epsilon)",
            hint=f"grant at most {most:g} in all; a project needing more is a new proposal",
        )


def _granted_delta(decision: ProjectDecision, policy: Policy) -> float:
    """The δ a decision grants: at least one query's, at most the policy's project default."""
    most, least = policy.budget.default_project_delta, policy.budget.delta
    granted = decision.granted_delta or most
    if not least <= granted <= most:
        raise ServiceError(
            "delta_grant_out_of_range",
            f"granting δ = {granted:g} is outside what the policy allows a project",
            hint=f"grant from {least:g} (one query's δ) to {most:g} (the policy's "
            "default_project_delta)",
        )
    return granted


class ExtractUpdate(BaseModel):
    path: str = Field(
        min_length=1,
        max_length=1000,
        description="the extract built for this project, on the gateway's disk",
    )


class ExtractState(StrEnum):
    """A project's extract as an administrator sees it: the freshness check's verdict, or why
    there is none to check."""

    UNSET = "unset"
    MISSING = "missing"
    FRESH = "fresh"
    STALE = "stale"
    EXPIRED = "expired"


class ProjectExtract(BaseModel):
    project_id: int
    title: str
    status: ProjectStatus
    purpose: str
    extract: str | None = Field(description="the extract's path, as an administrator set it")
    state: ExtractState
    reasons: list[str] = Field(description="why it is stale, expired or missing")
    dummy: bool = False
    built_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None


def extract_overview(settings: Settings) -> list[ProjectExtract]:
    """Every project's extract with its freshness, judged from the rights ledger and the clock
    (as when a job opens it; ``gateway extract status --source`` also checks the source)."""
    from gateway.extract.status import extract_status

    with session(settings) as s:
        rows = list(s.execute(select(Project).order_by(Project.id.desc())).scalars())
    overview = []
    for project in rows:
        entry = ProjectExtract(
            project_id=project.id,
            title=project.title,
            status=project.status,
            purpose=project.purpose,
            extract=project.extract,
            state=ExtractState.UNSET,
            reasons=[],
        )
        if project.extract is not None:
            path = Path(project.extract)
            if not path.exists() or not manifest_path(path).exists():
                entry.state = ExtractState.MISSING
                entry.reasons = [f"{path.name} or its manifest is not on the gateway's disk"]
            else:
                (status,) = extract_status([path], settings, source=None)
                entry.state = ExtractState(status.state.value)
                entry.reasons = status.reasons
                entry.dummy = load_manifest(path).dummy
                entry.built_at, entry.expires_at = status.built_at, status.expires_at
        overview.append(entry)
    return overview


def extract_project_id(project_id: int) -> str:
    """The ``--project`` a project's extract is built with, as its manifest names it."""
    return str(project_id)


def check_extract_project(manifest: Manifest, project_id: int, purpose: str) -> None:
    """Refuse an extract built for another project or purpose; a dummy extract fits any.

    The purpose decides which members an extract holds, and so which cohort its
    releases are counted for (``gateway.service.privacy_loss``).
    """
    if manifest.dummy:
        return
    if manifest.project != extract_project_id(project_id):
        raise ExtractError(
            "extract_other_project",
            f"the extract was built for project {manifest.project!r}, not for project {project_id}",
            hint="build one for this project: `gateway extract build --project "
            f"{extract_project_id(project_id)} ...`",
        )
    if manifest.purpose != purpose:
        raise ExtractError(
            "extract_other_purpose",
            f"the extract was built for the purpose {manifest.purpose!r}, not for project "
            f"{project_id}'s {purpose!r}",
            hint="build one with the project's purpose: `gateway extract build --project "
            f"{extract_project_id(project_id)} --purpose {purpose} ...`",
        )


def set_extract(settings: Settings, actor: Actor, project_id: int, extract: Path) -> None:
    """Point a project at its (re)built extract; its manifest must sit beside it, naming it."""
    if not extract.name or "\x00" in str(extract):
        raise ServiceError(
            "extract_path_invalid",
            f"{str(extract)!r} does not name an extract file",
            hint=f"give the path of the .duckdb file built with `--project {project_id}`",
        )
    if not manifest_path(extract).exists():
        raise ServiceError(
            "extract_not_found",
            f"no extract manifest for {extract}",
            hint=f"build it with `gateway extract build --project {project_id} ...` first",
        )
    manifest = load_manifest(extract)
    with transaction(settings) as s:
        project = get_project(s, project_id)
        check_extract_project(manifest, project.id, project.purpose)
        project.extract = str(extract.resolve())
        audit.record(s, actor, "project.extract", "project", project_id, extract=extract.name)


def list_projects(
    settings: Settings, who: Principal, status: ProjectStatus | None = None
) -> ProjectsPublic:
    """A researcher's own projects; every project for reviewers and admins."""
    with session(settings) as s:
        query = only_visible(select(Project).order_by(Project.id.desc()), who, Project.id)
        if status is not None:
            query = query.where(Project.status == status)
        data = [_public(s, p) for p in s.execute(query).scalars()]
        return ProjectsPublic(data=data, count=len(data))


def project_public(settings: Settings, who: Principal, project_id: int) -> ProjectPublic:
    with session(settings) as s:
        return _public(s, visible_project(s, who, project_id))


def register(settings: Settings, lang: Lang = "nl") -> Register:
    """The public register: approved projects, newest decision first, with their insights."""
    with session(settings) as s:
        rows = s.execute(
            select(Project)
            .where(Project.status == ProjectStatus.APPROVED)
            .order_by(Project.decided_at.desc())
        ).scalars()
        data = [
            RegisterEntry(
                id=p.id,
                title=p.title,
                summary=p.summary,
                organisation=p.organisation,
                themes=p.themes,
                purpose=p.purpose,
                approved_at=p.decided_at,
                granted_epsilon=p.granted_epsilon,
                spent_epsilon=budget_state(s, p).spent,
                insights=_published(s, p.id, lang),
            )
            for p in rows
        ]
        return Register(data=data, count=len(data), lang=lang)


def _published(s: Session, project_id: int, lang: Lang) -> list[PublishedInsight]:
    rows = s.execute(
        select(ReleaseRecord)
        .where(ReleaseRecord.project_id == project_id, ReleaseRecord.published.is_(True))
        .order_by(ReleaseRecord.published_at.desc())
    ).scalars()
    return [
        PublishedInsight(
            id=row.id,
            title=(row.title_nl if lang == "nl" else row.title_en) or "",
            published_at=row.published_at or row.created_at,
        )
        for row in rows
    ]
