"""Trusted-side vetting of an analysis plan, with the same rules as SQL.

Builder queries are rendered to SQL and sent through ``gateway.vet.vet`` like
any researcher's SQL, so there is one set of rules and one implementation of
them. The plan the vetter compiles must be the plan the researcher built
(bounds aside), or the query is refused: the two sides never silently
disagree about a question. SQL cannot fix bounds, so bounds the researcher
fixed (contributions, clamp ranges) are then put back on the compiled plan
and checked against the policy's maxima (``gateway.vet.bounds``); what is
left out the engine chooses per query with DP.
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
from gateway.dp.shape import shape_of
from gateway.errors import AnalysisError, DpError, EpsilonError, Issue, VetError, field_message
from gateway.plan import Contributions, QueryPlan
from gateway.policy.epsilon import check_epsilon
from gateway.policy.model import Policy
from gateway.vet import vet
from gateway.vet.bounds import check_bounds


class VettedQuery(BaseModel):
    """One query ready for the DP engine, with its ε and the SQL that was vetted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    share: float
    epsilon: float
    sql: str
    plan: QueryPlan


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


def _unbounded(plan: QueryPlan) -> QueryPlan:
    """``plan`` without fixed bounds: the question SQL can ask."""
    return plan.model_copy(
        update={
            "contributions": Contributions(),
            "aggregates": tuple(
                a.model_copy(update={"lower": None, "upper": None}) for a in plan.aggregates
            ),
        }
    )


def _same_question(built: QueryPlan, compiled: QueryPlan, policy: Policy) -> bool:
    """True if the vetter compiled the plan that was built, up to two normalisations.

    Fixed bounds are left aside (SQL cannot carry them), and the vetter drops
    a bucket that is the column's own grain (``date_trunc('month',
    created_month)`` is ``created_month``); the SDK cannot know a column's
    grain, so it may ask.
    """
    keys = tuple(
        k.model_copy(update={"bucket": None})
        if k.bucket == "month" and _monthly(policy, k.column.table, k.column.column)
        else k
        for k in built.group_by
    )
    return _unbounded(compiled) == _unbounded(built).model_copy(update={"group_by": keys})


def _with_bounds(compiled: QueryPlan, built: QueryPlan) -> QueryPlan:
    """The compiled plan with the bounds fixed in the built one (the same question)."""
    return compiled.model_copy(
        update={
            "contributions": built.contributions,
            "aggregates": tuple(
                c.model_copy(update={"lower": b.lower, "upper": b.upper})
                for c, b in zip(compiled.aggregates, built.aggregates, strict=True)
            ),
        }
    )


def _monthly(policy: Policy, table: str, column: str) -> bool:
    spec = policy.tables.get(table)
    derive = spec.columns[column].derive if spec and column in spec.columns else None
    return derive is not None and derive.transform == "month"


def _vet_one(
    query: PlannedQuery, policy: Policy, epsilon: float
) -> tuple[str, QueryPlan | None, list[Issue]]:
    if query.plan is None:
        assert query.sql is not None
        sql = query.sql
    else:
        try:
            sql = to_sql(query.plan, unit_table=policy.unit_table, privacy_unit=policy.privacy_unit)
        except ValueError as err:
            return "", None, [Issue(code="plan_invalid", message=f"{query.name}: {err}")]
    try:
        compiled = vet(sql, policy)
    except VetError as err:
        found = err.issues or [Issue(code=err.code, message=err.message, hint=err.hint)]
        return sql, None, [_named(query.name, i) for i in found]
    if query.plan is not None and not _same_question(query.plan, compiled, policy):
        mismatch = Issue(
            code="plan_mismatch",
            message=f"{query.name}: the vetter read this query differently from how it was built",
            highlight=sql,
            hint="write this query with add_sql(...) instead, and report the difference",
        )
        return sql, None, [mismatch]
    if query.plan is not None:
        compiled = _with_bounds(compiled, query.plan)
        outside = check_bounds(compiled, policy)
        if outside:
            return sql, None, [_named(query.name, i) for i in outside]
    try:
        shape_of(compiled, policy, epsilon=epsilon)
    except DpError as err:
        issue = Issue(code=err.code, message=f"{query.name}: {err.message}", hint=err.hint)
        return sql, None, [issue]
    return sql, compiled, []


def vet_analysis(plan: AnalysisPlan, policy: Policy, epsilon: float) -> VettedAnalysis:
    """Vet every query of ``plan``; refuse the whole analysis if any query is refused."""
    plan = _revalidated(plan)
    total = check_budget(plan, policy, epsilon)
    issues: list[Issue] = []
    vetted: list[VettedQuery] = []
    for query in plan.queries:
        sql, compiled, found = _vet_one(query, policy, epsilon * query.share)
        issues.extend(found)
        if compiled is not None:
            vetted.append(
                VettedQuery(
                    name=query.name,
                    share=query.share,
                    epsilon=epsilon * query.share,
                    sql=sql,
                    plan=compiled,
                )
            )
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
