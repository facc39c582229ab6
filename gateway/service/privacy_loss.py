"""What all projects together spend on a member: the platform's privacy loss, per cohort.

A project budget limits one project, but every mission extract holds (nearly)
every member, so each project's releases add to the loss of the same people.
The policy caps what releases may spend on any one member across all projects
in a rolling 365 days: ``budget.platform_epsilon_per_year`` and
``budget.platform_delta_per_year``.

**Cohorts.** A release counts for the members its extract holds: an extract
for a contract-basis purpose (``mission``) holds every member whose rights
allow it, one for a consent-basis purpose only the members who opted in. So
members fall into cohorts by the consent purposes they opted in to, and a
cohort's loss is the sum over the releases of every project whose purpose it
holds. Loss composes by addition (basic composition, for ε and δ alike). The
cohort that opted in to everything carries every release: it binds first.

**The ledger.** Nothing new is stored: the project budget's ledger
(``gateway.service.budget``) is the platform's too, each line counted for its
project's purpose. So whatever charges a project charges the platform in the
same line and transaction: exactly once per job, nothing for a stored repeat.
A cohort uses what unsettled jobs hold (whatever their age) and what was
committed in the last 365 days:

    used = Σ reserve − Σ commit − Σ refund  (all time)  +  Σ commit (last 365 days)

**Reserving.** A submission checks every cohort holding its project's purpose
while it holds the platform's lock (PostgreSQL: a transaction-scoped advisory
lock; SQLite: the write lock every ``transaction`` takes), so concurrent
submissions across projects can never together pass the cap.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import defaultdict
from dataclasses import dataclass

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, func, select, text
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.db import session
from gateway.errors import BudgetError
from gateway.policy.model import Policy
from gateway.service.budget import TOLERANCE, tidy
from gateway.service.models import BudgetEntry, LedgerKind, Project, utcnow

WINDOW = dt.timedelta(days=365)
"""The rolling window the platform's cap holds over."""

LOCK_KEY = 0x4854_504C
"""PostgreSQL advisory-lock key that serialises platform reservations ('HTPL')."""


class MonthLoss(BaseModel):
    """What releases committed in one calendar month spent on a cohort's members."""

    month: str = Field(description="YYYY-MM; the first month counts from the window's start")
    epsilon: float
    delta: float


class CohortLoss(BaseModel):
    """One cohort's privacy loss in the rolling window, against the platform's cap."""

    consents: list[str] = Field(
        description="the consent purposes its members opted in to; empty: none"
    )
    purposes: list[str] = Field(description="every purpose whose releases count for them")
    epsilon: float = Field(description="ε spent on each member in the last 365 days")
    delta: float
    held_epsilon: float = Field(description="ε held by jobs not yet finished")
    held_delta: float
    remaining_epsilon: float = Field(description="cap − spent − held")
    remaining_delta: float
    months: list[MonthLoss]


class PrivacyLossPublic(BaseModel):
    """The platform's privacy loss per member cohort: ``GET /api/public/privacy-loss``."""

    as_of: dt.datetime
    window_days: int
    window_start: dt.datetime
    cap_epsilon: float = Field(description="budget.platform_epsilon_per_year")
    cap_delta: float = Field(description="budget.platform_delta_per_year")
    cohorts: list[CohortLoss]

    def binding(self, purpose: str) -> CohortLoss:
        """The cohort with the least left among those a release for ``purpose`` counts for
        (all of them for a purpose the policy does not list)."""
        holding = [c for c in self.cohorts if purpose in c.purposes] or self.cohorts
        return min(holding, key=lambda c: (c.remaining_epsilon, c.remaining_delta))


Amounts = tuple[float, float]
"""ε and δ."""


@dataclass(frozen=True)
class _Commit:
    purpose: str
    epsilon: float
    delta: float
    at: dt.datetime


def cohorts(policy: Policy) -> list[tuple[str, ...]]:
    """Each cohort as the consent purposes its members opted in to; fewest first."""
    optional = sorted(name for name, p in policy.purposes.items() if p.basis == "consent")
    return [
        combination
        for size in range(len(optional) + 1)
        for combination in itertools.combinations(optional, size)
    ]


def privacy_loss(settings: Settings, policy: Policy) -> PrivacyLossPublic:
    """The platform's privacy loss now, for the public page and the reviewer console."""
    with session(settings) as s:
        return platform_loss(s, policy)


