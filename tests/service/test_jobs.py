"""Submissions: what the policy auto-approves, what waits for review, what is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markupsafe import escape

from gateway.analyses.collect import MAX_CODE_BYTES
from gateway.config import Settings
from gateway.errors import ServiceError
from gateway.policy import Policy
from gateway.policy.model import Review
from gateway.service.jobs import (
    AnalysisCreate,
    JobRefused,
    list_jobs,
    review_reasons,
    submit_analysis,
)
from gateway.service.models import JobKind
from gateway.service.status import StatusCode
from gateway.web.i18n import MESSAGES
from tests.service.factories import (
    ANALYSIS,
    Api,
    approved_over_http,
    approved_project,
    signed_in,
    submit,
)

TEMPLATE = "theme_popularity"


@pytest.fixture
def with_templates(tmp_path: Path) -> Settings:
    """Settings whose analyses folder holds one of the policy's templates."""
    folder = tmp_path / "analyses"
    folder.mkdir()
    (folder / f"{TEMPLATE}.py").write_text(ANALYSIS)
    return Settings(data_dir=tmp_path / "data", analyses_dir=folder)


def test_the_policy_auto_approves_only_templates_within_its_epsilon(policy: Policy) -> None:
    limit = policy.auto_approval.max_epsilon
    analysis = JobKind.ANALYSIS
    assert policy.review.analyses == "templates"
    assert review_reasons(analysis, TEMPLATE, limit, policy) == []
    assert review_reasons(analysis, None, limit, policy) == [
        "not one of the policy's vetted templates"
    ]
    (over,) = review_reasons(analysis, TEMPLATE, limit + 0.1, policy)
    assert "above the auto-approval limit" in over
    anything = policy.model_copy(update={"review": Review(analyses="auto")})
    assert review_reasons(analysis, None, limit + 0.1, anything) == []


def test_sql_runs_at_once_unless_the_policy_reviews_every_query(
    policy: Policy, reviewed_policy: Policy
) -> None:
    """Under ``review.sql: auto`` the template list and its ε limit do not hold SQL back."""
    assert policy.review.sql == "auto"
    assert review_reasons(JobKind.SQL, None, policy.budget.per_query_epsilon_cap, policy) == []
    (always,) = review_reasons(JobKind.SQL, None, 0.1, reviewed_policy)
    assert "review.sql: always" in always


def test_a_query_in_an_approved_project_is_queued_at_once(
    settings: Settings, policy: Policy, reviewed_policy: Policy
) -> None:
    cast = approved_project(settings, policy, epsilon=5.0)
    at_once = submit(settings, policy, cast, epsilon=1.5)
    assert (at_once.status, at_once.review_reasons) == (StatusCode.QUEUED, [])
    waits = submit(settings, reviewed_policy, cast, epsilon=0.1)
    assert waits.status is StatusCode.AWAITING_REVIEW
    assert [job.id for job in list_jobs(settings, cast.reviewer).data] == [waits.id, at_once.id]


def test_a_template_within_the_limit_is_queued_at_once(
    with_templates: Settings, policy: Policy
) -> None:
    cast = approved_project(with_templates, policy)
    job = submit_analysis(
        with_templates,
        cast.researcher,
        AnalysisCreate(project_id=cast.project_id, template=TEMPLATE, epsilon=0.5),
        policy,
    )
    assert job.status is StatusCode.QUEUED
    assert job.review_reasons == []
    assert job.text == ANALYSIS


def test_own_analysis_code_waits_for_review(with_templates: Settings, policy: Policy) -> None:
    cast = approved_project(with_templates, policy)
    job = submit_analysis(
        with_templates,
        cast.researcher,
        AnalysisCreate(project_id=cast.project_id, code=ANALYSIS, epsilon=0.5),
        policy,
    )
    assert job.status is StatusCode.AWAITING_REVIEW


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"template": "astrology"}, "unknown_template"),
        ({"template": TEMPLATE, "code": "x = 1"}, "analysis_source"),
        ({}, "analysis_source"),
        ({"code": "#" * (MAX_CODE_BYTES + 1)}, "analysis_too_large"),
    ],
)
def test_an_analysis_that_cannot_be_taken(
    with_templates: Settings, policy: Policy, data: dict[str, str], code: str
) -> None:
    cast = approved_project(with_templates, policy)
    with pytest.raises(ServiceError) as refused:
        submit_analysis(
            with_templates,
            cast.researcher,
            AnalysisCreate(project_id=cast.project_id, epsilon=0.5, **data),
            policy,
        )
    assert refused.value.code == code


def test_a_listed_template_that_is_not_installed(settings: Settings, policy: Policy) -> None:
    cast = approved_project(settings, policy)
    with pytest.raises(ServiceError) as refused:
        submit_analysis(
            settings.model_copy(update={"analyses_dir": settings.data_dir / "none"}),
            cast.researcher,
            AnalysisCreate(project_id=cast.project_id, template=TEMPLATE),
            policy,
        )
    assert refused.value.code == "template_missing"
    assert "GATEWAY_ANALYSES_DIR" in (refused.value.hint or "")


