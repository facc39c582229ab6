"""The portals: pages and their JSON twins, sign-in, languages, live vetting, charts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.dp.release import Selection
from gateway.service.worker import run_worker
from gateway.web.charts import release_charts
from gateway.web.i18n import MESSAGES
from gateway.web.numbers import number, scientific
from tests.service.factories import (
    COUNT_BY_THEME,
    MEAN_VOTES,
    PROPOSAL,
    SITE,
    Api,
    StubExecutor,
    approved_over_http,
    signed_in,
)
from tests.service.factories import release as make_release

TEMPLATES = Path(__file__).parents[2] / "gateway" / "web" / "templates"
PUBLICATION = {
    "title_nl": "Tips per thema",
    "title_en": "Tips by theme",
    "text_nl": "Hoeveel tips er per thema zijn gedeeld.",
    "text_en": "How many tips were shared per theme.",
}


def published(api: Api, executor: StubExecutor | None = None) -> int:
    """A query of ann's, run at once, and published by rita through the pages."""
    project_id = approved_over_http(api)
    ann, rita = signed_in(api, "ann"), signed_in(api, "rita")
    submitted = ann.post(
        "/workspace/queries",
        data={"project_id": project_id, "sql": COUNT_BY_THEME, "epsilon": 0.5},
        follow_redirects=False,
    )
    job_id = int(submitted.headers["location"].rsplit("/", 1)[1])
    run_worker(api.settings, executor or StubExecutor(), once=True)
    release_id: int = ann.get(f"/workspace/jobs/{job_id}.json").json()["job"]["release_id"]
    done = rita.post(f"/review/releases/{release_id}", data=PUBLICATION, follow_redirects=False)
    assert done.headers["location"] == f"/insights/{release_id}"
    return release_id


def test_the_login_page_has_its_twin_too(api: Api) -> None:
    assert api.client.get("/login.json?next=/review").json() == {"next": "/review"}
    assert api.client.get("/login.json?next=https://evil.example").json() == {"next": None}


def test_a_wrong_token_on_the_login_page_says_why(api: Api) -> None:
    response = api.client.post(
        "/login", data={"token": "gw_wrong"}, headers={"Origin": SITE}, follow_redirects=False
    )
    assert response.status_code == 401
    assert "text/html" in response.headers["content-type"]
    assert "token_unknown" in response.text


def test_a_missing_page_has_its_own_template_and_the_api_a_problem(api: Api) -> None:
    page = api.client.get("/insights/999")
    assert page.status_code == 404
    assert "<h1>404 · " in page.text
    assert "no published insight 999" in page.text
    problem = api.client.get("/insights/999.json")
    assert problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["code"] == "insight_not_found"
    refused = api.client.get("/review", headers={"Authorization": f"Bearer {api.tokens['ann']}"})
    assert refused.status_code == 403
    assert "<h1>404" not in refused.text
    assert "role_required" in refused.text


