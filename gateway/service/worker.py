"""``gateway worker``: claim queued jobs, run them through the pipeline, record the outcome.

The executor is a protocol, so tests can run the queue with a stub that
records calls and can be told to fail. While a job runs, a thread renews the
worker's lease every third of its length; if the process dies, the lease runs
out and another worker re-runs the job (see ``gateway.service.queue``).
``embedded_workers`` runs the same loop on threads of the serving process, so
``gateway serve`` alone runs jobs; separate ``gateway worker`` processes and
embedded ones share the queue and pass each other by.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from pydantic import BaseModel
from sqlalchemy.exc import OperationalError

from gateway.config import Settings
from gateway.errors import GatewayError
from gateway.service.queue import ClaimedJob, Outcome, claim, finish, heartbeat
from gateway.service.status import StatusCode

log = logging.getLogger(__name__)


class Executor(Protocol):
    """Runs one claimed job and returns its releases, or raises why not."""

    def run(self, job: ClaimedJob) -> Outcome: ...


class Ran(BaseModel):
    job: int
    attempt: int
    status: StatusCode | None


class WorkerSummary(BaseModel):
    """What ``gateway worker --once --json`` prints."""

    worker: str
    ran: list[Ran]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


def run_one(settings: Settings, executor: Executor, worker: str) -> Ran | None:
    """Claim and run one job; None when nothing is ready."""
    job = claim(settings, worker)
    if job is None:
        return None
    stop = threading.Event()
    keeper = threading.Thread(
        target=_keep_lease, args=(settings, job.id, worker, stop), daemon=True
    )
    keeper.start()
    try:
        result: Outcome | BaseException = executor.run(job)
    except Exception as error:
        if not isinstance(error, GatewayError):
            log.exception("job %s failed unexpectedly", job.id)
        result = error
    finally:
        stop.set()
        keeper.join()
    status = finish(settings, job.id, worker, result)
    log.info("job %s attempt %s: %s", job.id, job.attempt, status)
    return Ran(job=job.id, attempt=job.attempt, status=status)


def run_worker(
    settings: Settings,
    executor: Executor,
    *,
    once: bool = False,
    poll_seconds: float = 1.0,
    worker: str | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> WorkerSummary:
    """Run jobs until stopped; with ``once``, until no job is ready.

    A long-running worker outlives an unreachable database: it logs and tries
    again after ``poll_seconds``. With ``once`` the error is raised.
    """
    summary = WorkerSummary(worker=worker or worker_name(), ran=[])
    while not should_stop():
        try:
            ran = run_one(settings, executor, summary.worker)
        except OperationalError:
            if once:
                raise
            log.exception("the metadata database did not answer; trying again")
            ran = None
        if ran is not None:
            summary.ran.append(ran)
        elif once:
            break
        else:
            time.sleep(poll_seconds)  # a stop request is seen within one poll
    return summary


def _keep_lease(settings: Settings, job_id: int, worker: str, stop: threading.Event) -> None:
    interval = settings.job_lease_seconds / 3
    while not stop.wait(interval):
        if not heartbeat(settings, job_id, worker):
            log.warning("job %s: lease lost; another worker may run it", job_id)
            return


@contextmanager
def embedded_workers(
    settings: Settings,
    make_executor: Callable[[], Executor],
    count: int,
    *,
    poll_seconds: float = 0.5,
) -> Iterator[list[threading.Thread]]:
    """``count`` workers on threads of this process while the block runs; each gets its own
    executor (and so its own warm sandbox). Leaving the block lets each job in hand finish."""
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=run_worker,
            args=(settings, make_executor()),
            kwargs={"poll_seconds": poll_seconds, "should_stop": stop.is_set},
            name=f"gateway-worker-{number}",
            daemon=True,
        )
        for number in range(1, count + 1)
    ]
    for thread in threads:
        thread.start()
    try:
        yield threads
    finally:
        stop.set()
        for thread in threads:
            thread.join()
