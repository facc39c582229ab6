"""Trusted-side vetting of an analysis plan, with the same rules as SQL.

A query given as SQL goes through ``gateway.vet.vet`` like any researcher's
SQL. A builder query is checked as the plan it is (``gateway.vet.plans``),
with the vetter's rules and codes, bounds the researcher fixed included
(within the policy's maxima); what is left out the engine chooses per query
with DP. Its SQL is rendered only to show it (``gateway.analyses.render``).
The budget is checked first, so an analysis that asks for too much ε is
refused before any query is even parsed. Last, each query's shape is worked
out by the DP engine (without data), so a query the engine cannot answer is
refused here rather than half-way through running the analysis.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.analyses.plan import AnalysisPlan, PlannedQuery
from gateway.analyses.render import to_sql
from gateway.dp.shape import Shape, shape_of
from gateway.errors import AnalysisError, DpError, EpsilonError, Issue, VetError, field_message
from gateway.plan import QueryPlan
from gateway.policy.epsilon import check_epsilon
from gateway.policy.model import Policy
from gateway.vet import vet
from gateway.vet.plans import check_plan


class VettedQuery(BaseModel):
    """One query ready for the DP engine, with its ε, its SQL (to show) and the shape the
    engine found for it (derived once, here, and carried to the engine)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    share: float
    epsilon: float
    sql: str
    plan: QueryPlan
    shape: Shape


class VettedAnalysis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str
    analysis_hash: str
    epsilon_given: float
    epsilon: float
    queries: tuple[VettedQuery, ...]


def _revalidated(plan: AnalysisPlan) -> AnalysisPlan:
    """Check the plan's own rules again: it may have been built without validation."""
    try:
        return AnalysisPlan.model_validate(plan.model_dump())
    except ValidationError as err:
        raise AnalysisError(
            "analysis_not_a_plan",
            f"the analysis plan is invalid: {field_message(err.errors()[0])}",
            hint="build the plan only with gateway.analyses (table, col, Analysis)",
        ) from None


def check_budget(plan: AnalysisPlan, policy: Policy, epsilon: float) -> float:
    """Total ε of ``plan`` run with ``epsilon``; refused if over what was given or the cap."""
    if plan.total_share > 1:
        raise EpsilonError(
            "epsilon_over_given",
            f"the budget shares add up to {plan.total_share:g}, more than the ε given",
            hint="lower the shares so they add up to at most 1",
        )
    check_epsilon(policy, epsilon, share=plan.total_share)
    return math.fsum(epsilon * q.share for q in plan.queries)


def _named(name: str, issue: Issue) -> Issue:
    return issue.model_copy(update={"message": f"{name}: {issue.message}"})


def _vet_one(query: PlannedQuery, policy: Policy, epsilon: float) -> VettedQuery | list[Issue]:
    """The query ready for the engine, or every issue found in it."""
    try:
        if query.plan is None:
            assert query.sql is not None
            sql, plan = query.sql, vet(query.sql, policy)
        else:
            plan = check_plan(query.plan, policy)
            sql = to_sql(query.plan, unit_table=policy.unit_table, privacy_unit=policy.privacy_unit)
        shape = shape_of(plan, policy, epsilon=epsilon)
    except VetError as err:
        found = err.issues or [Issue(code=err.code, message=err.message, hint=err.hint)]
        return [_named(query.name, i) for i in found]
    except DpError as err:
        return [Issue(code=err.code, message=f"{query.name}: {err.message}", hint=err.hint)]
    return VettedQuery(
        name=query.name, share=query.share, epsilon=epsilon, sql=sql, plan=plan, shape=shape
    )


def vet_analysis(plan: AnalysisPlan, policy: Policy, epsilon: float) -> VettedAnalysis:
    """Vet every query of ``plan``; refuse the whole analysis if any query is refused."""
    plan = _revalidated(plan)
    total = check_budget(plan, policy, epsilon)
    issues: list[Issue] = []
    vetted: list[VettedQuery] = []
    for query in plan.queries:
        found = _vet_one(query, policy, epsilon * query.share)
        if isinstance(found, VettedQuery):
            vetted.append(found)
        else:
            issues += found
    if issues:
        refused = len(plan.queries) - len(vetted)
        raise VetError(
            "analysis_rejected",
            f"{refused} of {len(plan.queries)} queries in analysis {plan.name!r} were refused",
            hint="fix the queries named in each issue; nothing ran and no budget was spent",
            issues=issues,
        )
    return VettedAnalysis(
        name=plan.name,
        description=plan.description,
        analysis_hash=plan.plan_hash(),
        epsilon_given=epsilon,
        epsilon=total,
        queries=tuple(vetted),
    )
