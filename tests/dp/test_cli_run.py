"""``gateway run`` on a real (small, encrypted) extract: JSON and table output, refusals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.db import engine_for
from gateway.plan import Contributions
from gateway.policy import load_policy
from gateway.vet import vet
from gateway.vet.bounds import fix_bounds
from tests.conftest import postgres_url
from tests.dp.factories import POLICY_PATH

QUERY = "SELECT theme, COUNT(*) AS tips FROM tips GROUP BY theme ORDER BY tips DESC"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A source of 400 members and a mission extract of it, in a directory of their own."""
    root = tmp_path_factory.mktemp("run")
    source, extract, policy = str(root / "src.duckdb"), str(root / "e.duckdb"), str(POLICY_PATH)
    generate = ["source", "generate", "--members", "400", "--seed", "7", "--out", source]
    build = ["extract", "build", "--source", source, "--policy", policy, "--project", "p1"]
    for args in (generate, [*build, "--out", extract]):
        result = CliRunner().invoke(app, args, env={"GATEWAY_DATA_DIR": str(root / "state")})
        assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def root(built: Path, tmp_path: Path) -> Path:
    """A copy of the built extract and state, so a test may spoil it."""
    shutil.copytree(built, tmp_path, dirs_exist_ok=True)
    return tmp_path


