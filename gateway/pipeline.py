"""The stages that turn a submission into releases, written once for every caller.

An analysis goes ``code → AnalysisPlan → VettedAnalysis → AnalysisResult``:

``collect``   run the researcher's file in the sandbox with no extract and no
              key; only its plan comes back, as JSON, validated here.
``vet``       the budget first, then every query with the SQL vetter's rules.
``execute``   each query through the DP engine in the sandbox, over the one
              extract, with ε × its share. Any failure releases nothing.

The CLI, the service and its workers call ``run_analysis``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from gateway.analyses.collect import CollectedAnalysis, read_collected
from gateway.analyses.result import AnalysisResult, NamedRelease
from gateway.analyses.vetting import VettedAnalysis, vet_analysis
from gateway.config import Settings
from gateway.errors import AnalysisError
from gateway.extract.manifest import Manifest, load_manifest
from gateway.extract.reader import extract_key
from gateway.extract.status import check_usable
from gateway.policy import Policy

if TYPE_CHECKING:
    from gateway.sandbox import Sandbox

MAX_CODE_BYTES = 256 * 1024
"""Largest analysis source; base64 inside the job it stays under the sandbox's limit."""


def read_analysis(file: Path) -> str:
    """The source of an analysis file, or a clear refusal."""
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise AnalysisError(
            "analysis_file_not_found",
            f"analysis file {file} does not exist",
            hint="pass --file with the path of your analysis, e.g. analyses/theme_popularity.py",
        ) from None
    except IsADirectoryError:
        raise AnalysisError(
            "analysis_file_not_found", f"{file} is a folder", hint="pass one .py file"
        ) from None
    if len(raw) > MAX_CODE_BYTES:
        raise AnalysisError(
            "analysis_too_large",
            f"{file} is {len(raw):,} bytes; an analysis may be at most {MAX_CODE_BYTES:,}",
            hint="an analysis only builds a plan; keep data and helpers out of it",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AnalysisError(
            "analysis_not_utf8", f"{file} is not UTF-8 text", hint="save it as UTF-8"
        ) from None


_COLLECT = """\
import base64
from gateway.analyses.collect import collect_plan
plan = collect_plan(base64.b64decode({code!r}).decode(), {filename!r}).model_dump(mode="json")
"""
"""What the sandbox's analysis job runs: the researcher's source, under the SDK's guards."""


def collect(code: str, filename: str, sandbox: Sandbox) -> CollectedAnalysis:
    """Stage 1: the researcher's code, run in the sandbox without data, gives its plan."""
    from gateway.sandbox import AnalysisJob, run_analysis

    encoded = base64.b64encode(code.encode()).decode()
    job = AnalysisJob(code=_COLLECT.format(code=encoded, filename=filename), filename=filename)
    return read_collected(json.dumps(run_analysis(sandbox, job)))


def usable_extract(extract: Path, settings: Settings) -> tuple[Manifest, SecretStr | None]:
    """The extract's manifest and key (None for a dummy), if it is neither expired nor stale."""
    manifest = load_manifest(extract)
    check_usable(extract, manifest, settings)
    if manifest.dummy:
        return manifest, None
    return manifest, SecretStr(extract_key(manifest, settings))


def execute(
    vetted: VettedAnalysis,
    policy: Policy,
    extract: Path,
    settings: Settings,
    sandbox: Sandbox,
) -> AnalysisResult:
    """Stage 3: every vetted query through the DP engine, in the sandbox, over ``extract``."""
    from gateway.sandbox import QueryJob, run_query

    manifest, key = usable_extract(extract, settings)
    results = []
    for query in vetted.queries:
        job = QueryJob(
            plan=query.plan,
            policy=policy,
            epsilon=query.epsilon,
            extract=extract,
            extract_hash=manifest.content_hash,
            key=key,
        )
        release = run_query(sandbox, job)
        if manifest.dummy:
            release = release.model_copy(update={"dummy": True})
        results.append(
            NamedRelease(
                name=query.name,
                share=query.share,
                epsilon=query.epsilon,
                sql=query.sql,
                release=release,
            )
        )
    return AnalysisResult(
        name=vetted.name,
        analysis_hash=vetted.analysis_hash,
        extract_hash=manifest.content_hash,
        dummy=manifest.dummy,
        epsilon_given=vetted.epsilon_given,
        epsilon_planned=vetted.epsilon,
        epsilon_spent=0.0 if manifest.dummy else vetted.epsilon,
        results=tuple(results),
    )


def run_analysis(
    analysis: str | Path,
    extract: Path,
    policy: Policy,
    epsilon: float,
    settings: Settings,
    *,
    sandbox: Sandbox | None = None,
) -> AnalysisResult:
    """Run an analysis (a file, or its source text) over ``extract`` with ``epsilon`` in all.

    Refusals (bad code, a plan over budget, a query the policy does not allow,
    an expired extract) are raised before any data is read; nothing is
    released unless every query succeeds.
    """
    if isinstance(analysis, Path):
        code, filename = read_analysis(analysis), analysis.name
    else:
        code, filename = analysis, "analysis.py"
    if sandbox is None:
        from gateway.sandbox import make_sandbox

        sandbox = make_sandbox(settings)
    collected = collect(code, filename, sandbox)
    vetted = vet_analysis(collected.plan, policy, epsilon)
    result = execute(vetted, policy, extract, settings, sandbox)
    return result.model_copy(update={"output": collected.output})
