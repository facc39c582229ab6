"""The executor workers use: each job through the one pipeline the CLI uses too.

SQL goes through ``gateway.pipeline.run_query`` (vet, release store, sandbox,
DP engine); an analysis through ``gateway.pipeline.run_analysis`` (its code
in the sandbox without data, its plan vetted, each query released). A job's
extract is its project's; a project without one, or with one whose manifest
names another project or purpose, fails as ``extract_unusable`` before any
data is read. The sandbox is made on the first job and kept, so a worker
stays warm. A SQL job runs with the bounds its researcher fixed, if any; each
part names the table its query counts rows of, for the words its pages use.
"""

from __future__ import annotations

from gateway.config import Settings
from gateway.errors import ConfigError, ExtractError, VetError
from gateway.extract.manifest import load_manifest
from gateway.pipeline import run_analysis, run_query
from gateway.policy.model import Policy
from gateway.sandbox import Sandbox, make_sandbox
from gateway.service.models import JobKind
from gateway.service.projects import check_extract_project
from gateway.service.queue import ClaimedJob, Outcome, Part
from gateway.vet import vet


def require_isolation(settings: Settings) -> None:
    """The service never runs researchers' work unsandboxed, in any environment."""
    if settings.insecure_no_sandbox:
        raise ConfigError(
            "insecure_sandbox_refused",
            "the service and its workers refuse GATEWAY_INSECURE_NO_SANDBOX",
            hint="unset it; it exists only for `gateway run` on dummy data during development",
        )


class PipelineExecutor:
    def __init__(self, settings: Settings, policy: Policy, sandbox: Sandbox | None = None) -> None:
        require_isolation(settings)
        self.settings = settings
        self.policy = policy
        self.sandbox = sandbox

    def run(self, job: ClaimedJob) -> Outcome:
        if job.extract is None:
            raise ExtractError(
                "no_extract",
                f"project {job.project_id} has no extract yet",
                hint="an administrator builds one (`gateway extract build --project ...`) "
                "and sets it on the project",
            )
        check_extract_project(load_manifest(job.extract), job.project_id, job.purpose)
        if self.sandbox is None:
            self.sandbox = make_sandbox(self.settings)
        if job.kind is JobKind.SQL:
            bounds = job.bounds
            release = run_query(
                job.text,
                job.extract,
                self.policy,
                job.epsilon,
                self.settings,
                sandbox=self.sandbox,
                contributions=None if bounds is None else bounds.contributions,
                clamps=None if bounds is None else bounds.clamps,
            )
            part = Part(name="query", epsilon=job.epsilon, sql=job.text, release=release)
            return Outcome(parts=[self._counted(part)])
        result = run_analysis(
            job.text, job.extract, self.policy, job.epsilon, self.settings, sandbox=self.sandbox
        )
        return Outcome(
            parts=[
                self._counted(
                    Part(
                        name=named.name,
                        epsilon=named.epsilon,
                        sql=named.sql,
                        release=named.release,
                    )
                )
                for named in result.results
            ],
            output=result.output,
        )

    def _counted(self, part: Part) -> Part:
        """``part`` with what its query counts (table, each column's aggregate), for the
        words on its pages; the query was vetted before it ran, so this only reads it again."""
        try:
            plan = vet(part.sql or "", self.policy)
        except VetError:
            return part
        aggregates = {a.alias: a.function for a in plan.aggregates}
        sources = {k.alias: k.column.column for k in plan.group_by} | {
            a.alias: a.column.column for a in plan.aggregates if a.column is not None
        }
        return part.model_copy(
            update={"table": plan.table, "aggregates": aggregates, "sources": sources}
        )
