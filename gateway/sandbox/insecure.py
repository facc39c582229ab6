"""No isolation at all: jobs run inside the gateway process. Local development only.

Enabled only by ``GATEWAY_INSECURE_NO_SANDBOX=true``, refused in production
(here and by ``Settings``), and logged as a warning on creation and on every
job. Results still go through the same serialisation and checks as a
sandboxed job, so callers see identical behaviour, minus every limit.
"""

from __future__ import annotations

import logging

from gateway.config import Environment, Settings
from gateway.errors import GatewayError, SandboxError
from gateway.sandbox.jobs import (
    EXTRACT_INSIDE,
    AnalysisOutput,
    Job,
    QueryJob,
    QueryOutput,
    make_spec,
)
from gateway.sandbox.limits import Limits
from gateway.sandbox.protocol import Step, check_job, check_output

log = logging.getLogger(__name__)

WARNING = (
    "INSECURE: GATEWAY_INSECURE_NO_SANDBOX is set; jobs run inside the gateway process "
    "with no isolation and no limits. Never use this with real data."
)


class InsecureSandbox:
    name = "insecure"
    isolated = False

    def __init__(self, settings: Settings, limits: Limits | None = None) -> None:
        if settings.environment is Environment.PRODUCTION:
            raise SandboxError(
                "insecure_sandbox_refused",
                "running jobs without a sandbox is refused in production",
                hint="unset GATEWAY_INSECURE_NO_SANDBOX and install bubblewrap",
            )
        self.limits = limits or Limits()
        self._steps: dict[str, Step] = {}
        self._outcomes: dict[str, QueryOutput | AnalysisOutput | GatewayError] = {}
        log.warning(WARNING)

    def prepare(self, job: Job) -> None:
        """1. refuse an oversized analysis or a missing extract; 2. record the job."""
        if job.job_id not in self._steps:
            check_job(job)
            self._steps[job.job_id] = Step.PREPARED

    def execute(self, job: Job) -> None:
        """1. prepare; 2. run the job in this process, through its JSON spec."""
        self.prepare(job)
        if job.job_id in self._outcomes:
            return
        log.warning("%s (job %s)", WARNING, job.job_id)
        from gateway.sandbox.inside import perform  # what the sandbox would run, here

        spec = make_spec(
            job,
            self.limits.duckdb_memory_bytes,
            self.limits.duckdb_threads,
            extract_path=str(job.extract) if isinstance(job, QueryJob) else EXTRACT_INSIDE,
        )
        try:
            self._outcomes[job.job_id] = check_output(job, perform(spec.model_dump_json().encode()))
        except GatewayError as err:
            self._outcomes[job.job_id] = err
        self._steps[job.job_id] = Step.EXECUTED

    def finalize(self, job: Job) -> QueryOutput | AnalysisOutput:
        """1. execute if needed; 2. return the checked output or raise its error."""
        self.execute(job)
        self._steps[job.job_id] = Step.FINALIZED
        outcome = self._outcomes[job.job_id]
        if isinstance(outcome, GatewayError):
            raise outcome
        return outcome

    def cleanup(self, job: Job) -> None:
        """1. forget the job."""
        self._steps.pop(job.job_id, None)
        self._outcomes.pop(job.job_id, None)
