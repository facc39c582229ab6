"""The reviewer console: the vetted plan of a job, the publish preview and its warnings."""

from __future__ import annotations

from tests.service.factories import Api, approved_over_http, signed_in

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
    assert set(plan["accuracy"]) == {"n", "votes.sum", "votes.count"}
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
