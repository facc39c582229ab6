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

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import JsonValue, SecretStr, ValidationError

from gateway.analyses.plan import AnalysisPlan
from gateway.analyses.result import AnalysisResult, NamedRelease
from gateway.analyses.vetting import VettedAnalysis, vet_analysis
from gateway.config import Settings
from gateway.errors import AnalysisError, ExtractError
from gateway.extract.manifest import Manifest, manifest_path
from gateway.policy import Policy

if TYPE_CHECKING:
    from gateway.sandbox import Sandbox

MAX_CODE_BYTES = 512 * 1024


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


def parse_plan(raw: JsonValue) -> AnalysisPlan:
    """Validate what the sandbox sent back; nothing but a plan is accepted."""
    try:
        return AnalysisPlan.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise AnalysisError(
            "analysis_not_a_plan",
            f"the analysis did not produce a plan: {where}: {first['msg']}"[:2000],
            hint="set `analysis = Analysis('name')` and add queries built with gateway.analyses",
        ) from None


def collect(code: str, filename: str, sandbox: Sandbox) -> AnalysisPlan:
    """Stage 1: the researcher's code, run without data, gives its plan."""
    from gateway.sandbox import AnalysisJob, run_analysis

    return parse_plan(run_analysis(sandbox, AnalysisJob(code=code, filename=filename)))


def usable_extract(extract: Path, settings: Settings) -> tuple[Manifest, SecretStr]:
    """The extract's manifest and key, once it is known to exist and not to have expired."""
    try:
        manifest = Manifest.model_validate_json(manifest_path(extract).read_bytes())
    except (OSError, ValidationError):
        raise ExtractError(
            "extract_not_found",
            f"{extract} is not an extract with a readable manifest",
            hint="build one with `gateway extract build` or `gateway extract dummy`",
        ) from None
    if manifest.expires_at <= dt.datetime.now(dt.UTC):
        raise ExtractError(
            "extract_expired",
            f"{extract} expired at {manifest.expires_at:%Y-%m-%d %H:%M} UTC",
            hint="rebuild it with `gateway extract build`",
        )
    if manifest.dummy:
        return manifest, SecretStr("")
    from gateway.extract.reader import extract_key

    return manifest, SecretStr(extract_key(extract, settings))


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
    plan = collect(code, filename, sandbox)
    vetted = vet_analysis(plan, policy, epsilon)
    return execute(vetted, policy, extract, settings, sandbox)
