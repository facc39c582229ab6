"""The platform's cap on a member's privacy loss across projects, per cohort and rolling year."""

from __future__ import annotations

import datetime as dt
import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.config import Settings
from gateway.db import session
from gateway.errors import BudgetError, ExtractError
from gateway.policy import Policy
from gateway.policy.model import Purpose
from gateway.service import privacy_loss
from gateway.service.audit import SYSTEM
from gateway.service.jobs import JobRefused, job_public
from gateway.service.models import BudgetEntry, LedgerKind
from gateway.service.privacy_loss import WINDOW, MonthLoss, PrivacyLossPublic
from gateway.service.projects import set_extract
from gateway.service.status import StatusCode
from gateway.service.worker import run_worker
from gateway.web.charts import monthly_chart
from gateway.web.vocabulary import MONTHS
from tests.service.factories import (
    COUNT_BY_THEME,
    PROPOSAL,
    Api,
    Cast,
    StubExecutor,
    approved_over_http,
    approved_project,
    make_api,
    manifest_only,
    queued,
    release,
    reviewing,
    signed_in,
    submit,
)
from tests.service.test_web import published


def capped(policy: Policy, epsilon: float, **purposes: Purpose) -> Policy:
    """``policy`` with a platform cap of ``epsilon`` a year and ``purposes`` added."""
    budget = policy.budget.model_copy(update={"platform_epsilon_per_year": epsilon})
    return policy.model_copy(update={"budget": budget, "purposes": {**policy.purposes, **purposes}})


def _loss(settings: Settings, policy: Policy, now: dt.datetime | None = None) -> PrivacyLossPublic:
    with session(settings) as s:
        return privacy_loss.platform_loss(s, policy, now)


def _fits(
    settings: Settings, policy: Policy, purpose: str, epsilon: float, now: dt.datetime
) -> bool:
    """Whether a job of ``epsilon`` for ``purpose`` would be let through at ``now``."""
    with session(settings) as s:
        try:
            privacy_loss.check(s, policy, purpose, epsilon, policy.budget.delta, now)
        except BudgetError as refused:
            if refused.code != "platform_budget_exhausted":
                raise
            return False
        return True


def _released(settings: Settings, policy: Policy, cast: Cast, epsilon: float) -> None:
    """A job of ``epsilon`` for ``cast``'s project, run to its release."""
    queued(settings, policy, cast, epsilon)
    ran = run_worker(settings, StubExecutor(), once=True)
    assert [r.status for r in ran.ran] == [StatusCode.RELEASED]


def _commit_times(settings: Settings) -> list[dt.datetime]:
    with session(settings) as s:
        rows = s.execute(
            select(BudgetEntry.at)
            .where(BudgetEntry.kind == LedgerKind.COMMIT)
            .order_by(BudgetEntry.at)
        )
        return list(rows.scalars())


