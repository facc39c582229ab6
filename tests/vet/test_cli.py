"""`gateway vet`: exit codes, the --json contract, and the three ways to pass SQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.policy import load_policy
from tests.vet.factories import POLICY_PATH

RUNNER = CliRunner()
GOOD = "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme ORDER BY n DESC"
LEAK = "SELECT theme,\n       member_pid\nFROM tips"
VOTES = "SELECT theme, COUNT(*) AS n, AVG(helpful_votes) AS votes FROM tips GROUP BY theme"


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = RUNNER.invoke(app, ["vet", "--policy", str(POLICY_PATH), *args], input=stdin)
    return result.exit_code, result.output


def run_json(*args: str, stdin: str | None = None) -> tuple[int, dict[str, Any]]:
    code, output = run(*args, "--json", stdin=stdin)
    return code, json.loads(output)


def test_allowed_query_exits_zero_with_its_plan() -> None:
    code, payload = run_json("--sql", GOOD)
    assert code == 0
    assert set(payload) == {"allowed", "violations", "plan", "epsilon", "accuracy", "bounds"}
    assert payload["allowed"] is True
    assert payload["violations"] == []
    assert payload["plan"]["table"] == "tips"
    assert payload["plan"]["aggregates"][0]["function"] == "count"
    assert payload["epsilon"] == 0.5


def test_refused_query_exits_one_with_located_violations() -> None:
    code, payload = run_json("--sql", LEAK)
    assert code == 1
    assert payload["allowed"] is False
    assert payload["plan"] is None
    leak = next(v for v in payload["violations"] if v["code"] == "identifier_in_output")
    assert (leak["line"], leak["column"], leak["highlight"]) == (2, 8, "member_pid")
    assert {"code", "message", "line", "column", "hint"} <= set(leak)


def test_sql_from_standard_input() -> None:
    code, payload = run_json("--sql", "-", stdin=GOOD)
    assert code == 0
    assert payload["plan"]["group_by"][0]["alias"] == "theme"


def test_sql_from_a_file(tmp_path: Path) -> None:
    query = tmp_path / "query.sql"
    query.write_text(LEAK, encoding="utf-8")
    code, payload = run_json("--sql-file", str(query))
    assert code == 1
    assert "identifier_in_output" in {v["code"] for v in payload["violations"]}


def test_long_sql_file_is_vetted_not_truncated(tmp_path: Path) -> None:
    query = tmp_path / "long.sql"
    query.write_text("SELECT COUNT(*) FROM tips WHERE theme IN (" + "'sleep', " * 3000 + "'x')")
    code, payload = run_json("--sql-file", str(query))
    assert code == 1
    assert [v["code"] for v in payload["violations"]] == ["query_too_long"]


def test_epsilon_defaults_to_the_policy_and_is_capped() -> None:
    code, payload = run_json("--sql", GOOD, "--epsilon", "1.5")
    assert (code, payload["epsilon"], payload["allowed"]) == (0, 1.5, True)
    code, payload = run_json("--sql", GOOD, "--epsilon", "2.5")
    assert code == 1
    assert payload["plan"] is None
    assert [v["code"] for v in payload["violations"]] == ["epsilon_over_cap"]
    code, payload = run_json("--sql", GOOD, "--epsilon", "0")
    assert [v["code"] for v in payload["violations"]] == ["invalid_epsilon"]


def test_human_output_puts_a_caret_under_the_fragment() -> None:
    code, output = run("--sql", LEAK)
    assert code == 1
    lines = output.splitlines()
    shown = lines.index("2 |        member_pid")
    assert lines[shown + 1] == "  |        ^^^^^^^^^^"
    assert "error[identifier_in_output]" in output
    assert "= hint:" in output


def test_human_output_of_an_allowed_query_shows_the_plan() -> None:
    code, output = run("--sql", GOOD)
    assert code == 0
    assert "allowed, at ε = 0.5" in output
    assert "n = count" in output


def test_exactly_one_source_of_sql() -> None:
    assert run()[0] == 2
    assert run("--sql", GOOD, "--sql-file", "x.sql")[0] == 2


def test_missing_file_and_missing_policy_are_refusals(tmp_path: Path) -> None:
    code, output = run("--sql-file", str(tmp_path / "absent.sql"))
    assert code == 1
    assert "unreadable_query" in output
    result = RUNNER.invoke(app, ["vet", "--policy", str(tmp_path / "p.yaml"), "--sql", GOOD])
    assert result.exit_code == 1
    assert "policy_not_found" in result.output


def test_vet_imports_nothing_heavy() -> None:
    """`gateway vet --no-accuracy` starts fast: no data or web libraries on its path."""
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from gateway.cli import app\n"
        f"result = CliRunner().invoke(app, ['vet', '--policy', {str(POLICY_PATH)!r}, "
        f"'--sql', {GOOD!r}, '--no-accuracy'])\n"
        "assert result.exit_code == 0, result.output\n"
        "heavy = {'polars', 'opendp', 'duckdb', 'fastapi', 'numpy', 'pyarrow', 'sqlalchemy'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"


# ---------------------------------------------------------------- bounds


def test_bounds_left_out_are_chosen_and_accuracy_waits_for_the_release() -> None:
    code, payload = run_json("--sql", VOTES)
    assert code == 0
    bounds = payload["bounds"]
    assert bounds["chosen"] is True
    assert (bounds["rows_per_group"], bounds["groups"], bounds["clamps"]) == (
        None,
        None,
        {"votes": None},
    )
    assert payload["plan"]["contributions"] == {"rows_per_group": None, "groups": None}
    assert payload["accuracy"] is None
    assert "chosen per query with DP" in bounds["note"]
    code, output = run("--sql", VOTES)
    assert "bounds are chosen per query with DP; accuracy is known after the release" in output
    assert "expected 95% error" not in output


def test_flags_fix_the_bounds_in_the_plan_and_accuracy_is_predicted() -> None:
    code, payload = run_json(
        "--sql",
        VOTES,
        "--rows-per-group",
        "3",
        "--groups",
        "2",
        "--clamp",
        "helpful_votes=0:20",
    )
    assert code == 0, payload
    assert payload["plan"]["contributions"] == {"rows_per_group": 3, "groups": 2}
    n, votes = payload["plan"]["aggregates"]
    assert (n["lower"], n["upper"]) == (None, None)
    assert (votes["lower"], votes["upper"]) == (0, 20)
    assert payload["bounds"]["chosen"] is False
    assert payload["bounds"]["clamps"] == {"votes": [0, 20]}
    assert payload["bounds"]["note"] is None
    assert payload["accuracy"]["n"] > 0
    code, output = run(
        "--sql",
        VOTES,
        "--rows-per-group",
        "3",
        "--groups",
        "2",
        "--clamp",
        "tips.helpful_votes=0:20",
    )
    assert code == 0, output
    assert "at most 3 rows per member per cell (fixed)" in output
    assert "clamped to [0, 20] (fixed)" in output
    assert "expected 95% error of n" in output


def test_some_bounds_fixed_and_others_chosen_get_no_accuracy() -> None:
    code, payload = run_json("--sql", VOTES, "--rows-per-group", "3")
    assert code == 0
    assert payload["plan"]["contributions"] == {"rows_per_group": 3, "groups": None}
    assert payload["bounds"]["chosen"] is True
    assert payload["accuracy"] is None


def test_bounds_outside_the_policy_are_refused_with_their_code() -> None:
    policy = load_policy(POLICY_PATH)
    most = policy.tables["tips"].contributions
    votes = policy.column("tips", "helpful_votes")
    assert votes.upper is not None
    for flags in (
        ["--rows-per-group", str(most.max_rows_per_group + 1)],
        ["--groups", str(most.max_groups + 1)],
        ["--clamp", f"helpful_votes=0:{votes.upper + 1:g}"],
    ):
        code, payload = run_json("--sql", VOTES, *flags)
        assert code == 1, flags
        assert payload["allowed"] is False
        assert payload["plan"] is None
        assert [v["code"] for v in payload["violations"]] == ["bounds_outside_policy"], flags
        assert payload["violations"][0]["hint"]


@pytest.mark.parametrize(
    ("clamp", "code"),
    [
        ("helpful_votes=20:10", "invalid_bounds"),
        ("word_count=0:100", "clamp_not_in_query"),
        ("members.helpful_votes=0:10", "clamp_not_in_query"),
    ],
)
def test_a_clamp_that_is_no_range_or_not_in_the_query_is_refused(clamp: str, code: str) -> None:
    status, payload = run_json("--sql", VOTES, "--clamp", clamp)
    assert status == 1
    assert [v["code"] for v in payload["violations"]] == [code]


def test_a_clamp_not_written_column_low_high_is_a_usage_error() -> None:
    for clamp in ("helpful_votes", "helpful_votes=0", "helpful_votes=a:b", "=0:1"):
        code, output = run("--sql", VOTES, "--clamp", clamp)
        assert code == 2, clamp
        assert "--clamp" in output
