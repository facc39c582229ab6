"""The stages that turn a submission into releases, written once for every caller.

An analysis goes ``code → AnalysisPlan → VettedAnalysis → AnalysisResult``:

``collect``   the researcher's code, as data in the sandbox's analysis job,
              run there with no extract and no key by the SDK's one entry
              point; only its plan comes back, parsed once by the sandbox.
``vet``       the budget first, then every query with the SQL vetter's rules,
              then the DP engine's check of each query's shape.
``execute``   each query through the DP engine in the sandbox, over the one
              extract, with ε × its share, or from the release store. Any
              failure releases nothing.

The extract is checked (expired, stale, other policy) before the sandbox starts.
A repeated question is answered from the release store before the sandbox,
the engine's shape or the analysis stages are even imported: they load here
when first used. With the command line's kept plans (``gateway.vet.kept``)
the vetter is not imported either, so a repeat costs the checks and one
read of the store.

A SQL query takes the short road, ``sql → QueryPlan → Release``: vetted,
checked against the budget and the release store, then executed in the
sandbox. The CLI, the service and its workers call ``run_query`` and
``run_analysis``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from gateway.config import Settings
from gateway.dp.release import Release
from gateway.errors import AnalysisError, ExtractError
from gateway.extract import usable
from gateway.extract.manifest import Manifest
from gateway.plan import Contributions, QueryPlan
from gateway.policy import Policy, policy_hash
from gateway.policy.epsilon import check_epsilon
from gateway.release_store import ReleaseStore, TuningStore, question
from gateway.vet.kept import KeptPlans, kept_vet

if TYPE_CHECKING:
    from gateway.analyses.collect import CollectedAnalysis
    from gateway.analyses.result import AnalysisResult
    from gateway.analyses.vetting import VettedAnalysis
    from gateway.dp.shape import Shape
    from gateway.sandbox import Sandbox


def read_analysis(file: Path) -> str:
    """The source of an analysis file, or a clear refusal (a huge file is not read at all)."""
    from gateway.analyses.collect import check_size

    try:
        check_size(file.stat().st_size, file.name)
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
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AnalysisError(
            "analysis_not_utf8", f"{file} is not UTF-8 text", hint="save it as UTF-8"
        ) from None


def collect(code: str, filename: str, sandbox: Sandbox) -> CollectedAnalysis:
    """Stage 1: the researcher's code, run in the sandbox without data, gives its plan.

    Code larger than an analysis may be is refused before the sandbox starts.
    """
    from gateway.sandbox import AnalysisJob
    from gateway.sandbox import run_analysis as run_analysis_job

    return run_analysis_job(sandbox, AnalysisJob(code=code, filename=filename))


def usable_extract(
    extract: Path, policy: Policy, settings: Settings
) -> tuple[Manifest, SecretStr | None]:
    """The extract's manifest and key (None for a dummy), if it may be queried under ``policy``.

    Refused when expired, stale (members' rights changed since the build) or
    built under another policy.
    """
    manifest, key = usable.usable_extract(extract, settings)
    if manifest.policy_hash != policy_hash(policy):
        raise ExtractError(
            "policy_mismatch",
            f"extract {extract} was built under another version of policy {manifest.policy_name!r}",
            hint="use the policy the extract was built with, or rebuild the extract",
        )
    return manifest, None if key is None else SecretStr(key)


def _compute(
    plan: QueryPlan,
    shape: Shape,
    epsilon: float,
    policy: Policy,
    extract: Path,
    access: tuple[Manifest, SecretStr | None],
    settings: Settings,
    sandbox: Sandbox,
) -> Release:
    """A new release from the sandbox, not yet stored.

    ``shape`` is the plan's, derived once before (``shape_of``); it travels
    with the job. The engine is given how it calibrated this shape before,
    if it did, and what its searches found (for the shapes of chosen bounds
    too), and tells both again; they only spare searches.
    """
    from gateway.dp.tuning import tuning_key
    from gateway.sandbox import QueryJob
    from gateway.sandbox import run_query as run_query_job

    manifest, key = access
    tunings = TuningStore(settings)
    searched = tuning_key(shape, policy.release.confidence)
    tuning, searches = tunings.get(searched), tunings.searches(searched)
    job = QueryJob(
        plan=plan,
        policy=policy,
        epsilon=epsilon,
        shape=shape,
        extract=extract,
        extract_hash=manifest.content_hash,
        key=key,
        tuning=tuning,
        searched=searches,
        dummy=manifest.dummy,
    )
    output = run_query_job(sandbox, job)
    if output.tuning is not None and output.tuning != tuning:
        tunings.put(searched, output.tuning)
    if output.searched.items() - searches.items():
        tunings.keep_searches(searched, output.searched)
    return output.release


def run_query(
    sql: str,
    extract: Path,
    policy: Policy,
    epsilon: float,
    settings: Settings,
    *,
    sandbox: Sandbox | None = None,
    contributions: Contributions | None = None,
    clamps: Mapping[str, tuple[float, float]] | None = None,
    plans: KeptPlans | None = None,
) -> Release:
    """Answer one SQL query over ``extract`` with a DP release costing ``epsilon``.

    Vetting, the ε cap and the extract's freshness are checked before any
    data is read; an identical earlier question is answered from the release
    store at no cost. ``contributions`` and ``clamps`` (measure -> range) fix
    bounds the engine would otherwise choose with DP; they are put on the
    vetted plan and refused if outside the policy (``gateway.vet.bounds``).
    ``plans``, if given, keeps vetted plans across processes (``gateway.vet.kept``).
    """
    plan = kept_vet(sql, policy, plans)
    if contributions is not None or clamps:
        from gateway.vet.bounds import fix_bounds

        plan = fix_bounds(plan, policy, contributions=contributions, clamps=clamps)
    check_epsilon(policy, epsilon)
    access = usable_extract(extract, policy, settings)
    store = ReleaseStore(settings)
    asked = question(plan, policy, epsilon, access[0].content_hash)
    stored = store.get(asked)
    if stored is not None:  # before any sandbox starts or the engine loads
        return stored
    from gateway.dp.shape import shape_of
    from gateway.sandbox import make_sandbox

    shape = shape_of(plan, policy, epsilon=epsilon)
    sandbox = sandbox or make_sandbox(settings)
    release = _compute(plan, shape, epsilon, policy, extract, access, settings, sandbox)
    return store.put(asked, release)


def execute(
    vetted: VettedAnalysis,
    policy: Policy,
    extract: Path,
    access: tuple[Manifest, SecretStr | None],
    settings: Settings,
    sandbox: Sandbox,
) -> AnalysisResult:
    """Stage 3: every vetted query through the DP engine, in the sandbox, over ``extract``.

    A query asked before (same plan, extract and ε) is answered from the
    release store at no cost. New releases are stored only once every query
    has succeeded: a release that is kept is always one that was returned, and
    charged.
    """
    from gateway.analyses.result import AnalysisResult, NamedRelease

    manifest = access[0]
    store = ReleaseStore(settings)
    asked = [question(q.plan, policy, q.epsilon, manifest.content_hash) for q in vetted.queries]
    releases = [
        store.get(key)
        or _compute(q.plan, q.shape, q.epsilon, policy, extract, access, settings, sandbox)
        for key, q in zip(asked, vetted.queries, strict=True)
    ]
    releases = [
        r if r.from_store else store.put(key, r) for key, r in zip(asked, releases, strict=True)
    ]
    spent = math.fsum(r.epsilon_spent for r in releases)
    return AnalysisResult(
        name=vetted.name,
        analysis_hash=vetted.analysis_hash,
        extract_hash=manifest.content_hash,
        dummy=manifest.dummy,
        epsilon_given=vetted.epsilon_given,
        epsilon_planned=vetted.epsilon,
        epsilon_spent=spent,
        results=tuple(
            NamedRelease(name=q.name, share=q.share, epsilon=q.epsilon, sql=q.sql, release=release)
            for q, release in zip(vetted.queries, releases, strict=True)
        ),
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
    from gateway.analyses.vetting import vet_analysis
    from gateway.sandbox import make_sandbox

    if isinstance(analysis, Path):
        code, filename = read_analysis(analysis), analysis.name
    else:
        code, filename = analysis, "analysis.py"
    access = usable_extract(extract, policy, settings)
    sandbox = sandbox or make_sandbox(settings)
    collected = collect(code, filename, sandbox)
    vetted = vet_analysis(collected.plan, policy, epsilon)
    result = execute(vetted, policy, extract, access, settings, sandbox)
    return result.model_copy(update={"output": collected.output})
