"""DP engine: a vetted plan over an extract in, a differentially private release out.

OpenDP and Polars are imported when a query is computed, not when this
package is: a refusal, or an answer from the release store, does not wait.
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