def test_a_page_needing_sign_in_sends_the_browser_to_login(api: Api) -> None:
    response = api.client.get("/workspace", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/workspace"


def test_a_form_from_another_site_is_refused(api: Api) -> None:
    browser = signed_in(api, "ann")
    response = browser.post(
        "/workspace/projects",
        data=PROPOSAL | {"themes": "sleep"},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert response.status_code == 403
    assert "cross_site_request" in response.text


def test_proposing_from_the_workspace(api: Api) -> None:
    browser = signed_in(api, "ann")
    response = browser.post(
        "/workspace/projects",
        data=PROPOSAL | {"themes": ["sleep", "stress"]},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = browser.get(response.headers["location"] + ".json").json()
    assert page["project"]["themes"] == ["sleep", "stress"]
    assert page["project"]["status"] == "proposed"


def test_live_vetting_marks_the_fragment_with_carets(api: Api) -> None:
    project_id = approved_over_http(api)
    browser = signed_in(api, "ann")
    refused = browser.post(
        "/workspace/vet",
        data={"sql": "SELECT member_pid FROM tips", "project_id": project_id},
        headers={"X-Fragment": "1"},
    )
    assert refused.status_code == 200
    assert "<html" not in refused.text
    assert "identifier_in_output" in refused.text
    assert "^^^^^^^^^^" in refused.text
    editor = {"sql": COUNT_BY_THEME, "epsilon": 0.5, "project_id": project_id}
    empty = {"rows_per_group": "", "groups": "", "clamps": ""}  # as the form sends them
    allowed = browser.post("/workspace/vet", data={**editor, **empty})
    assert "<html" in allowed.text
    assert "reads     tips" in allowed.text
    assert MESSAGES["bounds_note"][0] in allowed.text  # chosen with DP: no prediction yet
    assert not re.search(r"<code>n</code> ± [\d.,]+", allowed.text)
    fixed = browser.post("/workspace/vet", data={**editor, "rows_per_group": 3, "groups": 2})
    assert "at most 3 rows per member per cell (fixed)" in fixed.text
    assert re.search(r"<code>n</code> ± [\d.,]+", fixed.text)


def test_the_editor_submits_the_bounds_it_fixes(api: Api) -> None:
    project_id = approved_over_http(api)
    browser = signed_in(api, "ann")
    submitted = browser.post(
        "/workspace/queries",
        data={
            "project_id": project_id,
            "sql": MEAN_VOTES,
            "epsilon": 0.5,
            "rows_per_group": "4",
            "groups": "",
            "clamps": "helpful_votes=0:20",
        },
        follow_redirects=False,
    )
    assert submitted.status_code == 303, submitted.text
    job = browser.get(submitted.headers["location"] + ".json").json()["job"]
    assert job["bounds"] == {
        "rows_per_group": 4,
        "groups": None,
        "clamps": {"helpful_votes": [0, 20]},
    }
    assert job["vet_report"]["plan"]["contributions"]["rows_per_group"] == 4
    page = browser.get(submitted.headers["location"] + "?lang=en").text
    assert "rows_per_group = 4" in page
    assert "groups = chosen for this query with DP" in page
    bad = browser.post(
        "/workspace/vet",
        data={"project_id": project_id, "sql": MEAN_VOTES, "clamps": "helpful_votes"},
    )
    assert bad.status_code == 422
    assert "invalid_bounds" in bad.text


def test_from_editor_to_member_portal(api: Api) -> None:
    release_id = published(api)
    dutch = api.client.get(f"/insights/{release_id}")
    assert '<html lang="nl">' in dutch.text
    assert "Tips per thema" in dutch.text
    assert dutch.text.count('class="whisker"') == 2 * 3
    english = api.client.get("/insights?lang=en")
    assert "Tips by theme" in english.text
    assert "confidence interval" in english.text
    assert english.cookies.get("lang") == "en"
    remembered = api.client.get("/insights")
    assert '<html lang="en">' in remembered.text


def test_an_insight_over_private_groups_says_how_big_a_shown_group_is(api: Api) -> None:
    selection = Selection(threshold=1234, size="members")
    chosen = make_release(0.5).model_copy(update={"selection": selection})
    release_id = published(api, StubExecutor(releases=[chosen]))
    dutch = api.client.get(f"/insights/{release_id}?lang=nl").text
    assert "groepen van minder dan ongeveer 1.234 leden worden niet getoond" in dutch
    english = api.client.get(f"/insights/{release_id}?lang=en").text
    assert "groups of fewer than about 1,234 members are not shown" in english


@pytest.mark.parametrize(
    ("page", "api_path"),
    [
        ("/register", "/api/public/register"),
        ("/insights", "/api/public/insights"),
        ("/insights/{release}", "/api/public/insights/{release}"),
    ],
)
def test_public_pages_have_json_twins_equal_to_the_api(api: Api, page: str, api_path: str) -> None:
    release_id = published(api)
    html = api.client.get(page.format(release=release_id))
    assert html.status_code == 200
    assert "text/html" in html.headers["content-type"]
    twin = api.client.get(page.format(release=release_id) + ".json")
    assert twin.json() == api.client.get(api_path.format(release=release_id)).json()


@pytest.mark.parametrize(
    ("who", "page"),
    [
        ("ann", "/workspace"),
        ("ann", "/workspace/projects/1"),
        ("ann", "/workspace/jobs/1"),
        ("rita", "/review"),
        ("rita", "/review/jobs/1"),
        ("rita", "/review/releases/1"),
        ("rita", "/review/audit"),
        ("rita", "/review/projects/1"),
        ("adam", "/admin/users"),
        ("adam", "/admin/tokens"),
        ("adam", "/admin/extracts"),
    ],
)
def test_every_signed_in_page_has_a_json_twin(api: Api, who: str, page: str) -> None:
    published(api)
    browser = signed_in(api, who)
    html = browser.get(page)
    assert html.status_code == 200, html.text
    assert f'href="{page}.json"' in html.text
    twin = browser.get(page + ".json")
    assert twin.status_code == 200
    assert twin.headers["content-type"] == "application/json"


def test_the_front_page_counts_what_is_public(api: Api) -> None:
    published(api)
    page = api.client.get("/")
    assert 'href="/index.json"' in page.text
    assert api.client.get("/index.json").json() == {"insights": 1, "projects": 1}


def test_the_console_shows_each_approved_projects_budget(api: Api) -> None:
    published(api)
    console = signed_in(api, "rita").get("/review.json").json()
    (project,) = console["approved"]["data"]
    assert (project["budget"]["spent"], project["budget"]["remaining"]) == (0.5, 2.5)
    assert console["queue"]["count"] == 0
    assert console["unpublished"]["count"] == 0


def test_budget_pages_show_delta_spent_and_remaining_in_both_languages(api: Api) -> None:
    published(api)
    ann, rita = signed_in(api, "ann"), signed_in(api, "rita")
    (project,) = rita.get("/review.json").json()["approved"]["data"]
    budget = project["budget"]
    assert budget["spent_delta"] == api.policy.budget.delta
    assert budget["remaining_delta"] == pytest.approx(99 * api.policy.budget.delta, rel=1e-9)
    for lang, spent, remaining in (
        ("nl", "1 × 10⁻⁷", "9,9 × 10⁻⁶"),
        ("en", "1 × 10⁻⁷", "9.9 × 10⁻⁶"),
    ):
        console = rita.get(f"/review?lang={lang}").text
        assert f"δ = {spent}" in console
        assert f"δ = {remaining}" in console
        page = ann.get(f"/workspace/projects/{project['id']}?lang={lang}").text
        assert re.search(rf'class="spent">ε = 0[,.]50 · δ = {spent}<', page), lang
        assert re.search(rf'class="remaining">ε = 2[,.]50 · δ = {remaining}<', page), lang
        assert MESSAGES["delta_explained"][0 if lang == "nl" else 1] in page
        assert f"δ = {remaining}" in ann.get(f"/workspace?lang={lang}").text


def test_the_console_grants_a_delta_budget(api: Api) -> None:
    created = api.client.post("/api/projects", json=PROPOSAL, headers=api.as_("ann")).json()
    rita = signed_in(api, "rita")
    assert 'name="granted_delta"' in rita.get("/review").text
    granted = api.policy.budget.default_project_delta / 2
    decided = rita.post(
        f"/review/projects/{created['id']}",
        data={"approve": "true", "note": "fits", "granted_epsilon": 2.0, "granted_delta": granted},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    project = api.client.get(f"/api/projects/{created['id']}", headers=api.as_("ann")).json()
    assert (project["budget"]["granted"], project["budget"]["granted_delta"]) == (2.0, granted)


def test_member_text_is_escaped(api: Api) -> None:
    approved_over_http(api)
    api.client.post(
        "/api/projects",
        json=PROPOSAL | {"title": "<script>alert(1)</script>"},
        headers=api.as_("ann"),
    )
    browser = signed_in(api, "rita")
    page = browser.get("/review")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_a_chart_draws_each_interval_where_it_lies() -> None:
    release = make_release(0.5)
    (svg,) = release_charts(release, "en")
    whiskers = re.findall(r'class="whisker" x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="\2"', svg)
    bars = [float(w) for w in re.findall(r'class="bar" x="[\d.]+" y="\d+" width="([\d.]+)"', svg)]
    assert len(whiskers) == 2
    assert bars[0] / bars[1] == pytest.approx(120 / 80, rel=1e-3)  # drawn to 0.1 px
    (lo1, _, hi1), (lo2, _, hi2) = ((float(a), b, float(c)) for a, b, c in whiskers)
    assert hi1 - lo1 == pytest.approx(hi2 - lo2, abs=0.2)
    assert lo2 < hi2 == lo1 < hi1  # [60, 100] meets [100, 140]
    assert "100 – 140" in svg


def test_chart_labels_are_escaped() -> None:
    release = make_release(0.5).model_copy(update={"rows": [["<b>x</b>", 1.0], ["y", 2.0]]})
    (svg,) = release_charts(release, "nl")
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg


def test_numbers_read_as_people_write_them() -> None:
    assert number(1234.5, "nl") == "1.234,5"
    assert number(1234.5, "en") == "1,234.5"
    assert number(None, "nl") == ""
    assert number(120.0, "nl") == "120"
    assert number(2747, "nl") == "2.747"
    assert number(0.5, "nl", 2) == "0,50"
    assert number(5.0, "en", 2) == "5.00"
    assert scientific(1e-5, "nl") == "1 × 10⁻⁵"
    assert scientific(2.5e-7, "nl") == "2,5 × 10⁻⁷"
    assert scientific(2.5e-7, "en") == "2.5 × 10⁻⁷"
    assert scientific(0.0, "en") == "0"


def test_every_word_on_the_pages_is_in_both_languages() -> None:
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r't\("([a-z_]+)"\)', template.read_text()))
    assert used <= set(MESSAGES), sorted(used - set(MESSAGES))
    assert all(nl and en for nl, en in MESSAGES.values())


def test_every_page_route_has_a_json_twin_route() -> None:
    from fastapi.routing import APIRoute

    from gateway.service.routes import console, portal, signin, workspace
    from gateway.web.render import json_twin

    pages = {
        route.path
        for module in (portal, signin, workspace, console)
        for route in module.router.routes
        if isinstance(route, APIRoute) and "GET" in route.methods
    }
    html = {path for path in pages if not path.endswith(".json")}
    assert {"/", "/insights", "/workspace", "/review", "/login"} <= html
    assert {path for path in html if json_twin(path) not in pages} == set()


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_editor_tries_a_query_on_dummy_data_and_says_so(api: Api, lang: str) -> None:
    project_id = approved_over_http(api)
    ann = signed_in(api, "ann")
    assert 'name="dummy" value="true"' in ann.get(f"/workspace/projects/{project_id}").text
    submitted = ann.post(
        "/workspace/queries",
        data={"project_id": project_id, "sql": COUNT_BY_THEME, "epsilon": 0.5, "dummy": "true"},
        follow_redirects=False,
    )
    job_id = int(submitted.headers["location"].rsplit("/", 1)[1])
    job = ann.get(f"/workspace/jobs/{job_id}.json").json()["job"]
    assert (job["dummy"], job["status"]) == (True, "queued")
    held = api.client.get(f"/api/projects/{project_id}", headers=api.as_("ann")).json()["budget"]
    assert held["held"] == 0.0
    page = ann.get(f"/workspace/jobs/{job_id}?lang={lang}").text
    assert MESSAGES["dummy_explained"][0 if lang == "nl" else 1] in page
