"""Pages sign in with a short server-side session; the API takes bearer tokens only."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from gateway.config import Settings
from gateway.db import session
from gateway.service.deps import SESSION_COOKIE
from gateway.service.models import AuditRecord, WebSession
from tests.service.factories import PROPOSAL, SITE, Api, signed_in


def _cookie(browser: TestClient) -> str:
    value = browser.cookies.get(SESSION_COOKIE)
    assert value
    return value


def _actions(settings: Settings) -> list[tuple[str, str, str]]:
    with session(settings) as s:
        rows = s.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars()
        return [(r.actor, r.action, r.outcome) for r in rows]


def _workspace_with(api: Api, cookie: str) -> int:
    """The status of the researcher's workspace for a browser holding only ``cookie``."""
    browser = TestClient(api.client.app, cookies={SESSION_COOKIE: cookie})
    return browser.get("/workspace", follow_redirects=False).status_code


def test_sign_in_opens_a_session_whose_cookie_is_not_the_token(api_on: Api) -> None:
    browser = TestClient(api_on.client.app)
    response = browser.post(
        "/login",
        data={"token": api_on.tokens["ann"]},
        headers={"Origin": SITE},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/workspace"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert {"httponly", "samesite=strict", "max-age=28800"} <= {
        part.strip() for part in cookie.split(";")
    }
    secret = _cookie(browser)
    assert api_on.tokens["ann"] not in response.headers["set-cookie"]
    with session(api_on.settings) as s:
        stored = s.execute(select(WebSession.secret_hash)).scalars().all()
    assert len(stored) == 1
    assert secret not in stored[0]
    assert browser.get("/workspace").status_code == 200
    assert ("ann", "auth.signin", "success") in _actions(api_on.settings)


def test_the_api_reads_no_cookie(api_on: Api) -> None:
    browser = signed_in(api_on, "adam")
    assert browser.get("/api/me").status_code == 401
    refused = browser.post(f"/api/users/{api_on.people['bob'].id}/disable")
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_missing"
    as_token = TestClient(api_on.client.app, cookies={"gateway_token": api_on.tokens["ann"]})
    assert as_token.get("/api/me").status_code == 401
    assert as_token.get("/workspace", follow_redirects=False).status_code == 303
    bob = api_on.client.get("/api/me", headers=api_on.as_("bob"))
    assert bob.json()["name"] == "bob"


def test_sign_out_ends_the_session_for_good(api_on: Api) -> None:
    browser = signed_in(api_on, "ann")
    secret = _cookie(browser)
    assert browser.post("/logout", follow_redirects=False).headers["location"] == "/"
    assert _workspace_with(api_on, secret) == 303
    assert ("ann", "auth.signout", "success") in _actions(api_on.settings)


def test_disabling_a_user_or_revoking_the_token_ends_their_sessions(api_on: Api) -> None:
    ann, bob = signed_in(api_on, "ann"), signed_in(api_on, "bob")
    disabled = api_on.client.post(
        f"/api/users/{api_on.people['ann'].id}/disable", headers=api_on.as_("adam")
    )
    assert disabled.status_code == 200
    assert _workspace_with(api_on, _cookie(ann)) == 303
    tokens = api_on.client.get("/api/tokens", headers=api_on.as_("adam")).json()["data"]
    bobs = next(t["id"] for t in tokens if t["user"] == "bob")
    api_on.client.delete(f"/api/tokens/{bobs}", headers=api_on.as_("adam"))
    assert _workspace_with(api_on, _cookie(bob)) == 303
    revocations = [
        (r.action, r.detail)
        for r in _records(api_on.settings)
        if r.action in {"user.disable", "token.revoke"}
    ]
    assert revocations == [
        ("user.disable", '{"sessions_revoked":1}'),
        ("token.revoke", f'{{"prefix":"{api_on.tokens["bob"][:10]}","sessions_revoked":1}}'),
    ]


def _records(settings: Settings) -> list[AuditRecord]:
    with session(settings) as s:
        return list(s.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars())


@pytest.mark.parametrize(
    "late",
    [
        {"expires_at": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)},
        {"seen_at": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)},
    ],
    ids=["past its lifetime", "idle too long"],
)
def test_a_session_is_short(api_on: Api, late: dict[str, dt.datetime]) -> None:
    browser = signed_in(api_on, "ann")
    with session(api_on.settings) as s:
        s.execute(update(WebSession).values(**late))
        s.commit()
    response = browser.get("/workspace", follow_redirects=False)
    assert response.headers["location"] == "/login?next=/workspace"
    assert browser.get("/workspace.json").json()["code"] == "session_expired"


@pytest.mark.parametrize("origin", [None, "http://testserver:8001", "https://evil.example", "null"])
def test_a_cookie_borne_change_needs_this_sites_origin(api: Api, origin: str | None) -> None:
    browser = signed_in(api, "ann")
    del browser.headers["Origin"]
    headers = {} if origin is None else {"Origin": origin}
    refused = browser.post(
        "/workspace/projects", data=PROPOSAL | {"themes": "sleep"}, headers=headers
    )
    assert refused.status_code == 403
    assert "cross_site_request" in refused.text
    signing_in = TestClient(api.client.app).post(
        "/login", data={"token": api.tokens["ann"]}, headers=headers
    )
    assert signing_in.status_code == 403
    assert "cross_site_request" in signing_in.text
    for own in ({"Origin": SITE}, {"Origin": "null", "Sec-Fetch-Site": "same-origin"}):
        accepted = browser.post(
            "/workspace/projects",
            data=PROPOSAL | {"themes": "sleep"},
            headers=own,
            follow_redirects=False,
        )
        assert accepted.status_code == 303, own
