"""Service bookkeeping per job: submit, review, claim, release, against one audited write.

Run from the repository root: ``python -m bench.service_queue``. On SQLite
(and PostgreSQL at 127.0.0.1:5432 when it answers) it times JOBS jobs through
submit (vet, budget reservation), review, claim and finish with a stub
executor, and the same number of bare audited transactions (one row and one
audit record) as the baseline, in the same run; then four workers draining
JOBS queued jobs against one. Results go to docs/benchmarks.md, section
"Service job queue".
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

from gateway.config import Settings
from gateway.policy import load_policy
from gateway.service import audit
from gateway.service.audit import SYSTEM
from gateway.service.queue import claim, finish
from gateway.service.transaction import transaction
from tests.conftest import POSTGRES, postgres_url
from tests.service.factories import StubExecutor, approved_project, queued

JOBS = 100
POLICY = Path("policies/health_thing.yaml")


def per_item_ms(run: Callable[[], object], count: int) -> float:
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def drain(settings: Settings, workers: int) -> float:
    """Seconds for ``workers`` threads to claim and finish every queued job."""
    executor = StubExecutor()

    def work(name: str) -> None:
        while (job := claim(settings, name)) is not None:
            finish(settings, job.id, name, executor.run(job))

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def measure(label: str, make: Callable[[str], Settings]) -> None:
    policy = load_policy(POLICY)
    settings = make("a")
    cast = approved_project(settings, policy, epsilon=JOBS * 1.0)
    executor = StubExecutor()

    def one_job() -> None:
        job = queued(settings, policy, cast, 0.5)
        claimed = claim(settings, "bench")
        assert claimed is not None
        assert claimed.id == job.id
        finish(settings, job.id, "bench", executor.run(claimed))

    def audited_write() -> None:
        with transaction(settings) as s:
            audit.record(s, SYSTEM, "bench.write", "bench", None)

    job_ms = per_item_ms(one_job, JOBS)
    write_ms = per_item_ms(audited_write, JOBS)
    timings = {}
    for workers in (1, 4):
        fresh = make(f"w{workers}")
        crew = approved_project(fresh, policy, epsilon=JOBS * 1.0, suffix=str(workers))
        for _ in range(JOBS):
            queued(fresh, policy, crew, 0.5)
        timings[workers] = drain(fresh, workers)
    print(
        f"{label}: job through the service {job_ms:.1f} ms, audited write {write_ms:.1f} ms, "
        f"ratio {job_ms / write_ms:.1f}"
    )
    print(
        f"{label}: drain {JOBS} jobs, 1 worker {timings[1]:.2f} s, 4 workers {timings[4]:.2f} s, "
        f"ratio {timings[4] / timings[1]:.2f}"
    )


def main() -> None:
    root = Path(tempfile.mkdtemp())
    measure("sqlite", lambda name: Settings(data_dir=root / name))
    admin = create_engine(POSTGRES)
    try:
        with admin.begin() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # no server here: SQLite only
        print(f"postgres: skipped ({exc.__class__.__name__})")
        return
    schemas = []

    def on_postgres(name: str) -> Settings:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
        schemas.append(schema)
        return Settings(data_dir=root / f"pg-{name}", database_url=postgres_url(schema))

    try:
        measure("postgres", on_postgres)
    finally:
        with admin.begin() as connection:
            for schema in schemas:
                connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
