"""People and their API tokens.

A token is 256 random bits (``gw_`` + URL-safe base64), shown once when it is
issued; only its SHA-256 is stored, so a copy of the database gives no way
in. Tokens expire, can be revoked, and stop working when their user is
disabled (and so do the browser sessions opened with them). A refused
token is written to the audit log, once per burst of failures (``throttle``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from pydantic import BaseModel, Field, StrictInt
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.db import session
from gateway.errors import AuthError, ConflictError, ForbiddenError, NotFoundError, ServiceError
from gateway.service import audit
from gateway.service.audit import Actor
from gateway.service.models import ApiToken, Role, User, WebSession, utcnow
from gateway.service.transaction import transaction

TOKEN_PREFIX = "gw_"  # noqa: S105 (a marker, not a secret)
USER_NAME = r"^[a-z0-9][a-z0-9._-]{1,63}$"


@dataclass(frozen=True)
class Principal:
    """The user a request acts for, as its token says."""

    id: int
    name: str
    role: Role
    token_id: int | None = None
    """The API token the request came with; None for a page's session."""

    @property
    def actor(self) -> Actor:
        return Actor(self.name, self.role.value)


class UserCreate(BaseModel):
    name: str = Field(pattern=USER_NAME, description="lower-case login name")
    role: Role


class UserPublic(BaseModel):
    id: int
    name: str
    role: Role
    created_at: dt.datetime
    disabled: bool


class TokenCreate(BaseModel):
    """A token to issue: what it is for, and how long it lives."""

    label: str = Field(default="", max_length=100, description="what the token is for")
    days: StrictInt | None = Field(
        default=None,
        ge=1,
        description="lifetime in days; default GATEWAY_TOKEN_DAYS, at most GATEWAY_TOKEN_MAX_DAYS",
    )


class IssuedToken(BaseModel):
    """The one time a token is shown: keep ``token``, the gateway keeps only its hash."""

    id: int
    user: str
    token: str
    prefix: str
    expires_at: dt.datetime


class TokenPublic(BaseModel):
    id: int
    user: str
    prefix: str
    label: str
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked: bool
    expired: bool


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        name=user.name,
        role=user.role,
        created_at=user.created_at,
        disabled=user.disabled_at is not None,
    )


def create_user(settings: Settings, actor: Actor, data: UserCreate) -> UserPublic:
    with transaction(settings) as s:
        if s.execute(select(User.id).where(User.name == data.name)).first():
            raise ConflictError(
                "user_exists", f"a user named {data.name!r} exists", hint="choose another name"
            )
        user = User(name=data.name, role=data.role, created_at=utcnow())
        s.add(user)
        s.flush()
        audit.record(s, actor, "user.create", "user", user.id, name=user.name, role=user.role)
        return user_public(user)


def list_users(settings: Settings) -> list[UserPublic]:
    with session(settings) as s:
        return [user_public(u) for u in s.execute(select(User).order_by(User.id)).scalars()]


def get_user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise NotFoundError("user_not_found", f"no user {user_id}", hint="list users first")
    return user


def user_by_name(settings: Settings, name: str) -> UserPublic:
    with session(settings) as s:
        user = s.execute(select(User).where(User.name == name)).scalar_one_or_none()
        if user is None:
            raise NotFoundError(
                "user_not_found",
                f"no user named {name!r}",
                hint="create it with `gateway user add`",
            )
        return user_public(user)


def disable_user(settings: Settings, actor: Actor, user_id: int) -> UserPublic:
    """Disable a user and revoke every token and session they hold; never oneself, never the
    last admin."""
    with transaction(settings) as s:
        user = get_user(s, user_id)
        if actor.role == Role.ADMIN.value and actor.name == user.name:
            raise ForbiddenError(
                "disable_self",
                "you cannot disable yourself",
                hint="another administrator can, or revoke your own tokens",
            )
        if user.role is Role.ADMIN and user.disabled_at is None:
            admins = s.execute(
                select(User.id)
                .where(User.role == Role.ADMIN, User.disabled_at.is_(None))
                .with_for_update()
            ).all()
            if len(admins) <= 1:
                raise ConflictError(
                    "last_admin",
                    f"{user.name!r} is the last administrator",
                    hint="add another administrator first",
                )
        now = utcnow()
        user.disabled_at = user.disabled_at or now
        s.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        ended = revoke_sessions(s, WebSession.user_id == user_id)
        audit.record(s, actor, "user.disable", "user", user_id, sessions_revoked=ended)
        return user_public(user)


def issue_token(
    settings: Settings, actor: Actor, user_id: int, label: str = "", days: int | None = None
) -> IssuedToken:
    """A new token for ``user_id``, valid ``days`` (default: ``settings.token_days``)."""
    days = token_days(settings, days)
    with transaction(settings) as s:
        return mint_token(s, actor, get_user(s, user_id), label, days)


