"""Another user's token only by a one-time invitation; no admin disables self or the last admin."""

from __future__ import annotations

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from gateway.db import session
from gateway.errors import ConflictError
from gateway.service.accounts import disable_user
from gateway.service.audit import SYSTEM
from gateway.service.models import AuditRecord, Invitation
from tests.service.factories import SITE, Api


def _invite(api: Api, name: str, **body: object) -> dict[str, object]:
    response = api.client.post(
        f"/api/users/{api.people[name].id}/invitations", json=body, headers=api.as_("adam")
    )
    assert response.status_code == 201, response.text
    invited: dict[str, object] = response.json()
    return invited


def test_an_admin_mints_tokens_for_themselves_only(api_on: Api) -> None:
    for name in ("ann", "rita"):
        refused = api_on.client.post(
            f"/api/users/{api_on.people[name].id}/tokens", headers=api_on.as_("adam")
        )
        assert refused.status_code == 403
        assert refused.json()["code"] == "token_for_other_user"
        assert "invitations" in refused.json()["hint"]
    own = api_on.client.post(
        f"/api/users/{api_on.people['adam'].id}/tokens", headers=api_on.as_("adam")
    )
    assert own.status_code == 201
    me = api_on.client.get("/api/me", headers={"Authorization": f"Bearer {own.json()['token']}"})
    assert me.json()["name"] == "adam"


def test_an_invitation_is_redeemed_once_by_its_user(api_on: Api) -> None:
    invited = _invite(api_on, "rita", label="new laptop", days=30)
    code = str(invited["code"])
    assert code.startswith("gwi_")
    assert "token" not in invited
    issued = api_on.client.post("/api/invitations/redeem", json={"code": code})
    assert issued.status_code == 201
    token = issued.json()["token"]
    me = api_on.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["name"] == "rita"
    again = api_on.client.post("/api/invitations/redeem", json={"code": code})
    assert again.status_code == 401
    assert again.json()["code"] == "invitation_invalid"
    with session(api_on.settings) as s:
        row = s.execute(select(Invitation)).scalar_one()
        trail = s.execute(select(AuditRecord.actor, AuditRecord.action)).all()
    assert code not in row.code_hash
    assert row.token_id == issued.json()["id"]
    assert ("adam", "invitation.create") in trail
    assert ("rita", "invitation.redeem") in trail
    assert ("rita", "token.issue") in trail


def test_two_redemptions_racing_issue_one_token(api_on: Api) -> None:
    code = _invite(api_on, "ann")["code"]
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: api_on.client.post("/api/invitations/redeem", json={"code": code}),
                range(4),
            )
        )
    assert sorted(a.status_code for a in answers) == [201, 401, 401, 401]


def test_an_unknown_or_expired_code_gets_the_same_answer(api_on: Api) -> None:
    code = _invite(api_on, "bob")["code"]
    with session(api_on.settings) as s:
        s.execute(update(Invitation).values(expires_at=dt.datetime.now(dt.UTC)))
        s.commit()
    expired = api_on.client.post("/api/invitations/redeem", json={"code": code})
    unknown = api_on.client.post("/api/invitations/redeem", json={"code": "gwi_nothing"})
    assert expired.json()["detail"] == unknown.json()["detail"]
    assert expired.status_code == unknown.status_code == 401


def test_nobody_disables_themselves_or_the_last_admin(api_on: Api) -> None:
    adam = api_on.people["adam"].id
    own = api_on.client.post(f"/api/users/{adam}/disable", headers=api_on.as_("adam"))
    assert own.status_code == 403
    assert own.json()["code"] == "disable_self"
    created = api_on.client.post(
        "/api/users", json={"name": "ada", "role": "admin"}, headers=api_on.as_("adam")
    ).json()
    code = _invite_by_id(api_on, created["id"])
    ada = {"Authorization": f"Bearer {_redeem(api_on, code)}"}
    assert api_on.client.post(f"/api/users/{adam}/disable", headers=ada).status_code == 200
    with pytest.raises(ConflictError) as refusal:
        disable_user(api_on.settings, SYSTEM, created["id"])
    assert refusal.value.code == "last_admin"
    assert api_on.client.get("/api/me", headers=ada).json()["name"] == "ada"


def _invite_by_id(api: Api, user_id: int) -> str:
    response = api.client.post(f"/api/users/{user_id}/invitations", headers=api.as_("adam"))
    return str(response.json()["code"])


def _redeem(api: Api, code: str) -> str:
    return str(api.client.post("/api/invitations/redeem", json={"code": code}).json()["token"])


def test_the_invitation_page_shows_the_token_once_to_its_user(api: Api) -> None:
    code = _invite(api, "bob")["code"]
    browser = TestClient(api.client.app, headers={"Origin": SITE})
    form = browser.get("/invite?lang=en")
    assert 'action="/invite"' in form.text
    page = browser.post("/invite?lang=en", data={"code": code})
    assert page.status_code == 200
    token = re.search(r'value="(gw_[^"]+)"', page.text)
    assert token is not None
    me = api.client.get("/api/me", headers={"Authorization": f"Bearer {token[1]}"})
    assert me.json()["name"] == "bob"
    again = browser.post("/invite?lang=en", data={"code": code})
    assert again.status_code == 401
    assert "invitation_invalid" in again.text
    assert token[1] not in again.text
    foreign = TestClient(api.client.app).post("/invite", data={"code": code})
    assert foreign.status_code == 403


def test_two_admins_disabling_each_other_at_once_leave_one(api_on: Api) -> None:
    created = api_on.client.post(
        "/api/users", json={"name": "ada", "role": "admin"}, headers=api_on.as_("adam")
    ).json()
    ada = {"Authorization": f"Bearer {_redeem(api_on, _invite_by_id(api_on, created['id']))}"}
    adam = api_on.as_("adam")
    moves = [(created["id"], adam), (api_on.people["adam"].id, ada)]
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(
                lambda move: api_on.client.post(f"/api/users/{move[0]}/disable", headers=move[1]),
                moves,
            )
        )
    statuses = sorted(a.status_code for a in answers)
    assert statuses in ([200, 401], [200, 409]), "the loser is disabled already, or the last"
    users = api_on.client.get("/api/users", headers=adam if answers[0].status_code == 200 else ada)
    admins = [u for u in users.json()["data"] if u["role"] == "admin" and not u["disabled"]]
    assert len(admins) == 1
