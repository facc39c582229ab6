"""Who you are (everyone) and who may do what (administrators): users, tokens, invitations.

An administrator issues tokens for themselves only; anyone else gets a
one-time invitation and redeems it for a token nobody else has seen.
Nobody disables themselves, and the last administrator is never disabled.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel

from gateway.errors import ForbiddenError
from gateway.service import accounts, invitations
from gateway.service.accounts import IssuedToken, TokenCreate, TokenPublic, UserCreate, UserPublic
from gateway.service.deps import CurrentAdmin, CurrentUser, SettingsDep, redeem_invitation
from gateway.service.inputs import PathId
from gateway.service.invitations import IssuedInvitation, Redemption
from gateway.service.models import Role

router = APIRouter(prefix="/api", tags=["users"])


class Me(BaseModel):
    id: int
    name: str
    role: Role


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int


class TokensPublic(BaseModel):
    data: list[TokenPublic]
    count: int


@router.get("/me")
def me(who: CurrentUser) -> Me:
    return Me(id=who.id, name=who.name, role=who.role)


@router.get("/users")
def list_users(who: CurrentAdmin, settings: SettingsDep) -> UsersPublic:
    data = accounts.list_users(settings)
    return UsersPublic(data=data, count=len(data))


@router.post("/users", status_code=201)
def create_user(data: UserCreate, who: CurrentAdmin, settings: SettingsDep) -> UserPublic:
    return accounts.create_user(settings, who.actor, data)


@router.post("/users/{user_id}/disable")
def disable_user(user_id: PathId, who: CurrentAdmin, settings: SettingsDep) -> UserPublic:
    """Disable a user; every token and session they hold stops working at once."""
    return accounts.disable_user(settings, who.actor, user_id)


@router.post("/users/{user_id}/tokens", status_code=201)
def issue_token(
    user_id: PathId,
    who: CurrentAdmin,
    settings: SettingsDep,
    data: Annotated[TokenCreate | None, Body()] = None,
) -> IssuedToken:
    """A new token for yourself; this response is the only time it is shown."""
    if user_id != who.id:
        raise ForbiddenError(
            "token_for_other_user",
            "an administrator issues tokens for themselves only",
            hint=f"invite the user instead: POST /api/users/{user_id}/invitations",
        )
    data = data or TokenCreate()
    return accounts.issue_token(settings, who.actor, user_id, data.label, data.days)


@router.post("/users/{user_id}/invitations", status_code=201)
def invite(
    user_id: PathId,
    who: CurrentAdmin,
    settings: SettingsDep,
    data: Annotated[TokenCreate | None, Body()] = None,
) -> IssuedInvitation:
    """A one-time code the user redeems for their own token (this answer shows it once)."""
    return invitations.invite(settings, who.actor, user_id, data or TokenCreate())


@router.post("/invitations/redeem", status_code=201)
def redeem(data: Redemption, request: Request, settings: SettingsDep) -> IssuedToken:
    """Your token, for the code an administrator gave you; the code is then used up."""
    return redeem_invitation(request, settings, data.code)


@router.get("/tokens")
def list_tokens(who: CurrentAdmin, settings: SettingsDep) -> TokensPublic:
    data = accounts.list_tokens(settings)
    return TokensPublic(data=data, count=len(data))


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: PathId, who: CurrentAdmin, settings: SettingsDep) -> None:
    accounts.revoke_token(settings, who.actor, token_id)
