"""Isolated, resource-limited execution of queries and analyses; fails closed.

``make_sandbox(settings)`` picks a backend; ``run_query`` and ``run_analysis``
drive a job through ``prepare -> execute -> finalize -> cleanup``. See
``docs/sandbox.md`` for the threat model and every layer of defence.

Names are loaded on first use: the sandbox's own entry point lives in this
package and must not pay for the trusted side's imports at every start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.sandbox.backends import make_sandbox
    from gateway.sandbox.bwrap import BubblewrapSandbox
    from gateway.sandbox.insecure import InsecureSandbox
    from gateway.sandbox.jobs import AnalysisJob, Job, QueryJob
    from gateway.sandbox.limits import Limits
    from gateway.sandbox.protocol import Sandbox, Step, run, run_analysis, run_query
    from gateway.sandbox.stub import StubSandbox
    from gateway.sandbox.unshare import UnshareSandbox

_HOMES = {
    "make_sandbox": "backends",
    "BubblewrapSandbox": "bwrap",
    "InsecureSandbox": "insecure",
    "AnalysisJob": "jobs",
    "Job": "jobs",
    "QueryJob": "jobs",
    "Limits": "limits",
    "Sandbox": "protocol",
    "Step": "protocol",
    "run": "protocol",
    "run_analysis": "protocol",
    "run_query": "protocol",
    "StubSandbox": "stub",
    "UnshareSandbox": "unshare",
}
__all__ = [
    "AnalysisJob",
    "BubblewrapSandbox",
    "InsecureSandbox",
    "Job",
    "Limits",
    "QueryJob",
    "Sandbox",
    "Step",
    "StubSandbox",
    "UnshareSandbox",
    "make_sandbox",
    "run",
    "run_analysis",
    "run_query",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'gateway.sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(f"gateway.sandbox.{_HOMES[name]}"), name)
