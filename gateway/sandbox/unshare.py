"""The ``unshare`` backend: util-linux ``unshare`` makes the namespaces, ``jail.py`` the rest.

Used when bubblewrap is missing or cannot run. The same view, rlimits,
syscall filter and environment as the bubblewrap backend; the loopback
interface of the new network namespace stays down. ``setpriv --pdeathsig``
kills the chain when the gateway dies, and ``unshare --kill-child`` takes the
job's pid namespace with it.
"""

from __future__ import annotations

import json
from pathlib import Path

from gateway.sandbox.process import INSIDE_ENV, ProcessSandbox, inside_argv, rlimits
from gateway.sandbox.view import View

SETPRIV = Path("/usr/bin/setpriv")


class UnshareSandbox(ProcessSandbox):
    name = "unshare"
    default_launcher = Path("/usr/bin/unshare")

    def command(self, view: View, kind: str, seccomp_fd: int) -> list[str]:
        plan = {
            "binds": [(str(b.source), str(b.target)) for b in view.binds],
            "links": [(link.target, str(link.path)) for link in view.links],
            "scratch": str(view.scratch),
            "scratch_bytes": view.scratch_bytes,
            "rlimits": rlimits(self.limits),
            "hostname": "sandbox",
            "env": INSIDE_ENV,
            "seccomp_fd": seccomp_fd,
        }
        return [
            str(SETPRIV),
            "--pdeathsig",
            "KILL",
            "--",
            str(self.launcher),
            "--user",
            "--map-root-user",
            "--net",
            "--mount",
            "--pid",
            "--fork",
            "--kill-child",
            "--ipc",
            "--uts",
            "--cgroup",
            "--propagation",
            "private",
            "--",
            str(self.python),
            "-I",
            "-S",
            "-B",
            str(self.package_source / "sandbox" / "jail.py"),
            json.dumps(plan),
            "--",
            *inside_argv(self.python, kind),
        ]
