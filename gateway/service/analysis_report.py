"""An analysis vetted at submission: its code run without data, each query it plans vetted.

The same two stages a worker runs first (``gateway.pipeline.collect`` in a
fresh sandbox with no extract, then ``vet_analysis``), done when the analysis
is submitted or previewed, so a broken analysis is refused at once with its
issues and their line numbers, before any reviewer or worker sees it. The
worker runs them again on the job's own text when it runs the job.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.config import Settings
from gateway.errors import AnalysisError, EpsilonError, Issue, SandboxError, VetError
from gateway.policy.model import Policy


class PlannedQuery(BaseModel):
    name: str
    sql: str
    epsilon: float = Field(description="its share of the analysis's ε")
    rendered: str = Field(description="its vetted plan, step by step")


class AnalysisReport(BaseModel):
    """What vetting an analysis found: its queries, or every issue (with lines) if refused."""

    allowed: bool
    violations: list[Issue] = Field(default_factory=list)
    queries: list[PlannedQuery] = Field(default_factory=list)
    epsilon: float
    output: str | None = Field(default=None, description="what the code printed")


def analysis_report(
    settings: Settings, policy: Policy, code: str, epsilon: float
) -> AnalysisReport:
    """Run ``code`` in a sandbox without data and vet the plan it builds under ``epsilon``."""
    from gateway.analyses.vetting import vet_analysis
    from gateway.pipeline import collect
    from gateway.policy.epsilon import epsilon_issues
    from gateway.sandbox import make_sandbox
    from gateway.vet.render import render_plan

    issues = epsilon_issues(policy, epsilon)
    if issues:
        return AnalysisReport(allowed=False, violations=issues, epsilon=epsilon)
    try:
        collected = collect(code, "analysis.py", make_sandbox(settings))
        vetted = vet_analysis(collected.plan, policy, epsilon)
    except (AnalysisError, EpsilonError, VetError, SandboxError) as err:
        found = err.issues or [Issue(code=err.code, message=err.message, hint=err.hint)]
        return AnalysisReport(allowed=False, violations=found, epsilon=epsilon)
    return AnalysisReport(
        allowed=True,
        queries=[
            PlannedQuery(
                name=query.name,
                sql=query.sql,
                epsilon=query.epsilon,
                rendered=render_plan(query.plan, policy),
            )
            for query in vetted.queries
        ],
        epsilon=vetted.epsilon,
        output=collected.output,
    )


def refusal(report: AnalysisReport) -> VetError | None:
    """The submission's refusal when the report found issues; None when it may run."""
    if report.allowed:
        return None
    first = report.violations[0]
    return VetError(
        "analysis_rejected" if len(report.violations) > 1 else first.code,
        first.message
        if len(report.violations) == 1
        else f"{len(report.violations)} problems in the analysis; the first: {first.message}",
        hint=first.hint,
        issues=report.violations,
    )
