"""DP engine: a vetted plan over an extract in, a differentially private release out.

OpenDP and Polars are imported when a query is computed, not when this
package is: a refusal, or an answer from the release store, does not wait.
The names below load on first use, so modules that need only the release
contract (``gateway.dp.release``: the sandbox's job documents, the analysis
SDK inside the sandbox) do not pay for the engine, SQLAlchemy or sqlglot.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.dp.engine import (
        budget_split,
        execute,
        predict_accuracy,
        tuning_for,
    )
    from gateway.dp.release import Release
    from gateway.dp.store import ReleaseStore, TuningStore

__all__ = [
    "Release",
    "ReleaseStore",
    "TuningStore",
    "budget_split",
    "execute",
    "predict_accuracy",
    "tuning_for",
]

_HOMES = {
    "Release": "gateway.dp.release",
    "ReleaseStore": "gateway.dp.store",
    "TuningStore": "gateway.dp.store",
    "budget_split": "gateway.dp.engine",
    "execute": "gateway.dp.engine",
    "predict_accuracy": "gateway.dp.engine",
    "tuning_for": "gateway.dp.engine",
}


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
