"""Each test is a real attempt from researcher code to reach something it must not."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest

from gateway.sandbox import Sandbox
from gateway.sandbox.process import INSIDE_ENV, ProcessSandbox
from gateway.sandbox.view import PACKAGE_DIR, python_roots
from tests.sandbox import factories
from tests.sandbox.factories import Deployment


def observe(sandbox: Sandbox, body: str) -> dict[str, Any]:
    plan = factories.observe(sandbox, body)
    assert isinstance(plan, dict)
    return plan


def test_the_deployment_secrets_are_absent(sandbox: ProcessSandbox, deployment: Deployment) -> None:
    secrets = {name: str(path) for name, path in deployment.secrets.items()}
    secrets |= {
        "shadow": "/etc/shadow",
        "passwd": "/etc/passwd",
        "host_extract": str(deployment.extract),
    }
    for path in secrets.values():
        assert Path(path).exists(), f"the test needs {path} on the trusted side"
    seen = observe(
        sandbox,
        f"""
        import os
        plan = {{name: attempt(lambda p=path: open(p, "rb").read(16) if os.path.isfile(p)
                                else os.listdir(p))
                 for name, path in {secrets!r}.items()}}
        """,
    )
    assert seen == {name: seen[name] for name in secrets}
    for name, outcome in seen.items():
        assert str(outcome).startswith("FileNotFoundError"), (name, outcome)


def test_only_the_runtime_is_visible(sandbox: ProcessSandbox) -> None:
    seen = observe(
        sandbox,
        """
        import os
        plan = {"top": sorted(os.listdir("/")), "etc": sorted(os.listdir("/etc")),
                "home": attempt(lambda: os.listdir("/home")),
                "root": attempt(lambda: os.listdir("/root")),
                "package": sorted(os.listdir(os.path.dirname(os.path.dirname(__import__(
                    "gateway").__file__))))}
        """,
    )
    runtime_tops = {p.parts[1] for p in [*python_roots(), PACKAGE_DIR]}
    assert (
        set(seen["top"])
        <= {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr"}
        | {
            "dev",
            "proc",
            "tmp",
            "etc",
        }
        | runtime_tops
    )
    assert seen["etc"] == ["ld.so.cache"]
    assert seen["home"] == "FileNotFoundError: [Errno 2] No such file or directory: '/home'" or (
        "home" in runtime_tops
    )
    roots_under_root = {p.parts[2] for p in python_roots() if p.parts[1] == "root"}
    assert seen["root"].startswith("FileNotFoundError") or seen["root"] == "ok: " + repr(
        sorted(roots_under_root)
    )
    # beside the package, nothing of its source tree (data dir, keys, tests)
    beside = {r.name for r in python_roots() if r.parent == PACKAGE_DIR.parent}
    assert set(seen["package"]) <= {"gateway"} | beside or PACKAGE_DIR.parent in python_roots()


def test_nothing_outside_scratch_is_writable(sandbox: ProcessSandbox) -> None:
    marker = f"sandbox-marker-{uuid.uuid4().hex}"
    targets = ["/escape", "/usr/escape", "/etc/escape", f"{PACKAGE_DIR}/escape", "/dev/escape"]
    seen = observe(
        sandbox,
        f"""
        plan = {{p: attempt(lambda p=p: open(p, "w").write("x")) for p in {targets!r}}}
        plan["scratch"] = attempt(lambda: open("/tmp/{marker}", "w").write("x"))
        """,
    )
    for target in targets:
        assert seen[target].startswith("OSError: [Errno 30] Read-only file system"), seen[target]
    assert seen["scratch"] == "ok: 1"
    assert not Path("/tmp", marker).exists()  # the scratch tmpfs is private to the job
    assert not any(Path(t).exists() for t in targets)


def test_no_network_to_loopback_or_outside(sandbox: ProcessSandbox) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        seen = observe(
            sandbox,
            f"""
            import ctypes, socket
            def connect(address):
                with socket.create_connection(address, timeout=2):
                    return "connected"
            libc = ctypes.CDLL(None, use_errno=True)
            plan = {{
                "loopback": attempt(lambda: connect(("127.0.0.1", {port}))),
                "public": attempt(lambda: connect(("192.0.2.1", 80))),
                "udp": attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)),
                "ipv6": attempt(lambda: socket.socket(socket.AF_INET6)),
                "raw_socket_via_ctypes": libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0),
                "interfaces": [line.split(":")[0].strip()
                               for line in open("/proc/net/dev").read().splitlines()[2:]],
                "routes": open("/proc/net/route").read().splitlines()[1:],
                "unix_pair": attempt(lambda: len(socket.socketpair())),
            }}
            """,
        )
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever arrived
    assert seen["loopback"].startswith("OSError: [Errno 97]"), seen["loopback"]
    assert seen["public"].startswith("OSError: [Errno 97]"), seen["public"]
    assert seen["udp"].startswith("OSError: [Errno 97]")
    assert seen["ipv6"].startswith("OSError: [Errno 97]")
    assert seen["raw_socket_via_ctypes"] == -1
    assert seen["interfaces"] == ["lo"]
    assert seen["routes"] == []
    assert seen["unix_pair"] == "ok: 2"  # Unix sockets inside the job stay usable


def test_every_namespace_is_new(sandbox: ProcessSandbox) -> None:
    kinds = ["user", "pid", "net", "mnt", "ipc", "uts", "cgroup"]
    seen = observe(
        sandbox,
        f"""
        import os, socket
        plan = {{"ns": {{k: os.readlink(f"/proc/self/ns/{{k}}") for k in {kinds!r}}},
                 "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
                 "hostname": socket.gethostname(),
                 "uid_map": open("/proc/self/uid_map").read().split()}}
        """,
    )
    host = {k: os.readlink(f"/proc/self/ns/{k}") for k in kinds}
    for kind in kinds:
        assert seen["ns"][kind] != host[kind], kind
    assert max(seen["pids"]) <= 3
    assert seen["hostname"] == "sandbox"
    assert seen["uid_map"] == ["0", str(os.getuid()), "1"] or seen["uid_map"][2] == "1"


def test_no_privileges_and_the_filter_is_loaded(sandbox: ProcessSandbox) -> None:
    seen = observe(
        sandbox,
        """
        status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
        plan = {k: status[k].strip() for k in
                ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")}
        """,
    )
    zero = "0000000000000000"
    assert seen == {
        "CapInh": zero,
        "CapPrm": zero,
        "CapEff": zero,
        "CapBnd": zero,
        "CapAmb": zero,
        "NoNewPrivs": "1",
        "Seccomp": "2",
    }


def test_the_environment_is_scrubbed(
    sandbox: ProcessSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_KEY_DIR", "/secret/keys")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2")
    seen = observe(sandbox, "import os\nplan = dict(os.environ)")
    seen.pop("PWD", None)  # bubblewrap sets the working directory's name
    assert seen == INSIDE_ENV


def test_rlimits_are_set(sandbox: ProcessSandbox) -> None:
    seen = observe(
        sandbox,
        """
        import resource as r
        plan = {n: list(r.getrlimit(getattr(r, "RLIMIT_" + n)))
                for n in ("CPU", "AS", "FSIZE", "NPROC", "NOFILE", "CORE")}
        """,
    )
    limits = sandbox.limits
    assert seen == {
        "CPU": [limits.cpu_seconds, limits.cpu_seconds + 1],
        "AS": [limits.address_space_bytes] * 2,
        "FSIZE": [limits.file_size_bytes] * 2,
        "NPROC": [limits.processes] * 2,
        "NOFILE": [limits.open_files] * 2,
        "CORE": [0, 0],
    }


def test_no_process_can_be_started(sandbox: ProcessSandbox) -> None:
    marker = f"/tmp/system-ran-{uuid.uuid4().hex}"
    seen = observe(
        sandbox,
        f"""
        import ctypes, os, subprocess
        libc = ctypes.CDLL(None, use_errno=True)
        def errno_of(result):
            return (result, ctypes.get_errno())
        plan = {{
            "fork": attempt(os.fork),
            "subprocess": attempt(lambda: subprocess.run(["/usr/bin/true"])),
            "posix_spawn": attempt(lambda: os.posix_spawn("/usr/bin/true", ["true"], {{}})),
            "system": os.system("touch {marker}"),
            "system_ran": os.path.exists("{marker}"),
            "ctypes_fork": errno_of(libc.fork()),
            "ctypes_unshare_user": errno_of(libc.unshare(0x10000000)),
            "ctypes_mount": errno_of(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
            "ctypes_ptrace": errno_of(libc.ptrace(16, 1, 0, 0)),
            "ctypes_bpf": errno_of(libc.syscall(321, 0, 0, 0)),
        }}
        """,
    )
    eperm = [-1, 1]
    assert seen["fork"].startswith("PermissionError")
    assert seen["subprocess"].startswith("PermissionError")
    assert seen["posix_spawn"].startswith("PermissionError")
    assert seen["system"] != 0
    assert seen["system_ran"] is False
    for name in ("ctypes_fork", "ctypes_unshare_user", "ctypes_mount", "ctypes_ptrace"):
        assert seen[name] == eperm, (name, seen[name])
    assert seen["ctypes_bpf"] == eperm  # x86_64 bpf(2)
    assert not Path(marker).exists()


def test_duckdb_from_analysis_code_reaches_nothing(
    sandbox: ProcessSandbox, deployment: Deployment
) -> None:
    seen = observe(
        sandbox,
        f"""
        import duckdb, glob, sys
        con = duckdb.connect()
        httpfs = glob.glob(sys.prefix + "/lib/**/httpfs.duckdb_extension", recursive=True)
        plan = {{
            "attach": attempt(lambda: con.execute("ATTACH '{deployment.extract}' AS e")),
            "read_csv": attempt(lambda: con.execute(
                "SELECT * FROM read_csv('/etc/passwd')").fetchall()),
            "copy": attempt(lambda: con.execute("COPY (SELECT 42) TO '/usr/leak.csv'")),
            "install": attempt(lambda: con.execute("INSTALL httpfs")),
            "load": attempt(lambda: con.execute(f"LOAD '{{httpfs[0]}}'")),
            "http": attempt(lambda: con.execute(
                "SELECT * FROM read_csv('http://192.0.2.1/data.csv')").fetchall()),
        }}
        """,
    )
    assert seen["attach"].startswith("IOException"), seen["attach"]
    assert seen["read_csv"].startswith("IOException"), seen["read_csv"]
    assert seen["copy"].startswith("IOException"), seen["copy"]
    assert "Read-only file system" in seen["copy"] or "No such file" in seen["copy"]
    assert seen["install"].startswith(("IOException", "HTTPException")), seen["install"]
    # the bundled extension can be loaded, but its network access reaches nothing
    assert seen["load"].startswith("ok"), seen["load"]
    assert seen["http"].startswith(("IOException", "HTTPException")), seen["http"]


def test_kernel_settings_cannot_be_written(sandbox: ProcessSandbox) -> None:
    """/proc/sys files are writable by uid 0 even without capabilities; /proc is read-only."""
    targets = [
        "/proc/sys/kernel/core_pattern",
        "/proc/sys/vm/drop_caches",
        "/proc/sys/kernel/printk",
        "/proc/self/oom_score_adj",
    ]
    seen = observe(
        sandbox,
        f"""
        import os
        plan = {{p: attempt(lambda p=p: os.close(os.open(p, os.O_WRONLY))) for p in {targets!r}}}
        plan["sysrq"] = os.path.exists("/proc/sysrq-trigger")
        plan["sys"] = os.listdir("/sys") if os.path.exists("/sys") else None
        """,
    )
    for target in targets:
        assert seen[target].startswith(("OSError: [Errno 30]", "PermissionError")), seen[target]
    assert seen["sysrq"] is False
    assert seen["sys"] is None
