"""A project's privacy-loss budget in ε and δ, kept as an append-only ledger.

Each job has at most one line of each kind (a unique constraint), and each
line carries ε, δ and, where the releases state one, the zCDP ρ: ``reserve``
holds the job's ε and δ at submission, and when the job ends either
``commit`` charges what it spent (with a ``refund`` of any rest) or
``refund`` gives it all back. So a job retried after a crash is charged
exactly once, and, for ε and δ alike,

    remaining = granted − Σ reserve + Σ refund      spent = Σ commit

A reservation locks the project's row first (``SELECT ... FOR UPDATE``; on
SQLite the whole transaction is serialised) and checks ε and δ together, so
concurrent submissions can never together overspend either.

A job holds δ for every release it may make: the policy's per-query δ for a
SQL query, and that times ``MAX_QUERIES`` for an analysis, whose plan is
known only when it runs. A release charges the δ it spent (none when the
release store answered it from before the job); the rest is refunded.
"""

from __future__ import annotations

import datetime as dt
import math

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.analyses.plan import MAX_QUERIES
from gateway.errors import BudgetError
from gateway.policy.model import Policy
from gateway.service.models import (
    BudgetEntry,
    BudgetGrant,
    Job,
    JobKind,
    LedgerKind,
    Project,
    User,
    utcnow,
)

TOLERANCE = 1e-9
"""Float sums such as 0.1 + 0.2 must not refuse a reservation that fits exactly: ε within
this, δ within this share of the δ granted."""


class PrivacyLoss(BaseModel):
    """ε and δ, with the zCDP ρ when every charged release states one."""

    epsilon: float
    delta: float
    rho: float | None = None


class BudgetState(BaseModel):
    """ε (``granted`` … ``remaining``) and δ (``granted_delta`` … ``remaining_delta``)."""

    granted: float
    held: float
    spent: float
    remaining: float
    granted_delta: float
    held_delta: float
    spent_delta: float
    remaining_delta: float


class TopUpPublic(BaseModel):
    """ε a reviewer added to an approved project, and why."""

    epsilon: float
    note: str
    granted_by: str
    at: dt.datetime


def top_ups(s: Session, project: Project) -> list[TopUpPublic]:
    """The project's top-ups, oldest first; the ε granted at approval is the rest of ``granted``."""
    rows = s.execute(
        select(BudgetGrant, User.name)
        .join(User, User.id == BudgetGrant.granted_by)
        .where(BudgetGrant.project_id == project.id)
        .order_by(BudgetGrant.id)
    ).all()
    return [
        TopUpPublic(epsilon=grant.epsilon, note=grant.note, granted_by=name, at=grant.at)
        for grant, name in rows
    ]


def job_delta(kind: JobKind, policy: Policy) -> float:
    """The δ a job holds: one query's for SQL, ``MAX_QUERIES`` queries' for an analysis."""
    return policy.budget.delta * (1 if kind is JobKind.SQL else MAX_QUERIES)


def budget_state(s: Session, project: Project) -> BudgetState:
    entries = s.execute(
        select(BudgetEntry.kind, BudgetEntry.epsilon, BudgetEntry.delta).where(
            BudgetEntry.project_id == project.id
        )
    ).all()
    granted = project.granted_epsilon or 0.0
    granted_delta = project.granted_delta or 0.0
    epsilon = _totals(granted, [(kind, e) for kind, e, _ in entries], scale=1.0)
    delta = _totals(
        granted_delta, [(kind, d) for kind, _, d in entries], scale=granted_delta or TOLERANCE
    )
    return BudgetState(
        granted=granted,
        held=epsilon.held,
        spent=epsilon.spent,
        remaining=epsilon.remaining,
        granted_delta=granted_delta,
        held_delta=delta.held,
        spent_delta=delta.spent,
        remaining_delta=delta.remaining,
    )


class _Totals(BaseModel):
    held: float
    spent: float
    remaining: float


def _totals(granted: float, lines: list[tuple[LedgerKind, float]], scale: float) -> _Totals:
    """Held, spent and remaining of ε or δ; float dust (``scale`` × TOLERANCE or less) is 0."""
    of = {kind: [amount for k, amount in lines if k is kind] for kind in LedgerKind}
    reserved, spent, refunded = of[LedgerKind.RESERVE], of[LedgerKind.COMMIT], of[LedgerKind.REFUND]
    return _Totals(
        held=tidy(math.fsum([*reserved, *(-x for x in spent + refunded)]), scale),
        spent=tidy(math.fsum(spent), scale),
        remaining=tidy(math.fsum([granted, *refunded, *(-x for x in reserved)]), scale),
    )


