"""Isolated, resource-limited execution of queries and analyses; fails closed.

``make_sandbox(settings)`` picks a backend; ``run_query`` and ``run_analysis``
drive a job through ``prepare -> execute -> finalize -> cleanup``. See
``docs/sandbox.md`` for the threat model and every layer of defence.
"""

from gateway.sandbox.backends import make_sandbox
from gateway.sandbox.bwrap import BubblewrapSandbox
from gateway.sandbox.insecure import InsecureSandbox
from gateway.sandbox.jobs import AnalysisJob, Job, QueryJob
from gateway.sandbox.limits import Limits
from gateway.sandbox.protocol import Sandbox, Step, run, run_analysis, run_query
from gateway.sandbox.stub import StubSandbox
from gateway.sandbox.unshare import UnshareSandbox

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
