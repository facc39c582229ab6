"""Choosing the sandbox: bubblewrap if it works, else ``unshare``, else nothing runs.

Each candidate is probed once per process by running a real trivial job
through it (namespaces, mounts, rlimits, syscall filter and all), so a
machine where, say, user namespaces are disabled is caught before any real
job is accepted. ``GATEWAY_INSECURE_NO_SANDBOX`` is the only way around a
missing backend, and it is refused in production.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from gateway.config import Settings
from gateway.errors import GatewayError, SandboxError
from gateway.sandbox.bwrap import BubblewrapSandbox
from gateway.sandbox.insecure import InsecureSandbox
from gateway.sandbox.jobs import AnalysisJob
from gateway.sandbox.limits import Limits
from gateway.sandbox.process import ProcessSandbox
from gateway.sandbox.protocol import Sandbox, run_analysis
from gateway.sandbox.seccomp import filter_bpf
from gateway.sandbox.unshare import SETPRIV, UnshareSandbox
from gateway.sandbox.view import PACKAGE_DIR

log = logging.getLogger(__name__)

BACKENDS: tuple[type[ProcessSandbox], ...] = (BubblewrapSandbox, UnshareSandbox)
_PROBE = AnalysisJob(
    code="from gateway.analyses import Analysis, count, table\n"
    "print(6 * 7)\n"
    "analysis = Analysis('probe').add('n', table('tips').agg(count()))"
)
_probed: dict[tuple[str, Path, Path, Path], str | None] = {}


def probe(sandbox: ProcessSandbox) -> str | None:
    """Why ``sandbox`` cannot run jobs here, or None if a trivial job works."""
    key = (sandbox.name, sandbox.launcher, sandbox.python, sandbox.package_source)
    if key in _probed:
        return _probed[key]
    needed = [sandbox.launcher] + ([SETPRIV] if isinstance(sandbox, UnshareSandbox) else [])
    missing = [str(path) for path in needed if not os.access(path, os.X_OK)]
    if missing:
        reason: str | None = f"{' and '.join(missing)} not found"
    else:
        try:
            collected = run_analysis(
                sandbox, _PROBE.model_copy(update={"job_id": f"probe-{sandbox.name}"})
            )
            printed = collected.output
            reason = None if printed == "42\n" else f"probe job printed {printed!r}"
        except GatewayError as err:
            reason = f"probe job failed [{err.code}]: {err.message}"
    _probed[key] = reason
    return reason


def make_sandbox(
    settings: Settings,
    limits: Limits | None = None,
    *,
    backends: tuple[type[ProcessSandbox], ...] = BACKENDS,
    launchers: dict[str, Path] | None = None,
    package_source: Path = PACKAGE_DIR,
) -> Sandbox:
    """The first working backend, or ``SandboxError('sandbox_unavailable')`` naming what is missing.

    ``launchers`` overrides a backend's executable by name (``bwrap``, ``unshare``).
    """
    if settings.insecure_no_sandbox:
        return InsecureSandbox(settings, limits)
    filter_bpf()  # fail closed without libseccomp
    reasons = []
    for backend in backends:
        sandbox = backend(
            limits,
            launcher=(launchers or {}).get(backend.name),
            package_source=package_source,
            python=Path(sys.executable),
        )
        reason = probe(sandbox)
        if reason is None:
            log.info("sandbox backend: %s", sandbox.name)
            return sandbox
        log.warning("sandbox backend %s unavailable: %s", backend.name, reason)
        reasons.append(f"{backend.name}: {reason}")
    raise SandboxError(
        "sandbox_unavailable",
        "no sandbox backend works, so no job will run ("
        + ("; ".join(reasons) or "no backend configured")
        + ")",
        hint="install bubblewrap (apt-get install bubblewrap) or allow user namespaces; "
        "GATEWAY_INSECURE_NO_SANDBOX=true exists for local development only",
    )
