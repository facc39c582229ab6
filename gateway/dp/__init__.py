"""DP engine: a vetted plan over an extract in, a differentially private release out.

``execute`` and ``predict_accuracy`` import OpenDP and Polars; import this
package lazily where start-up time matters.
"""

from gateway.dp.engine import budget_split, check_epsilon, execute, predict_accuracy
from gateway.dp.release import Release
from gateway.dp.store import ReleaseStore

__all__ = [
    "Release",
    "ReleaseStore",
    "budget_split",
    "check_epsilon",
    "execute",
    "predict_accuracy",
]
