"""The vetting report: verdict, violations, plan, its bounds and the ε it would cost.

This is what ``gateway vet --json`` prints and what the researcher portal
shows while a query is typed. It never runs anything. Bounds the researcher
fixes are put on the plan and checked here too (``bounds.py``); ``bounds``
says which are fixed and which the engine chooses per query with DP.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from gateway.errors import Issue, VetError
from gateway.plan import QueryPlan
from gateway.policy.epsilon import asked_epsilon, epsilon_issues
from gateway.policy.model import Policy
from gateway.vet.bounds import FixedBounds, PlanBounds, fix_bounds, plan_bounds
from gateway.vet.vetting import vet


class VetReport(BaseModel):
    """``plan`` and ``bounds`` are set exactly when ``allowed`` is: a refused query has none."""

    model_config = ConfigDict(frozen=True)

    allowed: bool
    violations: list[Issue]
    plan: QueryPlan | None
    epsilon: float
    bounds: PlanBounds | None = None


def vet_report(
    sql: str, policy: Policy, epsilon: float | None = None, bounds: FixedBounds | None = None
) -> VetReport:
    """Vet ``sql``, the ``bounds`` fixed for it and the ε asked for.

    ``epsilon`` defaults to the policy's per-query default.
    """
    spend = asked_epsilon(policy, epsilon)
    violations = epsilon_issues(policy, spend)
    plan: QueryPlan | None = None
    try:
        plan = vet(sql, policy)
        if bounds is not None:
            fixed = bounds.contributions
            plan = fix_bounds(plan, policy, contributions=fixed, clamps=bounds.clamps)
    except VetError as error:
        violations = error.issues + violations
    allowed = not violations
    return VetReport(
        allowed=allowed,
        violations=violations,
        plan=plan if allowed else None,
        epsilon=spend,
        bounds=plan_bounds(plan, policy) if allowed and plan is not None else None,
    )
