"""`gateway vet`: exit codes, the --json contract, and the three ways to pass SQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from gateway.cli import app
from tests.vet.factories import POLICY_PATH

RUNNER = CliRunner()
GOOD = "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme ORDER BY n DESC"
LEAK = "SELECT theme,\n       member_pid\nFROM tips"


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = RUNNER.invoke(app, ["vet", "--policy", str(POLICY_PATH), *args], input=stdin)
    return result.exit_code, result.output


def run_json(*args: str, stdin: str | None = None) -> tuple[int, dict[str, Any]]:
    code, output = run(*args, "--json", stdin=stdin)
    return code, json.loads(output)


def test_allowed_query_exits_zero_with_its_plan() -> None:
    code, payload = run_json("--sql", GOOD)
    assert code == 0
    assert set(payload) == {"allowed", "violations", "plan", "epsilon", "accuracy"}
    assert payload["allowed"] is True
    count_alias = payload["plan"]["aggregates"][0]["alias"]
    assert payload["accuracy"][count_alias] > 0
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
