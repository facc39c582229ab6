"""SQL vetting: parse with sqlglot, check against policy, compile to a plan.

``vet(sql, policy) -> QueryPlan`` is the entry point; ``vet_report`` adds the
ε check and never raises for a refused query. They load lazily, so modules
that need only the plan contract (``gateway.plan``: the DP engine, the
Python SDK inside the sandbox) do not pay for importing sqlglot.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.vet.report import VetReport, vet_report
    from gateway.vet.vetting import vet

__all__ = ["VetReport", "vet", "vet_report"]

_HOMES = {
    "vet": "gateway.vet.vetting",
    "VetReport": "gateway.vet.report",
    "vet_report": "gateway.vet.report",
}


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
