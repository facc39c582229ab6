"""Driving one isolated child process per job: spawn, feed, watch, judge, kill.

Shared by the bubblewrap and ``unshare`` backends, which differ only in the
command that builds the isolation. The child runs in its own session and
process group; the parent writes the spec to its standard input, reads at
most ``result_bytes`` of standard output and ``log_bytes`` of standard error
until the wall clock runs out, and then kills the whole group.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gateway.errors import GatewayError, SandboxError
from gateway.sandbox.jobs import (
    SCRATCH_INSIDE,
    AnalysisOutput,
    Failure,
    Job,
    QueryOutput,
    make_spec,
)
from gateway.sandbox.limits import Limits
from gateway.sandbox.protocol import Step, check_job, check_output, read_output
from gateway.sandbox.seccomp import filter_fd
from gateway.sandbox.view import PACKAGE_DIR, View, extract_of, view_for

log = logging.getLogger(__name__)

HOST_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
"""The whole environment of the launcher: nothing of the gateway's is inherited."""
ALLOCATOR_ENV = {"_RJEM_MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"}
"""Polars' allocator hands freed memory back at once.

Without it, a query job keeps the high-water mark of its release (about
200 MB at 5M frame rows) while DuckDB builds the next frame.
"""
INSIDE_ENV = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "HOME": SCRATCH_INSIDE,
    "TMPDIR": SCRATCH_INSIDE,
    "MALLOC_ARENA_MAX": "2",
    **ALLOCATOR_ENV,
}
"""The whole environment of the job.

glibc's allocator reserves an arena of 64 MB of address space for each new
thread: under the job's address-space limit, a job starting threads would run
out of it before reaching the task limit, and crash instead of being refused
clearly. Two arenas keep its address space predictable.
"""

_CHUNK = 65536


@dataclass
class _Raw:
    """What came out of the child, before judging it."""

    stdout: bytes
    log: bytes
    returncode: int | None
    timed_out: bool = False
    oversized: bool = False


@dataclass
class _Run:
    job: Job
    process: subprocess.Popen[bytes]
    step: Step = Step.PREPARED
    raw: _Raw | None = None
    output: QueryOutput | AnalysisOutput | None = None
    error: GatewayError | None = None


def inside_argv(python: Path, kind: str) -> list[str]:
    """The interpreter in isolated mode (no PYTHON* variables, no user site, no cwd)."""
    return [str(python), "-I", "-B", "-m", "gateway.sandbox.inside", kind]


def rlimits(limits: Limits) -> dict[str, tuple[int, int]]:
    """(soft, hard) per resource, named as ``prlimit`` names them; the CPU hard
    limit is a second after the soft one, so SIGXCPU comes first, then SIGKILL."""
    return {
        "cpu": (limits.cpu_seconds, limits.cpu_seconds + 1),
        "as": (limits.address_space_bytes, limits.address_space_bytes),
        "fsize": (limits.file_size_bytes, limits.file_size_bytes),
        "nproc": (limits.processes, limits.processes),
        "nofile": (limits.open_files, limits.open_files),
        "core": (0, 0),
    }


def rlimit_argv(limits: Limits) -> list[str]:
    return [f"--{name}={soft}:{hard}" for name, (soft, hard) in rlimits(limits).items()]


