"""Bounds through the service: fixed with a submission, kept with the job, shown in words.

A researcher may fix a query's bounds in the API (``bounds``); they are
checked against the policy, kept with the job and its plan, and handed to
the worker. Each release column's bounds and cut are shown in words on the
researcher's, reviewer's and members' pages, in Dutch and English; a biased
column is published only with the reviewer's acknowledgment.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from gateway.db import session
from gateway.dp.release import ColumnBounds
from gateway.policy.model import Aggregation
from gateway.service.models import AuditRecord
from gateway.service.worker import run_worker
from gateway.vet.bounds import FixedBounds
from gateway.web.i18n import MESSAGES
from tests.service.factories import (
    COUNT_BY_THEME,
    COUNTED,
    MEAN_VOTES,
    TOO_MUCH_CUT,
    Api,
    StubExecutor,
    approved_over_http,
    release,
)
from tests.service.test_web import PUBLICATION, signed_in

BOUNDS = {"rows_per_group": 3, "groups": 2, "clamps": {"helpful_votes": [0, 20]}}


def _submit(api: Api, sql: str, **extra: Any) -> Any:
    project_id = approved_over_http(api)
    return api.client.post(
        "/api/queries",
        json={"project_id": project_id, "sql": sql, "epsilon": 0.5, **extra},
        headers=api.as_("ann"),
    )


def _released(api: Api, bounds: dict[str, ColumnBounds], sql: str = COUNT_BY_THEME) -> int:
    """A job of ann's, approved by rita and run: the release id (its one part named "query")."""
    job = _submit(api, sql).json()
    run_worker(api.settings, StubExecutor(releases=[release(0.5, bounds=bounds)]), once=True)
    done = api.client.get(f"/api/jobs/{job['id']}", headers=api.as_("ann")).json()
    release_id: int = done["release_id"]
    return release_id


def _publish(api: Api, release_id: int, **extra: Any) -> Any:
    return api.client.post(
        f"/api/releases/{release_id}/publish",
        json={**PUBLICATION, **extra},
        headers=api.as_("rita"),
    )


# ---------------------------------------------------------------- API: fixed bounds


def test_a_submission_keeps_its_bounds_on_the_job_and_its_plan(api: Api) -> None:
    response = _submit(api, MEAN_VOTES, bounds=BOUNDS)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["bounds"] == BOUNDS
    plan = job["vet_report"]["plan"]
    assert plan["contributions"] == {"rows_per_group": 3, "groups": 2}
    (votes,) = plan["aggregates"]
    assert (votes["lower"], votes["upper"]) == (0, 20)
    assert job["vet_report"]["bounds"]["chosen"] is False
    again = api.client.get(f"/api/jobs/{job['id']}", headers=api.as_("ann")).json()
    assert again["bounds"] == BOUNDS


def test_the_worker_is_handed_the_bounds_to_run_with(api: Api) -> None:
    assert _submit(api, MEAN_VOTES, bounds=BOUNDS).json()["status"] == "queued"
    executor = StubExecutor()
    run_worker(api.settings, executor, once=True)
    (claimed,) = executor.calls
    assert claimed.bounds == FixedBounds.model_validate(BOUNDS)


def test_without_bounds_every_bound_is_chosen(api: Api) -> None:
    job = _submit(api, MEAN_VOTES).json()
    assert job["bounds"] is None
    assert job["vet_report"]["plan"]["contributions"] == {"rows_per_group": None, "groups": None}
    assert job["vet_report"]["bounds"]["chosen"] is True


@pytest.mark.parametrize(
    ("bounds", "code"),
    [
        ({"rows_per_group": 10_000}, "bounds_outside_policy"),
        ({"groups": 10_000}, "bounds_outside_policy"),
        ({"clamps": {"helpful_votes": [0, 10_000]}}, "bounds_outside_policy"),
        ({"clamps": {"helpful_votes": [5, 1]}}, "invalid_bounds"),
        ({"clamps": {"word_count": [0, 10]}}, "clamp_not_in_query"),
    ],
)
def test_bounds_outside_the_policy_are_refused_and_the_job_kept(
    api: Api, bounds: dict[str, Any], code: str
) -> None:
    response = _submit(api, MEAN_VOTES, bounds=bounds)
    assert response.status_code == 422
    problem = response.json()
    assert [issue["code"] for issue in problem["issues"]] == [code]
    assert problem["issues"][0]["hint"]
    job = api.client.get(problem["instance"], headers=api.as_("ann")).json()
    assert job["status"] == "vetting_refused"


def test_malformed_bounds_are_invalid_requests(api: Api) -> None:
    response = _submit(api, MEAN_VOTES, bounds={"rows_per_group": 0})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


# ---------------------------------------------------------------- publishing a biased column


