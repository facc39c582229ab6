"""Invitations: how a user other than the administrator gets a token.

An administrator issues tokens for themselves only. For anyone else they
make an invitation: a one-time code (``gwi_`` + 256 random bits, only its
SHA-256 kept) valid ``INVITATION_DAYS``, which the user redeems for their own
token. The token is shown to the user alone; a code that was used, expired
or never existed is refused with the same answer, and a second redemption
of one code never succeeds, even when two race.
"""

from __future__ import annotations

import datetime as dt
import secrets

from pydantic import BaseModel, Field
from sqlalchemy import select, update

from gateway.config import Settings
from gateway.errors import AuthError
from gateway.service import audit
from gateway.service.accounts import (
    IssuedToken,
    TokenCreate,
    get_user,
    mint_token,
    token_days,
    token_hash,
)
from gateway.service.audit import Actor
from gateway.service.models import Invitation, User, utcnow
from gateway.service.transaction import transaction

CODE_PREFIX = "gwi_"
INVITATION_DAYS = 7


class IssuedInvitation(BaseModel):
    """The one time a code is shown; hand it to ``user``, who redeems it for a token."""

    id: int
    user: str
    code: str
    expires_at: dt.datetime
    token_days: int


class Redemption(BaseModel):
    code: str = Field(min_length=1, max_length=200, description="the invitation's code")


def invite(settings: Settings, actor: Actor, user_id: int, data: TokenCreate) -> IssuedInvitation:
    """A one-time code for ``user_id``'s token, valid ``INVITATION_DAYS``."""
    days = token_days(settings, data.days)
    code = CODE_PREFIX + secrets.token_urlsafe(32)
    with transaction(settings) as s:
        user = get_user(s, user_id)
        now = utcnow()
        row = Invitation(
            user_id=user.id,
            code_hash=token_hash(code),
            created_by=actor.name,
            label=data.label,
            token_days=days,
            created_at=now,
            expires_at=now + dt.timedelta(days=INVITATION_DAYS),
        )
        s.add(row)
        s.flush()
        audit.record(s, actor, "invitation.create", "invitation", row.id, user=user.name)
        return IssuedInvitation(
            id=row.id, user=user.name, code=code, expires_at=row.expires_at, token_days=days
        )


def redeem(settings: Settings, code: str, *, record_refusal: bool = True) -> IssuedToken:
    """The invited user's new token; the code is used up by this call.

    A refusal is audited when ``record_refusal`` (``throttle`` asks for the first of a burst).
    """
    now = utcnow()
    with transaction(settings) as s:
        found = s.execute(
            select(Invitation, User)
            .join(User, User.id == Invitation.user_id)
            .where(Invitation.code_hash == token_hash(code))
        ).first()
        if found is not None and found[0].redeemed_at is None and found[0].expires_at > now:
            row, user = found
            taken = s.execute(
                update(Invitation)
                .where(Invitation.id == row.id, Invitation.redeemed_at.is_(None))
                .values(redeemed_at=now)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                invitee = Actor(user.name, user.role.value)
                issued = mint_token(s, invitee, user, row.label, row.token_days)
                row.token_id = issued.id
                audit.record(s, invitee, "invitation.redeem", "invitation", row.id, token=issued.id)
                return issued
        refused = None if found is None else found[0].id
    if record_refusal:
        _record_refusal(settings, refused)
    raise AuthError(
        "invitation_invalid",
        "this invitation is unknown, used or expired",
        hint="ask an administrator for a new invitation",
    )


def _record_refusal(settings: Settings, invitation_id: int | None) -> None:
    with transaction(settings) as s:
        audit.record(
            s,
            Actor("unknown", "none"),
            "invitation.redeem",
            "invitation",
            invitation_id,
            outcome="denied",
        )
