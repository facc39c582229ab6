"""The HTTP API: roles, problems, and a query's way from proposal to published insight."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, update

from gateway.db import session
from gateway.service.models import ApiToken, AuditRecord
from gateway.service.worker import run_worker
from tests.service.factories import (
    COUNT_BY_THEME,
    PROPOSAL,
    Api,
    StubExecutor,
    approved_over_http,
    manifest_only,
    queued_over_http,
)

PROBLEM = "application/problem+json"


def test_introspection(api: Api) -> None:
    assert api.client.get("/-/health").json()["status"] == "ok"
    version = api.client.get("/-/version").json()
    assert version["policy"] == "health_thing"
    assert version["environment"] == "development"


def test_a_bug_is_a_problem_that_tells_nothing_of_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from gateway.service import projects

    def broken(*_: object) -> None:
        raise RuntimeError("row 42 of members")

    monkeypatch.setattr(projects, "register", broken)
    client = TestClient(api.client.app, raise_server_exceptions=False)
    response = client.get("/api/public/register")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "internal_error"
    assert "42" not in response.text


def test_no_token_is_a_clear_401(api: Api) -> None:
    response = api.client.get("/api/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["type"].endswith("token_missing")
    assert body["title"] == "Not authenticated"
    assert "Authorization: Bearer" in body["hint"]


def _token_row(api: Api, name: str) -> int:
    with session(api.settings) as s:
        return s.execute(
            select(ApiToken.id).where(ApiToken.user_id == api.people[name].id)
        ).scalar_one()


def test_an_expired_token_is_refused_and_audited(api: Api) -> None:
    with session(api.settings) as s:
        s.execute(
            update(ApiToken)
            .where(ApiToken.id == _token_row(api, "ann"))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    response = api.client.get("/api/me", headers=api.as_("ann"))
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"
    assert "expired at" in response.json()["detail"]
    with session(api.settings) as s:
        denied = s.execute(select(AuditRecord).where(AuditRecord.outcome == "denied")).scalar_one()
    assert (denied.actor, denied.action) == ("ann", "auth.token")


def test_a_revoked_token_stops_working_at_once(api: Api) -> None:
    assert api.client.get("/api/me", headers=api.as_("ann")).json()["name"] == "ann"
    token_id = _token_row(api, "ann")
    revoked = api.client.delete(f"/api/tokens/{token_id}", headers=api.as_("adam"))
    assert revoked.status_code == 204
    response = api.client.get("/api/me", headers=api.as_("ann"))
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"


def test_a_disabled_user_is_refused(api: Api) -> None:
    api.client.post(f"/api/users/{api.people['bob'].id}/disable", headers=api.as_("adam"))
    assert api.client.get("/api/me", headers=api.as_("bob")).json()["code"] == "token_revoked"


def test_tokens_are_shown_once_and_stored_hashed(api: Api) -> None:
    created = api.client.post(
        "/api/users", json={"name": "carla", "role": "researcher"}, headers=api.as_("adam")
    )
    assert created.status_code == 201
    invited = api.client.post(
        f"/api/users/{created.json()['id']}/invitations",
        json={"label": "laptop"},
        headers=api.as_("adam"),
    ).json()
    issued = api.client.post("/api/invitations/redeem", json={"code": invited["code"]}).json()
    token = issued["token"]
    assert token.startswith("gw_")
    assert len(token) > 40
    assert (
        api.client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()["name"]
        == "carla"
    )
    listed = api.client.get("/api/tokens", headers=api.as_("adam")).text
    assert token not in listed
    assert issued["prefix"] in listed
    with session(api.settings) as s:
        stored = s.execute(select(ApiToken.token_hash)).scalars().all()
    assert token not in stored
    assert len(stored) == 5


def test_each_role_keeps_to_its_own_routes(api: Api) -> None:
    refused = api.client.get("/api/reviews", headers=api.as_("ann"))
    assert refused.status_code == 403
    assert refused.json()["code"] == "role_required"
    assert "reviewer" in refused.json()["detail"]
    assert api.client.get("/api/users", headers=api.as_("rita")).status_code == 403
    assert (
        api.client.post("/api/projects", json=PROPOSAL, headers=api.as_("adam")).status_code == 403
    )
    assert api.client.get("/api/audit", headers=api.as_("ann")).status_code == 403


def test_a_researcher_sees_only_their_own_projects(api: Api) -> None:
    project_id = approved_over_http(api, "ann")
    assert api.client.get(f"/api/projects/{project_id}", headers=api.as_("bob")).status_code == 404
    assert api.client.get("/api/projects", headers=api.as_("bob")).json()["count"] == 0
    assert api.client.get("/api/projects", headers=api.as_("rita")).json()["count"] == 1


def test_malformed_input_is_a_problem_listing_each_field(api: Api) -> None:
    response = api.client.post(
        "/api/projects", json={"title": "x", "themes": []}, headers=api.as_("ann")
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = {issue["message"].split(":")[0] for issue in response.json()["issues"]}
    assert {"body.title", "body.summary", "body.themes", "body.requested_epsilon"} <= fields


def test_an_unknown_theme_names_the_known_ones(api: Api) -> None:
    response = api.client.post(
        "/api/projects", json=PROPOSAL | {"themes": ["astrology"]}, headers=api.as_("ann")
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_theme"
    assert "sleep" in response.json()["hint"]


def test_oversized_bodies_are_refused(api: Api) -> None:
    response = api.client.post(
        "/api/vet",
        content=b'{"sql": "' + b"x" * (api.settings.max_request_bytes + 1) + b'"}',
        headers=api.as_("ann") | {"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert f"{api.settings.max_request_bytes:,}" in response.json()["detail"]


def test_a_streamed_oversized_body_is_refused(api: Api) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(api.settings.max_request_bytes // 1000 + 2):
            yield b" " * 1000

    response = api.client.post(
        "/api/vet", content=chunks(), headers=api.as_("ann") | {"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_no_query_for_an_unapproved_project(api: Api) -> None:
    project_id = api.client.post("/api/projects", json=PROPOSAL, headers=api.as_("ann")).json()[
        "id"
    ]
    response = api.client.post(
        "/api/queries",
        json={"project_id": project_id, "sql": COUNT_BY_THEME},
        headers=api.as_("ann"),
    )
    assert response.status_code == 403
    assert response.json()["code"] == "project_not_approved"


def test_live_vetting_shows_plan_cost_and_budget(api: Api) -> None:
    project_id = approved_over_http(api)
    allowed = api.client.post(
        "/api/vet",
        json={"sql": COUNT_BY_THEME, "epsilon": 0.5, "project_id": project_id},
        headers=api.as_("ann"),
    ).json()
    assert allowed["allowed"]
    assert allowed["report"]["plan"]["table"] == "tips"
    assert "reads     tips" in allowed["rendered"]
    assert (allowed["remaining_before"], allowed["remaining_after"]) == (3.0, 2.5)
    delta, most = api.policy.budget.delta, api.policy.budget.default_project_delta
    assert (allowed["delta"], allowed["remaining_delta_before"]) == (delta, most)
    assert allowed["remaining_delta_after"] == pytest.approx(most - delta, rel=1e-12)
    assert allowed["accuracy"] == {}  # bounds chosen with DP: known after the release
    assert "chosen per query with DP" in allowed["bounds_note"]
    fixed = api.client.post(
        "/api/vet",
        json={"sql": COUNT_BY_THEME, "bounds": {"rows_per_group": 3, "groups": 2}},
        headers=api.as_("ann"),
    ).json()
    assert fixed["report"]["plan"]["contributions"] == {"rows_per_group": 3, "groups": 2}
    assert fixed["accuracy"]["n"] > 0
    assert fixed["bounds_note"] is None
    refused = api.client.post(
        "/api/vet", json={"sql": "SELECT member_pid FROM tips"}, headers=api.as_("ann")
    ).json()
    assert not refused["allowed"]
    assert refused["report"]["violations"][0]["code"] == "identifier_in_output"
    assert "^^^^^^^^^^" in refused["rendered"]


def test_a_refused_query_is_a_problem_pointing_at_its_job(api: Api) -> None:
    project_id = approved_over_http(api)
    response = api.client.post(
        "/api/queries",
        json={"project_id": project_id, "sql": "SELECT member_pid FROM tips"},
        headers=api.as_("ann"),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["issues"][0]["code"] == "identifier_in_output"
    job = api.client.get(body["instance"], headers=api.as_("ann")).json()
    assert job["status"] == "vetting_refused"
    assert job["is_final"]


def test_from_proposal_to_published_insight(api: Api) -> None:
    project_id = approved_over_http(api)
    submitted = api.client.post(
        "/api/queries",
        json={"project_id": project_id, "sql": COUNT_BY_THEME, "epsilon": 1.0},
        headers=api.as_("ann"),
    )
    assert submitted.status_code == 201
    job = submitted.json()
    assert (job["status"], job["review_reasons"]) == ("queued", [])
    budget = api.client.get(f"/api/projects/{project_id}", headers=api.as_("ann")).json()["budget"]
    assert (budget["remaining"], budget["held"]) == (2.0, 1.0)
    assert api.client.get("/api/reviews", headers=api.as_("rita")).json()["count"] == 0
    seen = api.client.get("/api/jobs", headers=api.as_("rita")).json()
    assert [j["id"] for j in seen["data"]] == [job["id"]]  # reviewers see every query
    run_worker(api.settings, StubExecutor(), once=True)

    done = api.client.get(f"/api/jobs/{job['id']}", headers=api.as_("ann")).json()
    assert done["status"] == "released"
    release = api.client.get(f"/api/releases/{done['release_id']}", headers=api.as_("ann")).json()
    assert release["epsilon_charged"] == 1.0
    assert release["parts"][0]["release"]["columns"] == ["theme", "n"]
    assert (
        api.client.get(f"/api/releases/{done['release_id']}", headers=api.as_("bob")).status_code
        == 404
    )
    budget = api.client.get(f"/api/projects/{project_id}", headers=api.as_("ann")).json()["budget"]
    assert (budget["remaining"], budget["held"], budget["spent"]) == (2.0, 0.0, 1.0)

    assert api.client.get("/api/public/insights").json()["count"] == 0
    published = api.client.post(
        f"/api/releases/{done['release_id']}/publish",
        json={
            "title_nl": "Slaaptips per thema",
            "title_en": "Sleep tips by theme",
            "text_nl": "Hoeveel tips er per thema zijn gedeeld.",
            "text_en": "How many tips were shared per theme.",
        },
        headers=api.as_("rita"),
    )
    assert published.status_code == 200
    dutch = api.client.get("/api/public/insights").json()
    english = api.client.get("/api/public/insights?lang=en").json()
    assert dutch["data"][0]["title"] == "Slaaptips per thema"
    assert english["data"][0]["title"] == "Sleep tips by theme"
    assert dutch["data"][0]["parts"][0]["ci"][0][1] == [100.0, 140.0]
    register = api.client.get("/api/public/register").json()
    assert register["data"][0]["title"] == PROPOSAL["title"]

    trail = api.client.get("/api/audit?limit=1000", headers=api.as_("rita")).json()["data"]
    actions = [entry["action"] for entry in trail]
    for expected in (
        "project.propose",
        "project.approve",
        "job.queued",
        "job.running",
        "job.released",
        "release.read",
        "release.publish",
    ):
        assert expected in actions
    assert api.client.get("/api/audit/verify", headers=api.as_("rita")).json()["intact"]


@pytest.mark.parametrize("path", ["/api/public/register", "/api/public/insights"])
def test_public_routes_need_no_token(api: Api, path: str) -> None:
    assert api.client.get(path).status_code == 200


def _project(api: Api, project_id: int) -> dict[str, object]:
    response = api.client.get(f"/api/projects/{project_id}", headers=api.as_("ann"))
    assert response.status_code == 200
    body: dict[str, object] = response.json()
    return body


def test_an_extract_built_for_another_project_is_refused(api: Api, tmp_path: Path) -> None:
    first, second = approved_over_http(api), approved_over_http(api)
    extract = manifest_only(tmp_path / "first.duckdb", str(first))
    put = {"path": str(extract)}
    refused = api.client.put(f"/api/projects/{second}/extract", json=put, headers=api.as_("adam"))
    assert refused.status_code == 409
    assert refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert problem["code"] == "extract_other_project"
    assert f"--project {second}" in problem["hint"]
    assert _project(api, second)["has_extract"] is False

    done = api.client.put(f"/api/projects/{first}/extract", json=put, headers=api.as_("adam"))
    assert done.status_code == 204
    assert _project(api, first)["has_extract"] is True
    named = manifest_only(tmp_path / "named.duckdb", "demo")
    other_name = {"path": str(named)}
    response = api.client.put(
        f"/api/projects/{first}/extract", json=other_name, headers=api.as_("adam")
    )
    assert response.json()["code"] == "extract_other_project"


def test_a_dummy_extract_may_be_set_on_any_project(api: Api, tmp_path: Path) -> None:
    project_id = approved_over_http(api)
    dummy = manifest_only(tmp_path / "dummy.duckdb", "dummy", dummy=True)
    response = api.client.put(
        f"/api/projects/{project_id}/extract", json={"path": str(dummy)}, headers=api.as_("adam")
    )
    assert response.status_code == 204


def test_a_job_refuses_an_extract_rebuilt_for_another_project_before_reading_it(
    api: Api, tmp_path: Path
) -> None:
    """The manifest is checked again when the job runs: no sandbox is made, ε and δ come back."""
    from gateway.service.execute import PipelineExecutor

    project_id = approved_over_http(api)
    extract = manifest_only(tmp_path / "e.duckdb", str(project_id))
    api.client.put(
        f"/api/projects/{project_id}/extract", json={"path": str(extract)}, headers=api.as_("adam")
    )
    job_id = queued_over_http(api, project_id)
    manifest_only(extract, str(project_id + 1))  # rebuilt in place, for another project
    executor = PipelineExecutor(api.settings, api.policy)
    run_worker(api.settings, executor, once=True)
    assert executor.sandbox is None
    done = api.client.get(f"/api/jobs/{job_id}", headers=api.as_("ann")).json()
    assert done["status"] == "extract_unusable"
    assert f"built for project '{project_id + 1}'" in done["message"]
    budget = _project(api, project_id)["budget"]
    assert isinstance(budget, dict)
    assert (budget["spent"], budget["held"], budget["remaining"]) == (0.0, 0.0, 3.0)
    assert (budget["spent_delta"], budget["held_delta"]) == (0.0, 0.0)


def test_the_project_shows_delta_granted_held_spent_and_remaining(api: Api) -> None:
    project_id = approved_over_http(api)
    delta, most = api.policy.budget.delta, api.policy.budget.default_project_delta
    budget = _project(api, project_id)["budget"]
    assert budget == {
        "granted": 3.0,
        "held": 0.0,
        "spent": 0.0,
        "remaining": 3.0,
        "granted_delta": most,
        "held_delta": 0.0,
        "spent_delta": 0.0,
        "remaining_delta": most,
    }
    job = api.client.post(
        "/api/queries",
        json={"project_id": project_id, "sql": COUNT_BY_THEME, "epsilon": 0.5},
        headers=api.as_("ann"),
    ).json()
    assert job["delta"] == delta
    held = _project(api, project_id)["budget"]
    assert isinstance(held, dict)
    assert held["held_delta"] == delta
    assert held["remaining_delta"] == pytest.approx(most - delta, rel=1e-12)
    run_worker(api.settings, StubExecutor(), once=True)
    spent = _project(api, project_id)["budget"]
    assert isinstance(spent, dict)
    assert (spent["spent_delta"], spent["held_delta"]) == (delta, 0.0)
    done = api.client.get(f"/api/jobs/{job['id']}", headers=api.as_("ann")).json()
    release = api.client.get(f"/api/releases/{done['release_id']}", headers=api.as_("ann")).json()
    assert release["delta_charged"] == delta


def test_a_delta_grant_over_the_policy_is_refused(api: Api) -> None:
    created = api.client.post("/api/projects", json=PROPOSAL, headers=api.as_("ann")).json()
    too_much = 2 * api.policy.budget.default_project_delta
    response = api.client.post(
        f"/api/projects/{created['id']}/decision",
        json={"approve": True, "note": "fits", "granted_delta": too_much},
        headers=api.as_("rita"),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "delta_grant_out_of_range"
