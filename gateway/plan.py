"""The typed query plan: what a vetted query means, with no SQL left in it.

The vetter compiles SQL into a ``QueryPlan``; the Python SDK builds the same
plans in code. The DP engine executes only plans, never researcher text, so
anything that cannot be expressed here cannot run. Plans are plain pydantic
data and round-trip through JSON exactly.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.policy.model import Aggregation


class _Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnRef(_Plan):
    table: str
    column: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column}"


Literal_ = bool | int | float | str | None
"""A constant in a predicate; dates are ISO strings, typed by their column."""


class Compare(_Plan):
    kind: Literal["compare"] = "compare"
    column: ColumnRef
    op: Literal["=", "!=", "<", "<=", ">", ">="]
    value: Literal_


class InSet(_Plan):
    kind: Literal["in"] = "in"
    column: ColumnRef
    values: tuple[Literal_, ...]
    negated: bool = False


class Between(_Plan):
    kind: Literal["between"] = "between"
    column: ColumnRef
    low: Literal_
    high: Literal_
    negated: bool = False


class IsNull(_Plan):
    kind: Literal["is_null"] = "is_null"
    column: ColumnRef
    negated: bool = False


class And(_Plan):
    kind: Literal["and"] = "and"
    terms: tuple[Predicate, ...]


class Or(_Plan):
    kind: Literal["or"] = "or"
    terms: tuple[Predicate, ...]


class Not(_Plan):
    kind: Literal["not"] = "not"
    term: Predicate


Predicate = Annotated[
    Compare | InSet | Between | IsNull | And | Or | Not, Field(discriminator="kind")
]
"""A row filter over non-identifier columns, applied before any aggregation."""


class GroupKey(_Plan):
    """A grouping column, optionally bucketed (``date_trunc('month', d)``)."""

    column: ColumnRef
    bucket: Literal["month", "year"] | None = None
    alias: str


class Aggregate(_Plan):
    """One released statistic.

    ``lower``/``upper`` fix the measure's clamp range (within the policy's);
    left out, the engine chooses it per query with DP, within the policy's.
    """

    function: Aggregation
    column: ColumnRef | None = Field(default=None, description="measure; None for counts")
    quantile: Annotated[float, Field(gt=0, lt=1)] | None = None
    lower: float | None = None
    upper: float | None = None
    alias: str


class OrderBy(_Plan):
    alias: str
    descending: bool = False


class Contributions(_Plan):
    """A member's contribution bounds, fixed by the researcher (within the policy's maxima).

    What is left out the engine chooses per query with DP (``docs/dp.md``).
    """

    rows_per_group: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="rows of one member counted in one cell"
    )
    groups: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="cells one member counts in"
    )


class QueryPlan(_Plan):
    """A single DP query: filter, optional members join, group, aggregate."""

    table: str
    contributions: Contributions = Contributions()
    join_members: bool = False
    where: Predicate | None = None
    group_by: tuple[GroupKey, ...] = ()
    aggregates: tuple[Aggregate, ...]
    order_by: tuple[OrderBy, ...] = ()
    limit: Annotated[int, Field(ge=1)] | None = None

    @property
    def output_columns(self) -> list[str]:
        return [k.alias for k in self.group_by] + [a.alias for a in self.aggregates]

    def plan_hash(self) -> str:
        """Identity of the question asked; equal plans get the stored release."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


And.model_rebuild()
Or.model_rebuild()
Not.model_rebuild()
