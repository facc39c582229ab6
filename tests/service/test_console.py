"""The reviewer console: the vetted plan of a job, the publish preview and its warnings."""

from __future__ import annotations

from gateway.policy.model import Aggregation
from gateway.service.worker import run_worker
from gateway.web.i18n import MESSAGES
from tests.service.factories import (
    Api,
    StubExecutor,
    approved_over_http,
    queued_over_http,
    release,
    signed_in,
)
from tests.service.test_web import PUBLICATION

FILTERED = (
    "SELECT theme, COUNT(*) AS n, AVG(helpful_votes) AS votes FROM tips "
    "WHERE helpful_votes >= 1 GROUP BY theme"
)


def _submitted(api: Api, bounds: dict[str, object] | None) -> int:
    project_id = approved_over_http(api)
    job = api.client.post(
        "/api/queries",
        json={"project_id": project_id, "sql": FILTERED, "epsilon": 1.0, "bounds": bounds},
        headers=api.as_("ann"),
    )
    assert job.status_code == 201, job.text
    job_id: int = job.json()["id"]
    return job_id


def test_the_job_page_shows_the_vetted_plan_and_its_predicted_accuracy(api: Api) -> None:
    fixed = {"rows_per_group": 5, "groups": 3, "clamps": {"helpful_votes": [0, 20]}}
    job_id = _submitted(api, fixed)
    rita = signed_in(api, "rita")
    plan = rita.get(f"/review/jobs/{job_id}.json").json()["plan"]
    steps = {step["step"]: step["detail"] for step in plan["steps"]}
    assert steps["reads"] == "tips"
    assert steps["where"] == "tips.helpful_votes >= 1"
    assert steps["groups"] == "theme = tips.theme"
    assert "at most 5 rows per member per cell (fixed)" in steps["bounds"]
    assert "in at most 3 cells (fixed)" in steps["bounds"]
    assert plan["epsilon"] == 1.0
    assert {key.split(".")[0] for key in plan["accuracy"]} == {"n", "votes"}
    assert all(width > 0 for width in plan["accuracy"].values())
    page = rita.get(f"/review/jobs/{job_id}?lang=en").text
    assert "Vetted plan" in page
    assert '<th scope="row">Filters</th><td>tips.helpful_votes &gt;= 1</td>' in page
    assert "Predicted accuracy" in page


def test_bounds_chosen_with_dp_predict_no_accuracy_and_say_why(api: Api) -> None:
    job_id = _submitted(api, None)
    rita = signed_in(api, "rita")
    plan = rita.get(f"/review/jobs/{job_id}.json").json()["plan"]
    assert plan["accuracy"] == {}
    assert plan["bounds_note"]
    releases = [s["detail"] for s in plan["steps"] if s["step"] == "releases"]
    assert releases == [
        "n = count",
        "votes = mean(tips.helpful_votes), clamp range chosen per query with DP",
    ]
    page = rita.get(f"/review/jobs/{job_id}?lang=en").text
    assert "accuracy is known after the release" in page


# ---------------------------------------------------------------- the publish preview

CAVEATS = {"no_interval", "tiny_groups", "wide_intervals"}


def _released_with_caveats(api: Api) -> int:
    """A release whose count has a tiny, wide cell and whose median has no interval."""
    made = release(0.5).model_copy(
        update={
            "columns": ["theme", "n", "votes"],
            "rows": [["sleep", 4.0, 3.0], ["stress", 120.0, 5.0]],
            "ci": [[None, (0.0, 30.0), None], [None, (100.0, 140.0), None]],
        }
    )
    executor = StubExecutor(
        releases=[made], aggregates={"n": Aggregation.COUNT, "votes": Aggregation.MEDIAN}
    )
    job_id = queued_over_http(api, approved_over_http(api))
    run_worker(api.settings, executor, once=True)
    done = api.client.get(f"/api/jobs/{job_id}", headers=api.as_("ann")).json()
    release_id: int = done["release_id"]
    return release_id


def test_the_preview_is_what_members_will_see_and_names_each_caveat(api: Api) -> None:
    release_id = _released_with_caveats(api)
    response = api.client.post(
        f"/api/releases/{release_id}/preview", json=PUBLICATION, headers=api.as_("rita")
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["insights"]["nl"]["title"] == PUBLICATION["title_nl"]
    assert preview["insights"]["en"]["text"] == PUBLICATION["text_en"]
    found = {(c["code"], c["column"], c["cells"]) for c in preview["caveats"]}
    assert found == {
        ("tiny_groups", "query.n", 1),
        ("wide_intervals", "query.n", 1),
        ("no_interval", "query.votes", 2),
    }
    assert api.client.get("/api/public/insights").json()["count"] == 0
    published = api.client.post(
        f"/api/releases/{release_id}/publish",
        json=PUBLICATION | {"acknowledged": sorted(CAVEATS)},
        headers=api.as_("rita"),
    )
    assert published.status_code == 200, published.text
    for lang in ("nl", "en"):
        shown = api.client.get(f"/insights/{release_id}.json?lang={lang}").json()["data"][0]
        previewed = preview["insights"][lang]
        assert {k: v for k, v in shown.items() if k != "published_at"} == {
            k: v for k, v in previewed.items() if k != "published_at"
        }


def test_publishing_waits_for_every_kind_of_caveat(api: Api) -> None:
    release_id = _released_with_caveats(api)
    partly = api.client.post(
        f"/api/releases/{release_id}/publish",
        json=PUBLICATION | {"acknowledged": ["no_interval"]},
        headers=api.as_("rita"),
    )
    assert partly.status_code == 409
    problem = partly.json()
    assert problem["code"] == "caveats_not_acknowledged"
    assert "tiny_groups (query.n" in problem["detail"]
    assert "wide_intervals (query.n" in problem["detail"]
    assert "no_interval" not in problem["detail"]
    unknown = api.client.post(
        f"/api/releases/{release_id}/publish",
        json=PUBLICATION | {"acknowledged": ["everything"]},
        headers=api.as_("rita"),
    )
    assert unknown.status_code == 422
    assert api.client.get("/api/public/insights").json()["count"] == 0


def test_the_preview_page_shows_the_insight_and_asks_for_each_acknowledgment(api: Api) -> None:
    release_id = _released_with_caveats(api)
    rita = signed_in(api, "rita")
    form = rita.get(f"/review/releases/{release_id}").text
    assert f'action="/review/releases/{release_id}/preview?lang=nl"' in form
    dutch = rita.post(f"/review/releases/{release_id}/preview?lang=nl", data=PUBLICATION)
    assert dutch.status_code == 200, dutch.text
    assert f'<h2 class="insight-title">{PUBLICATION["title_nl"]}</h2>' in dutch.text
    assert MESSAGES["preview_notice"][0] in dutch.text
    for code in CAVEATS:
        assert f'name="acknowledged" value="{code}" required' in dutch.text
        assert MESSAGES[f"caveat_{code}"][0] in dutch.text
    assert f'value="{PUBLICATION["title_en"]}"' in dutch.text  # the draft is kept
    english = rita.post(f"/review/releases/{release_id}/preview?lang=en", data=PUBLICATION)
    assert f'<h2 class="insight-title">{PUBLICATION["title_en"]}</h2>' in english.text
    done = rita.post(
        f"/review/releases/{release_id}",
        data=PUBLICATION | {"acknowledged": sorted(CAVEATS)},
        follow_redirects=False,
    )
    assert done.headers["location"] == f"/insights/{release_id}"
