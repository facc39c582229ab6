"""An in-memory sandbox for testing callers: records every call, can be told to fail.

It never runs anything. It answers a query job with ``release`` (or one built
by ``release_for(job)``) and ``tuning``, an analysis job with ``analysis`` (what
collecting the plan gave: ``{"plan": ..., "output": ...}``, read as a real
sandbox's answer is), and raises ``error`` at the step named by ``fail_at``.
Steps are idempotent as in real backends: ``calls`` shows every call,
``effects`` only those that did something.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import JsonValue

from gateway.dp.release import Release
from gateway.dp.tuning import Tuning
from gateway.errors import GatewayError, SandboxError
from gateway.sandbox.jobs import AnalysisJob, AnalysisOutput, Job, QueryJob, QueryOutput
from gateway.sandbox.protocol import Step, check_job, check_output, read_output


@dataclass
class StubSandbox:
    release: Release | None = None
    release_for: Callable[[QueryJob], Release] | None = None
    tuning: Tuning | None = None
    analysis: JsonValue = None
    fail_at: Step | None = None
    error: GatewayError = field(
        default_factory=lambda: SandboxError("stub_failure", "the stub sandbox was told to fail")
    )
    name: str = "stub"
    isolated: bool = True
    calls: list[tuple[str, str]] = field(default_factory=list)
    effects: list[tuple[str, str]] = field(default_factory=list)
    _steps: dict[str, Step] = field(default_factory=dict)
    _outputs: dict[str, QueryOutput | AnalysisOutput] = field(default_factory=dict)

    def _advance(self, job: Job, step: Step) -> bool:
        """Record the call; True if ``step`` is new for ``job``."""
        self.calls.append((step.value, job.job_id))
        order = list(Step)
        current = self._steps.get(job.job_id)
        if current is not None and order.index(current) >= order.index(step):
            return False
        if self.fail_at is step:
            raise self.error
        self._steps[job.job_id] = step
        self.effects.append((step.value, job.job_id))
        return True

    def prepare(self, job: Job) -> None:
        if isinstance(job, AnalysisJob):  # a query's extract need not exist for the stub
            check_job(job)
        self._advance(job, Step.PREPARED)

    def execute(self, job: Job) -> None:
        self.prepare(job)
        if self._advance(job, Step.EXECUTED):
            self._outputs[job.job_id] = self._answer(job)

    def finalize(self, job: Job) -> QueryOutput | AnalysisOutput:
        self.execute(job)
        self._advance(job, Step.FINALIZED)
        return self._outputs[job.job_id]

    def cleanup(self, job: Job) -> None:
        self.calls.append(("cleanup", job.job_id))
        if self._steps.pop(job.job_id, None) is not None:
            self.effects.append(("cleanup", job.job_id))
        self._outputs.pop(job.job_id, None)

    def _answer(self, job: Job) -> QueryOutput | AnalysisOutput:
        if isinstance(job, QueryJob):
            release = self.release_for(job) if self.release_for else self.release
            if release is None:
                raise ValueError("StubSandbox needs `release` or `release_for` to answer a query")
            return check_output(job, QueryOutput(release=release, tuning=self.tuning))
        answer = read_output(json.dumps({"kind": "analysis", "collected": self.analysis}))
        assert isinstance(answer, AnalysisOutput)
        return answer
