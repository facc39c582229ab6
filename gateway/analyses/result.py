"""What running an analysis returns: one DP release per named query, and the ε it cost."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from gateway.dp.release import Release


class NamedRelease(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    share: float
    epsilon: float
    sql: str = Field(description="the query as SQL: as written, or as the builder query reads")
    release: Release


class AnalysisResult(BaseModel):
    """Every release of one analysis run; all of them or, on any error, none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    analysis_hash: str
    extract_hash: str
    dummy: bool = Field(description="computed on dummy data: no insight, no budget charged")
    epsilon_given: float
    epsilon_planned: float = Field(description="ε × the sum of the shares")
    epsilon_spent: float = Field(description="what the project's budget is charged; 0 if dummy")
    results: tuple[NamedRelease, ...]
    output: str = Field(default="", description="what the analysis printed building its plan")