def test_the_cap_holds_under_100_concurrent_submissions_across_projects(
    backend: Settings, policy: Policy
) -> None:
    """Five projects with ε = 10 each race 100 submissions of ε = 0.5 for a platform cap of 10:
    exactly 20 get through, whichever projects they are for."""
    policy = capped(policy, 10.0)
    casts = [approved_project(backend, policy, epsilon=10.0, suffix=str(i)) for i in range(5)]
    start = threading.Barrier(100)
    outcomes: list[str] = []

    def attempt(cast: Cast) -> None:
        start.wait()
        try:
            outcomes.append(submit(backend, policy, cast, 0.5).status.value)
        except JobRefused as refusal:
            outcomes.append(refusal.code)

    threads = [threading.Thread(target=attempt, args=(casts[i % 5],)) for i in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["platform_budget_exhausted"] * 80 + ["queued"] * 20
    with session(backend) as s:
        reserved = s.execute(
            select(BudgetEntry.epsilon).where(BudgetEntry.kind == LedgerKind.RESERVE)
        ).scalars()
        assert sorted(reserved) == [0.5] * 20
    (everyone,) = _loss(backend, policy).cohorts[:1]
    assert (everyone.held_epsilon, everyone.remaining_epsilon) == (10.0, 0.0)


def test_a_refusal_comes_before_data_is_read_and_says_when_budget_frees(
    settings: Settings, policy: Policy
) -> None:
    policy = capped(policy, 2.0)
    first = approved_project(settings, policy, epsilon=10.0, suffix="a")
    second = approved_project(settings, policy, epsilon=10.0, suffix="b")
    _released(settings, policy, first, 1.0)
    _released(settings, policy, second, 0.75)
    executor = StubExecutor()
    with pytest.raises(JobRefused) as refused:
        submit(settings, policy, first, 0.5)
    assert refused.value.code == "platform_budget_exhausted"
    assert refused.value.status == 403
    assert "2.25" in refused.value.message
    assert "cap of 2" in refused.value.message
    first_ages_out = _commit_times(settings)[0] + WINDOW
    frees = first_ages_out.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    assert _fits(settings, policy, "mission", 0.5, frees)
    assert not _fits(settings, policy, "mission", 0.5, frees - dt.timedelta(minutes=1))
    assert refused.value.hint is not None
    assert f"from {frees:%Y-%m-%d %H:%M} UTC" in refused.value.hint
    assert "ε ≤ 0.25" in refused.value.hint
    job = job_public(settings, first.researcher, refused.value.job_id)
    assert job.status is StatusCode.BUDGET_EXHAUSTED
    assert run_worker(settings, executor, once=True).ran == []
    assert executor.calls == []
    assert submit(settings, policy, second, 0.25).status is StatusCode.QUEUED


def test_the_rolling_window_frees_budget_as_releases_age(
    settings: Settings, policy: Policy
) -> None:
    policy = capped(policy, 2.0)
    cast = approved_project(settings, policy, epsilon=10.0)
    _released(settings, policy, cast, 1.0)
    _released(settings, policy, cast, 1.0)
    older, newer = _commit_times(settings)
    assert not _fits(settings, policy, "mission", 0.5, older + WINDOW - dt.timedelta(seconds=1))
    assert _fits(settings, policy, "mission", 0.5, older + WINDOW)
    assert _fits(settings, policy, "mission", 1.0, older + WINDOW)
    assert not _fits(settings, policy, "mission", 1.5, older + WINDOW)
    assert _fits(settings, policy, "mission", 2.0, newer + WINDOW)
    aged = _loss(settings, policy, older + WINDOW).cohorts[0]
    assert (aged.epsilon, aged.remaining_epsilon) == (1.0, 1.0)
    assert sum(month.epsilon for month in aged.months) == 1.0
    now = _loss(settings, policy).cohorts[0]
    assert (now.epsilon, now.delta) == (2.0, 2 * policy.budget.delta)
    assert len(now.months) == 13
    assert now.months[-1].epsilon == 2.0
    assert all(month.epsilon == 0.0 for month in now.months[:-1])


def test_what_jobs_hold_counts_until_they_finish_whatever_their_age(
    settings: Settings, policy: Policy
) -> None:
    policy = reviewing(capped(policy, 2.0))
    cast = approved_project(settings, policy, epsilon=10.0)
    held = submit(settings, policy, cast, 1.5)
    years_later = dt.datetime.now(dt.UTC) + 3 * WINDOW
    assert not _fits(settings, policy, "mission", 1.0, years_later)
    with pytest.raises(JobRefused) as refused:
        submit(settings, policy, cast, 1.0)
    assert refused.value.hint is not None
    assert "jobs not yet finished" in refused.value.hint
    from gateway.service.jobs import ReviewDecision, review

    review(settings, cast.reviewer, held.id, ReviewDecision(approve=False, note="too broad"))
    assert _fits(settings, policy, "mission", 2.0, dt.datetime.now(dt.UTC))


def test_cohorts_count_the_releases_of_the_extracts_that_hold_them(
    settings: Settings, policy: Policy
) -> None:
    """Mission releases count for everyone; a consent purpose's only for who opted in to it."""
    policy = capped(policy, 4.0, product_research=Purpose(basis="consent"))
    mission = approved_project(settings, policy, epsilon=10.0, suffix="m")
    external = approved_project(
        settings, policy, epsilon=10.0, suffix="x", purpose="external_research"
    )
    product = approved_project(
        settings, policy, epsilon=10.0, suffix="p", purpose="product_research"
    )
    _released(settings, policy, mission, 1.0)
    _released(settings, policy, external, 2.0)
    _released(settings, policy, product, 0.5)
    loss = _loss(settings, policy)
    spent = {tuple(cohort.consents): cohort.epsilon for cohort in loss.cohorts}
    assert spent == {
        (): 1.0,
        ("external_research",): 3.0,
        ("product_research",): 1.5,
        ("external_research", "product_research"): 3.5,
    }
    assert all(cohort.purposes[0] == "mission" for cohort in loss.cohorts)
    # Members who opted in to both carry every release: 0.5 more would pass 4 for them.
    assert loss.binding("mission").consents == ["external_research", "product_research"]
    assert _fits(settings, policy, "product_research", 0.5, loss.as_of)
    with pytest.raises(JobRefused) as refused:
        submit(settings, policy, mission, 0.75)
    assert "opted in to external_research and product_research" in refused.value.message


def test_a_purpose_the_policy_no_longer_lists_counts_for_everyone(
    settings: Settings, policy: Policy
) -> None:
    external = approved_project(settings, policy, epsilon=10.0, purpose="external_research")
    _released(settings, policy, external, 2.0)
    mission_only = policy.model_copy(update={"purposes": {"mission": policy.purposes["mission"]}})
    (everyone,) = _loss(settings, mission_only).cohorts
    assert everyone.purposes == ["external_research", "mission"]
    assert everyone.epsilon == 2.0


def test_a_stored_repeat_costs_the_platform_nothing(settings: Settings, policy: Policy) -> None:
    cast = approved_project(settings, policy, epsilon=10.0)
    queued(settings, policy, cast, 0.5)
    earlier = release(0.5, from_store=True, created_at=dt.datetime.now(dt.UTC) - WINDOW / 2)
    run_worker(settings, StubExecutor(releases=[earlier]), once=True)
    (everyone, opted_in) = _loss(settings, policy).cohorts
    assert (everyone.epsilon, everyone.held_epsilon, everyone.delta) == (0.0, 0.0, 0.0)
    assert opted_in.remaining_epsilon == policy.budget.platform_epsilon_per_year


def test_a_job_charged_by_two_runs_counts_once(backend: Settings, policy: Policy) -> None:
    """A worker stops after its release; the re-run's commit is the one the platform counts."""
    from gateway.service.queue import claim, finish

    cast = approved_project(backend, policy, epsilon=10.0)
    job = queued(backend, policy, cast, 0.5)
    first = claim(backend, "first")
    assert first is not None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=backend.job_lease_seconds + 1)
    second = claim(backend, "second", now=later)
    assert second is not None
    assert second.id == job.id
    outcome = StubExecutor().run(second)
    assert finish(backend, job.id, "second", outcome) is StatusCode.RELEASED
    assert finish(backend, job.id, "first", outcome) is None
    (everyone, _) = _loss(backend, policy).cohorts
    assert (everyone.epsilon, everyone.held_epsilon) == (0.5, 0.0)


