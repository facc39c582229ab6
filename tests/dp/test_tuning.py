"""The key a tuning is kept under: one per search, the same in every process."""

from __future__ import annotations

import subprocess
import sys

from gateway.dp.shape import shape_of
from gateway.dp.tuning import tuning_key
from gateway.policy import Policy
from gateway.vet import vet
from tests.dp.factories import POLICY_PATH

BY_MONTH = (
    "SELECT theme, created_month, COUNT(*) AS n, AVG(helpful_votes) AS v FROM tips "
    "{where} GROUP BY theme, created_month"
)


def _key(policy: Policy, sql: str, epsilon: float = 1.0, confidence: float = 0.95) -> str:
    return tuning_key(shape_of(vet(sql, policy), policy, epsilon=epsilon), confidence)


def test_a_key_names_the_search_and_not_the_filter(health_policy: Policy) -> None:
    plain = _key(health_policy, BY_MONTH.format(where=""))
    assert _key(health_policy, BY_MONTH.format(where="WHERE helpful_votes > 2")) == plain
    assert _key(health_policy, BY_MONTH.format(where=""), epsilon=0.5) != plain
    assert _key(health_policy, BY_MONTH.format(where=""), confidence=0.9) != plain
    by_theme = "SELECT theme, COUNT(*) AS n, AVG(helpful_votes) AS v FROM tips GROUP BY theme"
    assert _key(health_policy, by_theme) != plain


def test_another_process_computes_the_same_key(health_policy: Policy) -> None:
    """Sandbox jobs and workers are other processes: a key must not depend on this one."""
    program = (
        "from gateway.dp.shape import shape_of; from gateway.dp.tuning import tuning_key; "
        "from gateway.policy import load_policy; from gateway.vet import vet; "
        f"p = load_policy({str(POLICY_PATH)!r}); "
        f"print(tuning_key(shape_of(vet({BY_MONTH.format(where='')!r}, p), p, epsilon=1.0), 0.95))"
    )
    there = subprocess.run(
        [sys.executable, "-c", program], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert there == _key(health_policy, BY_MONTH.format(where=""))
