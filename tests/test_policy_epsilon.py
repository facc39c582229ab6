"""One ε path: the default and the refusal are the same wherever a privacy loss is asked for."""

from __future__ import annotations

import math

import pytest

from gateway.analyses import Analysis, count, table
from gateway.analyses.vetting import check_budget
from gateway.errors import EpsilonError
from gateway.policy import Policy, load_policy
from gateway.policy.epsilon import asked_epsilon, check_epsilon, epsilon_issues
from gateway.vet import vet_report
from tests.vet.factories import POLICY_PATH

COUNT = "SELECT COUNT(*) AS n FROM tips"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(POLICY_PATH)


def test_no_epsilon_asks_for_the_policys_default(policy: Policy) -> None:
    assert asked_epsilon(policy, None) == policy.budget.default_query_epsilon
    assert asked_epsilon(policy, 0.25) == 0.25
    assert vet_report(COUNT, policy).epsilon == policy.budget.default_query_epsilon


@pytest.mark.parametrize(
    ("epsilon", "code"),
    [
        (0.0, "invalid_epsilon"),
        (-1.0, "invalid_epsilon"),
        (math.nan, "invalid_epsilon"),
        (math.inf, "invalid_epsilon"),
        (2.5, "epsilon_over_cap"),
    ],
)
def test_every_surface_refuses_the_same_epsilon_the_same_way(
    policy: Policy, epsilon: float, code: str
) -> None:
    assert [i.code for i in epsilon_issues(policy, epsilon)] == [code]
    assert [v.code for v in vet_report(COUNT, policy, epsilon).violations] == [code]
    with pytest.raises(EpsilonError) as raised:
        check_epsilon(policy, epsilon)
    assert (raised.value.code, raised.value.status) == (code, 422)
    whole = Analysis("x").add("a", table("tips").agg(count()), share=1.0).plan()
    with pytest.raises(EpsilonError) as analysed:
        check_budget(whole, policy, epsilon)
    assert (analysed.value.code, analysed.value.message) == (code, raised.value.message)


def test_an_analysis_is_capped_on_the_share_it_spends(policy: Policy) -> None:
    cap = policy.budget.per_query_epsilon_cap
    assert epsilon_issues(policy, 2 * cap, share=0.5) == []
    (issue,) = epsilon_issues(policy, 2 * cap + 0.2, share=0.5)
    assert f"--epsilon {2 * cap:g} or less" in (issue.hint or "")
