"""Bounds a researcher fixes for one query, checked against the policy's maxima.

A plan's contribution bounds (``QueryPlan.contributions``) and clamp ranges
(``Aggregate.lower``/``upper``) are left out by the vetter: the DP engine
chooses them per query with DP, within the policy's maxima (``docs/dp.md``).
A researcher may fix them instead, with ``--rows-per-group``, ``--groups``
and ``--clamp`` on the command line, the ``bounds`` of an API submission, or
the analysis SDK. Every caller goes through the two functions here:

- ``check_bounds(plan, policy)``: an issue per fixed bound that is malformed
  or outside the policy (a plan may have been built, or forged, anywhere);
- ``fix_bounds(plan, policy, contributions=, clamps=)``: put bounds given by
  name on a vetted plan and check them; one ``VetError`` lists every issue.

``plan_bounds`` says which of a plan's bounds are fixed and which chosen, for
``gateway vet --json`` and the researcher's live preview: accuracy can be
predicted only when none is chosen.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from gateway.errors import Issue, VetError
from gateway.plan import Aggregate, ColumnRef, Contributions, QueryPlan
from gateway.policy.model import Aggregation, Policy
from gateway.vet.codes import Code

CLAMPED = frozenset({Aggregation.SUM, Aggregation.MEAN, Aggregation.MEDIAN, Aggregation.QUANTILE})
"""Aggregates over a measure, which is clamped to a range before it is aggregated."""

CHOSEN_NOTE = "bounds are chosen per query with DP; accuracy is known after the release"
"""What a preview says instead of a predicted accuracy when some bound is chosen."""

Clamp = tuple[float, float]


class FixedBounds(BaseModel):
    """Bounds a researcher fixes for one query; what is left out the engine chooses with DP."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    rows_per_group: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="rows of one member counted in one cell"
    )
    groups: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="cells one member counts in"
    )
    clamps: dict[str, Clamp] = Field(
        default_factory=dict,
        description="measure (`column` of the queried table, or `table.column`) -> "
        "[low, high] its values are clamped to",
    )

    @property
    def contributions(self) -> Contributions:
        return Contributions(rows_per_group=self.rows_per_group, groups=self.groups)

    @property
    def empty(self) -> bool:
        return self.rows_per_group is None and self.groups is None and not self.clamps


def parse_clamps(items: Iterable[str]) -> dict[str, Clamp]:
    """``["helpful_votes=0:20", ...]`` as ``{"helpful_votes": (0.0, 20.0)}``.

    Raises ``ValueError`` saying what is wrong with an item; whether a range
    is one, and fits the policy, ``fix_bounds`` checks.
    """
    clamps: dict[str, Clamp] = {}
    for item in items:
        column, _, span = item.partition("=")
        low, _, high = span.partition(":")
        try:
            clamps[column.strip()] = (float(low), float(high))
        except ValueError:
            raise ValueError(f"{item!r} is not COLUMN=LOW:HIGH, e.g. helpful_votes=0:20") from None
        if not column.strip():
            raise ValueError(f"{item!r} names no column; write COLUMN=LOW:HIGH")
    return clamps


