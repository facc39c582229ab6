"""Query jobs: the one extract, read-only, key over stdin, and a DuckDB that refuses
files, network and extensions even when the engine pastes SQL in unchecked."""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import pytest

from gateway.errors import SandboxError
from gateway.sandbox import run_query
from gateway.sandbox.inside import harden
from gateway.sandbox.jobs import QuerySpec, make_spec
from gateway.sandbox.process import ProcessSandbox
from gateway.sandbox.view import view_for
from tests.sandbox.factories import KEY, TIPS, Deployment, query_job


def test_a_query_runs_over_the_encrypted_extract(
    engine_sandbox: ProcessSandbox, deployment: Deployment
) -> None:
    job = query_job(deployment.extract)
    output = run_query(engine_sandbox, job)
    release = output.release
    assert release.rows == [[TIPS]]
    assert release.plan_hash == job.plan.plan_hash()
    assert release.extract_hash == job.extract_hash
    assert output.tuning is not None  # how it calibrated, for the next job of this shape
    given = output.tuning.model_copy(update={"scale": 7.0})
    assert run_query(engine_sandbox, job.model_copy(update={"tuning": given})).tuning == given


def test_a_wrong_key_opens_nothing(
    engine_sandbox: ProcessSandbox, deployment: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "0f" * 32
    with pytest.raises(SandboxError) as caught:
        run_query(engine_sandbox, query_job(deployment.extract, key=wrong))
    assert caught.value.code == "engine_failed"
    assert "(message withheld)" in caplog.text  # the operator sees where, not what
    assert wrong not in caplog.text


def test_the_key_travels_only_on_stdin(
    engine_sandbox: ProcessSandbox, deployment: Deployment
) -> None:
    job = query_job(deployment.extract)
    view = view_for(job.extract, engine_sandbox.package_source, engine_sandbox.limits.scratch_bytes)
    command = engine_sandbox.command(view, job.kind, seccomp_fd=3)
    assert not any(KEY in argument for argument in command)
    assert KEY not in repr(job)  # nor in logs of the job
    assert KEY not in str(deployment.extract)


@pytest.mark.parametrize(
    ("sql", "blocked_by"),
    [
        ("read_csv('/etc/passwd')", "PermissionException"),
        ("read_text('/usr/lib/os-release')", "PermissionException"),
        ("glob('/extract/*')", "PermissionException"),
        ("(SELECT 1) t; COPY tips TO '/extract/leak.csv'", "PermissionException"),
        ("(SELECT 1) t; INSTALL httpfs", "IOException"),
        ("(SELECT 1) t; SET enable_external_access = true", "InvalidInputException"),
        ("(SELECT 1) t; SET lock_configuration = false", "InvalidInputException"),
        ("(SELECT 1) t; SET autoinstall_known_extensions = true", "InvalidInputException"),
    ],
)
def test_sql_reaching_the_engine_directly_is_refused_by_duckdb(
    engine_sandbox: ProcessSandbox, deployment: Deployment, sql: str, blocked_by: str
) -> None:
    with pytest.raises(SandboxError) as caught:
        run_query(engine_sandbox, query_job(deployment.extract, table=sql))
    assert caught.value.code == "engine_failed"
    assert blocked_by in caught.value.message
    assert run_query(engine_sandbox, query_job(deployment.extract)).release.rows == [[TIPS]]


def test_other_extracts_cannot_be_attached(
    engine_sandbox: ProcessSandbox, deployment: Deployment
) -> None:
    sql = f"(SELECT 1) t; ATTACH '{deployment.other_extract}' AS other"
    with pytest.raises(SandboxError) as caught:
        run_query(engine_sandbox, query_job(deployment.extract, table=sql))
    assert caught.value.code == "engine_failed"


def test_a_copy_into_scratch_stays_in_the_sandbox(
    engine_sandbox: ProcessSandbox, deployment: Deployment
) -> None:
    name = f"leak-{uuid.uuid4().hex}.csv"
    sql = f"(SELECT 1) t; COPY tips TO '/tmp/{name}'; SELECT 1"
    assert run_query(engine_sandbox, query_job(deployment.extract, table=sql)).release.rows == [[1]]
    assert not Path("/tmp", name).exists()
    assert not (deployment.extract.parent / name).exists()


def test_a_missing_extract_starts_nothing(engine_sandbox: ProcessSandbox, tmp_path: Path) -> None:
    with pytest.raises(SandboxError) as caught:
        run_query(engine_sandbox, query_job(tmp_path / "absent.duckdb"))
    assert caught.value.code == "extract_missing"


def test_the_engine_runs_capped_and_locked(
    engine_sandbox: ProcessSandbox, deployment: Deployment
) -> None:
    settings = "', '".join(
        [
            "memory_limit",
            "threads",
            "temp_directory",
            "lock_configuration",
            "enable_external_access",
        ]
    )
    sql = (
        "(SELECT string_agg(name || '=' || value, ';' ORDER BY name) AS s FROM duckdb_settings() "
        f"WHERE name IN ('{settings}')) t WHERE s = 'enable_external_access=false;"
        "lock_configuration=true;memory_limit=256.0 MiB;temp_directory=/tmp;threads=1'"
    )
    assert run_query(engine_sandbox, query_job(deployment.extract, table=sql)).release.rows == [[1]]


def test_harden_locks_an_open_connection() -> None:
    connection = duckdb.connect()
    harden(connection, _spec())
    settings = dict(connection.execute("SELECT name, value FROM duckdb_settings()").fetchall())
    assert settings["enable_external_access"] == "false"
    assert settings["lock_configuration"] == "true"
    assert settings["threads"] == "1"
    with pytest.raises(duckdb.InvalidInputException):
        connection.execute("SET enable_external_access = true")


def test_harden_accepts_a_connection_the_reader_already_locked_safely() -> None:
    connection = duckdb.connect(
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "threads": 1,
            "temp_directory": "/tmp",
        }
    )
    connection.execute("SET enable_external_access = false")
    connection.execute("SET lock_configuration = true")
    harden(connection, _spec())


def test_harden_refuses_a_connection_locked_open() -> None:
    connection = duckdb.connect()
    connection.execute("SET lock_configuration = true")
    with pytest.raises(SandboxError) as caught:
        harden(connection, _spec())
    assert caught.value.code == "engine_not_hardened"
    assert "enable_external_access" in caught.value.message


def _spec() -> QuerySpec:
    job = query_job(Path("unused.duckdb"))
    spec = make_spec(job, duckdb_memory_bytes=256 * 2**20, duckdb_threads=1)
    assert isinstance(spec, QuerySpec)
    return spec


def test_the_real_extract_reader_works_inside_and_stays_locked(
    reader_sandbox: ProcessSandbox, deployment: Deployment
) -> None:
    locked = " AND ".join(
        f"(SELECT value FROM duckdb_settings() WHERE name = '{name}') = '{value}'"
        for name, value in [("enable_external_access", "false"), ("lock_configuration", "true")]
    )
    sql = f"(SELECT * FROM tips WHERE {locked}) t"
    assert run_query(reader_sandbox, query_job(deployment.extract, table=sql)).release.rows == [
        [TIPS]
    ]
