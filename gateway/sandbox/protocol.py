"""The sandbox interface every backend implements, and the one way to drive it.

A job goes through four steps, each idempotent (calling one again does
nothing new and returns what it returned before), each allowed to be
skipped forward (``execute`` prepares if needed, ``finalize`` executes):

``prepare``   check the backend, build the job's view of the filesystem,
              start the isolated process; it loads its runtime and waits for
              the job on standard input (so a caller can prepare ahead).
``execute``   send the job spec, read the result under the wall-clock,
              size and resource limits; the process ends.
``finalize``  validate the result (pydantic, once: ``read_output``, then
              that it answers this job) and return it, or raise the
              ``GatewayError`` it amounts to.
``cleanup``   kill whatever is left of the process group and forget the job;
              safe at any point, also after a failure.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import ValidationError

import gateway.errors
from gateway.analyses.collect import CollectedAnalysis, check_size
from gateway.errors import AnalysisError, GatewayError, ReleaseFailed, SandboxError, field_message
from gateway.sandbox.jobs import (
    OUTPUT,
    AnalysisJob,
    AnalysisOutput,
    Failure,
    Job,
    QueryJob,
    QueryOutput,
)


class Step(StrEnum):
    """How far a job has come in one sandbox."""

    PREPARED = "prepared"
    EXECUTED = "executed"
    FINALIZED = "finalized"


@runtime_checkable
class Sandbox(Protocol):
    """Isolated execution of one job at a time per ``job_id``."""

    name: str
    isolated: bool

    def prepare(self, job: Job) -> None: ...

    def execute(self, job: Job) -> None: ...

    def finalize(self, job: Job) -> QueryOutput | AnalysisOutput: ...

    def cleanup(self, job: Job) -> None: ...


def run(sandbox: Sandbox, job: Job) -> QueryOutput | AnalysisOutput:
    """All four steps; cleanup happens whatever the outcome."""
    try:
        sandbox.prepare(job)
        sandbox.execute(job)
        return sandbox.finalize(job)
    finally:
        sandbox.cleanup(job)


AFTER_DATA = frozenset(
    {"timeout", "cpu_limit", "sandbox_crashed", "no_result", "malformed_result", "result_too_large"}
)
"""How a query job can end once its engine may have read the extract: each is a release failure."""


def run_query(sandbox: Sandbox, job: QueryJob) -> QueryOutput:
    """Run a query job; an end that may depend on the extract's rows is ``ReleaseFailed``."""
    try:
        output = run(sandbox, job)
    except SandboxError as err:
        if err.code in AFTER_DATA:
            raise ReleaseFailed from None
        raise
    assert isinstance(output, QueryOutput)
    return output


def run_analysis(sandbox: Sandbox, job: AnalysisJob) -> CollectedAnalysis:
    """Collect the plan of the job's code; it ran with no data."""
    output = run(sandbox, job)
    assert isinstance(output, AnalysisOutput)
    return output.collected


def read_output(raw: bytes | str) -> QueryOutput | AnalysisOutput | Failure:
    """The one parse of what a sandbox sent back.

    An analysis whose plan breaks the plan's rules is ``analysis_not_a_plan``;
    anything else that is not a result document is ``malformed_result``.
    """
    try:
        return OUTPUT.validate_json(raw)
    except ValidationError as err:
        errors = err.errors()
        if all(e["loc"][:2] == ("analysis", "collected") for e in errors):
            problem = field_message(errors[0], skip=2)
            raise AnalysisError(
                "analysis_not_a_plan",
                f"the analysis did not produce a valid plan: {problem}"[:2000],
                hint="build the plan only with gateway.analyses (table, col, Analysis)",
            ) from None
        raise SandboxError(
            "malformed_result",
            f"the sandbox's result is not a valid result document ({err.error_count()} error(s))",
            hint="the job wrote something other than its result; the operator's log has details",
        ) from None


def check_job(job: Job) -> None:
    """Refuse a job the sandbox will not even start."""
    if isinstance(job, AnalysisJob):
        check_size(len(job.code.encode()), job.filename)
    if isinstance(job, QueryJob) and not job.extract.is_file():
        raise SandboxError(
            "extract_missing",
            f"extract {job.extract} does not exist",
            hint="build the extract first (gateway extract build)",
        )


def check_output(
    job: Job, output: QueryOutput | AnalysisOutput | Failure
) -> QueryOutput | AnalysisOutput:
    """Refuse a result that is a failure or does not answer ``job``.

    A failure is re-raised as the ``GatewayError`` subclass it names, so a
    DP engine's ``DpError`` reaches the caller with its own code.
    """
    if isinstance(output, Failure):
        if output.code == ReleaseFailed.CODE:
            raise ReleaseFailed
        cls = getattr(gateway.errors, output.error, None)
        if not (isinstance(cls, type) and issubclass(cls, GatewayError)):
            cls = SandboxError
        raise cls(output.code, output.message, hint=output.hint, issues=output.issues)
    if output.kind != job.kind:
        raise SandboxError(
            "result_mismatch",
            f"a {job.kind} job returned a {output.kind} result",
            hint="the sandbox runtime is out of step with the gateway; reinstall it",
        )
    if isinstance(output, QueryOutput):
        assert isinstance(job, QueryJob)
        release = output.release
        problems = []
        if release.plan_hash != job.plan.plan_hash():
            problems.append("plan hash")
        if release.extract_hash != job.extract_hash:
            problems.append("extract hash")
        if release.epsilon_spent > job.epsilon * (1 + 1e-9):
            problems.append("epsilon spent above the epsilon granted")
        if problems:
            raise SandboxError(
                "result_mismatch",
                "the release does not answer this job: " + ", ".join(problems),
                hint="the release was not stored; report this to the operator",
            )
    return output
