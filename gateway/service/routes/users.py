"""Who you are (everyone) and who may do what (administrators): users and tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field, StrictInt

from gateway.service import accounts
from gateway.service.accounts import IssuedToken, TokenPublic, UserCreate, UserPublic
from gateway.service.deps import CurrentAdmin, CurrentUser, SettingsDep
from gateway.service.inputs import PathId
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


class TokenCreate(BaseModel):
    label: str = Field(default="", max_length=100, description="what the token is for")
    days: StrictInt | None = Field(
        default=None,
        ge=1,
        description="lifetime in days; default GATEWAY_TOKEN_DAYS, at most GATEWAY_TOKEN_MAX_DAYS",
    )


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
    """Disable a user; every token they hold stops working at once."""
    return accounts.disable_user(settings, who.actor, user_id)


@router.post("/users/{user_id}/tokens", status_code=201)
def issue_token(
    user_id: PathId,
    who: CurrentAdmin,
    settings: SettingsDep,
    data: Annotated[TokenCreate | None, Body()] = None,
) -> IssuedToken:
    """A new token; this response is the only time it is shown."""
    data = data or TokenCreate()
    return accounts.issue_token(settings, who.actor, user_id, data.label, data.days)


@router.get("/tokens")
def list_tokens(who: CurrentAdmin, settings: SettingsDep) -> TokensPublic:
    data = accounts.list_tokens(settings)
    return TokensPublic(data=data, count=len(data))


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: PathId, who: CurrentAdmin, settings: SettingsDep) -> None:
    accounts.revoke_token(settings, who.actor, token_id)
