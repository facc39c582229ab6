"""A job's release downloaded as CSV, Parquet and JSON; the schema browsed from the policy."""

from __future__ import annotations

import csv
import io
from typing import Any

import polars as pl
import pytest

from gateway.dp.release import Release
from gateway.service.worker import run_worker
from tests.service.factories import (
    COUNT_BY_THEME,
    COUNTED,
    Api,
    StubExecutor,
    approved_over_http,
    release,
    signed_in,
)


def _submitted(api: Api) -> dict[str, Any]:
    project_id = approved_over_http(api)
    job: dict[str, Any] = api.client.post(
        "/api/queries",
        json={"project_id": project_id, "sql": COUNT_BY_THEME, "epsilon": 0.5},
        headers=api.as_("ann"),
    ).json()
    return job


def _released(api: Api, made: Release | None = None) -> int:
    job = _submitted(api)
    run_worker(api.settings, StubExecutor(releases=[made] if made else []), once=True)
    job_id: int = job["id"]
    return job_id


def test_the_csv_has_keys_then_each_aggregate_with_its_interval(api: Api) -> None:
    job_id = _released(api)
    response = api.client.get(f"/api/jobs/{job_id}/release.csv", headers=api.as_("ann"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="job-{job_id}.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows == [
        ["theme", "n", "n_low", "n_high"],
        ["sleep", "120.0", "100.0", "140.0"],
        ["stress", "80.0", "60.0", "100.0"],
    ]


def test_the_parquet_is_the_same_table(api: Api) -> None:
    job_id = _released(api)
    response = api.client.get(f"/api/jobs/{job_id}/release.parquet", headers=api.as_("ann"))
    assert response.status_code == 200
    frame = pl.read_parquet(io.BytesIO(response.content))
    assert frame.columns == ["theme", "n", "n_low", "n_high"]
    assert frame.row(0) == ("sleep", 120.0, 100.0, 140.0)


def test_the_json_carries_the_metadata_beside_the_table(api: Api) -> None:
    made = release(0.5, bounds={"n": COUNTED})
    job_id = _released(api, made)
    body = api.client.get(f"/api/jobs/{job_id}/release.json", headers=api.as_("ann")).json()
    assert body["job_id"] == job_id
    assert body["epsilon_charged"] == 0.5
    (part,) = body["parts"]
    assert part["release"]["bounds"]["n"]["rows_per_group"] == COUNTED.rows_per_group
    assert part["release"]["delta"] == made.delta
    (table,) = body["tables"]
    assert (table["keys"], table["aggregates"]) == (["theme"], ["n"])
    assert table["rows"][1] == ["stress", 80.0, 60.0, 100.0]


def test_a_quantile_has_no_interval_to_download(api: Api) -> None:
    made = release(0.5).model_copy(update={"ci": [[None, None], [None, None]]})
    job_id = _released(api, made)
    text = api.client.get(f"/api/jobs/{job_id}/release.csv", headers=api.as_("ann")).text
    assert text.splitlines()[1] == "sleep,120.0,,"


def test_nothing_to_download_before_the_release_nor_for_others(api: Api) -> None:
    job = _submitted(api)
    early = api.client.get(f"/api/jobs/{job['id']}/release.csv", headers=api.as_("ann"))
    assert (early.status_code, early.json()["code"]) == (404, "not_released")
    assert "queued" in early.json()["detail"]
    run_worker(api.settings, StubExecutor(), once=True)
    other = api.client.get(f"/api/jobs/{job['id']}/release.csv", headers=api.as_("bob"))
    assert (other.status_code, other.json()["code"]) == (404, "job_not_found")
    anonymous = api.client.get(f"/api/jobs/{job['id']}/release.csv")
    assert anonymous.status_code == 401
    unknown = api.client.get(f"/api/jobs/{job['id']}/release.xlsx", headers=api.as_("ann"))
    assert unknown.status_code == 422


def test_the_job_page_links_downloads_that_work_when_signed_in(api: Api) -> None:
    job_id = _released(api)
    ann = signed_in(api, "ann")
    page = ann.get(f"/workspace/jobs/{job_id}").text
    for suffix in ("csv", "parquet", "json"):
        link = f"/workspace/jobs/{job_id}/release.{suffix}"
        assert f'href="{link}"' in page
        assert ann.get(link).status_code == 200
    audit = api.client.get("/api/audit?limit=1000", headers=api.as_("rita")).json()["data"]
    assert sum(entry["action"] == "release.read" for entry in audit) >= 3


@pytest.mark.parametrize("path", ["/api/schema", "/schema.json"])
def test_the_schema_lists_what_the_policy_lets_a_query_use(api: Api, path: str) -> None:
    schema = api.client.get(path).json()
    tables = {table["name"]: table for table in schema["tables"]}
    assert set(tables) == set(api.policy.tables)
    columns = {column["name"]: column for column in tables["tips"]["columns"]}
    assert columns["theme"]["domain"] == list(api.policy.column("tips", "theme").domain or ())
    assert (columns["helpful_votes"]["lower"], columns["helpful_votes"]["upper"]) == (0, 50)
    assert columns["tip_pid"]["role"] == "identifier"
    assert "never output" in columns["tip_pid"]["use"]
    assert tables["tips"]["max_groups"] == api.policy.tables["tips"].contributions.max_groups


@pytest.mark.parametrize(("lang", "heading"), [("nl", "Tabellen en kolommen"), ("en", "Tables")])
def test_the_schema_page_speaks_the_readers_language(api: Api, lang: str, heading: str) -> None:
    page = api.client.get(f"/schema?lang={lang}").text
    assert heading in page
    assert "<code>helpful_votes</code>" in page