def _run(
    root: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """``gateway run`` on the copied extract, in a terminal 80 columns wide (rich reads COLUMNS)."""
    result = CliRunner().invoke(
        app,
        ["run", "--extract", str(root / "e.duckdb"), "--policy", str(POLICY_PATH), *args],
        env={"COLUMNS": "80", **(env or {"GATEWAY_DATA_DIR": str(root / "state")})},
        input=stdin,
    )
    return result.exit_code, result.output


def _json(output: str) -> Any:
    return json.loads(output)


def test_json_output_is_the_documented_release(root: Path) -> None:
    code, output = _run(root, "--sql", QUERY, "--epsilon", "1.0", "--json")
    assert code == 0, output
    release = _json(output)
    assert release["columns"] == ["theme", "tips"]
    assert len(release["rows"]) == len(release["ci"])
    assert all(ci[0] is None and len(ci[1]) == 2 for ci in release["ci"])
    assert (release["epsilon_spent"], release["from_store"]) == (1.0, False)
    assert isinstance(release["suppressed_groups"], int)
    assert len(release["extract_hash"]) == 64
    counts = [row[1] for row in release["rows"]]
    assert counts == sorted(counts, reverse=True)


def test_a_repeat_comes_from_the_store_at_no_cost(root: Path) -> None:
    first = _json(_run(root, "--sql", QUERY, "--epsilon", "1.0", "--json")[1])
    query = root / "q.sql"
    query.write_text(QUERY)
    code, output = _run(root, "--sql-file", str(query), "--epsilon", "1.0", "--json")
    again = _json(output)
    assert code == 0
    assert (again["from_store"], again["epsilon_spent"], again["epsilon"]) == (True, 0.0, 1.0)
    assert again["rows"] == first["rows"]


REPEAT = """
import json, sys
from gateway.cli import app
try:
    app(sys.argv[1:])
finally:
    heavy = (
        *("opendp", "polars", "gateway.dp.engine", "gateway.sandbox"),
        *("sqlglot", "gateway.vet.vetting", "sqlalchemy.orm", "alembic", "duckdb", "rich"),
    )
    print(json.dumps([name for name in sys.modules if name.startswith(heavy)]), file=sys.stderr)
"""
"""``gateway run`` in a process of its own that tells which heavy modules it loaded."""


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_repeat_is_answered_before_a_sandbox_starts_or_opendp_loads(
    root: Path, database: str, request: pytest.FixtureRequest
) -> None:
    """Nor does it parse the query again (sqlglot), load the ORM or Alembic, or open the
    extract (DuckDB): its plan was kept, and the store and the ledger are read with Core.
    It still checks the ledger: a rights change imported since the build refuses it."""
    env = {"GATEWAY_DATA_DIR": str(root / "state")}
    if database == "postgres":
        env["GATEWAY_DATABASE_URL"] = postgres_url(request.getfixturevalue("postgres_schema"))
    try:
        first = _json(_run(root, "--sql", QUERY, "--epsilon", "1.0", "--json", env=env)[1])
        asked = ["run", "--extract", str(root / "e.duckdb"), "--policy", str(POLICY_PATH)]
        repeat = [sys.executable, "-c", REPEAT, *asked, "--sql", QUERY, "--epsilon", "1.0"]
        again = subprocess.run(
            [*repeat, "--json"], env={**os.environ, **env}, capture_output=True, text=True
        )
        assert again.returncode == 0, again.stderr
        assert (_json(again.stdout)["from_store"], _json(again.stdout)["rows"]) == (
            True,
            first["rows"],
        )
        assert json.loads(again.stderr.splitlines()[-1]) == []
        erasure = {"change_id": "e1", "type": "erasure", "account_id": 3, "scope": "content"}
        changes = root / "changes.jsonl"
        changes.write_text(json.dumps({**erasure, "requested_at": "2026-01-01T00:00:00Z"}))
        imported = CliRunner().invoke(app, ["rights", "import", "--file", str(changes)], env=env)
        assert imported.exit_code == 0, imported.output
        stale = subprocess.run(
            [*repeat, "--json"], env={**os.environ, **env}, capture_output=True, text=True
        )
        assert stale.returncode == 1
        assert _json(stale.stdout)["error"]["code"] == "extract_stale"
    finally:
        if "GATEWAY_DATABASE_URL" in env:
            engine_for(env["GATEWAY_DATABASE_URL"]).dispose()


def test_the_table_shows_each_value_with_its_interval(root: Path) -> None:
    total = "SELECT COUNT(*) AS tips, AVG(word_count) AS words FROM tips"
    code, output = _run(root, "--sql", "-", "--epsilon", "1.0", stdin=total)
    assert code == 0, output
    assert "tips" in output
    assert "words" in output
    assert "ε = 1" in output
    assert "95% confidence interval" in output
    assert any(line.count("[") == 2 for line in output.splitlines())  # two values, two intervals


def test_the_table_says_how_big_a_private_group_must_be_to_be_shown(root: Path) -> None:
    by_month = "SELECT created_month, COUNT(*) AS tips FROM tips GROUP BY created_month"
    code, output = _run(root, "--sql", by_month, "--epsilon", "1.0", "--json")
    assert code == 0, output
    threshold = _json(output)["selection"]["threshold"]
    code, output = _run(root, "--sql", by_month, "--epsilon", "1.0")
    caption = f"groups of fewer than about {threshold:,} members are not shown"
    assert caption in " ".join(output.split())  # the table wraps to the terminal's width


def test_a_refused_query_reads_nothing_and_says_why(root: Path) -> None:
    code, output = _run(root, "--sql", "SELECT member_pid FROM tips", "--epsilon", "1", "--json")
    assert code == 1
    assert _json(output)["error"]["issues"]
    code, output = _run(root, "--sql", QUERY, "--epsilon", "5", "--json")
    assert code == 1
    assert _json(output)["error"]["code"] == "epsilon_over_cap"


def test_an_expired_extract_is_refused(root: Path) -> None:
    manifest = root / "e.duckdb.manifest.json"
    data = json.loads(manifest.read_text())
    data["expires_at"] = "2020-01-01T00:00:00Z"
    manifest.write_text(json.dumps(data))
    code, output = _run(root, "--sql", QUERY, "--epsilon", "1.0", "--json")
    assert code == 1
    assert _json(output)["error"]["code"] == "extract_expired"


def test_a_stale_extract_is_refused(root: Path) -> None:
    changes = root / "changes.jsonl"
    change = {"type": "restriction", "change_id": "r-1", "account_id": 1, "since": "2026-01-01"}
    changes.write_text(json.dumps(change) + "\n")
    imported = CliRunner().invoke(
        app,
        ["rights", "import", "--file", str(changes)],
        env={"GATEWAY_DATA_DIR": str(root / "state")},
    )
    assert imported.exit_code == 0, imported.output
    code, output = _run(root, "--sql", QUERY, "--epsilon", "1.0", "--json")
    assert code == 1
    assert _json(output)["error"]["code"] == "extract_stale"


def test_an_extract_built_under_another_policy_is_refused(root: Path) -> None:
    other = root / "other.yaml"
    other.write_text(POLICY_PATH.read_text().replace("upper: 50", "upper: 60"))
    arguments = ["--sql", QUERY, "--epsilon", "1.0", "--json"]
    result = CliRunner().invoke(
        app,
        ["run", "--extract", str(root / "e.duckdb"), "--policy", str(other), *arguments],
        env={"GATEWAY_DATA_DIR": str(root / "state")},
    )
    assert result.exit_code == 1
    assert _json(result.output)["error"]["code"] == "policy_mismatch"


def test_flags_fix_the_bounds_of_the_plan_that_runs(root: Path) -> None:
    """--rows-per-group, --groups and --clamp reach the plan the engine releases."""
    query = "SELECT theme, COUNT(*) AS tips, AVG(helpful_votes) AS votes FROM tips GROUP BY theme"
    flags = ["--rows-per-group", "3", "--groups", "2", "--clamp", "helpful_votes=0:20"]
    code, output = _run(root, "--sql", query, "--epsilon", "1.0", "--json", *flags)
    assert code == 0, output
    policy = load_policy(POLICY_PATH)
    fixed = fix_bounds(
        vet(query, policy),
        policy,
        contributions=Contributions(rows_per_group=3, groups=2),
        clamps={"tips.helpful_votes": (0, 20)},
    )
    assert _json(output)["plan_hash"] == fixed.plan_hash()
    assert fixed.plan_hash() != vet(query, policy).plan_hash()
    code, output = _run(root, "--sql", query, "--epsilon", "1.0", "--json")
    assert code == 0, output
    assert _json(output)["plan_hash"] == vet(query, policy).plan_hash()  # chosen: another question


def test_bounds_outside_the_policy_are_refused(root: Path) -> None:
    most = load_policy(POLICY_PATH).tables["tips"].contributions.max_rows_per_group
    flags = ["--rows-per-group", str(most + 1)]
    code, output = _run(root, "--sql", QUERY, "--epsilon", "1.0", "--json", *flags)
    assert code == 1
    error = _json(output)["error"]
    assert error["code"] == "bounds_outside_policy"
    assert [i["code"] for i in error["issues"]] == ["bounds_outside_policy"]