def test_an_extract_for_another_purpose_is_refused(
    settings: Settings, policy: Policy, tmp_path: Path
) -> None:
    """A mission extract holds members who never opted in: not for a consent-based project."""
    cast = approved_project(settings, policy, purpose="external_research")
    everyone = manifest_only(tmp_path / "mission.duckdb", str(cast.project_id))
    with pytest.raises(ExtractError) as refused:
        set_extract(settings, SYSTEM, cast.project_id, everyone)
    assert refused.value.code == "extract_other_purpose"
    assert "--purpose external_research" in (refused.value.hint or "")
    opted_in = manifest_only(
        tmp_path / "external.duckdb", str(cast.project_id), purpose="external_research"
    )
    set_extract(settings, SYSTEM, cast.project_id, opted_in)


def test_the_public_api_and_the_privacy_page_report_each_cohort(api: Api) -> None:
    published(api)
    loss = api.client.get("/api/public/privacy-loss")
    assert loss.status_code == 200
    body = loss.json()
    assert (body["cap_epsilon"], body["cap_delta"], body["window_days"]) == (20.0, 1e-4, 365)
    spent = {tuple(c["consents"]): (c["epsilon"], c["delta"]) for c in body["cohorts"]}
    assert spent == {(): (0.5, 1e-7), ("external_research",): (0.5, 1e-7)}
    for cohort in body["cohorts"]:
        assert len(cohort["months"]) == 13
        assert cohort["months"][-1]["epsilon"] == 0.5
        assert cohort["remaining_epsilon"] == 19.5
    twin = api.client.get("/privacy.json").json()["privacy_loss"]
    assert twin["cohorts"] == body["cohorts"]


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "nl",
            [
                "Als u geen extra toestemming gaf",
                "Als u toestemming gaf voor extern onderzoek",
                "heeft al het onderzoek samen ε = 0,50 gebruikt van de 20 die voor u zijn "
                "toegestaan.",
            ],
        ),
        (
            "en",
            [
                "If you gave no extra consent",
                "If you consented to external research",
                "all research together has used ε = 0.50 of the 20 allowed for you.",
            ],
        ),
    ],
)
def test_the_privacy_page_says_it_in_words_and_a_chart(
    api: Api, lang: str, words: list[str]
) -> None:
    published(api)
    page = api.client.get(f"/privacy?lang={lang}").text
    for sentence in words:
        assert sentence in page
    assert page.count('<svg class="chart monthly"') == 2
    assert page.count('<meter min="0" max="20.0" value="0.5">') == 2
    month = MONTHS[lang][dt.datetime.now(dt.UTC).month - 1]
    assert f"<title>{month} {dt.datetime.now(dt.UTC).year}: ε" in page


