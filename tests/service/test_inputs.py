"""Malformed input is a clear 4xx, never a server error, and nothing of it is stored."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gateway.service.inputs import MAX_ID
from tests.service.factories import COUNT_BY_THEME, Api, approved_over_http, signed_in

PAST = [MAX_ID + 1, 2**63, 10**30]


def _strict_json(text: str) -> object:
    """JSON as the standard has it: NaN and Infinity are not numbers there."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} in JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("past", PAST)
def test_ids_past_the_databases_range_are_refused_not_looked_up(api_on: Api, past: int) -> None:
    ann, adam = api_on.as_("ann"), api_on.as_("adam")
    refused = [
        api_on.client.get(f"/api/jobs/{past}", headers=ann),
        api_on.client.get(f"/api/projects/{past}", headers=ann),
        api_on.client.get(f"/api/releases/{past}", headers=ann),
        api_on.client.get(f"/api/public/insights/{past}"),
        api_on.client.get(f"/api/jobs?project_id={past}", headers=ann),
        api_on.client.get(f"/api/audit?after={past}", headers=adam),
        api_on.client.post(f"/api/users/{past}/disable", headers=adam),
        api_on.client.post(
            "/api/queries", json={"project_id": past, "sql": COUNT_BY_THEME}, headers=ann
        ),
        signed_in(api_on, "ann").get(f"/workspace/jobs/{past}.json"),
        api_on.client.get(f"/insights/{past}.json"),
    ]
    for response in refused:
        assert response.status_code == 422, (response.request.url, response.text)
        assert response.json()["code"] == "invalid_request"
    assert api_on.client.get(f"/api/jobs/{MAX_ID}", headers=ann).status_code == 404


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_epsilon_is_refused_and_never_stored(api_on: Api, constant: str) -> None:
    project_id = approved_over_http(api_on)
    ann = api_on.as_("ann") | {"Content-Type": "application/json"}
    for path, body in [
        ("/api/queries", f'{{"project_id": {project_id}, "sql": "{COUNT_BY_THEME}"'),
        ("/api/analyses", f'{{"project_id": {project_id}, "template": "tips_by_theme"'),
        ("/api/vet", f'{{"sql": "{COUNT_BY_THEME}"'),
    ]:
        response = api_on.client.post(path, content=f'{body}, "epsilon": {constant}}}', headers=ann)
        assert response.status_code == 422, (path, response.text)
        assert "epsilon" in response.json()["detail"]
    browser = signed_in(api_on, "ann")
    form = browser.post(
        "/workspace/queries",
        data={"project_id": project_id, "sql": COUNT_BY_THEME, "epsilon": constant.lower()},
    )
    assert form.status_code == 422
    jobs = api_on.client.get("/api/jobs", headers=api_on.as_("ann"))
    assert jobs.json()["count"] == 0
    page = browser.get(f"/workspace/projects/{project_id}.json")
    assert page.status_code == 200
    _strict_json(page.text)


def test_bounds_refuse_non_finite_clamps(api: Api) -> None:
    project_id = approved_over_http(api)
    response = api.client.post(
        "/api/queries",
        content=(
            f'{{"project_id": {project_id}, "sql": "{COUNT_BY_THEME}", '
            '"bounds": {"clamps": {"helpful_votes": [0, Infinity]}}}'
        ),
        headers=api.as_("ann") | {"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert api.client.get("/api/jobs", headers=api.as_("ann")).json()["count"] == 0


@pytest.mark.parametrize(
    ("days", "status", "code"),
    [
        (True, 422, "invalid_request"),
        ("30", 422, "invalid_request"),
        (1.5, 422, "invalid_request"),
        (0, 422, "invalid_request"),
        (-1, 422, "invalid_request"),
        (367, 400, "token_days_out_of_range"),
        (3_000_000, 400, "token_days_out_of_range"),
    ],
)
def test_a_token_lives_a_whole_number_of_days_within_the_cap(
    api: Api, days: object, status: int, code: str
) -> None:
    adam = api.people["adam"].id
    response = api.client.post(
        f"/api/users/{adam}/tokens", json={"days": days}, headers=api.as_("adam")
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


def test_the_longest_token_is_the_settings_cap(api: Api) -> None:
    adam = api.people["adam"].id
    issued = api.client.post(
        f"/api/users/{adam}/tokens", json={"days": 366}, headers=api.as_("adam")
    ).json()
    lifetime = dt.datetime.fromisoformat(issued["expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=365) < lifetime <= dt.timedelta(days=366)


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("", 422, "invalid_request"),
        ("/", 400, "extract_path_invalid"),
        ("extracts/a\x00b.duckdb", 400, "extract_path_invalid"),
        ("x" * 1001, 422, "invalid_request"),
    ],
)
def test_an_extract_path_must_name_a_file(api: Api, path: str, status: int, code: str) -> None:
    project_id = approved_over_http(api)
    response = api.client.put(
        f"/api/projects/{project_id}/extract", json={"path": path}, headers=api.as_("adam")
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
