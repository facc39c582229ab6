"""Typed policy: tables, column roles, contribution bounds, budgets, limits.

Policies hold values, no behaviour. Every stage reads the same ``Policy``:
the extract builder (which columns exist and where they come from), the
vetter (what may be asked), the DP engine (bounds, budgets, key domains).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnRole(StrEnum):
    PRIVACY_UNIT = "privacy_unit"  # member_pid: never output, only the unit of privacy
    IDENTIFIER = "identifier"  # never output, never grouped, never filtered on
    CATEGORY = "category"  # groupable; public `domain` or DP partition selection
    MEASURE = "measure"  # aggregated, clamped to [lower, upper]
    DATE = "date"  # groupable and filterable; `domain` bounds make keys public


class Aggregation(StrEnum):
    COUNT = "count"  # COUNT(*)
    COUNT_DISTINCT_MEMBERS = "count_distinct_members"  # COUNT(DISTINCT member_pid)
    SUM = "sum"
    MEAN = "mean"
    MEDIAN = "median"
    QUANTILE = "quantile"


class Derivation(_Strict):
    """Where an extract column comes from in the source, and how it is reduced.

    ``transform`` names one of the extract builder's fixed reductions; the
    builder refuses anything else, so a policy cannot copy raw values it does
    not mean to.
    """

    source: str = Field(description="source column as table.column")
    transform: Literal[
        "pseudonym",
        "copy",
        "year",
        "age_band",
        "province",
        "date",
        "month",
        "theme_name",
        "word_count",
        "days_between",
    ]
    until: str | None = Field(default=None, description="second column, for days_between")


class Column(_Strict):
    role: ColumnRole
    type: Literal["VARCHAR", "INTEGER", "BIGINT", "DOUBLE", "DATE"]
    description: str = ""
    derive: Derivation | None = None
    domain: tuple[str, ...] | None = Field(
        default=None,
        description="public key set: a category's values, or a date's first and last day "
        "(every day, month or year between is a key); every key is released",
    )
    lower: float | None = Field(default=None, description="clamp bound for a measure")
    upper: float | None = None

    @model_validator(mode="after")
    def _bounds_fit_role(self) -> Column:
        if self.role is ColumnRole.MEASURE:
            if self.lower is None or self.upper is None:
                raise ValueError("a measure needs clamp bounds `lower` and `upper`")
            if self.lower >= self.upper:
                raise ValueError("`lower` must be below `upper`")
        elif self.lower is not None or self.upper is not None:
            raise ValueError("only measures have clamp bounds")
        if self.domain is not None and self.role not in (ColumnRole.CATEGORY, ColumnRole.DATE):
            raise ValueError("only categories and dates can have a public domain")
        if self.domain is not None and self.type == "DATE":
            try:
                first, last = (dt.date.fromisoformat(day) for day in self.domain)
            except ValueError:
                raise ValueError(
                    "a date's domain is its first and last day, as ISO dates"
                ) from None
            if first > last:
                raise ValueError("a date's domain must start before it ends")
        return self


class Contributions(_Strict):
    """The most one member may contribute to one query over this table.

    Each query's bounds are chosen with DP within these (``Bounding``), or
    fixed by the researcher within them.
    """

    max_rows_per_group: Annotated[int, Field(ge=1)] = 10
    max_groups: Annotated[int, Field(ge=1)] = 12


class Table(_Strict):
    description: str = ""
    source: str = Field(description="the source table that drives this extract table")
    columns: dict[str, Column]
    contributions: Contributions = Contributions()

    @model_validator(mode="after")
    def _one_privacy_unit(self) -> Table:
        units = [n for n, c in self.columns.items() if c.role is ColumnRole.PRIVACY_UNIT]
        if len(units) != 1:
            raise ValueError(f"a table needs exactly one privacy_unit column, found {units}")
        return self


class Purpose(_Strict):
    """A reason for processing; anything but the contract basis needs consent."""

    basis: Literal["contract", "consent"]
    description: str = ""


class Budget(_Strict):
    per_query_epsilon_cap: Annotated[float, Field(gt=0)] = 1.0
    default_project_epsilon: Annotated[float, Field(gt=0)] = Field(
        default=10.0, description="the ε a reviewer's grant starts from (never more than asked)"
    )
    max_project_epsilon: Annotated[float, Field(gt=0)] = Field(
        default=50.0,
        description="the most ε a project may be granted in all, at approval plus top-ups",
    )
    delta: Annotated[float, Field(gt=0, lt=1e-3, description="δ each query may spend")] = 1e-7
    default_query_epsilon: Annotated[float, Field(gt=0)] = 0.5
    default_project_delta: Annotated[
        float,
        Field(gt=0, lt=1e-3, description="δ a project is granted, at most; 100 queries' δ"),
    ] = 1e-5
    platform_epsilon_per_year: Annotated[float, Field(gt=0)] = Field(
        default=20.0,
        description="the most ε all projects' releases together may spend on any one member "
        "in a rolling 365 days, counted per member cohort",
    )
    platform_delta_per_year: Annotated[float, Field(gt=0, lt=1e-3)] = Field(
        default=1e-4,
        description="the δ counterpart of platform_epsilon_per_year; 1000 queries' δ",
    )

    @model_validator(mode="after")
    def _default_within_max(self) -> Budget:
        if self.max_project_epsilon < self.default_project_epsilon:
            raise ValueError(
                f"max_project_epsilon {self.max_project_epsilon:g} is less than "
                f"default_project_epsilon {self.default_project_epsilon:g}"
            )
        return self

    @model_validator(mode="after")
    def _room_for_one_query(self) -> Budget:
        if self.default_project_delta < self.delta:
            raise ValueError(
                f"default_project_delta {self.default_project_delta:g} is less than one "
                f"query's delta {self.delta:g}; no query could run"
            )
        if self.platform_epsilon_per_year < self.default_query_epsilon:
            raise ValueError(
                f"platform_epsilon_per_year {self.platform_epsilon_per_year:g} is less than "
                f"one query's default ε {self.default_query_epsilon:g}"
            )
        if self.platform_delta_per_year < self.delta:
            raise ValueError(
                f"platform_delta_per_year {self.platform_delta_per_year:g} is less than one "
                f"query's delta {self.delta:g}; no query could run"
            )
        return self


class Limits(_Strict):
    max_query_bytes: Annotated[int, Field(ge=100)] = 20_000
    max_nesting: Annotated[int, Field(ge=5)] = 50
    max_groups: Annotated[int, Field(ge=1)] = 10_000


class Release(_Strict):
    """When a released number is shown at all, and when it is called biased."""

    confidence: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    min_group_members: Annotated[int, Field(ge=1)] = 10
    max_cut_share: Annotated[float, Field(gt=0, lt=1)] = Field(
        default=0.05,
        description="a column whose estimated share removed by bounding exceeds this is "
        "flagged biased",
    )


class Bounding(_Strict):
    """How each query's contribution bounds and clamp ranges are chosen."""

    choose: bool = Field(
        default=True,
        description="choose bounds per query with DP; false: the policy's maxima are the bounds",
    )
    selection_share: Annotated[float, Field(gt=0, le=0.5)] = Field(
        default=0.2,
        description="share of a query's ε spent on choosing its bounds and estimating "
        "what they cut",
    )


