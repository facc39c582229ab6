"""Live vetting: what the policy says of a query while it is typed, and what it would cost.

Nothing runs and no data is read: the vetter's report, the accuracy the DP
engine predicts from the plan alone (only when every bound is fixed: bounds
chosen per query with DP are known only after the release), the ε and δ the
query would hold, whether a reviewer must see it, and, for a project, the
budget left after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from gateway.config import Settings
from gateway.db import session
from gateway.policy.epsilon import asked_epsilon
from gateway.policy.model import Policy
from gateway.service.accounts import Principal
from gateway.service.budget import budget_state, job_delta
from gateway.service.inputs import EPSILON_DEFAULT, Epsilon, Id
from gateway.service.jobs import JobPublic, review_reasons
from gateway.service.models import JobKind
from gateway.service.projects import visible_project
from gateway.vet.bounds import FixedBounds

if TYPE_CHECKING:
    from gateway.service.analysis_report import AnalysisReport
    from gateway.vet.report import VetReport


class VetRequest(BaseModel):
    sql: str
    epsilon: Epsilon | None = Field(default=None, description=EPSILON_DEFAULT)
    project_id: Id | None = Field(default=None, description="to see the budget left after it")
    bounds: FixedBounds | None = Field(
        default=None, description="bounds to fix, as in a submission; the rest are chosen"
    )


class AnalysisVetRequest(BaseModel):
    code: str = Field(min_length=1, description="the analysis's Python source")
    epsilon: Epsilon | None = Field(default=None, description=EPSILON_DEFAULT)
    project_id: Id | None = Field(default=None, description="to see the budget left after it")


class Accuracy(BaseModel):
    """What a plan's numbers will be worth, as far as is known before it runs."""

    accuracy: dict[str, float] = Field(
        default_factory=dict,
        description="expected 95% half-width per aggregate (a mean's in its own units for a "
        "group of 1,000 values, and its parts as `.sum` and `.count`); "
        "empty while some bound is chosen with DP",
    )
    bounds_note: str | None = Field(
        default=None, description="set when bounds are chosen per query with DP"
    )


class VetPreview(Accuracy):
    allowed: bool
    report: dict[str, object] = Field(description="as `gateway vet --json` prints it")
    rendered: str = Field(description="the plan, or each issue under its line with carets")
    epsilon: float
    delta: float = Field(description="the δ the query would hold: the policy's per-query δ")
    review_reasons: list[str]
    remaining_before: float | None = None
    remaining_after: float | None = None
    remaining_delta_before: float | None = None
    remaining_delta_after: float | None = None


class PlanStep(BaseModel):
    """One line of a vetted plan: what (``reads``, ``where``, ``releases`` ...) and how."""

    step: str
    detail: str


class PlanView(Accuracy):
    """A vetted plan as a reviewer reads it: each step, its ε, and the accuracy to expect."""

    steps: list[PlanStep]
    epsilon: float


def plan_view(report: VetReport, policy: Policy) -> PlanView | None:
    """The plan of an allowed report, with its predicted accuracy; None for a refused one."""
    from gateway.vet.render import plan_rows

    if report.plan is None:
        return None
    return PlanView(
        steps=[
            PlanStep(step=step, detail=detail) for step, detail in plan_rows(report.plan, policy)
        ],
        epsilon=report.epsilon,
        accuracy=predicted_accuracy(report, policy),
        bounds_note=report.bounds.note if report.bounds is not None else None,
    )


def job_plan(job: JobPublic, policy: Policy) -> PlanView | None:
    """A SQL job's vetted plan; None for an analysis (its queries' plans are in its report)."""
    from gateway.vet.report import VetReport

    if job.vet_report is None or job.kind is not JobKind.SQL:
        return None
    return plan_view(VetReport.model_validate(job.vet_report), policy)


def predicted_accuracy(report: VetReport, policy: Policy) -> dict[str, float]:
    """Expected half-widths when every bound is fixed; empty when some are chosen with DP."""
    from gateway.dp import predict_accuracy

    fixed = report.bounds is not None and not report.bounds.chosen
    if report.plan is None or not fixed:
        return {}
    return predict_accuracy(report.plan, policy, report.epsilon)


def preview(settings: Settings, who: Principal, data: VetRequest, policy: Policy) -> VetPreview:
    from gateway.vet import vet_report
    from gateway.vet.render import render_issues, render_plan

    report = vet_report(data.sql, policy, data.epsilon, data.bounds)
    rendered = (
        render_plan(report.plan, policy)
        if report.plan is not None
        else render_issues(data.sql, report.violations)
    )
    accuracy = Accuracy(
        accuracy=predicted_accuracy(report, policy),
        bounds_note=report.bounds.note if report.bounds is not None else None,
    )
    return _preview(settings, who, data.project_id, policy, JobKind.SQL, report, rendered, accuracy)


def preview_analysis(
    settings: Settings, who: Principal, data: AnalysisVetRequest, policy: Policy
) -> VetPreview:
    """The same preview for a Python analysis: its code run without data in a sandbox, each
    query it plans vetted; issues point at the analysis's lines."""
    from gateway.service.analysis_report import analysis_report
    from gateway.vet.render import render_issues

    epsilon = asked_epsilon(policy, data.epsilon)
    report = analysis_report(settings, policy, data.code, epsilon)
    rendered = (
        "\n\n".join(f"{q.name} (ε = {q.epsilon:g})\n{q.rendered}" for q in report.queries)
        if report.allowed
        else render_issues(data.code, report.violations)
    )
    accuracy = Accuracy(bounds_note="bounds are chosen per query with DP")
    return _preview(
        settings, who, data.project_id, policy, JobKind.ANALYSIS, report, rendered, accuracy
    )


def _preview(
    settings: Settings,
    who: Principal,
    project_id: int | None,
    policy: Policy,
    kind: JobKind,
    report: VetReport | AnalysisReport,
    rendered: str,
    accuracy: Accuracy,
) -> VetPreview:
    """The verdict, its cost and who must see it, with the project's ε and δ left before and
    after it when a project is named."""
    result = VetPreview(
        allowed=report.allowed,
        report=report.model_dump(mode="json"),
        rendered=rendered,
        epsilon=report.epsilon,
        delta=job_delta(kind, policy),
        review_reasons=review_reasons(kind, None, report.epsilon, policy),
        **accuracy.model_dump(),
    )
    if project_id is not None:
        with session(settings) as s:
            state = budget_state(s, visible_project(s, who, project_id))
        result.remaining_before = state.remaining
        result.remaining_after = state.remaining - result.epsilon
        result.remaining_delta_before = state.remaining_delta
        result.remaining_delta_after = state.remaining_delta - result.delta
    return result
