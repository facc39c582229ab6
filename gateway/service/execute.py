"""The executor workers use: each job through the one pipeline the CLI uses too.

SQL goes through ``gateway.pipeline.run_query`` (vet, release store, sandbox,
DP engine); an analysis through ``gateway.pipeline.run_analysis`` (its code
in the sandbox without data, its plan vetted, each query released). A job's
extract is its project's; a project without one fails as ``extract_unusable``.
"""

from __future__ import annotations

import importlib
from typing import Any

from gateway.config import Settings
from gateway.errors import ExtractError
from gateway.policy.model import Policy
from gateway.service.models import JobKind
from gateway.service.queue import ClaimedJob, Outcome, Part


class PipelineExecutor:
    def __init__(self, settings: Settings, policy: Policy) -> None:
        self.settings = settings
        self.policy = policy

    def run(self, job: ClaimedJob) -> Outcome:
        if job.extract is None:
            raise ExtractError(
                "no_extract",
                f"project {job.project_id} has no extract yet",
                hint="an administrator builds one (`gateway extract build --project ...`) "
                "and sets it on the project",
            )
        pipeline: Any = importlib.import_module("gateway.pipeline")
        if job.kind is JobKind.SQL:
            release = pipeline.run_query(
                job.text, job.extract, self.policy, job.epsilon, self.settings
            )
            return Outcome(
                parts=[Part(name="query", epsilon=job.epsilon, sql=job.text, release=release)]
            )
        result = pipeline.run_analysis(
            job.text, job.extract, self.policy, job.epsilon, self.settings
        )
        return Outcome(
            parts=[
                Part(name=named.name, epsilon=named.epsilon, sql=named.sql, release=named.release)
                for named in result.results
            ],
            output=result.output,
        )
