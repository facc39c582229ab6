"""What a reviewer must acknowledge before members see a release.

Every number in a release is differentially private, so none of these is a
privacy problem; each is a way members could misread a number. A reviewer
previews the insight as members will see it, reads each caveat, and
publishing refuses (``caveats_not_acknowledged``) until every kind present
is acknowledged by its code:

- ``biased``: bounding cut more than the policy's ``release.max_cut_share``;
  the number is likely an underestimate.
- ``no_interval``: a median or quantile, shown without an interval.
- ``tiny_groups``: a count below the policy's ``release.min_group_members``
  (possible with public group keys, which are all shown): mostly noise.
- ``wide_intervals``: an interval wider than the value itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, Field

from gateway.policy.model import Aggregation, Policy
from gateway.service.queue import Part

COUNTS = (Aggregation.COUNT, Aggregation.COUNT_DISTINCT_MEMBERS)
WITHOUT_INTERVAL = (Aggregation.MEDIAN, Aggregation.QUANTILE)


class CaveatCode(StrEnum):
    BIASED = "biased"
    NO_INTERVAL = "no_interval"
    TINY_GROUPS = "tiny_groups"
    WIDE_INTERVALS = "wide_intervals"


class Caveat(BaseModel):
    """One kind of caveat on one column, with how many of its cells it concerns."""

    code: CaveatCode
    column: str = Field(description="'part.column'")
    cells: int = Field(description="cells of the column it concerns (all of them for a column)")
    message: str


def caveats(parts: list[Part], policy: Policy) -> list[Caveat]:
    """Each caveat of each part's columns, in column order."""
    return [caveat for part in parts for caveat in _of_part(part, policy)]


def unacknowledged(found: list[Caveat], acknowledged: list[CaveatCode]) -> list[Caveat]:
    return [caveat for caveat in found if caveat.code not in acknowledged]


def _of_part(part: Part, policy: Policy) -> Iterator[Caveat]:
    release = part.release
    for index, column in enumerate(release.columns):
        function = part.aggregates.get(column)
        if function is None:
            continue
        name = f"{part.name}.{column}"
        values = [row[index] for row in release.rows]
        intervals = [ci[index] for ci in release.ci]
        bounds = release.bounds.get(column)
        if bounds is not None and bounds.biased:
            yield Caveat(
                code=CaveatCode.BIASED,
                column=name,
                cells=len(values),
                message=f"bounding cut about {bounds.cut_share or 0:.0%} of the unbounded answer, "
                f"more than the policy's {policy.release.max_cut_share:.0%}: likely an "
                "underestimate",
            )
        if function in WITHOUT_INTERVAL or (values and all(ci is None for ci in intervals)):
            yield Caveat(
                code=CaveatCode.NO_INTERVAL,
                column=name,
                cells=len(values),
                message=f"a {function.value} has no interval: members cannot see how uncertain "
                "it is",
            )
        least = policy.release.min_group_members
        numbers = [_number(value) for value in values]
        tiny = [v for v in numbers if function in COUNTS and v is not None and v < least]
        if tiny:
            yield Caveat(
                code=CaveatCode.TINY_GROUPS,
                column=name,
                cells=len(tiny),
                message=f"{len(tiny)} of {len(values)} counts are below {least}: such a number "
                "is mostly noise",
            )
        wide = [
            v
            for v, ci in zip(numbers, intervals, strict=True)
            if v is not None and ci is not None and ci[1] - ci[0] > abs(v)
        ]
        if wide:
            yield Caveat(
                code=CaveatCode.WIDE_INTERVALS,
                column=name,
                cells=len(wide),
                message=f"{len(wide)} of {len(values)} intervals are wider than their value",
            )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