class AutoApproval(_Strict):
    """Analyses a reviewer need not see under ``review.analyses: templates``: these
    templates, at most this ε each."""

    max_epsilon: Annotated[float, Field(ge=0)] = 0.5
    templates: tuple[str, ...] = ()


class Review(_Strict):
    """Which submissions wait for a reviewer before they run.

    DP protects the members whatever a vetted query asks, within the per-query
    ε cap and the project's budget; reviewers judge projects and publications,
    and see every job afterwards. ``always`` sends every submission of that
    kind to a reviewer first.
    """

    sql: Literal["auto", "always"] = Field(
        default="auto",
        description="auto: a vetted query in an approved project runs at once; "
        "always: a reviewer approves each query first",
    )
    analyses: Literal["auto", "templates", "always"] = Field(
        default="templates",
        description="auto: a vetted analysis runs at once; templates: only the "
        "auto_approval templates within its ε run at once, the rest wait; always: each waits",
    )


class Extract(_Strict):
    expiry_days: Annotated[int, Field(ge=1, le=30)] = 30
    support_retention_years: Annotated[int, Field(ge=1)] = 10
    age_bands: tuple[int, ...] = (18, 25, 35, 45, 55, 65, 75)


class Policy(_Strict):
    name: str
    version: int = 1
    description: str = ""
    privacy_unit: str = "member_pid"
    unit_table: str = Field(default="members", description="the one table other tables join")
    purposes: dict[str, Purpose]
    aggregations: tuple[Aggregation, ...] = tuple(Aggregation)
    budget: Budget = Budget()
    limits: Limits = Limits()
    release: Release = Release()
    bounding: Bounding = Bounding()
    review: Review = Review()
    auto_approval: AutoApproval = AutoApproval()
    extract: Extract = Extract()
    tables: dict[str, Table]

    @model_validator(mode="after")
    def _unit_table_exists(self) -> Policy:
        if self.unit_table not in self.tables:
            raise ValueError(f"unit_table {self.unit_table!r} is not among the tables")
        for name, table in self.tables.items():
            if self.privacy_unit not in table.columns:
                raise ValueError(f"table {name!r} lacks the privacy unit {self.privacy_unit!r}")
        if "mission" not in self.purposes:
            raise ValueError("the `mission` purpose must be listed")
        return self

    def column(self, table: str, column: str) -> Column:
        return self.tables[table].columns[column]