def test_a_monthly_chart_draws_each_month_to_scale() -> None:
    months = [
        MonthLoss(month=m, epsilon=e, delta=0.0) for m, e in (("2026-11", 0.5), ("2026-12", 2.0))
    ]
    svg = str(monthly_chart(months, "ε <per maand>", "nl"))
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([0-9.]+)"', svg)]
    assert heights[1] == pytest.approx(4 * heights[0])
    assert ">nov<" in svg
    assert ">0,50<" in svg
    assert "ε &lt;per maand&gt;" in svg


def test_reviewers_see_it_beside_the_projects_they_decide(
    settings: Settings, policy: Policy
) -> None:
    api = make_api(settings, capped(policy, 3.0))
    published(api)
    api.client.post("/api/projects", json=PROPOSAL, headers=api.as_("ann"))  # asks ε = 3
    rita = signed_in(api, "rita")
    console = rita.get("/review?lang=en").text
    (table,) = re.findall(r'id="platform-loss".*?</section>', console, re.S)
    assert table.count('<td class="remaining">ε = 2.50<br>') == 2  # what is left of the cap
    assert "The ε asked is more than this purpose&#39;s members have left this year" in console
    twin = rita.get("/review.json").json()["privacy_loss"]
    assert [c["remaining_epsilon"] for c in twin["cohorts"]] == [2.5, 2.5]
    approved = rita.get("/review.json").json()["approved"]["data"][0]["id"]
    assert 'id="platform-loss"' in rita.get(f"/review/projects/{approved}").text


def test_a_refusal_over_http_is_a_problem_with_a_hint(settings: Settings, policy: Policy) -> None:
    api = make_api(settings, capped(policy, 0.75))
    project_id = approved_over_http(api)
    query = {"project_id": project_id, "sql": COUNT_BY_THEME, "epsilon": 0.5}
    first = api.client.post("/api/queries", json=query, headers=api.as_("ann"))
    assert first.status_code == 201, first.text
    refused = api.client.post("/api/queries", json=query, headers=api.as_("ann"))
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["code"] == "platform_budget_exhausted"
    assert "ε ≤ 0.25" in problem["hint"]
    assert problem["instance"].startswith("/api/jobs/")


def test_a_job_whose_extract_was_rebuilt_for_another_purpose_reads_nothing(
    settings: Settings, policy: Policy, tmp_path: Path
) -> None:
    """The extract set on the project is replaced by a mission one: the job stops before data."""
    from gateway.service.execute import PipelineExecutor
    from gateway.service.queue import claim

    cast = approved_project(settings, policy, purpose="external_research")
    extract = tmp_path / "external.duckdb"
    manifest_only(extract, str(cast.project_id), purpose="external_research")
    set_extract(settings, SYSTEM, cast.project_id, extract)
    queued(settings, policy, cast)
    manifest_only(extract, str(cast.project_id), purpose="mission")
    job = claim(settings, "w")
    assert job is not None
    assert job.purpose == "external_research"
    executor = PipelineExecutor(settings, policy)
    with pytest.raises(ExtractError) as refused:
        executor.run(job)
    assert refused.value.code == "extract_other_purpose"
    assert executor.sandbox is None  # refused before a sandbox was made to read the extract
