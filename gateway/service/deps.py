"""Dependencies every route shares: settings, policy, and who is asking.

A token comes as ``Authorization: Bearer <token>`` (API clients) or in the
HttpOnly ``gateway_token`` cookie the login page sets (browsers). The role
aliases refuse everyone else with 403 and say which role the route needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.config import Settings
from gateway.errors import ForbiddenError
from gateway.policy.model import Policy
from gateway.service.accounts import Principal, authenticate, peek
from gateway.service.models import Role

TOKEN_COOKIE = "gateway_token"  # noqa: S105 (a cookie name, not a secret)

_bearer = HTTPBearer(auto_error=False, description="An API token issued by an administrator.")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_policy(request: Request) -> Policy:
    policy: Policy = request.app.state.policy
    return policy


SettingsDep = Annotated[Settings, Depends(get_settings)]
PolicyDep = Annotated[Policy, Depends(get_policy)]


def current_user(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    token = credentials.credentials if credentials else request.cookies.get(TOKEN_COOKIE)
    user = authenticate(settings, token)
    request.state.user = user
    return user


def optional_user(request: Request, settings: SettingsDep) -> Principal | None:
    """The signed-in user of a public page, if any; never refuses."""
    user = peek(settings, request.cookies.get(TOKEN_COOKIE))
    request.state.user = user
    return user


def same_origin(request: Request) -> None:
    """Refuse a form posted from another site (the cookie is SameSite=Strict too)."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.url.netloc:
        raise ForbiddenError(
            "cross_site_request",
            f"a form from {origin} may not act here",
            hint="use the gateway's own pages",
        )


CurrentUser = Annotated[Principal, Depends(current_user)]
Viewer = Annotated[Principal | None, Depends(optional_user)]
SameOrigin = Depends(same_origin)


def require(*roles: Role) -> Callable[[Principal], Principal]:
    def check(user: CurrentUser) -> Principal:
        if user.role not in roles:
            needed = " or ".join(role.value for role in roles)
            raise ForbiddenError(
                "role_required",
                f"this is for a {needed}; you are signed in as a {user.role.value}",
                hint="ask an administrator if your role should change",
            )
        return user

    return check


CurrentResearcher = Annotated[Principal, Depends(require(Role.RESEARCHER))]
CurrentReviewer = Annotated[Principal, Depends(require(Role.REVIEWER))]
CurrentAdmin = Annotated[Principal, Depends(require(Role.ADMIN))]
CurrentOverseer = Annotated[Principal, Depends(require(Role.REVIEWER, Role.ADMIN))]
"""Reviewers and administrators: the audit trail is theirs to read."""
