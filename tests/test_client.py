"""``gateway.client`` and ``gateway remote`` against a real ``gateway serve`` in a subprocess.

The server runs its own embedded worker over a project whose extract is a
small dummy one, so every query goes from submission to a released DataFrame
through the real sandbox and DP engine, with nothing else running.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import polars as pl
import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.client import Client, GatewayClientError, JobFailed
from gateway.config import Settings
from gateway.db import migrate
from gateway.extract.dummy import build_dummy
from gateway.policy import load_policy
from gateway.service.accounts import issue_token
from gateway.service.audit import SYSTEM
from gateway.service.projects import set_extract
from tests.service.factories import approved_project

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "health_thing.yaml"
COUNT = "SELECT theme, COUNT(*) AS tips FROM tips GROUP BY theme"

pytestmark = pytest.mark.xdist_group("live_server")


@dataclass(frozen=True)
class Live:
    url: str
    token: str
    project_id: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """``gateway serve --workers 1`` on a free port, with a researcher and an approved project."""
    state = tmp_path_factory.mktemp("live")
    settings = Settings(data_dir=state, policy_file=POLICY, analyses_dir=ROOT / "analyses")
    policy = load_policy(POLICY)
    migrate(settings)
    cast = approved_project(settings, policy, epsilon=5.0)
    extract = state / "extract.duckdb"
    build_dummy(policy, extract, members=300, seed=7, as_of=dt.date.today())
    set_extract(settings, SYSTEM, cast.project_id, extract)
    token = issue_token(settings, SYSTEM, cast.researcher.id).token
    port = _free_port()
    env = {
        **os.environ,
        "GATEWAY_DATA_DIR": str(state),
        "GATEWAY_POLICY_FILE": str(POLICY),
        "GATEWAY_ANALYSES_DIR": str(ROOT / "analyses"),
    }
    log = state / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/-/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert server.poll() is None, log.read_text()
                time.sleep(0.2)
        yield Live(url, token, cast.project_id)
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.fixture
def gw(live: Live) -> Iterator[Client]:
    with Client(live.url, live.token) as client:
        yield client


def test_a_notebook_gets_a_released_dataframe_and_its_csv(gw: Client, live: Live) -> None:
    job = gw.submit(live.project_id, COUNT, epsilon=0.5)
    assert job["status"] == "queued"  # no reviewer in between
    done = gw.wait(job["id"], timeout=120)
    assert done["status"] == "released"
    frame = gw.release(job["id"])
    assert isinstance(frame, pl.DataFrame)
    assert frame.columns == ["theme", "tips", "tips_low", "tips_high"]
    assert frame.height >= 1
    assert (frame["tips_low"] <= frame["tips"]).all()
    assert (frame["tips"] <= frame["tips_high"]).all()

    rows = list(csv.reader(io.StringIO(gw.download(job["id"], "csv").decode())))
    assert rows[0] == frame.columns
    assert [row[0] for row in rows[1:]] == frame["theme"].to_list()
    assert pl.read_parquet(io.BytesIO(gw.download(job["id"], "parquet"))).equals(frame)

    meta = gw.metadata(job["id"])
    release = meta["parts"][0]["release"]
    assert set(release["bounds"]) == {"tips"}
    assert release["delta"] > 0
    assert release["dummy"]  # the project's extract is a dummy one
    assert gw.jobs(live.project_id)[0]["id"] == job["id"]
    assert gw.budget(live.project_id)["held"] == 0.0


def test_a_dummy_run_is_free_and_says_so(gw: Client, live: Live) -> None:
    before, platform = gw.budget(live.project_id), gw.privacy_loss()
    job = gw.submit(live.project_id, COUNT, epsilon=0.5, dummy=True)
    assert job["dummy"]
    gw.wait(job["id"], timeout=120)
    assert gw.metadata(job["id"])["epsilon_charged"] == 0.0
    assert gw.budget(live.project_id) == before
    assert gw.privacy_loss()["cohorts"] == platform["cohorts"]  # no member paid for it


def test_the_platforms_privacy_loss_counts_no_dummy_release(gw: Client, live: Live) -> None:
    """The project's extract is a dummy one: its releases cost no member anything."""
    job = gw.submit(live.project_id, COUNT, epsilon=0.5)
    gw.wait(job["id"], timeout=120)
    assert gw.budget(live.project_id)["spent"] == 0.0
    loss = gw.privacy_loss()
    assert loss["cap_epsilon"] == load_policy(POLICY).budget.platform_epsilon_per_year
    assert [c["consents"] for c in loss["cohorts"]] == [[], ["external_research"]]
    assert all(c["epsilon"] == 0.0 and c["held_epsilon"] == 0.0 for c in loss["cohorts"])


