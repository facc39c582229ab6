"""Browser sign-in: a token pasted once, kept in an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from gateway.config import Environment
from gateway.service.accounts import authenticate
from gateway.service.deps import TOKEN_COOKIE, SameOrigin, SettingsDep, Viewer
from gateway.service.models import Role
from gateway.web import render

router = APIRouter(include_in_schema=False)

LANDING = {Role.RESEARCHER: "/workspace", Role.REVIEWER: "/review", Role.ADMIN: "/docs"}


class Login(BaseModel):
    next: str | None = None


def _local(path: str | None) -> str | None:
    """Only a path on this site, never another site's address."""
    return path if path and path.startswith("/") and not path.startswith("//") else None


@router.get("/login")
@router.get("/login.json")
def login_form(request: Request, viewer: Viewer, next: str | None = None) -> Response:
    return render(request, "login.html", Login(next=_local(next)))


@router.post("/login", dependencies=[SameOrigin])
def login(
    settings: SettingsDep,
    token: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    user = authenticate(settings, token.strip())
    response = RedirectResponse(_local(next) or LANDING[user.role], status_code=303)
    response.set_cookie(
        TOKEN_COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=settings.environment is Environment.PRODUCTION,
        max_age=12 * 3600,
    )
    return response


@router.post("/logout", dependencies=[SameOrigin])
def logout() -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response
