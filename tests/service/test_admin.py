"""The administrator's pages: users, tokens and extracts, each change audited."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.db import session
from gateway.extract.ledger import import_changes
from gateway.service.models import AuditRecord
from tests.service.factories import Api, approved_over_http, manifest_only, signed_in


def _actions(api: Api) -> list[tuple[str, str, str | None]]:
    with session(api.settings) as s:
        rows = s.execute(
            select(AuditRecord.actor, AuditRecord.action, AuditRecord.object_id).order_by(
                AuditRecord.seq
            )
        ).all()
    return [(actor, action, object_id) for actor, action, object_id in rows]


def test_an_admin_adds_a_user_who_redeems_the_invitation_shown_once(api: Api) -> None:
    adam = signed_in(api, "adam")
    page = adam.post("/admin/users", data={"name": "carla", "role": "reviewer"})
    assert page.status_code == 201, page.text
    code = re.search(r'readonly value="(gwi_[^"]+)"', page.text)
    assert code is not None
    assert "gw_" not in page.text.replace(code.group(1), "")  # no token of carla's is shown
    redeemed = api.client.post("/api/invitations/redeem", json={"code": code.group(1)})
    token = redeemed.json()["token"]
    carla = api.client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert (carla.json()["name"], carla.json()["role"]) == ("carla", "reviewer")
    listed = adam.get("/admin/users.json").json()["users"]
    assert [u["name"] for u in listed if u["role"] == "reviewer"] == ["rita", "carla"]
    assert token not in adam.get("/admin/tokens").text
    assert ("adam", "user.create", str(listed[-1]["id"])) in _actions(api)
    assert ("carla", "invitation.redeem") in [(a, b) for a, b, _ in _actions(api)]


def test_a_bad_user_name_is_a_clear_problem_and_creates_nothing(api: Api) -> None:
    adam = signed_in(api, "adam")
    refused = adam.post("/admin/users", data={"name": "Bad Name!", "role": "reviewer"})
    assert refused.status_code == 422
    assert "invalid_request" in refused.text
    taken = adam.post("/admin/users", data={"name": "rita", "role": "admin"})
    assert taken.status_code == 409
    assert "user_exists" in taken.text
    assert len(adam.get("/admin/users.json").json()["users"]) == 4


def test_disabling_a_user_ends_their_tokens_but_never_ones_own(api: Api) -> None:
    adam = signed_in(api, "adam")
    bob_id = api.people["bob"].id
    page = adam.get("/admin/users").text
    assert f'action="/admin/users/{bob_id}/disable"' in page
    assert f'action="/admin/users/{api.people["adam"].id}/disable"' not in page
    done = adam.post(f"/admin/users/{bob_id}/disable", follow_redirects=False)
    assert done.status_code == 303
    assert api.client.get("/api/me", headers=api.as_("bob")).json()["code"] == "token_revoked"
    tokens = adam.get("/admin/tokens.json").json()["tokens"]
    assert [t["revoked"] for t in tokens if t["user"] == "bob"] == [True]
    own = adam.post(f"/admin/users/{api.people['adam'].id}/disable")
    assert own.status_code == 403
    assert "disable_self" in own.text
    assert api.client.get("/api/me", headers=api.as_("adam")).status_code == 200


def test_an_admin_issues_their_own_tokens_invites_others_and_revokes(api: Api) -> None:
    adam = signed_in(api, "adam")
    for_ann = adam.post(f"/admin/users/{api.people['ann'].id}/tokens", data={"label": "laptop"})
    assert for_ann.status_code == 201
    assert 'readonly value="gwi_' in for_ann.text
    own = adam.post(f"/admin/users/{api.people['adam'].id}/tokens", data={"label": "laptop"})
    assert 'readonly value="gw_' in own.text
    new = adam.get("/admin/tokens.json").json()["tokens"][-1]
    assert (new["user"], new["label"], new["revoked"], new["expired"]) == (
        "adam",
        "laptop",
        False,
        False,
    )
    page = adam.get("/admin/tokens?lang=en").text
    assert f'action="/admin/tokens/{new["id"]}/revoke"' in page
    adam.post(f"/admin/tokens/{new['id']}/revoke", follow_redirects=False)
    after = adam.get("/admin/tokens.json").json()["tokens"][-1]
    assert after["revoked"] is True
    assert f'action="/admin/tokens/{new["id"]}/revoke"' not in adam.get("/admin/tokens").text
    assert ("adam", "token.revoke", str(new["id"])) in _actions(api)


@pytest.mark.parametrize("who", ["ann", "rita"])
def test_only_admins_see_the_admin_pages(api: Api, who: str) -> None:
    browser = signed_in(api, who)
    for page in ("/admin/users", "/admin/tokens", "/admin/extracts"):
        assert browser.get(page).status_code == 403
    assert browser.post(f"/admin/users/{api.people['bob'].id}/disable").status_code == 403
    assert api.client.get("/api/me", headers=api.as_("bob")).status_code == 200


def test_the_extracts_page_says_how_fresh_each_project_extract_is(api: Api, tmp_path: Path) -> None:
    unset, stale, fresh, missing = (approved_over_http(api) for _ in range(4))
    adam = signed_in(api, "adam")

    def set_extract(project_id: int, *, present: bool = True) -> None:
        extract = manifest_only(tmp_path / f"{project_id}.duckdb", str(project_id))
        if present:
            extract.write_bytes(b"")
        done = adam.post(
            f"/admin/projects/{project_id}/extract",
            data={"path": str(extract)},
            follow_redirects=False,
        )
        assert done.status_code == 303

    set_extract(stale)
    changes = tmp_path / "rights.jsonl"
    changes.write_text(
        '{"change_id": "r1", "account_id": 7, "type": "restriction", '
        '"since": "2026-01-01T00:00:00Z"}\n'
    )
    import_changes(changes, api.settings)
    set_extract(fresh)
    set_extract(missing, present=False)
    extracts = {e["project_id"]: e for e in adam.get("/admin/extracts.json").json()["extracts"]}
    states = {project_id: entry["state"] for project_id, entry in extracts.items()}
    assert states == {unset: "unset", stale: "stale", fresh: "fresh", missing: "missing"}
    assert extracts[stale]["reasons"] == [
        "1 restriction(s) of processing imported into the ledger after the build"
    ]
    page = adam.get("/admin/extracts?lang=en").text
    assert '<span class="freshness stale">stale</span>' in page
    assert f'action="/admin/projects/{unset}/extract"' in page
    wrong = adam.post(f"/admin/projects/{unset}/extract", data={"path": str(tmp_path / "no")})
    assert wrong.status_code == 400
    assert "extract_not_found" in wrong.text
