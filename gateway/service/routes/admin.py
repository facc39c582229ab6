"""The administrator's pages: users, tokens, and each project's extract with its freshness.

Each page has its JSON twin; each change is the same service call (and audit record) as
the API's, posted by a form of this site.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from gateway.service import accounts, invitations, projects
from gateway.service.accounts import (
    IssuedToken,
    TokenCreate,
    TokenPublic,
    UserCreate,
    UserPublic,
)
from gateway.service.deps import CurrentAdmin, SameOrigin, SettingsDep
from gateway.service.inputs import PathId
from gateway.service.invitations import IssuedInvitation
from gateway.service.models import Role
from gateway.service.projects import ExtractUpdate, ProjectExtract
from gateway.web import render

router = APIRouter(prefix="/admin", include_in_schema=False)


class UsersPage(BaseModel):
    users: list[UserPublic]
    roles: list[Role]


class TokensPage(BaseModel):
    tokens: list[TokenPublic]


class IssuedPage(BaseModel):
    """The one time a secret is shown: your own new token, or another user's invitation code."""

    token: IssuedToken | None = None
    invitation: IssuedInvitation | None = None


class ExtractsPage(BaseModel):
    extracts: list[ProjectExtract]


@router.get("/users")
@router.get("/users.json")
def users_page(request: Request, who: CurrentAdmin, settings: SettingsDep) -> Response:
    data = UsersPage(users=accounts.list_users(settings), roles=list(Role))
    return render(request, "admin_users.html", data)


@router.post("/users", dependencies=[SameOrigin])
def add_user(
    request: Request,
    who: CurrentAdmin,
    settings: SettingsDep,
    data: Annotated[UserCreate, Form()],
) -> Response:
    """Add a user and show, once, the invitation they redeem for their own token."""
    user = accounts.create_user(settings, who.actor, data)
    invitation = invitations.invite(settings, who.actor, user.id, TokenCreate(label="first token"))
    return render(request, "admin_issued.html", IssuedPage(invitation=invitation), status=201)


@router.post("/users/{user_id:int}/disable", dependencies=[SameOrigin])
def disable_user(user_id: PathId, who: CurrentAdmin, settings: SettingsDep) -> Response:
    accounts.disable_user(settings, who.actor, user_id)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id:int}/tokens", dependencies=[SameOrigin])
def issue_token(
    user_id: PathId,
    request: Request,
    who: CurrentAdmin,
    settings: SettingsDep,
    data: Annotated[TokenCreate, Form()],
) -> Response:
    """Your own new token; anyone else gets an invitation (an admin never sees their token)."""
    if user_id == who.id:
        token = accounts.issue_token(settings, who.actor, user_id, data.label, data.days)
        return render(request, "admin_issued.html", IssuedPage(token=token), status=201)
    invitation = invitations.invite(settings, who.actor, user_id, data)
    return render(request, "admin_issued.html", IssuedPage(invitation=invitation), status=201)


@router.get("/tokens")
@router.get("/tokens.json")
def tokens_page(request: Request, who: CurrentAdmin, settings: SettingsDep) -> Response:
    return render(request, "admin_tokens.html", TokensPage(tokens=accounts.list_tokens(settings)))


@router.post("/tokens/{token_id:int}/revoke", dependencies=[SameOrigin])
def revoke_token(token_id: PathId, who: CurrentAdmin, settings: SettingsDep) -> Response:
    accounts.revoke_token(settings, who.actor, token_id)
    return RedirectResponse("/admin/tokens", status_code=303)


@router.get("/extracts")
@router.get("/extracts.json")
def extracts_page(request: Request, who: CurrentAdmin, settings: SettingsDep) -> Response:
    data = ExtractsPage(extracts=projects.extract_overview(settings))
    return render(request, "admin_extracts.html", data)


@router.post("/projects/{project_id:int}/extract", dependencies=[SameOrigin])
def set_extract(
    project_id: PathId,
    who: CurrentAdmin,
    settings: SettingsDep,
    data: Annotated[ExtractUpdate, Form()],
) -> Response:
    projects.set_extract(settings, who.actor, project_id, Path(data.path))
    return RedirectResponse("/admin/extracts", status_code=303)
