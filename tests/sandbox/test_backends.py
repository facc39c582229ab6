"""Choosing a backend fails closed; the insecure one stays out of production; the
protocol's steps are idempotent; the stub behaves like a sandbox for callers."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.analyses import Analysis, count, table
from gateway.analyses.collect import MAX_CODE_BYTES, CollectedAnalysis
from gateway.config import Environment, Settings
from gateway.dp.release import Release
from gateway.errors import AnalysisError, DpError, SandboxError
from gateway.sandbox import (
    BubblewrapSandbox,
    InsecureSandbox,
    Step,
    StubSandbox,
    UnshareSandbox,
    make_sandbox,
    run,
    run_analysis,
    run_query,
)
from gateway.sandbox.jobs import Failure
from gateway.sandbox.process import ProcessSandbox
from gateway.sandbox.protocol import check_output
from tests.sandbox.factories import (
    TEST_LIMITS,
    Deployment,
    analysis_job,
    hostile_job,
    observe,
    query_job,
)

MISSING = Path("/nonexistent/sandbox-launcher")


def test_bubblewrap_is_preferred() -> None:
    assert isinstance(make_sandbox(Settings(), TEST_LIMITS), BubblewrapSandbox)


def test_unshare_is_the_fallback() -> None:
    chosen = make_sandbox(Settings(), TEST_LIMITS, launchers={"bwrap": MISSING})
    assert isinstance(chosen, UnshareSandbox)
    assert observe(chosen, "plan = 'fallback'") == "fallback"


def test_nothing_runs_without_a_backend() -> None:
    with pytest.raises(SandboxError) as caught:
        make_sandbox(Settings(), launchers={"bwrap": MISSING, "unshare": MISSING})
    assert caught.value.code == "sandbox_unavailable"
    assert f"bwrap: {MISSING} not found" in caught.value.message
    assert f"unshare: {MISSING} not found" in caught.value.message
    assert "apt-get install bubblewrap" in str(caught.value.hint)


def test_a_broken_backend_is_detected_by_its_probe() -> None:
    with pytest.raises(SandboxError) as caught:
        make_sandbox(
            Settings(), backends=(BubblewrapSandbox,), launchers={"bwrap": Path("/bin/false")}
        )
    assert caught.value.code == "sandbox_unavailable"
    assert "bwrap: probe job failed [no_result]" in caught.value.message


def test_no_backend_configured_is_unavailable_too() -> None:
    with pytest.raises(SandboxError, match="no backend configured"):
        make_sandbox(Settings(), backends=())


def test_insecure_mode_runs_in_process_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        chosen = make_sandbox(Settings(insecure_no_sandbox=True))
        plan = observe(chosen, "import os\nplan = os.getpid()")
    assert isinstance(chosen, InsecureSandbox)
    assert not chosen.isolated
    assert plan == os.getpid()  # no isolation at all
    warnings = [r.message for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # on creation and on the job
    assert all("INSECURE" in w for w in warnings)


def test_insecure_mode_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="not allowed"):
        Settings(environment=Environment.PRODUCTION, insecure_no_sandbox=True)
    forged = Settings.model_construct(environment=Environment.PRODUCTION, insecure_no_sandbox=True)
    with pytest.raises(SandboxError) as caught:
        make_sandbox(forged)
    assert caught.value.code == "insecure_sandbox_refused"


def test_insecure_mode_reports_analysis_errors_like_the_sandbox() -> None:
    with pytest.raises(AnalysisError) as caught:
        run_analysis(InsecureSandbox(Settings()), analysis_job("x = 1"))
    assert caught.value.code == "analysis_missing"


def test_steps_are_idempotent_and_cleanup_kills(sandbox: ProcessSandbox) -> None:
    job = hostile_job("plan = {'n': 1}")
    sandbox.prepare(job)
    process = sandbox._runs[job.job_id].process
    sandbox.prepare(job)
    assert sandbox._runs[job.job_id].process is process
    assert sandbox.step(job) is Step.PREPARED
    sandbox.execute(job)
    sandbox.execute(job)
    assert sandbox.step(job) is Step.EXECUTED
    first = sandbox.finalize(job)
    assert sandbox.finalize(job) is first
    assert sandbox.step(job) is Step.FINALIZED
    sandbox.cleanup(job)
    sandbox.cleanup(job)
    assert sandbox.step(job) is None

    waiting = analysis_job("plan = 0")
    sandbox.prepare(waiting)
    process = sandbox._runs[waiting.job_id].process
    assert process.poll() is None  # prepared: loaded and waiting for its job
    sandbox.cleanup(waiting)
    assert process.returncode is not None


def test_a_failure_is_reraised_with_its_own_class() -> None:
    job = analysis_job("plan = 1")
    with pytest.raises(DpError) as caught:
        check_output(job, Failure(error="DpError", code="budget_split", message="m", hint="h"))
    assert (caught.value.code, caught.value.hint) == ("budget_split", "h")
    with pytest.raises(SandboxError):
        check_output(job, Failure(error="Exception", code="x", message="m"))


def _release(job_plan_hash: str, extract_hash: str, epsilon: float) -> Release:
    return Release(
        columns=["n"],
        rows=[[1]],
        ci=[[None]],
        epsilon=epsilon,
        epsilon_spent=epsilon,
        delta=0.0,
        suppressed_groups=0,
        mechanism="laplace",
        plan_hash=job_plan_hash,
        extract_hash=extract_hash,
        created_at=dt.datetime.now(dt.UTC),
    )


def test_the_stub_records_calls_and_answers(tmp_path: Path) -> None:
    job = query_job(tmp_path / "e.duckdb")
    stub = StubSandbox(release=_release(job.plan.plan_hash(), job.extract_hash, 1.0))
    assert run_query(stub, job).release.rows == [[1]]
    stub.finalize(job)  # after cleanup: a fresh run
    assert [step for step, _ in stub.effects] == [
        "prepared",
        "executed",
        "finalized",
        "cleanup",
        "prepared",
        "executed",
        "finalized",
    ]
    assert len(stub.calls) > len(stub.effects)  # repeated steps were recorded, not redone
    collected = CollectedAnalysis(plan=Analysis("x").add("n", table("tips").agg(count())).plan())
    answered = StubSandbox(analysis=collected.model_dump(mode="json"))
    assert run_analysis(answered, analysis_job("")) == collected


def test_the_stub_can_be_told_to_fail(tmp_path: Path) -> None:
    stub = StubSandbox(fail_at=Step.EXECUTED, error=SandboxError("timeout", "late"))
    job = analysis_job("plan = 1")
    with pytest.raises(SandboxError, match="late"):
        run(stub, job)
    assert stub.effects == [("prepared", job.job_id), ("cleanup", job.job_id)]


@pytest.mark.parametrize(
    ("plan_hash", "extract_hash", "epsilon", "problem"),
    [
        ("other", None, 1.0, "plan hash"),
        (None, "other", 1.0, "extract hash"),
        (None, None, 1.5, "epsilon spent above"),
    ],
)
def test_a_release_that_does_not_answer_the_job_is_refused(
    tmp_path: Path, plan_hash: str | None, extract_hash: str | None, epsilon: float, problem: str
) -> None:
    job = query_job(tmp_path / "e.duckdb")
    release = _release(plan_hash or job.plan.plan_hash(), extract_hash or job.extract_hash, epsilon)
    with pytest.raises(SandboxError) as caught:
        run_query(StubSandbox(release=release), job)
    assert caught.value.code == "result_mismatch"
    assert problem in caught.value.message


def test_an_oversized_analysis_starts_nothing(sandbox: ProcessSandbox) -> None:
    job = analysis_job("plan = 1\n" + "#" * MAX_CODE_BYTES)
    with pytest.raises(AnalysisError) as caught:
        sandbox.prepare(job)
    assert caught.value.code == "analysis_too_large"
    assert sandbox.step(job) is None


def test_a_prewarmed_sandbox_is_adopted_by_the_next_job() -> None:
    sandbox = BubblewrapSandbox(TEST_LIMITS, keep_warm=True)
    try:
        sandbox.prewarm("analysis")
        spare = sandbox._spares["analysis"][1]
        job = hostile_job("plan = 'warm'")
        sandbox.prepare(job)
        assert sandbox._runs[job.job_id].process is spare
        assert sandbox._spares["analysis"][1] is not spare  # the next one is on its way
        assert json.loads(run_analysis(sandbox, job).output) == "warm"
    finally:
        sandbox.close()
    assert spare.returncode is not None
    assert not sandbox._spares


def test_a_spare_is_not_adopted_for_a_rebuilt_extract(deployment: Deployment) -> None:
    sandbox = BubblewrapSandbox(TEST_LIMITS)
    try:
        sandbox.prewarm("query", deployment.extract)
        spare = sandbox._spares["query"][1]
        os.utime(deployment.extract)  # as if rebuilt in place
        job = query_job(deployment.extract)
        sandbox.prepare(job)
        assert sandbox._runs[job.job_id].process is not spare
        assert spare.returncode is not None  # the stale spare was killed
    finally:
        sandbox.close()
