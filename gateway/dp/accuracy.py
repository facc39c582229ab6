"""``kept_accuracy``: each aggregate's expected error at an ε, calibrated once per shape.

``predict_accuracy`` reads it from OpenDP's calibration of the query's
shape, which needs OpenDP itself: about 1.5 s to import, then a search. What
a calibration predicts holds no data, so it may be kept in the data
directory (``KeptAccuracy``), by what decides the shape (the plan without
its filter, the policy, ε and the engine): a later process that meets the
shape again reads the prediction instead, without OpenDP, Polars or even
DuckDB. The files are the trusted side's own and still checked when read:
one that does not parse or was kept for another shape is ignored and the
shape calibrated again.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from gateway.dp.release import engine_version
from gateway.kept import Kept, KeptEntry
from gateway.plan import QueryPlan
from gateway.policy.epsilon import check_epsilon
from gateway.policy.load import policy_hash
from gateway.policy.model import Policy

if TYPE_CHECKING:
    from gateway.config import Settings

FORMAT = 1
"""Part of every key: raise it when what a prediction means changes."""

FOLDER = "calibrations"
"""Where in the data directory ``KeptAccuracy`` keeps its files."""


class KeptPrediction(KeptEntry):
    """What ``predict_accuracy`` said of one shape, kept by ``shape_key``."""

    predicted: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]]


def shape_key(plan: QueryPlan, policy: Policy, epsilon: float) -> str:
    """Names a shape without building it: the plan less its filter (which a shape leaves
    out), the policy, ε and the engine that calibrates it."""
    unfiltered = plan.model_copy(update={"where": None}).plan_hash()
    decided = f"{FORMAT} {engine_version()} {policy_hash(policy)} {epsilon!r} {unfiltered}"
    return hashlib.sha256(decided.encode()).hexdigest()


class KeptAccuracy(Kept[KeptPrediction]):
    """Predictions in the data directory of ``settings``, one JSON file per shape.

    Nothing here can fail a prediction: a file that cannot be read or written
    only costs a calibration.
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.data_dir / FOLDER, KeptPrediction)

    def get(self, key: str) -> dict[str, float] | None:
        """The prediction kept for ``key``, if a valid file holds it."""
        kept = self.read(key)
        return None if kept is None else kept.predicted

    def put(self, key: str, predicted: dict[str, float]) -> None:
        self.write(KeptPrediction(key=key, predicted=predicted))


def kept_accuracy(
    plan: QueryPlan, policy: Policy, epsilon: float, kept: KeptAccuracy
) -> dict[str, float]:
    """``predict_accuracy``, read from ``kept`` when the shape was predicted before, and kept
    there when it was not."""
    check_epsilon(policy, epsilon)
    key = shape_key(plan, policy, epsilon)
    predicted = kept.get(key)
    if predicted is None:
        from gateway.dp.engine import predict_accuracy

        predicted = predict_accuracy(plan, policy, epsilon)
        kept.put(key, predicted)
    return predicted