def test_a_refusal_carries_code_message_hint_and_issues(gw: Client, live: Live) -> None:
    with pytest.raises(GatewayClientError) as refused:
        gw.submit(live.project_id, "SELECT member_pid FROM tips", epsilon=0.5)
    error = refused.value
    assert error.status == 422
    assert error.issues
    assert error.issues[0].line == 1
    assert (error.code, error.issues[0].code) == ("query_rejected", "identifier_in_output")
    assert error.job_id is not None
    assert gw.job(error.job_id)["status"] == "vetting_refused"
    with pytest.raises(GatewayClientError) as missing:
        gw.release(error.job_id)
    assert (missing.value.code, missing.value.hint is not None) == ("not_released", True)
    assert not gw.vet(live.project_id, "SELECT member_pid FROM tips")["allowed"]


def test_a_job_that_fails_raises_job_failed(gw: Client, live: Live) -> None:
    with pytest.raises(GatewayClientError) as over:
        gw.submit(live.project_id, COUNT, epsilon=20.0)  # ten times the policy's cap
    assert [issue.code for issue in over.value.issues] == ["epsilon_over_cap"]
    assert over.value.job_id is not None
    with pytest.raises(JobFailed) as failed:
        gw.wait(over.value.job_id, timeout=30)
    assert failed.value.job["is_final"]


def test_a_wrong_token_is_refused_clearly(live: Live) -> None:
    with Client(live.url, "gw_not-a-token") as stranger, pytest.raises(GatewayClientError) as no:
        stranger.jobs()
    assert no.value.status == 401
    assert no.value.code.startswith("token_")


def test_remote_run_prints_the_release_as_json(live: Live, tmp_path: Path) -> None:
    env = {"GATEWAY_URL": live.url, "GATEWAY_TOKEN": live.token}
    runner = CliRunner()
    project = str(live.project_id)
    ran = runner.invoke(
        app,
        ["remote", "run", "--project", project, "--sql", COUNT, "--epsilon", "0.5", "--json"],
        env=env,
    )
    assert ran.exit_code == 0, ran.output
    release = json.loads(ran.output)
    assert release["tables"][0]["columns"] == ["theme", "tips", "tips_low", "tips_high"]
    job_id = str(release["job_id"])

    out = tmp_path / "tips.csv"
    fetched = runner.invoke(app, ["remote", "release", job_id, "--out", str(out)], env=env)
    assert fetched.exit_code == 0, fetched.output
    assert out.read_text().splitlines()[0] == "theme,tips,tips_low,tips_high"

    listed = runner.invoke(app, ["remote", "jobs", "--project", project, "--json"], env=env)
    assert str(json.loads(listed.output)[0]["id"]) == job_id
    budget = runner.invoke(app, ["remote", "budget", "--project", project, "--json"], env=env)
    assert json.loads(budget.output)["granted"] == 5.0

    refused = runner.invoke(
        app, ["remote", "vet", "--project", project, "--sql", "SELECT * FROM tips"], env=env
    )
    assert refused.exit_code == 1
    unset = runner.invoke(app, ["remote", "jobs"], env={"GATEWAY_URL": live.url})
    assert unset.exit_code != 0
    assert "GATEWAY_TOKEN" in unset.output


def test_the_guides_notebook_session_runs_as_written(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    guide = (ROOT / "docs" / "researcher-guide.md").read_text()
    section = guide.split("## 7. From a notebook", 1)[1]
    (session,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert "PROJECT = 1" in session
    monkeypatch.setenv("GATEWAY_URL", live.url)
    monkeypatch.setenv("GATEWAY_TOKEN", live.token)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(session.replace("PROJECT = 1", f"PROJECT = {live.project_id}"), namespace)
    client, frame = namespace["gw"], namespace["frame"]
    assert isinstance(client, Client)
    client.close()
    assert isinstance(frame, pl.DataFrame)
    assert frame.columns == ["theme", "tips", "tips_low", "tips_high"]
    written = (tmp_path / "tips_by_theme.csv").read_text().splitlines()
    assert written[0] == "theme,tips,tips_low,tips_high"
