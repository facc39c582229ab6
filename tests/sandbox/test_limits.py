"""Resource attacks: each is stopped, reported with its own code, and the next job runs."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gateway.errors import AnalysisError, SandboxError
from gateway.sandbox import run_analysis
from gateway.sandbox.process import ProcessSandbox
from tests.sandbox.conftest import BACKENDS
from tests.sandbox.factories import TEST_LIMITS, hostile_job, observe


def still_works(sandbox: ProcessSandbox) -> None:
    assert observe(sandbox, "plan = [1, 2, 3]") == [1, 2, 3]


def refused(sandbox: ProcessSandbox, code: str) -> SandboxError | AnalysisError:
    with pytest.raises((SandboxError, AnalysisError)) as caught:
        run_analysis(sandbox, hostile_job(code))
    still_works(sandbox)
    assert isinstance(caught.value, (SandboxError, AnalysisError))
    return caught.value


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def tight(request: pytest.FixtureRequest) -> ProcessSandbox:
    """Short wall clock and CPU, small result cap, so attacks end quickly."""
    limits = TEST_LIMITS.model_copy(
        update={"wall_seconds": 10, "cpu_seconds": 5, "result_bytes": 64 * 1024}
    )
    return BACKENDS[request.param](limits)


def test_fork_bomb(sandbox: ProcessSandbox) -> None:
    error = refused(sandbox, "import os\nwhile True:\n    os.fork()")
    assert error.code == "analysis_raised"
    assert error.message.startswith("PermissionError")


def test_thread_bomb(sandbox: ProcessSandbox) -> None:
    error = refused(
        sandbox,
        "import threading, time\n"
        "while True:\n"
        "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()",
    )
    assert error.code == "analysis_raised"
    assert "can't start new thread" in error.message


@pytest.mark.parametrize(
    "code",
    [
        "block = bytearray(64 * 1024**3)",
        "blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 1024**2))",
    ],
    ids=["at-once", "growing"],
)
def test_memory_bomb(sandbox: ProcessSandbox, code: str) -> None:
    error = refused(sandbox, code)
    assert isinstance(error, SandboxError)
    assert error.code == "memory_limit"


def test_infinite_loop_is_killed_with_its_process_group(tight: ProcessSandbox) -> None:
    marker = f"loop{id(tight) % 10**8}"
    seen: list[bool] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if any(_comm(p) == marker for p in Path("/proc").iterdir() if p.name.isdigit()):
                seen.append(True)
            stop.wait(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        error = refused(
            tight,
            "import ctypes, time\n"
            f"ctypes.CDLL(None).prctl(15, b'{marker}', 0, 0, 0)\n"
            "while True:\n    time.sleep(0.01)",
        )
    finally:
        stop.set()
        watcher.join()
    assert error.code == "timeout"
    assert seen, "the looping job was never observed running"
    assert not any(_comm(p) == marker for p in Path("/proc").iterdir() if p.name.isdigit())


def _comm(process: Path) -> str | None:
    try:
        return (process / "comm").read_text().strip()
    except OSError:
        return None


def test_cpu_limit_kills_a_busy_job(tight: ProcessSandbox) -> None:
    roomy = type(tight)(tight.limits.model_copy(update={"wall_seconds": 30, "cpu_seconds": 1}))
    error = refused(roomy, "while True:\n    pass")
    assert error.code == "cpu_limit"


def test_huge_result_is_capped(tight: ProcessSandbox) -> None:
    error = refused(tight, "_collect.MAX_OUTPUT = 10**8\nplan = 'x' * 10_000_000")
    assert error.code == "result_too_large"


def test_huge_prints_do_not_corrupt_the_result(tight: ProcessSandbox) -> None:
    code = "import sys\nfor _ in range(200):\n    print('x' * 100_000)\nplan = {'ok': True}"
    assert observe(tight, code) == {"ok": True}


def test_a_forged_result_is_malformed(sandbox: ProcessSandbox) -> None:
    code = (
        "import os\n"
        "for fd in range(3, 12):\n"
        "    try:\n        os.write(fd, b'{not json')\n"
        "    except OSError:\n        pass\n"
        "plan = 1"
    )
    error = refused(sandbox, code)
    assert error.code == "malformed_result"


def test_exiting_without_a_result(sandbox: ProcessSandbox) -> None:
    assert refused(sandbox, "import os\nos._exit(0)").code == "no_result"


def test_killed_by_a_signal(sandbox: ProcessSandbox) -> None:
    error = refused(sandbox, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    assert error.code == "sandbox_crashed"
    assert "SIGSEGV" in error.message
