"""The release: the only thing that ever leaves the trusted side.

Every number in it is differentially private. It says what privacy loss its
noise carries and what this request was charged for it, what was withheld
(how many groups, never which), and which plan, extract, policy and engine
produced it, so a reviewer can trace it and a repeat can be answered from the
store at no cost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache
from importlib.metadata import version
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Cell = str | int | float | None

ENGINE_FORMAT = 3
"""Raise it whenever the same question could get another release (bounds, noise, rounding)."""


@cache
def engine_version() -> str:
    """What computed a release: this engine's format and the OpenDP it drew noise with."""
    return f"{ENGINE_FORMAT} opendp {version('opendp')}"


MEAN_GROUP = 1000
"""The group size, in values, a mean's predicted accuracy is stated for."""


def per_aggregate(predicted: Mapping[str, float]) -> list[tuple[str, float, bool]]:
    """``predict_accuracy``'s figures as (aggregate, ± half-width, is a mean's), without a
    mean's ``.sum`` and ``.count`` parts: a mean's is in its units, for ``MEAN_GROUP`` values."""
    return [
        (name, width, f"{name}.sum" in predicted)
        for name, width in predicted.items()
        if not name.endswith((".sum", ".count"))
    ]


class Selection(BaseModel):
    """How OpenDP chose which groups to show when the group keys are private.

    The threshold comes from ε, δ and the contribution bounds, never from the
    data, so it may be shown: a researcher can tell a missing group from an
    empty one.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: int = Field(description="a group is shown only if its noisy size reaches this")
    size: Literal["members", "records"] = Field(
        description="what the size counts: members, or records in queries with a quantile"
    )


class ColumnBounds(BaseModel):
    """What bounding did to one output column: the bounds used and what they cut.

    Intervals cover the bounded statistic; ``cut_share`` says how far that may
    be from the unbounded answer.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rows_per_group: int = Field(description="rows of one member counted in one cell")
    groups: int = Field(description="cells one member counts in")
    clamp: tuple[int, int] | None = Field(
        default=None, description="the measure's clamp range; None for counts"
    )
    chosen: bool = Field(description="chosen for this query with DP")
    fixed: bool = Field(
        default=False,
        description="fixed by the researcher; neither this nor `chosen`: set by the policy's "
        "rules, the same for every query of this shape",
    )
    cut_share: float | None = Field(
        default=None,
        description="DP estimate of the share of the unbounded answer that bounding and "
        "clamping removed (0 to 1); None where it is not estimated (medians, quantiles)",
    )
    cut_share_error: float | None = Field(
        default=None, description="95% half-width of `cut_share` from its noise"
    )
    biased: bool = Field(
        default=False, description="cut_share is above the policy's release.max_cut_share"
    )
    too_noisy: int = Field(
        default=0,
        description="groups whose mean is not shown: its noise carried it outside the clamp "
        "range, so it would have been one of the range's ends",
    )
    widened: bool = Field(
        default=False,
        description="the intervals were widened upwards by the estimated cut, so they cover "
        "the unbounded answer when the estimate holds; otherwise they cover the bounded one",
    )


class Release(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[str]
    rows: list[list[Cell]]
    ci: list[list[tuple[float, float] | None]] = Field(
        description="per row, per column: 95% interval of a DP value; None for group keys "
        "and for quantiles (OpenDP states no accuracy for them)"
    )
    epsilon: float = Field(description="privacy loss of the noise in these numbers, (ε, δ)-DP")
    rho: float | None = Field(default=None, description="zCDP ρ of the noise, for zCDP releases")
    delta: float
    epsilon_spent: float = Field(
        description="ε charged for this request: `epsilon` when computed, 0 when from the store"
    )
    rho_spent: float | None = None
    delta_spent: float = Field(
        default=0.0, description="δ charged for this request: `delta` when computed, 0 if stored"
    )
    suppressed_groups: int = Field(
        description="groups withheld after the DP release; groups held back by DP partition "
        "selection are not counted, as their number is not private"
    )
    selection: Selection | None = Field(
        default=None, description="private group keys only: how groups were chosen"
    )
    confidence: float = 0.95
    mechanism: str = Field(description="e.g. 'laplace', 'gaussian (zCDP)'")
    bounds: dict[str, ColumnBounds] = Field(
        default_factory=dict, description="aggregate alias -> its bounds and what they cut"
    )
    bounds_epsilon: float = Field(
        default=0.0,
        description="the part of `epsilon` spent on choosing bounds and estimating cuts",
    )
    budget_split: dict[str, float] = Field(
        default_factory=dict,
        description="aggregate alias -> its fraction of the privacy loss (of ε for laplace, "
        "of ρ for zCDP), from OpenDP's privacy map of each statistic; 'partition_selection' "
        "for the count that chooses private groups, 'group_size' for the count that withholds "
        "groups under the policy's min_group_members",
    )
    plan_hash: str
    extract_hash: str
    policy_hash: str | None = Field(
        default=None,
        description="the policy the release was computed under (None only in releases kept "
        "from before it was recorded)",
    )
    engine: str = Field(default_factory=engine_version, description="what computed it")
    created_at: dt.datetime
    from_store: bool = False
    dummy: bool = Field(default=False, description="computed on dummy data; not an insight")
