"""The syscall filter: a deny list that removes what a job never needs.

Namespaces already hide the host; this filter shrinks the kernel surface a
job can touch and stops what rlimits cannot stop when the gateway runs as
root (the kernel does not apply RLIMIT_NPROC to uid 0): no new processes
(``clone`` only with ``CLONE_THREAD``), no sockets but Unix ones, no
namespaces, mounts, tracing, BPF, io_uring, keyrings, modules or clocks.
Denied calls fail with ``EPERM``; ``clone3`` says ``ENOSYS`` so the C library
falls back to ``clone``, whose flags the filter can inspect.

The filter is compiled once per process by libseccomp (through ``pyseccomp``)
into classic BPF, which the backends load just before the job's first
``execve``; ``no_new_privs`` is set before it, so it cannot be shed.
"""

from __future__ import annotations

import errno
import os
import socket
from functools import cache

from gateway.errors import SandboxError

DENIED = (
    # processes and execution contexts
    "fork",
    "vfork",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    "personality",
    # namespaces and filesystems
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "open_by_handle_at",
    "name_to_handle_at",
    "quotactl",
    "swapon",
    "swapoff",
    # kernel attack surface
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "keyctl",
    "add_key",
    "request_key",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "acct",
    "syslog",
    "iopl",
    "ioperm",
    "fanotify_init",
    # host clocks and names
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
)

CLONE_THREAD = 0x00010000
CLONE_NEW_FLAGS = (
    0x00000080,  # CLONE_NEWTIME
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)


@cache
def filter_bpf() -> bytes:
    """The compiled filter, or ``SandboxError`` if libseccomp is missing (fail closed)."""
    try:
        import pyseccomp as sc
    except (ImportError, RuntimeError) as err:
        raise SandboxError(
            "seccomp_unavailable",
            f"cannot build the syscall filter: {err}",
            hint="install libseccomp (apt-get install libseccomp2)",
        ) from None
    deny = sc.ERRNO(errno.EPERM)
    flt = sc.SyscallFilter(sc.ALLOW)
    for name in DENIED:
        flt.add_rule(deny, name)
    flt.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    for flag in CLONE_NEW_FLAGS:
        flt.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    flt.add_rule(sc.ERRNO(errno.EAFNOSUPPORT), "socket", sc.Arg(0, sc.NE, socket.AF_UNIX))
    fd = os.memfd_create("seccomp", os.MFD_CLOEXEC)
    try:
        with open(fd, "w+b", closefd=False) as out:
            flt.export_bpf(out)
            out.seek(0)
            return out.read()
    finally:
        os.close(fd)


def filter_fd() -> int:
    """A fresh readable fd holding the BPF program, for one child to inherit."""
    fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
    os.write(fd, filter_bpf())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
