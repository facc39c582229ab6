"""How many groups a plan has at least, from public facts only.

Domains come from the policy (a category's public values) and from the
query's own top-level filters (an IN list, a date range). A key with no
known domain counts as one group, so the estimate is a lower bound: a query
refused for it certainly has more groups than the policy allows.
"""

from __future__ import annotations

import datetime as dt

from gateway.plan import And, Between, Compare, GroupKey, InSet, Predicate, QueryPlan
from gateway.plan import Literal_ as Value
from gateway.policy.model import Column, Policy
from gateway.vet.shapes import grain


def estimate_groups(plan: QueryPlan, policy: Policy) -> int:
    terms = _conjuncts(plan.where)
    estimate = 1
    for key in plan.group_by:
        estimate *= _domain_size(key, policy.column(key.column.table, key.column.column), terms)
    return estimate


def _conjuncts(where: Predicate | None) -> list[Predicate]:
    if where is None:
        return []
    return list(where.terms) if isinstance(where, And) else [where]


def _domain_size(key: GroupKey, spec: Column, terms: list[Predicate]) -> int:
    """How many groups a key has at least, from public facts; 1 when unknown."""
    values: set[Value] | None = set(spec.domain) if spec.domain is not None else None
    low: dt.date | None = None
    high: dt.date | None = None
    for term in terms:
        if getattr(term, "column", None) != key.column or getattr(term, "negated", False):
            continue
        if isinstance(term, InSet):
            values = set(term.values) & values if values is not None else set(term.values)
        elif isinstance(term, Compare) and term.op == "=":
            values = {term.value} & values if values is not None else {term.value}
        elif spec.type == "DATE" and isinstance(term, Compare | Between):
            low, high = _narrow(term, low, high)
    if values is not None:
        return len(values)
    if low is None or high is None:
        return 1
    return _buckets(low, high, key.bucket, grain(spec))


def _narrow(
    term: Compare | Between, low: dt.date | None, high: dt.date | None
) -> tuple[dt.date | None, dt.date | None]:
    """Tighten an inclusive date range with one comparison."""
    one = dt.timedelta(days=1)
    bounds: list[tuple[str, Value]] = (
        [(">=", term.low), ("<=", term.high)]
        if isinstance(term, Between)
        else [(term.op, term.value)]
    )
    for op, value in bounds:
        day = dt.date.fromisoformat(str(value))
        if op in (">", ">="):
            day = day + one if op == ">" else day
            low = max(low, day) if low else day
        elif op in ("<", "<="):
            day = day - one if op == "<" else day
            high = min(high, day) if high else day
    return low, high


def _buckets(low: dt.date, high: dt.date, bucket: str | None, grain: str) -> int:
    """Distinct key values a column of ``grain`` can take within [low, high]."""
    if high < low:
        return 0

    def month(day: dt.date) -> int:
        return day.year * 12 + day.month - 1

    first_month = month(low) + (grain == "month" and low.day != 1)
    if bucket == "year":
        return max(0, high.year - first_month // 12 + 1)
    if bucket == "month" or grain == "month":
        return max(0, month(high) - first_month + 1)
    return (high - low).days + 1