def platform_loss(s: Session, policy: Policy, now: dt.datetime | None = None) -> PrivacyLossPublic:
    """Each cohort's loss as of ``now``: what unsettled jobs hold plus the window's commits."""
    now = now or utcnow()
    start = now - WINDOW
    held = _held(s)
    committed = _committed(s, start, now)
    contract = _everyones(policy, set(held) | {purpose for purpose, _ in committed})
    cap_epsilon = policy.budget.platform_epsilon_per_year
    cap_delta = policy.budget.platform_delta_per_year
    result = []
    for consents in cohorts(policy):
        purposes = contract + list(consents)
        counted = [amounts for (purpose, _), amounts in committed.items() if purpose in purposes]
        epsilon = tidy(math.fsum(e for e, _ in counted), 1.0)
        delta = tidy(math.fsum(d for _, d in counted), cap_delta)
        held_epsilon = tidy(math.fsum(held[p][0] for p in purposes if p in held), 1.0)
        held_delta = tidy(math.fsum(held[p][1] for p in purposes if p in held), cap_delta)
        result.append(
            CohortLoss(
                consents=list(consents),
                purposes=purposes,
                epsilon=epsilon,
                delta=delta,
                held_epsilon=held_epsilon,
                held_delta=held_delta,
                remaining_epsilon=tidy(cap_epsilon - epsilon - held_epsilon, 1.0),
                remaining_delta=tidy(cap_delta - delta - held_delta, cap_delta),
                months=_months(committed, purposes, start, now, cap_delta),
            )
        )
    return PrivacyLossPublic(
        as_of=now,
        window_days=WINDOW.days,
        window_start=start,
        cap_epsilon=cap_epsilon,
        cap_delta=cap_delta,
        cohorts=result,
    )


def lock(s: Session) -> None:
    """Serialise platform reservations until the transaction ends."""
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    elif dialect != "sqlite":  # SQLite: ``transaction`` holds the write lock already
        raise ValueError(f"no platform budget lock for {dialect}; use SQLite or PostgreSQL")


def check(
    s: Session,
    policy: Policy,
    purpose: str,
    epsilon: float,
    delta: float,
    now: dt.datetime | None = None,
) -> None:
    """Take the platform's lock and raise ``BudgetError`` unless ``epsilon`` and ``delta`` fit
    every cohort a release for ``purpose`` counts for. Call it in the reserving transaction."""
    lock(s)
    loss = platform_loss(s, policy, now)
    cohort = loss.binding(purpose)
    over_epsilon = epsilon - cohort.remaining_epsilon
    over_delta = delta - cohort.remaining_delta
    if over_epsilon <= TOLERANCE and over_delta <= TOLERANCE * loss.cap_delta:
        return
    who = _members(cohort)
    if over_epsilon > TOLERANCE:
        message = (
            f"ε = {epsilon:g} would bring the privacy loss of {who} to "
            f"{cohort.epsilon + cohort.held_epsilon + epsilon:g} in 365 days, over the "
            f"platform's cap of {loss.cap_epsilon:g} per member"
        )
    else:
        message = (
            f"δ = {delta:g} would bring the δ of {who} to "
            f"{cohort.delta + cohort.held_delta + delta:g} in 365 days, over the "
            f"platform's cap of {loss.cap_delta:g} per member"
        )
    raise BudgetError(
        "platform_budget_exhausted",
        message,
        hint=_when_it_frees(
            loss, cohort, _commits(s, loss.window_start, loss.as_of), over_epsilon, over_delta
        ),
    )


def _when_it_frees(
    loss: PrivacyLossPublic,
    cohort: CohortLoss,
    commits: list[_Commit],
    over_epsilon: float,
    over_delta: float,
) -> str:
    """When enough of the window's releases age out for the job to fit, in words."""
    meanwhile = (
        f"; until then ask with ε ≤ {max(cohort.remaining_epsilon, 0.0):g}"
        if over_epsilon > TOLERANCE
        else ""
    )
    freed_epsilon = freed_delta = 0.0
    for commit in (c for c in commits if c.purpose in cohort.purposes):
        freed_epsilon += commit.epsilon
        freed_delta += commit.delta
        if freed_epsilon >= over_epsilon - TOLERANCE and (
            freed_delta >= over_delta - TOLERANCE * loss.cap_delta
        ):
            frees = _next_minute(commit.at + WINDOW).strftime("%Y-%m-%d %H:%M UTC")
            return (
                "budget frees up as releases leave the rolling 365 days: enough for this job "
                f"from {frees}{meanwhile}"
            )
    if cohort.held_epsilon or cohort.held_delta:
        return (
            "jobs not yet finished hold part of the platform's budget; it frees up as they "
            f"finish or are rejected{meanwhile}"
        )
    return (
        f"a job must fit the platform's cap of ε = {loss.cap_epsilon:g} and "
        f"δ = {loss.cap_delta:g} per member a year; ask with less"
    )


