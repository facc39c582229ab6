"""The vetting report: verdict, violations, plan and the ε the query would cost.

This is what ``gateway vet --json`` prints and what the researcher portal
shows while a query is typed. It never runs anything.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from gateway.errors import Issue, VetError
from gateway.policy.model import Policy
from gateway.vet.codes import Code
from gateway.vet.plan import QueryPlan
from gateway.vet.vetting import vet


class VetReport(BaseModel):
    """``plan`` is set exactly when ``allowed`` is: a refused query has no plan."""

    model_config = ConfigDict(frozen=True)

    allowed: bool
    violations: list[Issue]
    plan: QueryPlan | None
    epsilon: float


def vet_report(sql: str, policy: Policy, epsilon: float | None = None) -> VetReport:
    """Vet ``sql`` and the ε asked for (default: the policy's per-query default)."""
    spend = policy.budget.default_query_epsilon if epsilon is None else epsilon
    violations = check_epsilon(spend, policy)
    plan: QueryPlan | None = None
    try:
        plan = vet(sql, policy)
    except VetError as error:
        violations = error.issues + violations
    allowed = not violations
    return VetReport(
        allowed=allowed, violations=violations, plan=plan if allowed else None, epsilon=spend
    )


def check_epsilon(epsilon: float, policy: Policy) -> list[Issue]:
    cap = policy.budget.per_query_epsilon_cap
    if not math.isfinite(epsilon) or epsilon <= 0:
        return [
            Issue(
                code=Code.INVALID_EPSILON,
                message=f"ε must be a positive number, not {epsilon}",
                hint=f"pass --epsilon between 0 and {cap}",
            )
        ]
    if epsilon > cap:
        return [
            Issue(
                code=Code.EPSILON_OVER_CAP,
                message=f"ε = {epsilon} is above the policy's per-query cap of {cap}",
                hint=f"pass --epsilon {cap} or less; a larger ε needs a policy change",
            )
        ]
    return []
