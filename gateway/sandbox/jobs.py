"""What crosses the sandbox boundary, in both directions, as pydantic data.

The trusted side builds a ``QueryJob`` or ``AnalysisJob``; the sandbox gets a
``Spec`` on standard input (the extract as its path *inside* the sandbox, the
key in the same JSON document and nowhere else) and answers with exactly one
``Output`` on standard output. Nothing else is read back: standard error only
reaches the operator's log.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter

from gateway.analyses.collect import CollectedAnalysis
from gateway.dp.release import Release
from gateway.dp.shape import Shape
from gateway.dp.tuning import Tuning
from gateway.errors import Issue
from gateway.plan import QueryPlan
from gateway.policy.model import Policy

EXTRACT_INSIDE = "/extract/extract.duckdb"
"""Where the one extract of a query job appears inside the sandbox."""
SCRATCH_INSIDE = "/tmp"  # noqa: S108 (a private tmpfs inside the sandbox)
"""The job's private scratch tmpfs: DuckDB's temp directory and the working directory."""


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _job_id() -> str:
    return uuid.uuid4().hex


class QueryJob(_Data):
    """Run one vetted plan through the DP engine over one extract."""

    kind: Literal["query"] = "query"
    job_id: str = Field(default_factory=_job_id)
    plan: QueryPlan
    policy: Policy
    epsilon: Annotated[float, Field(gt=0)]
    shape: Shape = Field(description="the plan's shape at `epsilon`, derived on the trusted side")
    extract: Path = Field(description="the extract file on the trusted side")
    extract_hash: str
    key: SecretStr | None = Field(
        description="extract key; travels only inside the job spec on stdin; None for a dummy"
    )
    tuning: Tuning | None = Field(
        default=None, description="an earlier calibration of the plan's shape, to spare a search"
    )
    searched: dict[str, Tuning] = Field(
        default_factory=dict,
        description="what earlier jobs of the shape searched for, by `search_key`",
    )
    dummy: bool = Field(
        default=False,
        description="the extract's manifest says it is a dummy: the release says so and "
        "spends nothing",
    )


class AnalysisJob(_Data):
    """Collect the plan of researcher Python, run with no data (``gateway.analyses.collect``)."""

    kind: Literal["analysis"] = "analysis"
    job_id: str = Field(default_factory=_job_id)
    code: str
    filename: str = "analysis.py"


Job = QueryJob | AnalysisJob


class QuerySpec(_Data):
    kind: Literal["query"] = "query"
    plan: QueryPlan
    policy: Policy
    epsilon: float
    shape: Shape
    extract_path: str
    extract_hash: str
    key: str | None
    duckdb_memory_bytes: int
    duckdb_threads: int
    tuning: Tuning | None
    searched: dict[str, Tuning]
    dummy: bool


class AnalysisSpec(_Data):
    kind: Literal["analysis"] = "analysis"
    code: str
    filename: str


Spec = Annotated[QuerySpec | AnalysisSpec, Field(discriminator="kind")]


class QueryOutput(_Data):
    kind: Literal["query"] = "query"
    release: Release
    tuning: Tuning | None = Field(
        default=None, description="how the engine calibrated the plan, for the next job"
    )
    searched: dict[str, Tuning] = Field(
        default_factory=dict, description="every search the engine knows, for the next job"
    )


class AnalysisOutput(_Data):
    kind: Literal["analysis"] = "analysis"
    collected: CollectedAnalysis


class Failure(_Data):
    """A refusal or error inside the sandbox, carried back as data.

    ``error`` names a ``GatewayError`` subclass; the trusted side re-raises
    that class (or ``SandboxError`` if the name is unknown).
    """

    kind: Literal["failure"] = "failure"
    error: str
    code: str
    message: str
    hint: str | None = None
    issues: list[Issue] = Field(
        default_factory=list, description="where the job's own text is wrong (line, column)"
    )


Output = Annotated[QueryOutput | AnalysisOutput | Failure, Field(discriminator="kind")]
OUTPUT: TypeAdapter[QueryOutput | AnalysisOutput | Failure] = TypeAdapter(Output)


def make_spec(
    job: Job, duckdb_memory_bytes: int, duckdb_threads: int, *, extract_path: str = EXTRACT_INSIDE
) -> QuerySpec | AnalysisSpec:
    """The document the sandbox reads: the job as seen from inside.

    ``extract_path`` is where the extract appears to the engine: its mount
    point in a real sandbox, the file itself when nothing is isolated.
    """
    if isinstance(job, AnalysisJob):
        return AnalysisSpec(code=job.code, filename=job.filename)
    return QuerySpec(
        plan=job.plan,
        policy=job.policy,
        epsilon=job.epsilon,
        shape=job.shape,
        extract_path=extract_path,
        extract_hash=job.extract_hash,
        key=None if job.key is None else job.key.get_secret_value(),
        duckdb_memory_bytes=duckdb_memory_bytes,
        duckdb_threads=duckdb_threads,
        tuning=job.tuning,
        searched=job.searched,
        dummy=job.dummy,
    )
