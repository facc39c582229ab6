"""Vetting an analysis: the budget is checked first, then every query with the SQL rules."""

from __future__ import annotations

import pytest

import gateway.vet
from gateway.analyses import Analysis, AnalysisPlan, count, mean, table
from gateway.analyses.vetting import check_budget, vet_analysis
from gateway.errors import AnalysisError, BudgetError, VetError
from gateway.policy import Policy
from tests.analyses.factories import sleep_trends


@pytest.fixture
def vet_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every SQL text that reaches the vetter, and refuses it."""
    calls: list[str] = []

    def vet(sql: str, policy: Policy) -> None:
        calls.append(sql)
        raise VetError("recorded", "vetter reached")

    monkeypatch.setattr(gateway.vet, "vet", vet, raising=False)
    return calls


def test_total_epsilon_is_epsilon_times_the_shares(policy: Policy) -> None:
    q = table("tips").agg(count())
    plan = Analysis("x").add("a", q, share=0.25).add("b", q, share=0.5).plan()
    assert check_budget(plan, policy, 1.2) == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("epsilon", "code"),
    [
        (2.5, "epsilon_over_cap"),
        (0.0, "epsilon_invalid"),
        (-1.0, "epsilon_invalid"),
        (float("nan"), "epsilon_invalid"),
    ],
)
def test_budget_refusal_comes_before_any_query_is_vetted(
    policy: Policy, vet_calls: list[str], epsilon: float, code: str
) -> None:
    with pytest.raises(BudgetError) as err:
        vet_analysis(sleep_trends().plan(), policy, epsilon)
    assert err.value.code == code
    assert err.value.hint
    assert vet_calls == []


def test_over_cap_hint_names_an_epsilon_that_fits(policy: Policy, vet_calls: list[str]) -> None:
    plan = Analysis("x").add("a", table("tips").agg(count()), share=0.5).plan()
    assert check_budget(plan, policy, 4.0) == pytest.approx(2.0)  # exactly the cap
    with pytest.raises(BudgetError) as err:
        check_budget(plan, policy, 4.2)
    assert "--epsilon 4 " in str(err.value)


def test_shares_over_one_are_refused_even_if_the_plan_skipped_validation(
    policy: Policy, vet_calls: list[str]
) -> None:
    honest = sleep_trends().plan()
    forged = AnalysisPlan.model_construct(
        name="forged",
        queries=tuple(q.model_copy(update={"share": 0.9}) for q in honest.queries),
    )
    with pytest.raises(AnalysisError) as err:
        vet_analysis(forged, policy, 1.0)
    assert err.value.code == "analysis_not_a_plan"
    assert vet_calls == []


def test_researcher_chosen_bounds_are_refused(policy: Policy, vet_calls: list[str]) -> None:
    built = Analysis("x").add("a", table("tips").agg(mean("helpful_votes")), share=0.5).plan()
    query = built.queries[0]
    assert query.plan is not None
    widened = query.plan.model_copy(
        update={
            "aggregates": (
                query.plan.aggregates[0].model_copy(update={"lower": 0.0, "upper": 1e9}),
            )
        }
    )
    plan = built.model_copy(update={"queries": (query.model_copy(update={"plan": widened}),)})
    with pytest.raises(VetError) as err:
        vet_analysis(plan, policy, 1.0)
    assert [i.code for i in err.value.issues] == ["bounds_from_policy"]
    assert vet_calls == []


def test_every_query_reaches_the_vetter_and_all_issues_are_reported(
    policy: Policy, vet_calls: list[str]
) -> None:
    with pytest.raises(VetError) as err:
        vet_analysis(sleep_trends().plan(), policy, 1.0)
    assert err.value.code == "analysis_rejected"
    assert len(vet_calls) == 2
    assert vet_calls[1] == "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme"
    assert vet_calls[0].startswith("SELECT DATE_TRUNC('MONTH'")
    assert [i.message for i in err.value.issues] == [
        "by_month: vetter reached",
        "by_theme: vetter reached",
    ]