def test_an_epsilon_over_the_cap_is_refused_and_kept(
    with_templates: Settings, policy: Policy
) -> None:
    cast = approved_project(with_templates, policy, epsilon=10.0)
    with pytest.raises(JobRefused) as refused:
        submit_analysis(
            with_templates,
            cast.researcher,
            AnalysisCreate(
                project_id=cast.project_id,
                template=TEMPLATE,
                epsilon=policy.budget.per_query_epsilon_cap * 2,
            ),
            policy,
        )
    assert refused.value.status == 422
    assert refused.value.code == "epsilon_over_cap"


BROKEN = """from gateway.analyses import Analysis, count, table

analysis = Analysis("broken")
analysis.add("by_theme", table("tips").group_by("theme").agg(count().alias("n"), 0.5)
"""


def test_a_broken_analysis_is_refused_at_submission_with_its_line(api: Api) -> None:
    project_id = approved_over_http(api)
    body = {"project_id": project_id, "code": BROKEN, "epsilon": 0.5}
    response = api.client.post("/api/analyses", json=body, headers=api.as_("ann"))
    assert response.status_code == 422
    problem = response.json()
    (issue,) = problem["issues"]
    assert (issue["code"], issue["line"]) == ("analysis_syntax", 4)
    job = api.client.get(problem["instance"], headers=api.as_("ann")).json()
    assert job["status"] == "vetting_refused"
    page = signed_in(api, "ann").get(f"/workspace/jobs/{job['id']}?lang=en").text
    assert "line 4: <code>analysis_syntax</code>" in page


def test_an_analysis_is_previewed_like_a_query(api: Api) -> None:
    project_id = approved_over_http(api)
    ask = {"project_id": project_id, "code": ANALYSIS, "epsilon": 0.5}
    preview = api.client.post("/api/vet/analysis", json=ask, headers=api.as_("ann")).json()
    assert preview["allowed"]
    names = [query["name"] for query in preview["report"]["queries"]]
    assert names == ["tips_by_theme_month", "follows_by_theme_month"]
    assert "tips_by_theme_month" in preview["rendered"]
    assert preview["remaining_after"] == pytest.approx(preview["remaining_before"] - 0.5)
    wrong = ANALYSIS.replace('table("tips")', 'table("accounts")')
    refused = api.client.post(
        "/api/vet/analysis", json={**ask, "code": wrong}, headers=api.as_("ann")
    ).json()
    assert not refused["allowed"]
    assert refused["report"]["violations"]
    page = signed_in(api, "ann").post(
        "/workspace/vet/analysis", data={"project_id": project_id, "code": ANALYSIS}
    )
    assert page.status_code == 200
    assert "follows_by_theme_month" in page.text


@pytest.mark.parametrize(("lang", "heading"), [("nl", "Niet ingediend"), ("en", "Not submitted")])
def test_a_refused_query_comes_back_on_its_page_as_typed(api: Api, lang: str, heading: str) -> None:
    """Not a problem page: the project page again, the query, ε and bounds kept, the issues
    under the query's lines, in the page's language."""
    project_id = approved_over_http(api)
    ann = signed_in(api, "ann")
    typed = "SELECT member_pid, COUNT(*) AS n\nFROM tips GROUP BY member_pid"
    form = {"project_id": project_id, "sql": typed, "epsilon": "0.7", "groups": "3"}
    page = ann.post(f"/workspace/queries?lang={lang}", data=form, follow_redirects=False)
    assert page.status_code == 422
    assert heading in page.text
    assert "identifier_in_output" in page.text
    assert "SELECT member_pid, COUNT(*) AS n\nFROM tips GROUP BY member_pid</textarea>" in page.text
    assert 'value="0.7"' in page.text
    assert 'name="groups" type="number" step="1" min="1" value="3"' in page.text
    kept = re.search(r'href="/workspace/jobs/(\d+)"', page.text)
    assert kept is not None
    job = api.client.get(f"/api/jobs/{kept.group(1)}", headers=api.as_("ann")).json()
    assert job["status"] == "vetting_refused"


def test_a_refused_analysis_comes_back_with_its_code_and_lines(api: Api) -> None:
    project_id = approved_over_http(api)
    ann = signed_in(api, "ann")
    form = {"project_id": project_id, "code": BROKEN, "epsilon": "0.5"}
    page = ann.post("/workspace/analyses?lang=en", data=form, follow_redirects=False)
    assert page.status_code == 422
    assert "line 4: <code>analysis_syntax</code>" in page.text
    assert str(escape(BROKEN.splitlines()[3])) in page.text  # the code, kept as typed


def test_reviewers_see_the_queries_that_ran_without_them(api: Api) -> None:
    project_id = approved_over_http(api)
    sql = "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme"
    body = {"project_id": project_id, "sql": sql, "epsilon": 0.5}
    job = api.client.post("/api/queries", json=body, headers=api.as_("ann")).json()
    assert job["status"] == "queued"
    rita = signed_in(api, "rita")
    console = rita.get("/review.json").json()
    assert console["queue"]["count"] == 0
    assert [j["id"] for j in console["recent"]["data"]] == [job["id"]]
    assert f'<a href="/review/jobs/{job["id"]}">' in rita.get("/review?lang=en").text


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_the_proposal_form_explains_purposes_and_epsilon(api: Api, lang: str) -> None:
    page = signed_in(api, "ann").get(f"/workspace?lang={lang}").text
    for words in (MESSAGES["purpose_help"], MESSAGES["epsilon_help"]):
        assert str(escape(words[0 if lang == "nl" else 1])) in page
    for purpose in api.policy.purposes.values():
        assert str(escape(purpose.description)) in page
