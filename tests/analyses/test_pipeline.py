"""run_analysis and its stages: refusals come before data, nothing is half-released,
and a dummy extract costs nothing.

The orchestration runs against the sandbox's in-memory stub, which records every
job it is given; containment of hostile files runs in the real sandbox
(test_containment.py).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

import gateway.analyses.vetting
import gateway.dp.shape
from gateway.analyses import Analysis, AnalysisPlan, count, table
from gateway.analyses.collect import MAX_CODE_BYTES, CollectedAnalysis
from gateway.analyses.result import AnalysisResult
from gateway.config import Settings
from gateway.dp.release import Release
from gateway.dp.shape import Shape, shape_of
from gateway.dp.tuning import Noise, Tuning
from gateway.errors import AnalysisError, DpError, EpsilonError, ExtractError, VetError
from gateway.extract.manifest import Manifest, manifest_path
from gateway.pipeline import (
    read_analysis,
    run_analysis,
    run_query,
    usable_extract,
)
from gateway.plan import QueryPlan
from gateway.policy import Policy, policy_hash
from gateway.sandbox import QueryJob, StubSandbox
from tests.analyses.factories import sleep_trends


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "state")


def release_for(job: QueryJob) -> Release:
    """What the engine would send back for ``job``: right shape, right hashes, no rows;
    labelled dummy and spending nothing if the job says its extract is a dummy."""
    return Release(
        columns=job.plan.output_columns,
        rows=[],
        ci=[],
        epsilon=job.epsilon,
        epsilon_spent=0.0 if job.dummy else job.epsilon,
        dummy=job.dummy,
        delta=job.policy.budget.delta,
        suppressed_groups=0,
        mechanism="stub",
        plan_hash=job.plan.plan_hash(),
        extract_hash=job.extract_hash,
        policy_hash=policy_hash(job.policy),
        created_at=dt.datetime.now(dt.UTC),
    )


def recording() -> tuple[list[QueryJob], Callable[[QueryJob], Release]]:
    """A ``release_for`` that also keeps every job it answers, and that list."""
    jobs: list[QueryJob] = []

    def answer(job: QueryJob) -> Release:
        jobs.append(job)
        return release_for(job)

    return jobs, answer


def stub_for(plan: AnalysisPlan, **kwargs: object) -> StubSandbox:
    collected = CollectedAnalysis(plan=plan, output="hello\n")
    return StubSandbox(
        analysis=collected.model_dump(mode="json"),
        release_for=release_for,
        **kwargs,  # type: ignore[arg-type]
    )


def executed(stub: StubSandbox) -> int:
    """Jobs the stub ran: the analysis job first, then one per query not in the store."""
    return [step for step, _ in stub.effects].count("executed")


def run(
    stub: StubSandbox, extract: Path, policy: Policy, settings: Settings, epsilon: float = 1.0
) -> AnalysisResult:
    return run_analysis(
        "the stub ignores the code", extract, policy, epsilon, settings, sandbox=stub
    )


def test_dummy_run_releases_every_query_labelled_dummy_at_no_cost(
    dummy_extract: Path, policy: Policy, settings: Settings
) -> None:
    stub = stub_for(sleep_trends().plan())
    result = run(stub, dummy_extract, policy, settings)
    manifest = Manifest.model_validate_json(manifest_path(dummy_extract).read_text())
    assert [r.name for r in result.results] == ["by_month", "by_theme"]
    assert [r.epsilon for r in result.results] == [0.5, 0.5]
    assert all(r.release.dummy for r in result.results)
    assert result.dummy
    assert result.epsilon_planned == 1.0
    assert result.epsilon_spent == 0.0
    assert result.extract_hash == manifest.content_hash
    assert result.output == "hello\n"
    assert result.results[0].release.columns == ["month", "tips", "avg_votes"]
    assert executed(stub) == 3  # the analysis and two queries


def test_query_jobs_carry_the_vetted_plan_and_no_key_for_a_dummy(
    dummy_extract: Path, policy: Policy, settings: Settings
) -> None:
    seen, answer = recording()
    stub = stub_for(sleep_trends().plan())
    stub.release_for = answer
    run(stub, dummy_extract, policy, settings, epsilon=0.8)
    assert [job.epsilon for job in seen] == [0.4, 0.4]
    assert all(job.key is None for job in seen)
    assert all(job.dummy for job in seen)  # from the manifest, the one place it is decided
    assert all(job.extract == dummy_extract for job in seen)
    (by_month, _) = seen
    votes = by_month.plan.aggregates[1]
    assert (votes.lower, votes.upper) == (None, None)  # the engine chooses the clamp


def test_over_budget_plan_is_refused_before_any_query_runs(
    dummy_extract: Path, policy: Policy, settings: Settings
) -> None:
    stub = stub_for(sleep_trends().plan())
    with pytest.raises(EpsilonError) as err:
        run(stub, dummy_extract, policy, settings, epsilon=3.0)
    assert err.value.code == "epsilon_over_cap"
    assert executed(stub) == 1  # the analysis only


def test_a_refused_query_refuses_the_whole_analysis(
    dummy_extract: Path, policy: Policy, settings: Settings
) -> None:
    plan = (
        Analysis("leaky")
        .add("fine", table("tips").group_by("theme").agg(count()))
        .add_sql("rows", "SELECT tip_pid, theme FROM tips")
        .plan()
    )
    stub = stub_for(plan)
    with pytest.raises(VetError) as err:
        run(stub, dummy_extract, policy, settings)
    assert err.value.code == "analysis_rejected"
    assert all(issue.message.startswith("rows: ") for issue in err.value.issues)
    assert executed(stub) == 1


def test_a_failing_query_releases_nothing(
    dummy_extract: Path, policy: Policy, settings: Settings
) -> None:
    def second_fails(job: QueryJob) -> Release:
        if job.plan.group_by and job.plan.group_by[0].alias == "theme":
            raise DpError("engine_failed", "the engine failed")
        return release_for(job)

    stub = stub_for(sleep_trends().plan())
    stub.release_for = second_fails
    with pytest.raises(DpError):
        run(stub, dummy_extract, policy, settings)
    # The first query's release was computed but never returned: it was not kept either,
    # so it cannot come back later from the store uncharged.
    again = stub_for(sleep_trends().plan())
    result = run(again, dummy_extract, policy, settings)
    assert not any(r.release.from_store for r in result.results)
    assert executed(again) == 3


def test_a_repeated_analysis_is_answered_from_the_store_at_no_cost(
    dummy_extract: Path, policy: Policy, settings: Settings
) -> None:
    first = run(stub_for(sleep_trends().plan()), dummy_extract, policy, settings)
    stub = stub_for(sleep_trends().plan())
    second = run(stub, dummy_extract, policy, settings)
    assert executed(stub) == 1  # the analysis ran; no query did
    assert all(r.release.from_store and r.release.epsilon_spent == 0 for r in second.results)
    assert [r.release.rows for r in second.results] == [r.release.rows for r in first.results]
    assert [r.release.created_at for r in second.results] == [
        r.release.created_at for r in first.results
    ]


def test_an_extract_built_under_another_policy_is_refused_before_the_sandbox_starts(
    tmp_path: Path, dummy_extract: Path, policy: Policy, settings: Settings
) -> None:
    stricter = policy.model_copy(update={"version": policy.version + 1})
    stub = stub_for(sleep_trends().plan())
    with pytest.raises(ExtractError) as err:
        run(stub, dummy_extract, stricter, settings)
    assert err.value.code == "policy_mismatch"
    assert executed(stub) == 0


def test_an_expired_extract_is_refused_before_the_sandbox_starts(
    tmp_path: Path, dummy_extract: Path, policy: Policy, settings: Settings
) -> None:
    old = tmp_path / "old.duckdb"
    old.write_bytes(dummy_extract.read_bytes())
    manifest = Manifest.model_validate_json(manifest_path(dummy_extract).read_text())
    expired = manifest.model_copy(
        update={"expires_at": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}
    )
    manifest_path(old).write_text(expired.model_dump_json())
    stub = stub_for(sleep_trends().plan())
    with pytest.raises(ExtractError) as err:
        run(stub, old, policy, settings)
    assert err.value.code == "extract_expired"
    assert executed(stub) == 0


def test_what_the_sandbox_returns_must_be_a_plan(
    dummy_extract: Path, policy: Policy, settings: Settings
) -> None:
    for answer in [None, {"probe": 42}, {"plan": {"name": "x", "queries": []}}]:
        stub = StubSandbox(analysis=answer, release_for=release_for)
        with pytest.raises(AnalysisError) as err:
            run(stub, dummy_extract, policy, settings)
        assert err.value.code == "analysis_not_a_plan"


def test_the_json_result_names_every_release(
    dummy_extract: Path, policy: Policy, settings: Settings
) -> None:
    result = run(stub_for(sleep_trends().plan()), dummy_extract, policy, settings)
    printed = json.loads(result.model_dump_json())
    assert set(printed) >= {"name", "dummy", "epsilon_spent", "epsilon_planned", "results"}
    assert [r["name"] for r in printed["results"]] == ["by_month", "by_theme"]
    assert printed["results"][1]["sql"] == "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (None, "analysis_file_not_found"),
        (b"\xff\xfe not text", "analysis_not_utf8"),
        (b"#" * (MAX_CODE_BYTES + 1), "analysis_too_large"),
    ],
)
def test_unreadable_files_are_refused_clearly(
    tmp_path: Path, content: bytes | None, code: str
) -> None:
    file = tmp_path / "analysis.py"
    if content is not None:
        file.write_bytes(content)
    with pytest.raises(AnalysisError) as err:
        read_analysis(file)
    assert err.value.code == code
    assert err.value.hint


def test_too_large_source_text_is_refused_before_the_sandbox_starts(
    dummy_extract: Path, policy: Policy, settings: Settings
) -> None:
    stub = stub_for(sleep_trends().plan())
    with pytest.raises(AnalysisError) as err:
        run_analysis("#" * (MAX_CODE_BYTES + 1), dummy_extract, policy, 1.0, settings, sandbox=stub)
    assert err.value.code == "analysis_too_large"
    assert executed(stub) == 0


def test_a_folder_is_not_an_analysis(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match="folder"):
        read_analysis(tmp_path)


def test_a_dummy_extract_needs_no_key(
    dummy_extract: Path, policy: Policy, settings: Settings
) -> None:
    manifest, key = usable_extract(dummy_extract, policy, settings)
    assert manifest.dummy
    assert key is None
    assert not settings.key_dir.exists()


def test_an_extract_without_manifest_is_refused(
    tmp_path: Path, policy: Policy, settings: Settings
) -> None:
    (tmp_path / "e.duckdb").write_bytes(b"")
    with pytest.raises(ExtractError) as err:
        usable_extract(tmp_path / "e.duckdb", policy, settings)
    assert err.value.code == "manifest_missing"


def test_a_query_job_is_given_how_its_shape_was_calibrated_before(
    dummy_extract: Path, policy: Policy, settings: Settings
) -> None:
    """The engine's tuning is kept by shape: a filter does not change it, an ε does."""
    jobs, answer = recording()
    found = Tuning(noise=Noise.LAPLACE, scale=3.5)
    stub = StubSandbox(release_for=answer, tuning=found)
    by_theme = "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme"
    filtered = "SELECT theme, COUNT(*) AS n FROM tips WHERE helpful_votes > 3 GROUP BY theme"
    for sql, epsilon in [(by_theme, 1.0), (filtered, 1.0), (by_theme, 0.5)]:
        run_query(sql, dummy_extract, policy, epsilon, settings, sandbox=stub)
    assert [job.tuning for job in jobs] == [None, found, None]
    # a different answer from the engine replaces the one kept
    other = "SELECT theme, COUNT(*) AS n FROM tips WHERE helpful_votes < 9 GROUP BY theme"
    stub.tuning = Tuning(noise=Noise.GAUSSIAN, scale=2.0)
    run_query(filtered, dummy_extract, policy, 0.5, settings, sandbox=stub)
    run_query(other, dummy_extract, policy, 0.5, settings, sandbox=stub)
    assert [job.tuning for job in jobs[3:]] == [found, stub.tuning]


def test_each_query_s_shape_is_derived_once_and_carried_to_its_job(
    dummy_extract: Path, policy: Policy, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    derived: list[Shape] = []

    def counted(plan: QueryPlan, policy: Policy, *, epsilon: float) -> Shape:
        derived.append(shape_of(plan, policy, epsilon=epsilon))
        return derived[-1]

    monkeypatch.setattr(gateway.analyses.vetting, "shape_of", counted)
    monkeypatch.setattr(gateway.dp.shape, "shape_of", counted)
    seen, answer = recording()
    stub = stub_for(sleep_trends().plan())
    stub.release_for = answer
    run(stub, dummy_extract, policy, settings, epsilon=0.8)
    assert [job.shape for job in seen] == derived  # one derivation per query, at vetting
