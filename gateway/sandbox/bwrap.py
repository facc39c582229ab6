"""The bubblewrap backend (preferred): one ``bwrap`` call builds the whole jail.

New user, pid, network, mount, IPC, UTS and cgroup namespaces; no further user
namespaces inside; all capabilities dropped; a root that is an empty tmpfs
remounted read-only once the allowlisted binds (``view.py``) are in place;
``/tmp`` a private tmpfs of fixed size; ``/proc`` of the new pid namespace;
a minimal ``/dev``; a cleared environment; a new session; killed with its
parent. The syscall filter is loaded by bwrap just before it executes
``prlimit``, which sets the rlimits inside the new user namespace (where
RLIMIT_NPROC counts only the job's tasks) and executes the interpreter.
bubblewrap brings up a loopback interface in the new network namespace; it
reaches only the sandbox itself and the filter refuses IP sockets anyway.
"""

from __future__ import annotations

from pathlib import Path

from gateway.sandbox.process import INSIDE_ENV, ProcessSandbox, inside_argv, rlimit_argv
from gateway.sandbox.view import View


class BubblewrapSandbox(ProcessSandbox):
    name = "bwrap"
    default_launcher = Path("/usr/bin/bwrap")

    def command(self, view: View, kind: str, seccomp_fd: int) -> list[str]:
        argv = [
            str(self.launcher),
            "--unshare-all",
            "--unshare-user",
            "--disable-userns",
            "--cap-drop",
            "ALL",
            "--die-with-parent",
            "--new-session",
            "--hostname",
            "sandbox",
            "--clearenv",
        ]
        for name, value in INSIDE_ENV.items():
            argv += ["--setenv", name, value]
        for link in view.links:
            argv += ["--symlink", link.target, str(link.path)]
        for bind in view.binds:
            argv += ["--ro-bind", str(bind.source), str(bind.target)]
        argv += [
            "--proc",
            "/proc",
            "--remount-ro",
            "/proc",
            "--dev",
            "/dev",
            "--remount-ro",
            "/dev",
            "--size",
            str(view.scratch_bytes),
            "--tmpfs",
            str(view.scratch),
            "--remount-ro",
            "/",
            "--chdir",
            str(view.scratch),
            "--seccomp",
            str(seccomp_fd),
            "--",
            "/usr/bin/prlimit",
            *rlimit_argv(self.limits),
            "--",
            *inside_argv(self.python, kind),
        ]
        return argv
