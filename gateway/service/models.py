"""The service's tables: people and tokens, projects, jobs, the budget ledger, releases, audit.

Values with a fixed vocabulary are Python enums stored as short strings, so a
new status needs no database type change. Times are aware UTC in Python and
naive UTC in the database, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gateway.db import METADATA
from gateway.service.status import State, StatusCode


class Base(DeclarativeBase):
    """The service's ORM models, declared on the metadata database's one ``METADATA``."""

    metadata = METADATA


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC in Python, naive UTC in the database; naive input is refused."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("store aware datetimes, e.g. datetime.now(datetime.UTC)")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


def _enum(kind: type[StrEnum]) -> Enum:
    return Enum(
        kind,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class Role(StrEnum):
    RESEARCHER = "researcher"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class ProjectStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


class JobKind(StrEnum):
    SQL = "sql"
    ANALYSIS = "analysis"


class LedgerKind(StrEnum):
    """``reserve`` holds ε and δ at submission; ``commit`` charges them; ``refund`` gives back."""

    RESERVE = "reserve"
    COMMIT = "commit"
    REFUND = "refund"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class ApiToken(Base):
    """Only the SHA-256 of a token is kept; the token itself is shown once, at issue."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), doc="first characters, to tell tokens apart")
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class Invitation(Base):
    """A one-time code an administrator hands a user, who redeems it for their own token.

    Only the code's SHA-256 is kept. Redeeming it once issues the token (``token_id``)
    and uses it up, so an administrator never holds a working token of someone else.
    """

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(100))
    label: Mapped[str] = mapped_column(String(100))
    token_days: Mapped[int] = mapped_column(Integer, doc="lifetime of the token it issues")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    redeemed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))


class WebSession(Base):
    """A signed-in browser. Only the SHA-256 of its cookie is kept; the cookie is no API token.

    A session is short: it ends at ``expires_at``, after ``settings.session_idle_minutes``
    unused, at sign-out, or when its user is disabled or the token it was opened with
    is revoked.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_id: Mapped[int] = mapped_column(
        ForeignKey("api_tokens.id"), index=True, doc="the token shown at sign-in"
    )
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, doc="last use, to the minute")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    organisation: Mapped[str | None] = mapped_column(
        String(200), doc="who does the research; null for projects proposed before it was asked"
    )
    themes: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(64))
    requested_epsilon: Mapped[float] = mapped_column(Float)
    granted_epsilon: Mapped[float | None] = mapped_column(
        Float, doc="ε granted in all: at approval, plus each top-up (``budget_grants``)"
    )
    granted_delta: Mapped[float | None] = mapped_column(
        Float, doc="δ granted at approval; the policy's default_project_delta unless less"
    )
    status: Mapped[ProjectStatus] = mapped_column(_enum(ProjectStatus), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    extract: Mapped[str | None] = mapped_column(
        String(1000), doc="path of the project's extract, set by an admin"
    )


class Job(Base):
    """A submitted SQL query or Python analysis and where it is in its life."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[JobKind] = mapped_column(_enum(JobKind))
    text: Mapped[str] = mapped_column(Text, doc="the SQL or the analysis source")
    bounds: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, doc="bounds the researcher fixed (FixedBounds); None: all chosen with DP"
    )
    template: Mapped[str | None] = mapped_column(String(100))
    dummy: Mapped[bool] = mapped_column(
        Boolean,
        default=False,
        server_default=false(),
        doc="runs on the policy's dummy extract: free, needs no reviewer, labelled dummy",
    )
    epsilon: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(
        Float,
        server_default="0",
        doc="δ held: the policy's per-query δ times the queries the job may release",
    )
    state: Mapped[State] = mapped_column(_enum(State), index=True)
    status: Mapped[StatusCode] = mapped_column(_enum(StatusCode), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    vet_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    review_reasons: Mapped[list[str]] = mapped_column(JSON)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(
        UtcDateTime, doc="first claim by a worker"
    )
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class BudgetEntry(Base):
    """One append-only line of a project's privacy-loss ledger; at most one per job and kind."""

    __tablename__ = "budget_ledger"
    __table_args__ = (UniqueConstraint("job_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    kind: Mapped[LedgerKind] = mapped_column(_enum(LedgerKind))
    epsilon: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float, server_default="0")
    rho: Mapped[float | None] = mapped_column(
        Float, doc="zCDP ρ of the charged releases that state one; None otherwise"
    )
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class BudgetGrant(Base):
    """One append-only line per top-up: ε a reviewer added to an approved project, and why."""

    __tablename__ = "budget_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    epsilon: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ReleaseRecord(Base):
    """A job's released result, and whether (and how) it is published to members.

    ``parts`` holds each DP release (already noised) with its name and ε;
    each carries the plan and extract hash that key it in the release store.
    """

    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    epsilon_charged: Mapped[float] = mapped_column(Float)
    delta_charged: Mapped[float] = mapped_column(Float, server_default="0")
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    output: Mapped[str | None] = mapped_column(Text, doc="what an analysis printed, without data")
    published: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title_nl: Mapped[str | None] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    text_nl: Mapped[str | None] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)


class AuditRecord(Base):
    """One line of the audit log (NEN 7513: who, in what role, did what to what, when, outcome).

    ``hash`` is SHA-256 over ``prev_hash`` and the record's canonical JSON, so
    altering, deleting or reordering any line breaks the chain.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, doc="canonical JSON, hashed as stored")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The last sequence number and hash: locked to append, and catches a truncated tail."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