class PlanBounds(BaseModel):
    """How a plan's bounds are set: a value where fixed, None where chosen with DP.

    ``policy`` holds the maxima they are chosen (or must be fixed) within.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    chosen: bool = Field(description="some bound is chosen per query with DP")
    rows_per_group: int | None
    groups: int | None
    clamps: dict[str, Clamp | None] = Field(
        description="aggregate alias -> its measure's clamp range; None: chosen with DP"
    )
    policy: dict[str, object] = Field(
        description="the policy's maxima: rows_per_group, groups, clamps per aggregate alias"
    )
    note: str | None = Field(default=None, description="set when bounds are chosen")


def check_bounds(plan: QueryPlan, policy: Policy) -> list[Issue]:
    """An issue for each fixed bound of ``plan`` that is malformed or outside ``policy``."""
    spec = policy.tables.get(plan.table)
    if spec is None:
        return []  # an unknown table is the vetter's and the engine's refusal, not ours
    issues: list[Issue] = []
    limits = spec.contributions
    fixed = plan.contributions
    for name, value, most, what in (
        ("rows_per_group", fixed.rows_per_group, limits.max_rows_per_group, "rows per member"),
        ("groups", fixed.groups, limits.max_groups, "cells per member"),
    ):
        if value is not None and value > most:
            issues.append(
                Issue(
                    code=Code.BOUNDS_OUTSIDE_POLICY,
                    message=f"{name} = {value} is above the policy's most for {plan.table}, "
                    f"{most} {what}",
                    hint=f"fix {name} at {most} or less, or leave it out so that it is "
                    "chosen per query with DP",
                )
            )
    for aggregate in plan.aggregates:
        issues += _check_clamp(aggregate, policy)
    return issues


def _check_clamp(aggregate: Aggregate, policy: Policy) -> list[Issue]:
    low, high = aggregate.lower, aggregate.upper
    if low is None and high is None:
        return []
    name = aggregate.alias

    def invalid(message: str, hint: str) -> list[Issue]:
        return [Issue(code=Code.INVALID_BOUNDS, message=f"{name}: {message}", hint=hint)]

    if aggregate.column is None or aggregate.function not in CLAMPED:
        return invalid(
            f"a {aggregate.function.value} has no clamp range", "clamp only a measure's aggregate"
        )
    if low is None or high is None:
        return invalid("a clamp range needs both ends", "give both: low and high")
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        return invalid(
            f"the clamp range [{low:g}, {high:g}] is not a range", "give finite ends, low < high"
        )
    widest = _policy_clamp(aggregate, policy)
    if widest is None:
        return []  # not a measure: the vetter and the engine refuse the aggregate itself
    most_low, most_high = widest
    if low < most_low or high > most_high:
        return [
            Issue(
                code=Code.BOUNDS_OUTSIDE_POLICY,
                message=f"{name}: the clamp range [{low:g}, {high:g}] of {aggregate.column} "
                f"is outside the policy's [{most_low:g}, {most_high:g}]",
                hint=f"clamp within [{most_low:g}, {most_high:g}], or leave the clamp "
                "out so that it is chosen per query with DP",
            )
        ]
    return []


def fix_bounds(
    plan: QueryPlan,
    policy: Policy,
    *,
    contributions: Contributions | None = None,
    clamps: Mapping[str, Clamp] | None = None,
) -> QueryPlan:
    """``plan`` with these bounds fixed; raises one ``VetError`` if any is refused.

    ``clamps`` names each measure as ``column`` (of the queried table) or
    ``table.column``; the range applies to every aggregate of that measure.
    Bounds already fixed in ``plan`` are kept unless given again.
    """
    issues: list[Issue] = []
    aggregates = list(plan.aggregates)
    for name, clamp in (clamps or {}).items():
        ref = _measure_ref(name, plan)
        matched = [
            i
            for i, a in enumerate(aggregates)
            if ref is not None and a.column == ref and a.function in CLAMPED
        ]
        if not matched:
            measured = sorted({str(a.column) for a in aggregates if a.function in CLAMPED})
            issues.append(
                Issue(
                    code=Code.CLAMP_NOT_IN_QUERY,
                    message=f"clamp {name!r}: no aggregate of this query is over "
                    f"{ref if ref is not None else name}",
                    hint=f"clamp a measure the query aggregates: {', '.join(measured)}"
                    if measured
                    else "this query aggregates no measure; leave the clamp out",
                )
            )
            continue
        low, high = (float(end) for end in clamp)
        for i in matched:
            aggregates[i] = aggregates[i].model_copy(update={"lower": low, "upper": high})
    given = (contributions or Contributions()).model_dump(exclude_none=True)
    fixed = plan.model_copy(
        update={
            "aggregates": tuple(aggregates),
            "contributions": plan.contributions.model_copy(update=given),
        }
    )
    issues += check_bounds(fixed, policy)
    if issues:
        raise refused(issues)
    return fixed


def refused(issues: list[Issue]) -> VetError:
    """One error for bounds refused: the first issue's code, every issue listed."""
    first = issues[0]
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    return VetError(first.code, f"{first.message}{more}", hint=first.hint, issues=issues)


def _measure_ref(name: str, plan: QueryPlan) -> ColumnRef | None:
    """``column`` is the queried table's; ``table.column`` names its table (case-insensitive)."""
    table, _, column = name.strip().lower().rpartition(".")
    if not column:
        return None
    return ColumnRef(table=table or plan.table, column=column)


def _policy_clamp(aggregate: Aggregate, policy: Policy) -> Clamp | None:
    """The policy's clamp range for the measure a clamped aggregate reads, if it reads one."""
    if aggregate.column is None or aggregate.function not in CLAMPED:
        return None
    table = policy.tables.get(aggregate.column.table)
    column = table.columns.get(aggregate.column.column) if table else None
    if column is None or column.lower is None or column.upper is None:
        return None  # not a measure: only measures have clamp bounds
    return column.lower, column.upper


def plan_bounds(plan: QueryPlan, policy: Policy) -> PlanBounds:
    """Which of ``plan``'s bounds are fixed (and at what) and which the engine chooses.

    Under a policy with ``bounding.choose: false`` nothing is chosen: what
    the plan leaves out is the policy's maxima.
    """
    spec = policy.tables.get(plan.table)
    limits = spec.contributions if spec is not None else None
    maxima = {
        aggregate.alias: widest
        for aggregate in plan.aggregates
        if (widest := _policy_clamp(aggregate, policy)) is not None
    }
    choose = policy.bounding.choose
    rows = plan.contributions.rows_per_group
    groups = plan.contributions.groups
    if not choose and limits is not None:
        rows = limits.max_rows_per_group if rows is None else rows
        groups = limits.max_groups if groups is None else groups
    clamps: dict[str, Clamp | None] = {}
    for aggregate in plan.aggregates:
        if aggregate.alias not in maxima:
            continue
        if aggregate.lower is not None and aggregate.upper is not None:
            clamps[aggregate.alias] = (aggregate.lower, aggregate.upper)
        else:
            clamps[aggregate.alias] = None if choose else maxima[aggregate.alias]
    chosen = rows is None or groups is None or any(c is None for c in clamps.values())
    return PlanBounds(
        chosen=chosen,
        rows_per_group=rows,
        groups=groups,
        clamps=clamps,
        policy={
            "rows_per_group": limits.max_rows_per_group if limits else None,
            "groups": limits.max_groups if limits else None,
            "clamps": maxima,
        },
        note=CHOSEN_NOTE if chosen else None,
    )
