"""The analysis plan: what a researcher's Python analysis hands to the trusted side.

An analysis runs without data and produces only this: a name and a list of
named queries, each a ``QueryPlan`` built with the SDK or a SQL string, with
its share of the ε the analysis is run with. It is plain pydantic data that
travels as JSON; no callable, pickle or Polars plan can ride along, so nothing
from the researcher's code reaches the data.
"""

from __future__ import annotations

import hashlib
import math
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.plan import QueryPlan

MAX_QUERIES = 20
"""Queries per analysis; each costs budget and review time, so keep plans focused."""

QueryName = Annotated[
    str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$", description="names one result, e.g. by_month")
]
Share = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlannedQuery(_Data):
    """One named result: a builder plan or a SQL string (exactly one), and its ε share."""

    name: QueryName
    share: Share
    plan: QueryPlan | None = None
    sql: Annotated[str, Field(min_length=1, max_length=100_000)] | None = None

    @model_validator(mode="after")
    def _exactly_one_form(self) -> PlannedQuery:
        if (self.plan is None) == (self.sql is None):
            raise ValueError(f"query {self.name!r} needs exactly one of `plan` or `sql`")
        return self


class AnalysisPlan(_Data):
    """A named list of DP queries whose ε shares add up to at most 1."""

    format_version: int = 1
    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(max_length=4000)] = ""
    queries: Annotated[tuple[PlannedQuery, ...], Field(min_length=1, max_length=MAX_QUERIES)]

    @model_validator(mode="after")
    def _names_unique_and_shares_fit(self) -> AnalysisPlan:
        names = [q.name for q in self.queries]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"query names must be unique; repeated: {', '.join(duplicates)}")
        if self.total_share > 1:
            raise ValueError(
                f"budget shares add up to {self.total_share:g}, more than 1; "
                "lower some shares so the analysis stays within the ε it is run with"
            )
        return self

    @property
    def total_share(self) -> float:
        return math.fsum(q.share for q in self.queries)

    def plan_hash(self) -> str:
        """Identity of the analysis; a reviewer can pre-approve exactly this plan."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()
