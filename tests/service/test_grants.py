"""Granting ε: the default grant, top-ups by reviewers and admins, and budgets that add up."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from gateway.config import Settings
from gateway.db import migrate, session
from gateway.policy import Policy
from gateway.service.models import AuditRecord, BudgetGrant
from gateway.service.worker import run_worker
from tests.service.factories import (
    COUNT_BY_THEME,
    PROPOSAL,
    Api,
    StubExecutor,
    approved_over_http,
    make_api,
    signed_in,
)

TOP_UP = {"add_epsilon": 2.0, "note": "a second wave of questions on sleep"}


def _budget(api: Api, project_id: int) -> dict[str, float]:
    project = api.client.get(f"/api/projects/{project_id}", headers=api.as_("rita")).json()
    budget: dict[str, float] = project["budget"]
    return budget


def _proposed(api: Api, requested: float) -> int:
    created = api.client.post(
        "/api/projects", json=PROPOSAL | {"requested_epsilon": requested}, headers=api.as_("ann")
    )
    project_id: int = created.json()["id"]
    return project_id


@pytest.mark.parametrize(("requested", "granted"), [(500.0, 10.0), (3.0, 3.0)])
def test_a_grant_defaults_to_the_policy_default_never_more_than_asked(
    api: Api, requested: float, granted: float
) -> None:
    assert api.policy.budget.default_project_epsilon == 10.0
    project_id = _proposed(api, requested)
    page = signed_in(api, "rita").get("/review")
    field = re.search(r'name="granted_epsilon"[^>]*value="([^"]+)"', page.text)
    assert field is not None
    assert float(field.group(1)) == granted
    decided = api.client.post(
        f"/api/projects/{project_id}/decision",
        json={"approve": True, "note": "serves the sleep theme"},
        headers=api.as_("rita"),
    )
    assert decided.json()["budget"]["granted"] == granted


def test_a_grant_past_the_policy_maximum_is_refused(api: Api) -> None:
    project_id = _proposed(api, 500.0)
    response = api.client.post(
        f"/api/projects/{project_id}/decision",
        json={"approve": True, "note": "fits", "granted_epsilon": 31.0},
        headers=api.as_("rita"),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "grant_over_policy"


def test_a_top_up_adds_to_granted_and_remaining_and_is_kept_and_audited(api: Api) -> None:
    project_id = approved_over_http(api)
    before = _budget(api, project_id)
    response = api.client.post(
        f"/api/projects/{project_id}/budget", json=TOP_UP, headers=api.as_("rita")
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["budget"]["granted"] == before["granted"] + 2.0
    assert after["budget"]["remaining"] == before["remaining"] + 2.0
    assert [(t["epsilon"], t["note"], t["granted_by"]) for t in after["top_ups"]] == [
        (2.0, TOP_UP["note"], "rita")
    ]
    with session(api.settings) as s:
        record = s.execute(
            select(AuditRecord).where(AuditRecord.action == "project.budget")
        ).scalar_one()
    assert (record.actor, record.role, record.object_id) == ("rita", "reviewer", str(project_id))
    assert '"add_epsilon":2.0' in record.detail
    assert TOP_UP["note"] in record.detail


def test_an_admin_may_top_up_and_a_researcher_may_not(api: Api) -> None:
    project_id = approved_over_http(api)
    by_admin = api.client.post(
        f"/api/projects/{project_id}/budget", json=TOP_UP, headers=api.as_("adam")
    )
    assert by_admin.status_code == 200
    by_owner = api.client.post(
        f"/api/projects/{project_id}/budget", json=TOP_UP, headers=api.as_("ann")
    )
    assert by_owner.status_code == 403
    assert by_owner.json()["code"] == "role_required"
    assert _budget(api, project_id)["granted"] == 5.0


@pytest.mark.parametrize(
    "body",
    [
        {"add_epsilon": 0, "note": "nothing"},
        {"add_epsilon": -1, "note": "taking back"},
        {"add_epsilon": "NaN", "note": "not a number"},
        {"add_epsilon": "Infinity", "note": "everything"},
        {"add_epsilon": 1.0},
        {"add_epsilon": 1.0, "note": "x"},
    ],
)
def test_a_malformed_top_up_is_a_problem_and_changes_nothing(
    api: Api, body: dict[str, object]
) -> None:
    project_id = approved_over_http(api)
    response = api.client.post(
        f"/api/projects/{project_id}/budget", json=body, headers=api.as_("rita")
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert _budget(api, project_id)["granted"] == 3.0


def test_a_top_up_past_the_policy_maximum_is_refused(api: Api) -> None:
    project_id = approved_over_http(api)
    room = api.policy.budget.max_project_epsilon - 3.0
    refused = api.client.post(
        f"/api/projects/{project_id}/budget",
        json={"add_epsilon": room + 0.5, "note": "far more"},
        headers=api.as_("rita"),
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "grant_over_policy"
    exactly = api.client.post(
        f"/api/projects/{project_id}/budget",
        json={"add_epsilon": room, "note": "up to the maximum"},
        headers=api.as_("rita"),
    )
    assert exactly.json()["budget"]["granted"] == api.policy.budget.max_project_epsilon


def test_only_an_approved_project_is_topped_up(api: Api) -> None:
    project_id = _proposed(api, 3.0)
    response = api.client.post(
        f"/api/projects/{project_id}/budget", json=TOP_UP, headers=api.as_("rita")
    )
    assert response.status_code == 403
    assert response.json()["code"] == "project_not_approved"


def test_top_ups_are_append_only(backend: Settings, policy: Policy) -> None:
    api = make_api(backend, policy)
    project_id = approved_over_http(api)
    api.client.post(f"/api/projects/{project_id}/budget", json=TOP_UP, headers=api.as_("rita"))
    engine = migrate(api.settings)
    for statement in ("UPDATE budget_grants SET epsilon = 100", "DELETE FROM budget_grants"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with session(api.settings) as s:
        assert s.execute(select(BudgetGrant.epsilon)).scalars().all() == [2.0]


def test_the_project_page_tops_up_and_its_budget_adds_up(api: Api) -> None:
    project_id = approved_over_http(api)
    for epsilon in (0.5, 0.7):  # the first is released, the second still holds its ε
        submitted = api.client.post(
            "/api/queries",
            json={"project_id": project_id, "sql": COUNT_BY_THEME, "epsilon": epsilon},
            headers=api.as_("ann"),
        )
        assert submitted.json()["status"] == "queued"
        if epsilon == 0.5:
            run_worker(api.settings, StubExecutor(), once=True)
    rita = signed_in(api, "rita")
    done = rita.post(
        f"/review/projects/{project_id}/budget",
        data={"add_epsilon": "1.5", "note": "more seasons"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/review/projects/{project_id}"
    page = rita.get(f"/review/projects/{project_id}")
    assert "more seasons" in page.text
    assert 'action="/review/projects/' in page.text
    budget = rita.get(f"/review/projects/{project_id}.json").json()["project"]["budget"]
    assert (budget["granted"], budget["held"], budget["spent"]) == (4.5, 0.7, 0.5)
    assert budget["remaining"] == pytest.approx(4.5 - 0.7 - 0.5)
    researcher = signed_in(api, "ann")
    for page, link in (
        (rita.get("/review").text, f"/review/projects/{project_id}"),
        (researcher.get("/workspace").text, f"/workspace/projects/{project_id}"),
    ):
        for word in ("Toegekend", "Gereserveerd", "Besteed", "Resterend"):
            assert f">{word}</th>" in page
        row = re.search(rf'href="{link}".*?</tr>', page, re.S)
        assert row is not None
        shown = [float(n.replace(",", ".")) for n in re.findall(r"ε = ([\d,]+)", row.group(0))]
        assert shown == [4.5, 0.7, 0.5, 3.3]
