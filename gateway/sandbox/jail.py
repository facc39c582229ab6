"""Builds the jail for the ``unshare`` backend, then becomes the job.

``unshare`` has created the namespaces (user with root mapped to the caller,
pid, network, mount, IPC, UTS, cgroup) and runs this module as pid 1 of the
new pid namespace, with full capabilities *inside* the new user namespace
only. It does what bubblewrap would do, in the same order:

1. mount a tmpfs as a staging root and pivot into it (the host is at /oldroot)
2. bind the allowlisted paths read-only into a fresh tmpfs root, remounting
   every submount read-only with its locked flags kept
3. mount ``/proc`` of the new pid namespace, a minimal ``/dev``, the sized
   scratch tmpfs at ``/tmp``; detach the host; pivot into the new root and
   remount it read-only
4. fork the job (this process stays as pid 1 and reports the job's exit);
   in the job: set the hostname and the rlimits, drop every capability (bounding set,
   ambient, securebits ``noroot``), set ``no_new_privs``, load the syscall
   filter, and execute the job's interpreter with a fresh environment.

Invoked as ``python -I -S .../gateway/sandbox/jail.py PLAN_JSON -- ARGV...``:
standard library only, so no site-packages or gateway import slows it. Once
the host is detached nothing can be imported any more, so everything this
module uses is imported at the top.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import re
import resource
import socket
import sys
from pathlib import Path

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MNT_DETACH = 2
_STATVFS_TO_MS = {
    os.ST_RDONLY: MS_RDONLY,
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: MS_NOATIME,
    os.ST_NODIRATIME: MS_NODIRATIME,
    os.ST_RELATIME: MS_RELATIME,
}
PR_CAPBSET_DROP = 24
PR_SET_SECUREBITS = 28
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECUREBITS_LOCKED_NOROOT = 0x2F  # NOROOT, NO_SETUID_FIXUP, KEEP_CAPS_LOCKED and their locks
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
DEVICES = ("null", "zero", "full", "random", "urandom")
RLIMITS = {
    "cpu": resource.RLIMIT_CPU,
    "as": resource.RLIMIT_AS,
    "fsize": resource.RLIMIT_FSIZE,
    "nproc": resource.RLIMIT_NPROC,
    "nofile": resource.RLIMIT_NOFILE,
    "core": resource.RLIMIT_CORE,
}

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    enc = [None if s is None else s.encode() for s in (source, target, fstype, data)]
    _check(_libc.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]), f"mount {target}")


def umount(target: str) -> None:
    _check(_libc.umount2(target.encode(), MNT_DETACH), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    number = SYS_PIVOT_ROOT[platform.machine()]
    _check(_libc.syscall(number, new_root.encode(), put_old.encode()), "pivot_root")


def prctl(option: int, arg: int | ctypes.c_void_p = 0) -> None:
    _check(_libc.prctl(option, arg, 0, 0, 0), f"prctl {option}")


def _submounts(target: str) -> list[str]:
    """Mount points at or under ``target`` (mountinfo field 5, octal-escaped)."""
    points = []
    for line in Path("/oldroot/proc/self/mountinfo").read_text().splitlines():
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), line.split()[4])
        if point == target or point.startswith(target.rstrip("/") + "/"):
            points.append(point)
    return points


def bind_read_only(source: str, target: str) -> None:
    """Recursive bind, then every mount in it read-only, nosuid, nodev (locked flags kept)."""
    if Path(source).is_dir():
        Path(target).mkdir(parents=True, exist_ok=True)
    else:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).touch()
    mount(source, target, None, MS_BIND | MS_REC)
    for point in _submounts(target):
        kept = os.statvfs(point).f_flag
        flags = sum(ms for st, ms in _STATVFS_TO_MS.items() if kept & st)
        flags |= MS_RDONLY | MS_NOSUID | MS_NODEV
        mount(None, point, None, MS_REMOUNT | MS_BIND | flags)


def build_root(plan: dict[str, object]) -> None:
    """Steps 1-3 of the module docstring."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")  # noqa: S108
    os.chdir("/tmp")  # noqa: S108
    os.mkdir("newroot")
    os.mkdir("oldroot")
    mount("tmpfs", "newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    pivot_root(".", "oldroot")
    os.chdir("/")
    for source, target in plan["binds"]:  # type: ignore[attr-defined]
        bind_read_only("/oldroot" + source, "/newroot" + target)
    for target, path in plan["links"]:  # type: ignore[attr-defined]
        os.symlink(target, "/newroot" + path)
    os.makedirs("/newroot/proc")
    mount("proc", "/newroot/proc", "proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs("/newroot/dev")
    mount("tmpfs", "/newroot/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755")
    for device in DEVICES:
        Path("/newroot/dev", device).touch()
        mount(f"/oldroot/dev/{device}", f"/newroot/dev/{device}", None, MS_BIND)
    os.symlink("/proc/self/fd", "/newroot/dev/fd")
    mount(None, "/newroot/dev", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC)
    scratch = "/newroot" + str(plan["scratch"])
    os.makedirs(scratch, exist_ok=True)
    mount(
        "tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, f"size={plan['scratch_bytes']},mode=0755"
    )
    umount("/oldroot")
    os.chdir("/newroot")
    pivot_root(".", ".")
    umount(".")
    os.chdir("/")
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def confine(plan: dict[str, object]) -> None:
    """Step 4 up to the exec: hostname, rlimits, capabilities, no_new_privs, seccomp."""
    socket.sethostname(str(plan["hostname"]))
    for name, (soft, hard) in plan["rlimits"].items():  # type: ignore[attr-defined]
        resource.setrlimit(RLIMITS[name], (soft, hard))
    last_cap = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for cap in range(last_cap + 1):
        prctl(PR_CAPBSET_DROP, cap)
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient")
    prctl(PR_SET_SECUREBITS, SECUREBITS_LOCKED_NOROOT)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    with os.fdopen(int(str(plan["seccomp_fd"])), "rb") as bpf_file:
        bpf = bpf_file.read()
    program = ctypes.create_string_buffer(bpf, len(bpf))
    fprog = _SockFprog(len(bpf) // 8, ctypes.addressof(program))
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def main() -> None:
    """Build the root, then stay as pid 1 (signals to pid 1 are ignored, so the
    job must not be it) and report the job's end as ``bwrap`` does: its exit
    status, or 128 + the signal that killed it."""
    split = sys.argv.index("--")
    plan = json.loads(sys.argv[1])
    argv = sys.argv[split + 1 :]
    build_root(plan)
    child = os.fork()
    if child == 0:
        confine(plan)
        os.chdir(str(plan["scratch"]))
        os.execve(argv[0], argv, plan["env"])  # noqa: S606 (the job, not a shell)
    os.close(0)
    os.close(1)
    _, status = os.waitpid(child, 0)
    os._exit(128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
