"""Builders for service tests: users, approved projects, jobs, releases, a stub executor."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.dp.release import ColumnBounds, Release
from gateway.errors import GatewayError
from gateway.extract.manifest import Manifest, manifest_path
from gateway.policy.model import Aggregation, Policy
from gateway.service.accounts import Principal, UserCreate, create_user
from gateway.service.audit import SYSTEM
from gateway.service.jobs import JobPublic, QueryCreate, submit_query
from gateway.service.models import Role
from gateway.service.projects import ProjectCreate, ProjectDecision, decide, propose
from gateway.service.queue import ClaimedJob, Outcome, Part

ANALYSIS = (Path(__file__).parents[2] / "analyses" / "theme_popularity.py").read_text()
"""A real analysis (one of the policy's templates): submissions vet its plan in a sandbox."""
COUNT_BY_THEME = "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme"
MEAN_VOTES = "SELECT theme, AVG(helpful_votes) AS votes FROM tips GROUP BY theme"
COUNTED = ColumnBounds(
    rows_per_group=50, groups=12, chosen=True, cut_share=0.03, cut_share_error=0.01, widened=True
)
"""How bounding treated the count ``n``: within the policy's tolerance."""
TOO_MUCH_CUT = COUNTED.model_copy(update={"cut_share": 0.2, "biased": True})
"""The same bounds cutting more than the policy tolerates: ``n`` is flagged biased."""


def user(settings: Settings, name: str, role: Role = Role.RESEARCHER) -> Principal:
    created = create_user(settings, SYSTEM, UserCreate(name=name, role=role))
    return Principal(id=created.id, name=created.name, role=created.role)


@dataclass(frozen=True)
class Cast:
    """A researcher with an approved project, and the reviewer who approved it."""

    researcher: Principal
    reviewer: Principal
    project_id: int


def approved_project(
    settings: Settings,
    policy: Policy,
    *,
    epsilon: float = 2.0,
    delta: float | None = None,
    suffix: str = "",
    purpose: str = "mission",
) -> Cast:
    researcher = user(settings, f"researcher{suffix}")
    reviewer = user(settings, f"reviewer{suffix}", Role.REVIEWER)
    project = propose(settings, researcher, project_create(epsilon, purpose=purpose), policy)
    decide(
        settings,
        reviewer,
        project.id,
        ProjectDecision(
            approve=True, note="fits the mission", granted_epsilon=epsilon, granted_delta=delta
        ),
        policy,
    )
    return Cast(researcher, reviewer, project.id)


def project_create(
    epsilon: float = 2.0, themes: tuple[str, ...] = ("sleep",), purpose: str = "mission"
) -> ProjectCreate:
    return ProjectCreate(
        title="Sleep tips over the year",
        summary="Which sleep tips members find helpful, by season and age band.",
        organisation="Radboud University",
        themes=list(themes),
        purpose=purpose,
        requested_epsilon=epsilon,
    )


def submit(settings: Settings, policy: Policy, cast: Cast, epsilon: float = 0.5) -> JobPublic:
    return submit_query(
        settings,
        cast.researcher,
        QueryCreate(project_id=cast.project_id, sql=COUNT_BY_THEME, epsilon=epsilon),
        policy,
    )


def release(
    epsilon: float,
    *,
    from_store: bool = False,
    created_at: dt.datetime | None = None,
    dummy: bool = False,
    bounds: dict[str, ColumnBounds] | None = None,
) -> Release:
    """A release as the DP engine shapes it; the numbers are placeholders, never read as data."""
    return Release(
        bounds=bounds or {},
        columns=["theme", "n"],
        rows=[["sleep", 120.0], ["stress", 80.0]],
        ci=[[None, (100.0, 140.0)], [None, (60.0, 100.0)]],
        epsilon=epsilon,
        epsilon_spent=0.0 if from_store else epsilon,
        delta=1e-7,
        suppressed_groups=0,
        mechanism="laplace",
        plan_hash="p" * 64,
        extract_hash="e" * 64,
        created_at=created_at or dt.datetime.now(dt.UTC),
        from_store=from_store,
        dummy=dummy,
    )


def manifest_only(
    extract: Path, project: str, *, dummy: bool = False, purpose: str = "mission"
) -> Path:
    """A manifest naming ``project`` beside ``extract``, with no extract: enough to be set."""
    now = dt.datetime.now(dt.UTC)
    manifest = Manifest(
        project=project,
        purpose=purpose,
        policy_name="health_thing",
        policy_hash="h" * 64,
        source_snapshot_at=now,
        built_at=now,
        expires_at=now + dt.timedelta(days=30),
        row_counts={},
        excluded={},
        content_hash="c" * 64,
        key_id="",
        dummy=dummy,
    )
    manifest_path(extract).write_text(manifest.model_dump_json(), encoding="utf-8")
    return extract


@dataclass
class StubExecutor:
    """Records each job it is asked to run; answers from ``releases`` or raises ``fail``."""

    fail: BaseException | None = None
    releases: list[Release] = field(default_factory=list)
    calls: list[ClaimedJob] = field(default_factory=list)
    table: str | None = "tips"
    aggregates: dict[str, Aggregation] = field(default_factory=lambda: {"n": Aggregation.COUNT})
    sources: dict[str, str] = field(default_factory=lambda: {"theme": "theme"})

    def run(self, job: ClaimedJob) -> Outcome:
        self.calls.append(job)
        if self.fail is not None:
            raise self.fail
        made = self.releases.pop(0) if self.releases else release(job.epsilon)
        part = Part(
            name="query",
            epsilon=job.epsilon,
            sql=job.text,
            table=self.table,
            aggregates=self.aggregates,
            sources=self.sources,
            release=made,
        )
        return Outcome(parts=[part])


def refused(error: GatewayError) -> StubExecutor:
    return StubExecutor(fail=error)


def queued(settings: Settings, policy: Policy, cast: Cast, epsilon: float = 0.5) -> JobPublic:
    """A submitted SQL job waiting for a worker (approved by the project's reviewer first
    when the policy has reviewers approve queries)."""
    from gateway.service.jobs import ReviewDecision, review
    from gateway.service.status import StatusCode

    job = submit(settings, policy, cast, epsilon)
    if job.status is StatusCode.AWAITING_REVIEW:
        return review(settings, cast.reviewer, job.id, ReviewDecision(approve=True, note="fine"))
    return job


def reviewing(policy: Policy) -> Policy:
    """``policy`` with a reviewer approving every SQL query and analysis before it runs."""
    from gateway.policy.model import Review

    return policy.model_copy(update={"review": Review(sql="always", analyses="always")})


def tamper(settings: Settings, *statements: str) -> None:
    """Change the database behind the service's back, as someone with its password could."""
    from sqlalchemy import text

    from gateway.db import migrate

    engine = migrate(settings)
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            for table in ("audit_log", "budget_ledger"):
                for event in ("update", "delete"):
                    connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{event}"))
        else:
            for table in ("audit_log", "budget_ledger"):
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        for statement in statements:
            connection.execute(text(statement))


@dataclass(frozen=True)
class Api:
    """A test client over a fresh service, with a signed-up user per role."""

    client: TestClient
    settings: Settings
    policy: Policy
    people: dict[str, Principal]
    tokens: dict[str, str]

    def as_(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def make_api(settings: Settings, policy: Policy) -> Api:
    from gateway.service.accounts import issue_token
    from gateway.service.app import create_app

    people = {
        "ann": user(settings, "ann"),
        "rita": user(settings, "rita", Role.REVIEWER),
        "adam": user(settings, "adam", Role.ADMIN),
        "bob": user(settings, "bob"),
    }
    tokens = {name: issue_token(settings, SYSTEM, who.id).token for name, who in people.items()}
    client = TestClient(create_app(settings, policy))
    return Api(client, settings, policy, people, tokens)


SITE = "http://testserver"
"""The test client's own origin: what a browser on the gateway's pages sends as ``Origin``."""


def signed_in(api: Api, name: str) -> TestClient:
    """A browser that signed in with ``name``'s token on the login page, as a browser does:
    its forms carry the site's ``Origin`` and its session cookie."""
    browser = TestClient(api.client.app, headers={"Origin": SITE})
    response = browser.post("/login", data={"token": api.tokens[name]}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return browser


PROPOSAL = {
    "title": "Sleep tips over the year",
    "summary": "Which sleep tips members find helpful, by season and age band.",
    "organisation": "Radboud University",
    "themes": ["sleep", "stress"],
    "purpose": "mission",
    "requested_epsilon": 3.0,
}


def approved_over_http(api: Api, owner: str = "ann") -> int:
    created = api.client.post("/api/projects", json=PROPOSAL, headers=api.as_(owner))
    assert created.status_code == 201, created.text
    project_id: int = created.json()["id"]
    decided = api.client.post(
        f"/api/projects/{project_id}/decision",
        json={"approve": True, "note": "serves the sleep theme"},
        headers=api.as_("rita"),
    )
    assert decided.status_code == 200, decided.text
    return project_id


def queued_over_http(api: Api, project_id: int, sql: str = COUNT_BY_THEME) -> int:
    """A query of ann's at ε = 0.5, which the policy runs at once: its job id, queued."""
    job = api.client.post(
        "/api/queries",
        json={"project_id": project_id, "sql": sql, "epsilon": 0.5},
        headers=api.as_("ann"),
    ).json()
    assert job["status"] == "queued", job
    job_id: int = job["id"]
    return job_id
