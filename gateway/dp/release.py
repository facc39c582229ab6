"""The release: the only thing that ever leaves the trusted side.

Every number in it is differentially private. It says what was spent and
what was withheld (how many groups, never which), and which plan and extract
produced it, so a reviewer can trace it and a repeat can be answered from the
store at no cost.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

Cell = str | int | float | None


class Release(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[str]
    rows: list[list[Cell]]
    ci: list[list[tuple[float, float] | None]] = Field(
        description="per row, per column: 95% interval of a DP value, None for group keys"
    )
    epsilon_spent: float
    rho_spent: float | None = None
    delta: float
    suppressed_groups: int
    confidence: float = 0.95
    mechanism: str = Field(description="e.g. 'laplace', 'gaussian (zCDP)'")
    budget_split: dict[str, float] = Field(
        default_factory=dict, description="aggregate alias -> its share of epsilon"
    )
    plan_hash: str
    extract_hash: str
    created_at: dt.datetime
    from_store: bool = False
    dummy: bool = Field(default=False, description="computed on dummy data; not an insight")
