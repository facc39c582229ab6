"""``seed_demo``: a service with something in it, for ``gateway demo``.

Three users (researcher, reviewer, admin) with tokens, an approved project
with its own extract, one query run through the worker's executor and its
release published in Dutch and English. Every step goes through the same
functions the API uses, so the audit log tells the story too. The extract is
built once the project exists, since it must name the project it is for.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import select

from gateway.config import Settings
from gateway.db import migrate, session
from gateway.errors import ConflictError, GatewayError
from gateway.policy.model import Policy
from gateway.service import accounts, jobs, projects, releases
from gateway.service.accounts import Principal, UserCreate
from gateway.service.audit import SYSTEM
from gateway.service.caveats import CaveatCode
from gateway.service.jobs import QueryCreate, ReviewDecision
from gateway.service.models import Project, Role, User
from gateway.service.projects import ProjectCreate, ProjectDecision
from gateway.service.releases import PublishRequest
from gateway.service.status import StatusCode
from gateway.service.worker import Executor, run_one

DEMO_QUERY = "SELECT theme, COUNT(*) AS tips FROM tips GROUP BY theme"
DEMO_EPSILON = 0.5
NAMES = {
    Role.RESEARCHER: "demo-researcher",
    Role.REVIEWER: "demo-reviewer",
    Role.ADMIN: "demo-admin",
}


class DemoSeed(BaseModel):
    """What the demo prints: each token (shown only now) and where to look."""

    tokens: dict[Role, str]
    users: dict[Role, str]
    project_id: int
    job_id: int
    release_id: int


ExtractFor = Callable[[str], Path]
"""Builds the demo project's extract for the ``--project`` id it is given; returns its path."""


def seed_demo(
    settings: Settings,
    policy: Policy,
    extract_for: ExtractFor,
    *,
    executor: Executor | None = None,
) -> DemoSeed:
    """Seed an empty metadata database; ``executor`` defaults to the real pipeline.

    ``extract_for`` must give a real extract (``gateway extract build``), kept
    away from the key directory: a release computed on dummy data is never
    published.
    """
    from gateway.service.execute import PipelineExecutor

    migrate(settings)
    with session(settings) as s:
        if s.execute(select(User.id).where(User.name.in_(NAMES.values()))).first():
            raise ConflictError(
                "demo_seeded",
                "this data directory already holds the demo",
                hint="use a fresh GATEWAY_DATA_DIR, or `gateway user token demo-researcher`",
            )
    people = {role: _user(settings, name, role) for role, name in NAMES.items()}
    tokens = {
        role: accounts.issue_token(settings, SYSTEM, who.id, "demo").token
        for role, who in people.items()
    }
    researcher, reviewer = people[Role.RESEARCHER], people[Role.REVIEWER]
    project = projects.propose(
        settings,
        researcher,
        ProjectCreate(
            title="Which themes members share tips on",
            summary="How members' tips spread over the learning themes, to plan "
            "which themes the platform should support first.",
            organisation="Health-Thing",
            themes=list(projects.learning_themes(policy)[:3]),
            requested_epsilon=5.0,
        ),
        policy,
    )
    projects.decide(
        settings,
        reviewer,
        project.id,
        ProjectDecision(approve=True, note="serves the mission"),
        policy,
    )
    extract = extract_for(projects.extract_project_id(project.id))
    projects.set_extract(settings, people[Role.ADMIN].actor, project.id, extract)
    job = jobs.submit_query(
        settings,
        researcher,
        QueryCreate(project_id=project.id, sql=DEMO_QUERY, epsilon=DEMO_EPSILON),
        policy,
    )
    if job.status is StatusCode.AWAITING_REVIEW:
        jobs.review(settings, reviewer, job.id, ReviewDecision(approve=True, note="aggregate only"))
    run_one(settings, executor or PipelineExecutor(settings, policy), "demo")
    done = jobs.job_public(settings, researcher, job.id)
    if done.release_id is None:
        raise GatewayError(
            "demo_query_failed",
            f"the demo query ended as {done.status.value}: {done.message}",
            hint="see `gateway worker` logs; the extract and sandbox must work",
        )
    releases.publish(
        settings,
        reviewer,
        done.release_id,
        PublishRequest(
            title_nl="Over welke thema's leden tips delen",
            title_en="Which themes members share tips on",
            text_nl="Het aantal tips per leerthema, met ruis beschermd zodat niemand "
            "herleidbaar is. De strepen tonen het 95%-betrouwbaarheidsinterval.",
            text_en="The number of tips per learning theme, protected with noise so that "
            "no one can be traced. The whiskers show the 95% confidence interval.",
            # The demo's example insight is published as it comes out; members read
            # beside each number what its caveats mean.
            acknowledged=list(CaveatCode),
        ),
        policy,
    )
    return DemoSeed(
        tokens=tokens,
        users={role: who.name for role, who in people.items()},
        project_id=project.id,
        job_id=job.id,
        release_id=done.release_id,
    )


def demo_project_id(settings: Settings) -> int | None:
    """The seeded demo project's id; None before the demo is seeded."""
    migrate(settings)
    with session(settings) as s:
        return s.execute(
            select(Project.id)
            .join(User, User.id == Project.owner_id)
            .where(User.name == NAMES[Role.RESEARCHER])
            .order_by(Project.id)
            .limit(1)
        ).scalar_one_or_none()


def _user(settings: Settings, name: str, role: Role) -> Principal:
    created = accounts.create_user(settings, SYSTEM, UserCreate(name=name, role=role))
    return Principal(id=created.id, name=created.name, role=created.role)
