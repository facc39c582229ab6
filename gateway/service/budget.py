"""A project's privacy-loss budget, kept as an append-only ledger.

Each job has at most one line of each kind (a unique constraint): ``reserve``
holds its ε at submission, and when the job ends either ``commit`` charges
what it spent (with a ``refund`` of any rest) or ``refund`` gives it all back.
So a job retried after a crash is charged exactly once, and

    remaining = granted − Σ reserve + Σ refund      spent = Σ commit

A reservation locks the project's row first (``SELECT ... FOR UPDATE``; on
SQLite the whole transaction is serialised), so concurrent submissions can
never together overspend.
"""

from __future__ import annotations

import math

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.errors import BudgetError
from gateway.service.models import BudgetEntry, Job, LedgerKind, Project, utcnow

TOLERANCE = 1e-9
"""Float sums of ε such as 0.1 + 0.2 must not refuse a reservation that fits exactly."""


class BudgetState(BaseModel):
    granted: float
    held: float
    spent: float
    remaining: float


def budget_state(s: Session, project: Project) -> BudgetState:
    entries = s.execute(
        select(BudgetEntry.kind, BudgetEntry.epsilon).where(BudgetEntry.project_id == project.id)
    ).all()
    total = {kind: math.fsum(e for k, e in entries if k is kind) for kind in LedgerKind}
    granted = project.granted_epsilon or 0.0
    reserved, spent, refunded = (
        total[LedgerKind.RESERVE],
        total[LedgerKind.COMMIT],
        total[LedgerKind.REFUND],
    )
    return BudgetState(
        granted=granted,
        held=_tidy(reserved - spent - refunded),
        spent=_tidy(spent),
        remaining=_tidy(granted - reserved + refunded),
    )


def locked_state(s: Session, project_id: int) -> BudgetState:
    """The project's budget, with its row locked until the transaction ends."""
    return budget_state(s, s.get_one(Project, project_id, with_for_update=True))


def check(state: BudgetState, epsilon: float) -> None:
    """Raise ``BudgetError`` unless ``epsilon`` fits in what remains."""
    if epsilon > state.remaining + TOLERANCE:
        raise BudgetError(
            "budget_exhausted",
            f"ε = {epsilon:g} is more than the project's remaining budget of "
            f"{state.remaining:g} (of {state.granted:g})",
            hint="ask with a smaller ε, or ask a reviewer for a larger project budget",
        )


def reserve(s: Session, job: Job) -> None:
    """Hold ``job.epsilon`` of its project's budget (once per job), or raise ``BudgetError``."""
    if _line(s, job, LedgerKind.RESERVE) is not None:
        return
    check(locked_state(s, job.project_id), job.epsilon)
    _append(s, job, LedgerKind.RESERVE, job.epsilon)


def settle(s: Session, job: Job, charged: float) -> None:
    """Charge ``charged`` (at most the reservation) and refund the rest; once per job."""
    if _line(s, job, LedgerKind.COMMIT) or _line(s, job, LedgerKind.REFUND):
        return
    held = _held(s, job)
    charged = min(max(charged, 0.0), held)
    _append(s, job, LedgerKind.COMMIT, charged)
    if held - charged > TOLERANCE:
        _append(s, job, LedgerKind.REFUND, _tidy(held - charged))


def refund(s: Session, job: Job) -> None:
    """Give the whole reservation back (the job released nothing); once per job."""
    if _line(s, job, LedgerKind.COMMIT) or _line(s, job, LedgerKind.REFUND):
        return
    held = _held(s, job)
    if held:
        _append(s, job, LedgerKind.REFUND, held)


def _held(s: Session, job: Job) -> float:
    line = _line(s, job, LedgerKind.RESERVE)
    return 0.0 if line is None else line.epsilon


def _line(s: Session, job: Job, kind: LedgerKind) -> BudgetEntry | None:
    return s.execute(
        select(BudgetEntry).where(BudgetEntry.job_id == job.id, BudgetEntry.kind == kind)
    ).scalar_one_or_none()


def _append(s: Session, job: Job, kind: LedgerKind, epsilon: float) -> None:
    s.add(
        BudgetEntry(
            project_id=job.project_id, job_id=job.id, kind=kind, epsilon=epsilon, at=utcnow()
        )
    )
    s.flush()


def _tidy(value: float) -> float:
    return round(value, 9) + 0.0
