"""Failed authentication is throttled per address and token prefix, and audited per burst."""

from __future__ import annotations

import secrets

from fastapi.testclient import TestClient
from sqlalchemy import select

from gateway.db import session
from gateway.service.audit import verify
from gateway.service.models import AuditRecord
from gateway.service.throttle import Throttle
from tests.service.factories import SITE, Api


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _clocked(api: Api) -> Clock:
    clock = Clock()
    api.client.app.state.throttle = Throttle(api.settings, clock=clock)  # type: ignore[attr-defined]
    return clock


def _wrong() -> dict[str, str]:
    return {"Authorization": f"Bearer gw_{secrets.token_urlsafe(32)}"}


def _trail(api: Api) -> list[tuple[str, str]]:
    with session(api.settings) as s:
        rows = s.execute(select(AuditRecord.action, AuditRecord.outcome)).all()
    return [(action, outcome) for action, outcome in rows if outcome == "denied"]


def test_a_burst_of_wrong_tokens_is_paused_and_audited_once(api_on: Api) -> None:
    clock = _clocked(api_on)
    answers = [api_on.client.get("/api/me", headers=_wrong()) for _ in range(40)]
    assert [a.status_code for a in answers] == [401] * 10 + [429] * 30
    paused = answers[-1]
    assert paused.json()["code"] == "auth_throttled"
    assert paused.headers["content-type"] == "application/problem+json"
    assert 1 <= int(paused.headers["retry-after"]) <= 60
    assert _trail(api_on) == [("auth.token", "denied"), ("auth.throttle", "denied")]
    assert verify(api_on.settings).intact

    own = api_on.client.get("/api/me", headers=api_on.as_("ann"))
    assert own.status_code == 429, "the address is paused for everyone behind it"
    clock.now += 61
    assert api_on.client.get("/api/me", headers=api_on.as_("ann")).json()["name"] == "ann"
    assert api_on.client.get("/api/me", headers=_wrong()).status_code == 401
    assert len(_trail(api_on)) == 3, "a new burst starts with one record"


def test_one_token_prefix_is_paused_whatever_the_address(api: Api) -> None:
    _clocked(api)
    prefix = api.tokens["bob"][:10]
    for number in range(10):
        guesser = TestClient(api.client.app, client=(f"10.0.0.{number}", 5000))
        guess = {"Authorization": f"Bearer {prefix}{secrets.token_urlsafe(30)}"}
        assert guesser.get("/api/me", headers=guess).status_code == 401
    elsewhere = TestClient(api.client.app, client=("10.9.9.9", 5000))
    assert elsewhere.get("/api/me", headers=api.as_("bob")).status_code == 429
    assert elsewhere.get("/api/me", headers=api.as_("ann")).status_code == 200


def test_the_login_page_and_invitations_are_throttled_too(api: Api) -> None:
    _clocked(api)
    browser = TestClient(api.client.app, headers={"Origin": SITE})
    statuses = [
        browser.post("/login", data={"token": f"gw_{n}wrong"}, follow_redirects=False).status_code
        for n in range(11)
    ]
    assert statuses == [401] * 10 + [429]
    other = TestClient(api.client.app, client=("10.1.1.1", 5000))
    redeemed = [
        other.post("/api/invitations/redeem", json={"code": f"gwi_{n}x"}).status_code
        for n in range(11)
    ]
    assert redeemed == [401] * 10 + [429]
    assert _trail(api).count(("invitation.redeem", "denied")) == 1