def test_a_biased_release_is_published_only_with_acknowledgment(api: Api) -> None:
    release_id = _released(api, {"n": TOO_MUCH_CUT})
    shown = api.client.get(f"/api/releases/{release_id}", headers=api.as_("rita")).json()
    assert shown["biased"] == ["query.n"]
    assert shown["parts"][0]["release"]["bounds"]["n"]["biased"] is True
    refused = _publish(api, release_id)
    assert refused.status_code == 409
    assert refused.json()["code"] == "caveats_not_acknowledged"
    assert "biased (query.n" in refused.json()["detail"]
    assert api.client.get("/api/public/insights").json()["count"] == 0
    accepted = _publish(api, release_id, acknowledged=["biased"])
    assert accepted.status_code == 200, accepted.text
    assert api.client.get("/api/public/insights").json()["count"] == 1
    with session(api.settings) as s:
        detail = s.execute(
            select(AuditRecord.detail).where(AuditRecord.action == "release.publish")
        ).scalar_one()
    assert '"acknowledged":["biased:query.n"]' in detail


def test_a_release_within_the_tolerance_needs_no_acknowledgment(api: Api) -> None:
    assert _publish(api, _released(api, {"n": COUNTED})).status_code == 200
    assert _publish(api, _released(api, {})).status_code == 200  # before the engine says