def locked_state(s: Session, project_id: int) -> BudgetState:
    """The project's budget, with its row locked until the transaction ends."""
    return budget_state(s, s.get_one(Project, project_id, with_for_update=True))


def check(state: BudgetState, epsilon: float, delta: float) -> None:
    """Raise ``BudgetError`` unless ``epsilon`` and ``delta`` both fit in what remains."""
    if epsilon > state.remaining + TOLERANCE:
        raise BudgetError(
            "budget_exhausted",
            f"ε = {epsilon:g} is more than the project's remaining budget of "
            f"{state.remaining:g} (of {state.granted:g})",
            hint="ask with a smaller ε, or ask a reviewer for a larger project budget",
        )
    if delta > state.remaining_delta + TOLERANCE * state.granted_delta:
        raise BudgetError(
            "delta_budget_exhausted",
            f"δ = {delta:g} is more than the project's remaining δ of "
            f"{state.remaining_delta:g} (of {state.granted_delta:g})",
            hint="each release spends the policy's δ, whatever its ε; wait for running jobs "
            "to finish (an analysis holds δ for its largest plan until then), or ask a "
            "reviewer for a new project",
        )


def reserve(s: Session, job: Job) -> None:
    """Hold the job's ε and δ (once per job), or raise ``BudgetError``."""
    if _line(s, job, LedgerKind.RESERVE) is not None:
        return
    check(locked_state(s, job.project_id), job.epsilon, job.delta)
    _append(s, job, LedgerKind.RESERVE, PrivacyLoss(epsilon=job.epsilon, delta=job.delta))


def settle(s: Session, job: Job, charged: PrivacyLoss) -> PrivacyLoss:
    """Charge ``charged`` (at most the reservation) and refund the rest; once per job.

    Returns what was charged, now or by an earlier settlement.
    """
    done = _line(s, job, LedgerKind.COMMIT)
    if done is not None:
        return PrivacyLoss(epsilon=done.epsilon, delta=done.delta, rho=done.rho)
    if _line(s, job, LedgerKind.REFUND) is not None or _line(s, job, LedgerKind.RESERVE) is None:
        return PrivacyLoss(epsilon=0.0, delta=0.0)  # refunded, or nothing held (a dummy run)
    held = _held(s, job)
    spent = PrivacyLoss(
        epsilon=min(max(charged.epsilon, 0.0), held.epsilon),
        delta=min(max(charged.delta, 0.0), held.delta),
        rho=charged.rho,
    )
    _append(s, job, LedgerKind.COMMIT, spent)
    rest = PrivacyLoss(
        epsilon=tidy(held.epsilon - spent.epsilon, 1.0),
        delta=tidy(held.delta - spent.delta, held.delta),
    )
    if rest.epsilon > 0 or rest.delta > 0:
        _append(s, job, LedgerKind.REFUND, rest)
    return spent


def settle_in_full(s: Session, job: Job) -> PrivacyLoss:
    """Charge the whole reservation: the job may have spent all of it; once per job."""
    return settle(s, job, _held(s, job))


def refund(s: Session, job: Job) -> None:
    """Give the whole reservation back (the job released nothing); once per job."""
    if _line(s, job, LedgerKind.COMMIT) or _line(s, job, LedgerKind.REFUND):
        return
    held = _held(s, job)
    if held.epsilon or held.delta:
        _append(s, job, LedgerKind.REFUND, held)


def _held(s: Session, job: Job) -> PrivacyLoss:
    line = _line(s, job, LedgerKind.RESERVE)
    if line is None:
        return PrivacyLoss(epsilon=0.0, delta=0.0)
    return PrivacyLoss(epsilon=line.epsilon, delta=line.delta)


def _line(s: Session, job: Job, kind: LedgerKind) -> BudgetEntry | None:
    return s.execute(
        select(BudgetEntry).where(BudgetEntry.job_id == job.id, BudgetEntry.kind == kind)
    ).scalar_one_or_none()


def _append(s: Session, job: Job, kind: LedgerKind, loss: PrivacyLoss) -> None:
    s.add(
        BudgetEntry(
            project_id=job.project_id,
            job_id=job.id,
            kind=kind,
            epsilon=loss.epsilon,
            delta=loss.delta,
            rho=loss.rho,
            at=utcnow(),
        )
    )
    s.flush()


def tidy(value: float, scale: float) -> float:
    """``value`` to twelve digits, and 0 when it is float dust (within ``scale`` × TOLERANCE)."""
    return 0.0 if abs(value) <= scale * TOLERANCE else float(f"{value:.12g}")
