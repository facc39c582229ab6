"""Dependencies every route shares: settings, policy, and who is asking.

The API (``/api/``) takes ``Authorization: Bearer <token>`` only and reads no
cookie. Pages take the same header, or the session cookie the login page sets
(see ``sessions``); a request that changes anything on the strength of that
cookie must carry an ``Origin`` of this very site, and one without ``Origin``
is refused, so no other site can act through a signed-in browser. The role
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
from gateway.service import invitations, sessions
from gateway.service.accounts import IssuedToken, Principal, authenticate
from gateway.service.models import Role
from gateway.service.throttle import guarded

SESSION_COOKIE = "gateway_session"
API_PREFIX = "/api/"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

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
    if credentials is not None or request.url.path.startswith(API_PREFIX):
        user = check_token(request, settings, credentials.credentials if credentials else None)
    else:
        user = sessions.resume(settings, request.cookies.get(SESSION_COOKIE))
        if request.method not in SAFE_METHODS:
            same_origin(request)
    request.state.user = user
    return user


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def check_token(request: Request, settings: Settings, token: str | None) -> Principal:
    """``authenticate``, throttled per client address and token prefix."""
    if not token:
        return authenticate(settings, None)
    return guarded(
        request.app.state.throttle,
        settings,
        client_address(request),
        token,
        lambda record: authenticate(settings, token, record_refusal=record),
    )


def redeem_invitation(request: Request, settings: Settings, code: str) -> IssuedToken:
    """``invitations.redeem``, throttled like a token."""
    return guarded(
        request.app.state.throttle,
        settings,
        client_address(request),
        code,
        lambda record: invitations.redeem(settings, code, record_refusal=record),
    )


def optional_user(request: Request, settings: SettingsDep) -> Principal | None:
    """The signed-in user of a public page, if any; never refuses."""
    user = sessions.peek(settings, request.cookies.get(SESSION_COOKIE))
    request.state.user = user
    return user


def same_origin(request: Request) -> None:
    """Refuse a form from another site, or one whose browser does not say where it is from.

    ``Origin`` must name this site. Under ``Referrer-Policy: no-referrer`` browsers send
    ``Origin: null`` even for the site's own forms; that is taken only with
    ``Sec-Fetch-Site: same-origin``, a header no page can forge.
    """
    origin = request.headers.get("origin")
    if origin == "null":
        trusted = request.headers.get("sec-fetch-site") == "same-origin"
    else:
        trusted = origin is not None and urlsplit(origin).netloc == request.url.netloc
    if not trusted:
        raise ForbiddenError(
            "cross_site_request",
            f"a form from {origin or 'an unnamed origin'} may not act here",
            hint="use the gateway's own pages, or the API with a bearer token",
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