class ProcessSandbox:
    """Base of the isolating backends; subclasses supply ``command``."""

    name = "process"
    isolated = True
    default_launcher: Path

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        launcher: Path | None = None,
        package_source: Path = PACKAGE_DIR,
        python: Path = Path(sys.executable),
        keep_warm: bool = False,
    ) -> None:
        self.limits = limits or Limits()
        self.launcher = launcher or self.default_launcher
        self.package_source = package_source
        self.python = python
        self.keep_warm = keep_warm
        self._runs: dict[str, _Run] = {}
        self._spares: dict[str, tuple[_Identity, subprocess.Popen[bytes]]] = {}

    def command(self, view: View, kind: str, seccomp_fd: int) -> list[str]:
        raise NotImplementedError

    def prepare(self, job: Job) -> None:
        """1. refuse an oversized analysis or a missing extract; 2. adopt the spare
        that ``prewarm`` started for this kind and extract, or else build the view,
        compile the syscall filter into an fd and start the isolated child, which
        loads its runtime and blocks on standard input; 3. with ``keep_warm``,
        start the spare for the next such job."""
        if job.job_id in self._runs:
            return
        check_job(job)
        extract = extract_of(job)
        process = self._adopt(job.kind, extract) or self._spawn(job.kind, extract)
        self._runs[job.job_id] = _Run(job, process)
        if self.keep_warm:
            self.prewarm(job.kind, extract)

    def prewarm(self, kind: str, extract: Path | None = None) -> None:
        """Start the sandbox for the next job of ``kind`` (over ``extract``) now.

        The next ``prepare`` of such a job adopts it, with its runtime already
        loaded. One spare per kind; it is only adopted if the extract is still
        the same file (path, inode and modification time), never a rebuilt one.
        """
        identity = _identity(extract)
        spare = self._spares.pop(kind, None)
        if spare is not None and spare[0] == identity and spare[1].poll() is None:
            self._spares[kind] = spare
            return
        if spare is not None:
            kill_group(spare[1])
        self._spares[kind] = (identity, self._spawn(kind, extract))

    def close(self) -> None:
        """Kill every spare and every job still known."""
        for _, process in self._spares.values():
            kill_group(process)
        self._spares.clear()
        for run in self._runs.values():
            kill_group(run.process)
        self._runs.clear()

    def _adopt(self, kind: str, extract: Path | None) -> subprocess.Popen[bytes] | None:
        spare = self._spares.pop(kind, None)
        if spare is None:
            return None
        identity, process = spare
        if identity == _identity(extract) and process.poll() is None:
            return process
        kill_group(process)
        return None

    def _spawn(self, kind: str, extract: Path | None) -> subprocess.Popen[bytes]:
        view = view_for(extract, self.package_source, self.limits.scratch_bytes)
        seccomp = filter_fd()
        try:
            return subprocess.Popen(
                self.command(view, kind, seccomp),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=HOST_ENV,
                cwd="/",
                pass_fds=(seccomp,),
                start_new_session=True,
            )
        except OSError as err:
            raise SandboxError(
                "sandbox_unavailable",
                f"the {self.name} sandbox could not start: {err}",
                hint="check that the sandbox backend is installed",
            ) from None
        finally:
            os.close(seccomp)

    def execute(self, job: Job) -> None:
        """1. prepare if needed; 2. send the spec (key included) on standard input;
        3. collect output within the limits; 4. kill the group if it overran."""
        self.prepare(job)
        run = self._runs[job.job_id]
        if run.raw is not None:
            return
        spec = make_spec(job, self.limits.duckdb_memory_bytes, self.limits.duckdb_threads)
        run.raw = communicate(run.process, spec.model_dump_json().encode(), self.limits)
        run.step = Step.EXECUTED

    def finalize(self, job: Job) -> QueryOutput | AnalysisOutput:
        """1. execute if needed; 2. judge exit status, time and size; 3. validate
        the JSON with pydantic; 4. check it answers this job; 5. return it or raise."""
        self.execute(job)
        run = self._runs[job.job_id]
        if run.output is None and run.error is None:
            assert run.raw is not None
            try:
                run.output = check_output(job, judge(run.raw, self.limits))
            except GatewayError as err:
                run.error = err
                log.warning(
                    "sandbox job %s failed [%s]: %s; log tail: %r",
                    job.job_id,
                    err.code,
                    err.message,
                    run.raw.log[-2000:],
                )
            run.step = Step.FINALIZED
        if run.error is not None:
            raise run.error
        assert run.output is not None
        return run.output

    def cleanup(self, job: Job) -> None:
        """1. kill the process group if anything is left; 2. reap; 3. close pipes;
        4. forget the job."""
        run = self._runs.pop(job.job_id, None)
        if run is not None:
            kill_group(run.process)

    def step(self, job: Job) -> Step | None:
        run = self._runs.get(job.job_id)
        return run.step if run else None


