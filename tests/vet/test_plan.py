"""The plan contract stays light: the DP engine and the SDK import it without sqlglot."""

from __future__ import annotations

import subprocess
import sys

from gateway.plan import QueryPlan
from gateway.policy import Policy
from gateway.vet import vet


def test_plan_module_does_not_load_the_parser() -> None:
    probe = "import sys\nimport gateway.plan\nprint('sqlglot' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plan_round_trips_through_json_with_the_same_hash(policy: Policy) -> None:
    plan = vet(
        "SELECT m.age_band, date_trunc('year', t.created_date) AS y, "
        "QUANTILE_CONT(t.word_count, 0.75) AS q FROM tips t JOIN members m "
        "ON t.member_pid = m.member_pid WHERE t.theme NOT IN ('sleep') AND "
        "(t.helpful_votes BETWEEN 1 AND 5 OR t.created_date IS NULL) "
        "GROUP BY 1, 2 ORDER BY q DESC LIMIT 7",
        policy,
    )
    again = QueryPlan.model_validate_json(plan.model_dump_json())
    assert again == plan
    assert again.plan_hash() == plan.plan_hash()
