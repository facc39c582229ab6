"""Browser sign-in: a token pasted once opens a short session; sign-out ends it.
An invitation code is redeemed here too, for a token shown once.

The cookie holds the session's own secret, never the token, and is HttpOnly,
SameSite=Strict and (in production) Secure.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from gateway.config import Environment
from gateway.service import sessions
from gateway.service.accounts import IssuedToken
from gateway.service.deps import (
    SESSION_COOKIE,
    SameOrigin,
    SettingsDep,
    Viewer,
    check_token,
    client_address,
    redeem_invitation,
)
from gateway.service.models import Role
from gateway.web import render

router = APIRouter(include_in_schema=False)

LANDING = {Role.RESEARCHER: "/workspace", Role.REVIEWER: "/review", Role.ADMIN: "/admin/users"}


class Login(BaseModel):
    next: str | None = None


class Invite(BaseModel):
    """The redemption page: the form, then (once) the token it issued."""

    issued: IssuedToken | None = None


def _local(path: str | None) -> str | None:
    """Only a path on this site, never another site's address."""
    return path if path and path.startswith("/") and not path.startswith("//") else None


@router.get("/login")
@router.get("/login.json")
def login_form(request: Request, viewer: Viewer, next: str | None = None) -> Response:
    return render(request, "login.html", Login(next=_local(next)))


@router.post("/login", dependencies=[SameOrigin])
def login(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    user = check_token(request, settings, token.strip())
    secret = sessions.sign_in(settings, user, client=client_address(request))
    response = RedirectResponse(_local(next) or LANDING[user.role], status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=settings.environment is Environment.PRODUCTION,
        max_age=settings.session_hours * 3600,
    )
    return response


@router.get("/invite")
@router.get("/invite.json")
def invite_form(request: Request, viewer: Viewer) -> Response:
    return render(request, "invite.html", Invite())


@router.post("/invite", dependencies=[SameOrigin])
def redeem(
    request: Request, settings: SettingsDep, code: Annotated[str, Form(max_length=200)]
) -> Response:
    """The invited user's own token, shown on this page only."""
    issued = redeem_invitation(request, settings, code.strip())
    return render(request, "invite.html", Invite(issued=issued))


@router.post("/logout", dependencies=[SameOrigin])
def logout(request: Request, settings: SettingsDep) -> Response:
    sessions.sign_out(settings, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
