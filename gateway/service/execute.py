"""The executor workers use: each job through the one pipeline the CLI uses too.

SQL goes through ``gateway.pipeline.run_query`` (vet, release store, sandbox,
DP engine); an analysis through ``gateway.pipeline.run_analysis`` (its code
in the sandbox without data, its plan vetted, each query released). A job's
extract is its project's; a project without one, or with one whose manifest
names another project or purpose, fails as ``extract_unusable`` before any
data is read. The sandbox is made on the first job and kept, so a worker
stays warm. A SQL job runs with the bounds its researcher fixed, if any; each
part names the table its query counts rows of, for the words its pages use.
A dummy job runs on the policy's dummy extract instead, built on first use
(and again when it expires or the policy changes) under
``GATEWAY_DATA_DIR/dummy``.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

from gateway.config import Settings
from gateway.errors import ConfigError, ExtractError, VetError
from gateway.extract.dummy import build_dummy
from gateway.extract.manifest import load_manifest, manifest_path
from gateway.pipeline import run_analysis, run_query
from gateway.policy.load import policy_hash
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


DUMMY_MEMBERS = 5_000
"""Members of the service's dummy extract: enough for most groups to show, quick to build."""

_building = threading.Lock()


def dummy_extract(settings: Settings, policy: Policy) -> Path:
    """The policy's dummy extract, built when missing, expired or made under another policy.

    Its name carries the policy's hash, so a changed policy gets a new one; it
    is written beside its final name and moved into place, so workers in other
    processes never read half of one.
    """
    out = settings.data_dir / "dummy" / f"{policy.name}-{policy_hash(policy)[:16]}.duckdb"
    with _building:
        now = dt.datetime.now(dt.UTC)
        if not manifest_path(out).exists() or load_manifest(out).expires_at <= now:
            out.parent.mkdir(parents=True, exist_ok=True)
            build_dummy(policy, out, members=DUMMY_MEMBERS, seed=0, as_of=now.date())
    return out


class PipelineExecutor:
    def __init__(self, settings: Settings, policy: Policy, sandbox: Sandbox | None = None) -> None:
        require_isolation(settings)
        self.settings = settings
        self.policy = policy
        self.sandbox = sandbox

    def run(self, job: ClaimedJob) -> Outcome:
        extract = dummy_extract(self.settings, self.policy) if job.dummy else job.extract
        if extract is None:
            raise ExtractError(
                "no_extract",
                f"project {job.project_id} has no extract yet",
                hint="an administrator builds one (`gateway extract build --project ...`) "
                "and sets it on the project; a dummy run (`dummy: true`) needs none",
            )
        check_extract_project(load_manifest(extract), job.project_id, job.purpose)
        if self.sandbox is None:
            self.sandbox = make_sandbox(self.settings)
        if job.kind is JobKind.SQL:
            bounds = job.bounds
            release = run_query(
                job.text,
                extract,
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
            job.text, extract, self.policy, job.epsilon, self.settings, sandbox=self.sandbox
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