def test_the_publish_preview_asks_for_the_acknowledgment(api: Api) -> None:
    release_id = _released(api, {"n": TOO_MUCH_CUT})
    rita = signed_in(api, "rita")
    page = rita.post(f"/review/releases/{release_id}/preview?lang=en", data=PUBLICATION).text
    assert 'name="acknowledged" value="biased" required' in page
    assert MESSAGES["acknowledge_biased"][1] in page
    console = rita.get("/review?lang=en").text
    assert "BIASED" in console
    assert "query.n" in console
    refused = rita.post(f"/review/releases/{release_id}", data=PUBLICATION)
    assert refused.status_code == 409
    assert "caveats_not_acknowledged" in refused.text
    done = rita.post(
        f"/review/releases/{release_id}",
        data={**PUBLICATION, "acknowledged": "biased"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    unbiased = _released(api, {"n": COUNTED})
    preview = rita.post(f"/review/releases/{unbiased}/preview", data=PUBLICATION).text
    assert 'name="acknowledged"' not in preview


# ---------------------------------------------------------------- the words on each page


def _words(page: str) -> str:
    """The page's text with tags dropped and spaces joined, as a reader sees it."""
    import html
    import re

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_researchers_and_reviewers_read_the_bounds_in_words(api: Api) -> None:
    release_id = _released(api, {"n": COUNTED})
    job_id = api.client.get(f"/api/releases/{release_id}", headers=api.as_("ann")).json()["job_id"]
    ann, rita = signed_in(api, "ann"), signed_in(api, "rita")
    for browser, path in (
        (ann, f"/workspace/jobs/{job_id}"),
        (rita, f"/review/releases/{release_id}"),
    ):
        english = _words(browser.get(f"{path}?lang=en").text)
        assert (
            "at most 50 tips per member per theme counted, in at most 12 themes "
            "(chosen for this query with DP); about 3 % of tips were left out (± 1 %)"
        ) in english
        assert "its interval is widened upwards by that cut" in english  # a count
        dutch = _words(browser.get(f"{path}?lang=nl").text)
        assert (
            "hoogstens 50 tips per lid per thema geteld, in hoogstens 12 groepen (thema) "
            "(met DP gekozen voor deze vraag); ongeveer 3 % van de tips viel weg (± 1 %)"
        ) in dutch
        assert "BIASED" not in english
        assert "VERTEKEND" not in dutch


def test_a_biased_column_is_flagged_for_researchers(api: Api) -> None:
    release_id = _released(api, {"n": TOO_MUCH_CUT})
    job_id = api.client.get(f"/api/releases/{release_id}", headers=api.as_("ann")).json()["job_id"]
    ann = signed_in(api, "ann")
    english = _words(ann.get(f"/workspace/jobs/{job_id}?lang=en").text)
    assert "BIASED" in english
    assert "about 20 % of tips were left out" in english
    assert "so this number is likely an underestimate" in english
    dutch = _words(ann.get(f"/workspace/jobs/{job_id}?lang=nl").text)
    assert "VERTEKEND" in dutch
    assert "waarschijnlijk een onderschatting" in dutch


def test_members_read_what_the_interval_covers_and_that_biased_is_low(api: Api) -> None:
    biased = _released(api, {"n": TOO_MUCH_CUT})
    assert _publish(api, biased, acknowledged=["biased"]).status_code == 200
    english = _words(api.client.get(f"/insights/{biased}?lang=en").text)
    assert (
        "This number was counted so: at most 50 tips per member per theme counted, in at "
        "most 12 themes; about 20 % of tips were left out (± 1 %). The interval is widened upwards "
        "by that, so it should hold the full number too."
    ) in english
    assert "This number is likely an underestimate" in english
    assert "chosen for this query with DP" not in english  # members get no jargon
    dutch = _words(api.client.get(f"/insights/{biased}?lang=nl").text)
    assert "Het interval is daarom naar boven verruimd" in dutch
    assert "Dit getal is waarschijnlijk een onderschatting" in dutch
    listed = _words(api.client.get("/insights?lang=en").text)
    assert "This number is likely an underestimate" in listed
    insight = api.client.get(f"/insights/{biased}.json").json()
    assert insight["data"][0]["tables"] == ["tips"]


def test_members_read_that_an_average_s_interval_is_of_the_bounded_number(api: Api) -> None:
    clamped = ColumnBounds(rows_per_group=1, groups=12, clamp=(0, 20), chosen=True, cut_share=0.02)
    made = release(0.5, bounds={"votes": clamped}).model_copy(
        update={"columns": ["theme", "votes"]}
    )
    job = _submit(api, MEAN_VOTES).json()
    stub = StubExecutor(releases=[made], aggregates={"votes": Aggregation.MEAN})
    run_worker(api.settings, stub, once=True)
    release_id = api.client.get(f"/api/jobs/{job['id']}", headers=api.as_("ann")).json()[
        "release_id"
    ]
    assert _publish(api, release_id).status_code == 200
    english = _words(api.client.get(f"/insights/{release_id}?lang=en").text)
    assert (
        "The interval is for the number as it was counted: each member's tips count once per "
        "theme, as their average, in at most 12 themes, each value clamped to [0, 20]; about "
        "2 % of the unbounded answer was cut off."
    ) in english
    dutch = _words(api.client.get(f"/insights/{release_id}?lang=nl").text)
    assert "Het interval geldt voor het getal zoals het geteld is" in dutch
    assert "elke waarde begrensd tot [0, 20]" in dutch
    researcher = _words(signed_in(api, "ann").get(f"/workspace/jobs/{job['id']}?lang=en").text)
    assert "its interval is that of the bounded value" in researcher


def test_a_count_of_members_is_bounded_by_cells_only(api: Api) -> None:
    made = release(0.5, bounds={"members": COUNTED}).model_copy(
        update={"columns": ["theme", "members"]}
    )
    job = _submit(api, COUNT_BY_THEME).json()
    stub = StubExecutor(releases=[made], aggregates={"members": Aggregation.COUNT_DISTINCT_MEMBERS})
    run_worker(api.settings, stub, once=True)
    page = _words(signed_in(api, "ann").get(f"/workspace/jobs/{job['id']}?lang=en").text)
    assert (
        "each member counted in at most 12 themes (chosen for this query with DP); "
        "about 3 % of members were left out"
    ) in page
    assert "tips per member" not in page
    dutch = _words(signed_in(api, "ann").get(f"/workspace/jobs/{job['id']}?lang=nl").text)
    assert "elk lid in hoogstens 12 groepen (thema) geteld" in dutch
    assert "ongeveer 3 % van de leden viel weg" in dutch


def test_medians_say_they_have_no_interval_on_every_page(api: Api) -> None:
    made = release(0.5).model_copy(
        update={
            "columns": ["theme", "median_words"],
            "rows": [["sleep", 30], ["stress", 25]],
            "ci": [[None, None], [None, None]],
            "budget_split": {"median_words": 1.0},
        }
    )
    job = _submit(api, COUNT_BY_THEME).json()
    run_worker(api.settings, StubExecutor(releases=[made]), once=True)
    release_id = api.client.get(f"/api/jobs/{job['id']}", headers=api.as_("ann")).json()[
        "release_id"
    ]
    assert _publish(api, release_id).status_code == 200
    ann = signed_in(api, "ann")
    for lang, words in (("en", "has no interval"), ("nl", "heeft geen interval")):
        for page in (
            ann.get(f"/workspace/jobs/{job['id']}?lang={lang}").text,
            signed_in(api, "rita").get(f"/review/releases/{release_id}?lang={lang}").text,
            api.client.get(f"/insights/{release_id}?lang={lang}").text,
        ):
            assert words in _words(page)


def test_a_release_without_bounds_shows_nothing_extra(api: Api) -> None:
    release_id = _released(api, {})
    assert _publish(api, release_id).status_code == 200
    for lang in ("en", "nl"):
        page = api.client.get(f"/insights/{release_id}?lang={lang}").text
        assert 'class="bounds' not in page
    english = _words(signed_in(api, "rita").get(f"/review/releases/{release_id}?lang=en").text)
    assert "per member" not in english
    assert "its interval" not in english


def test_a_mean_s_predicted_accuracy_reads_in_its_own_units_for_a_stated_group() -> None:
    from gateway.web.bounds import accuracy_lines

    accuracy = {"n": 3.0, "v": 0.4, "v.sum": 100.0, "v.count": 5.0}
    assert accuracy_lines(accuracy, "en") == [
        ("n", 3.0, ""),
        ("v", 0.4, "in a group of 1,000 values"),
    ]
    assert accuracy_lines(accuracy, "nl")[1][2] == "in een groep van 1.000 waarden"