_Identity = tuple[str, int, int, int] | None


def _identity(extract: Path | None) -> _Identity:
    if extract is None:
        return None
    status = extract.stat()
    return (str(extract.resolve()), status.st_dev, status.st_ino, status.st_mtime_ns)


def kill_group(process: subprocess.Popen[bytes]) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def communicate(process: subprocess.Popen[bytes], spec: bytes, limits: Limits) -> _Raw:
    """Write ``spec``, read both outputs, never more than the caps, never past the deadline."""
    assert process.stdin is not None
    assert process.stdout is not None
    assert process.stderr is not None
    deadline = time.monotonic() + limits.wall_seconds
    out, err = bytearray(), bytearray()
    pending = memoryview(spec)
    timed_out = oversized = False
    with selectors.DefaultSelector() as selector:
        os.set_blocking(process.stdin.fileno(), False)
        selector.register(process.stdin, selectors.EVENT_WRITE)
        selector.register(process.stdout, selectors.EVENT_READ)
        selector.register(process.stderr, selectors.EVENT_READ)
        while selector.get_map() and not oversized:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in selector.select(remaining):
                stream: IO[bytes] = key.fileobj  # type: ignore[assignment]
                if stream is process.stdin:
                    try:
                        pending = pending[os.write(stream.fileno(), pending[:_CHUNK]) :]
                    except BrokenPipeError:
                        pending = pending[:0]
                    if not pending:
                        selector.unregister(stream)
                        stream.close()
                    continue
                chunk = os.read(stream.fileno(), _CHUNK)
                if not chunk:
                    selector.unregister(stream)
                elif stream is process.stdout:
                    out += chunk
                    oversized = len(out) > limits.result_bytes
                else:
                    err += chunk[: max(0, limits.log_bytes - len(err))]
    returncode = None
    if not (timed_out or oversized):
        try:
            returncode = process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
    if returncode is None:
        kill_group(process)
    return _Raw(bytes(out), bytes(err), returncode, timed_out, oversized)


def _signal_of(returncode: int) -> int | None:
    """The signal that ended the job: negative for a direct child, 128+n via bwrap."""
    if returncode < 0:
        return -returncode
    if returncode > 128 and returncode - 128 < signal.NSIG:
        return returncode - 128
    return None


def judge(raw: _Raw, limits: Limits) -> QueryOutput | AnalysisOutput | Failure:
    """Turn the child's exit into an ``Output`` or the precise ``SandboxError``."""
    if raw.timed_out:
        raise SandboxError(
            "timeout",
            f"the job did not finish within {limits.wall_seconds:g} s and was killed",
            hint="simplify the query or analysis, or ask the operator for a longer limit",
        )
    if raw.oversized:
        raise SandboxError(
            "result_too_large",
            f"the job's result exceeded {limits.result_bytes} bytes and was discarded",
            hint="ask for fewer groups or a smaller plan",
        )
    assert raw.returncode is not None
    signum = _signal_of(raw.returncode) if not raw.stdout else None
    if signum == signal.SIGXCPU:
        raise SandboxError(
            "cpu_limit",
            f"the job used more than {limits.cpu_seconds} s of CPU and was killed",
            hint="simplify the query or analysis, or ask the operator for a higher limit",
        )
    if signum is not None:
        raise SandboxError(
            "sandbox_crashed",
            f"the job was killed by signal {signal.Signals(signum).name}",
            hint="it may have exceeded a memory or process limit; the operator's log has details",
        )
    if not raw.stdout:
        raise SandboxError(
            "no_result",
            f"the sandbox exited with status {raw.returncode} and no result",
            hint="the operator's log has the sandbox's messages",
        )
    return read_output(raw.stdout)