def _everyones(policy: Policy, seen: set[str]) -> list[str]:
    """Purposes whose releases count for every member: the contract basis, and (failing
    closed) any purpose ``seen`` in the ledger that the policy no longer lists."""
    basis = {name: purpose.basis for name, purpose in policy.purposes.items()}
    return sorted(name for name in basis.keys() | seen if basis.get(name, "contract") == "contract")


def _next_minute(moment: dt.datetime) -> dt.datetime:
    """``moment`` rounded up to a whole minute, so that a time in words is never too early."""
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + dt.timedelta(minutes=1)


def _members(cohort: CohortLoss) -> str:
    if not cohort.consents:
        return "every member"
    return "members who opted in to " + " and ".join(cohort.consents)


def _held(s: Session) -> dict[str, Amounts]:
    """ε and δ held by unsettled jobs, per purpose: reservations less settlements, all time."""
    sign = {LedgerKind.RESERVE: 1.0, LedgerKind.COMMIT: -1.0, LedgerKind.REFUND: -1.0}
    rows = s.execute(
        select(
            Project.purpose,
            BudgetEntry.kind,
            func.sum(BudgetEntry.epsilon),
            func.sum(BudgetEntry.delta),
        )
        .join(Project, Project.id == BudgetEntry.project_id)
        .group_by(Project.purpose, BudgetEntry.kind)
    ).all()
    parts: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
    for purpose, kind, epsilon, delta in rows:
        parts[purpose].append((sign[kind] * epsilon, sign[kind] * delta))
    return {
        purpose: (math.fsum(e for e, _ in amounts), math.fsum(d for _, d in amounts))
        for purpose, amounts in parts.items()
    }


def _committed(s: Session, start: dt.datetime, now: dt.datetime) -> dict[tuple[str, str], Amounts]:
    """ε and δ committed in the window, per purpose and month (``YYYY-MM``), summed in SQL."""
    year, month = func.extract("year", BudgetEntry.at), func.extract("month", BudgetEntry.at)
    rows = s.execute(
        select(
            Project.purpose,
            year,
            month,
            func.sum(BudgetEntry.epsilon),
            func.sum(BudgetEntry.delta),
        )
        .join(Project, Project.id == BudgetEntry.project_id)
        .where(_in_window(start, now))
        .group_by(Project.purpose, year, month)
    ).all()
    return {(p, f"{int(y):04d}-{int(m):02d}"): (e, d) for p, y, m, e, d in rows}


def _in_window(start: dt.datetime, now: dt.datetime) -> ColumnElement[bool]:
    return and_(
        BudgetEntry.kind == LedgerKind.COMMIT, BudgetEntry.at > start, BudgetEntry.at <= now
    )


def _commits(s: Session, start: dt.datetime, now: dt.datetime) -> list[_Commit]:
    """Each commit in the window, for the hint of a refusal only."""
    rows = s.execute(
        select(Project.purpose, BudgetEntry.epsilon, BudgetEntry.delta, BudgetEntry.at)
        .join(Project, Project.id == BudgetEntry.project_id)
        .where(_in_window(start, now))
        .order_by(BudgetEntry.at)
    ).all()
    return [_Commit(purpose=p, epsilon=e, delta=d, at=at) for p, e, d, at in rows]


def _months(
    committed: dict[tuple[str, str], Amounts],
    purposes: list[str],
    start: dt.datetime,
    now: dt.datetime,
    cap_delta: float,
) -> list[MonthLoss]:
    """Spend per calendar month from the window's start to ``now``, empty months included."""
    months = []
    year, month = start.year, start.month
    while (year, month) <= (now.year, now.month):
        key = f"{year:04d}-{month:02d}"
        amounts = [committed[p, key] for p in purposes if (p, key) in committed]
        months.append(
            MonthLoss(
                month=key,
                epsilon=tidy(math.fsum(e for e, _ in amounts), 1.0),
                delta=tidy(math.fsum(d for _, d in amounts), cap_delta),
            )
        )
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
