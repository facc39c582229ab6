"""Browser sessions: what a page's cookie stands for, apart from any API token.

Signing in on the login page checks an API token once and opens a session:
256 random bits in an HttpOnly, SameSite=Strict cookie, of which only the
SHA-256 is stored. The cookie opens pages only (the API reads no cookie), a
session ends ``settings.session_hours`` after sign-in or after
``settings.session_idle_minutes`` unused, and it is revoked at sign-out, when
its user is disabled and when the token it was opened with is revoked.
Sign-in, sign-out and revocations are audited; a stale cookie is not (it
costs the server no write).
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.db import session
from gateway.errors import AuthError
from gateway.service import audit
from gateway.service.accounts import Principal, token_hash
from gateway.service.audit import Actor
from gateway.service.models import User, WebSession, utcnow
from gateway.service.transaction import transaction

SEEN_EVERY = dt.timedelta(minutes=1)
"""``seen_at`` is written at most this often, so reading pages costs few writes."""


def sign_in(settings: Settings, user: Principal, *, client: str | None = None) -> str:
    """Open a session for ``user``, who has just shown a valid token; returns its cookie value."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    assert user.token_id is not None
    with transaction(settings) as s:
        row = WebSession(
            user_id=user.id,
            token_id=user.token_id,
            secret_hash=token_hash(secret),
            created_at=now,
            expires_at=now + dt.timedelta(hours=settings.session_hours),
            seen_at=now,
        )
        s.add(row)
        s.flush()
        audit.record(
            s, user.actor, "auth.signin", "session", row.id, token=user.token_id, client=client
        )
    return secret


def sign_out(settings: Settings, secret: str | None) -> None:
    """End the session behind ``secret``, if it is still open."""
    if not secret:
        return
    with transaction(settings) as s:
        found = _find(s, secret)
        if found is None or found[0].revoked_at is not None:
            return
        row, user = found
        row.revoked_at = utcnow()
        audit.record(s, Actor(user.name, user.role.value), "auth.signout", "session", row.id)


def resume(settings: Settings, secret: str | None) -> Principal:
    """The user of an open session, or ``AuthError`` saying why it is not one."""
    if not secret:
        raise AuthError("session_missing", "this page needs you to sign in", hint=_SIGN_IN)
    now = utcnow()
    with session(settings) as s:
        found = _find(s, secret)
        if found is None:
            raise AuthError("session_unknown", "this sign-in is not known", hint=_SIGN_IN)
        row, user = found
        idle_until = row.seen_at + dt.timedelta(minutes=settings.session_idle_minutes)
        if row.revoked_at is not None or user.disabled_at is not None:
            raise AuthError("session_ended", "this sign-in has ended", hint=_SIGN_IN)
        if row.expires_at <= now or idle_until <= now:
            raise AuthError("session_expired", "this sign-in has expired", hint=_SIGN_IN)
        principal = Principal(id=user.id, name=user.name, role=user.role)
        if now - row.seen_at >= SEEN_EVERY:
            row.seen_at = now
            s.commit()
        return principal


def peek(settings: Settings, secret: str | None) -> Principal | None:
    """Who an open session belongs to, else None; for pages anyone may see."""
    try:
        return resume(settings, secret)
    except AuthError:
        return None


def _find(s: Session, secret: str) -> tuple[WebSession, User] | None:
    found = s.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.secret_hash == token_hash(secret))
    ).first()
    return None if found is None else (found[0], found[1])


_SIGN_IN = "sign in again on the login page"