def token_days(settings: Settings, days: int | None) -> int:
    """``days``, or the default lifetime; refused past ``settings.token_max_days``."""
    days = settings.token_days if days is None else days
    if not 1 <= days <= settings.token_max_days:
        raise ServiceError(
            "token_days_out_of_range",
            f"a token may live 1 to {settings.token_max_days} days, not {days}",
            hint="ask for fewer days; GATEWAY_TOKEN_MAX_DAYS sets the longest",
        )
    return days


def mint_token(s: Session, actor: Actor, user: User, label: str, days: int) -> IssuedToken:
    """A token for ``user`` in the caller's transaction, audited; shown in this answer only."""
    if user.disabled_at is not None:
        raise ConflictError(
            "user_disabled", f"user {user.name!r} is disabled", hint="create a new user"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiToken(
        user_id=user.id,
        token_hash=token_hash(token),
        prefix=token[:10],
        label=label,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    s.add(row)
    s.flush()
    audit.record(s, actor, "token.issue", "token", row.id, user=user.name, prefix=row.prefix)
    return IssuedToken(
        id=row.id, user=user.name, token=token, prefix=row.prefix, expires_at=row.expires_at
    )


def list_tokens(settings: Settings) -> list[TokenPublic]:
    now = utcnow()
    with session(settings) as s:
        rows = s.execute(
            select(ApiToken, User.name)
            .join(User, User.id == ApiToken.user_id)
            .order_by(ApiToken.id)
        ).all()
        return [
            TokenPublic(
                id=t.id,
                user=name,
                prefix=t.prefix,
                label=t.label,
                created_at=t.created_at,
                expires_at=t.expires_at,
                revoked=t.revoked_at is not None,
                expired=t.expires_at <= now,
            )
            for t, name in rows
        ]


def revoke_token(settings: Settings, actor: Actor, token_id: int) -> None:
    with transaction(settings) as s:
        row = s.get(ApiToken, token_id)
        if row is None:
            raise NotFoundError("token_not_found", f"no token {token_id}", hint="list tokens first")
        row.revoked_at = row.revoked_at or utcnow()
        ended = revoke_sessions(s, WebSession.token_id == token_id)
        audit.record(
            s, actor, "token.revoke", "token", token_id, prefix=row.prefix, sessions_revoked=ended
        )


def revoke_sessions(s: Session, which: ColumnElement[bool]) -> int:
    """End the open browser sessions ``which`` selects, in the caller's transaction."""
    ended = s.execute(
        update(WebSession).where(which, WebSession.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    return int(ended.rowcount)  # type: ignore[attr-defined]


def authenticate(
    settings: Settings, token: str | None, *, record_refusal: bool = True
) -> Principal:
    """The user behind ``token``, or ``AuthError`` saying exactly why not.

    A refusal is audited when ``record_refusal`` (``throttle`` asks for the first of a burst).
    """
    if not token:
        raise AuthError(
            "token_missing",
            "this needs an API token",
            hint="send `Authorization: Bearer <token>`, or sign in on the login page",
        )
    found = _lookup(settings, token)
    refusal = _refusal(found)
    if refusal is None:
        assert found is not None
        row, user = found
        return Principal(id=user.id, name=user.name, role=user.role, token_id=row.id)
    if not record_refusal:
        raise refusal
    with transaction(settings) as s:
        audit.record(
            s,
            Actor(found[1].name, found[1].role.value) if found else Actor("unknown", "none"),
            "auth.token",
            "token",
            found[0].id if found else None,
            outcome="denied",
            reason=refusal.code,
        )
    raise refusal


def _lookup(settings: Settings, token: str) -> tuple[ApiToken, User] | None:
    with session(settings) as s:
        row = s.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash(token))
        ).first()
        return None if row is None else (row[0], row[1])


def _refusal(found: tuple[ApiToken, User] | None) -> AuthError | None:
    if found is None:
        return AuthError("token_unknown", "the API token is not valid", hint=_ASK_ADMIN)
    token, user = found
    if token.revoked_at is not None:
        return AuthError("token_revoked", "the API token has been revoked", hint=_ASK_ADMIN)
    if token.expires_at <= utcnow():
        return AuthError(
            "token_expired",
            f"the API token expired at {token.expires_at:%Y-%m-%d %H:%M} UTC",
            hint=_ASK_ADMIN,
        )
    if user.disabled_at is not None:
        return AuthError("user_disabled", "this user has been disabled", hint=_ASK_ADMIN)
    return None


_ASK_ADMIN = "ask an administrator for a new token"
