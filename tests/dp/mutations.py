"""Planted bugs: what the privacy audits must catch, each at the narrowest seam.

Each mutation patches one thing with ``monkeypatch`` (undone after the test)
and leaves OpenDP's accountant content: it is a bug the engine's own checks
do not see, so only the empirical audit can. None of them puts a wrong
calibration into ``calibrate``'s cache: the calibration mutations wrap it.

Private names used here, to adapt if they change: ``frame._Sql`` (the frame's
SQL, which reads the bounds from its ``shape``) and ``mechanism._calibrate``
(builds one measurement from a ``Tuning`` within a given loss).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from gateway.dp import frame, mechanism
from gateway.dp.shape import Shape
from gateway.dp.tuning import Noise

Mutation = Callable[[pytest.MonkeyPatch], None]

LOOSE_DELTA = 0.5
"""The δ OpenDP is given where a mutation must slip a lower threshold past its accountant."""


def _frame_bounds(rows: int, cells: int) -> Mutation:
    """The frame keeps ``rows`` × per_group rows per member and cell, in ``cells`` × num_groups
    cells; OpenDP is still told the policy's bounds (``mechanism.bounds``)."""

    def plant(monkeypatch: pytest.MonkeyPatch) -> None:
        sql_init: Any = frame._Sql.__init__

        def init(self: Any, plan: Any, policy: Any, shape: Shape) -> None:
            loose = replace(
                shape, per_group=shape.per_group * rows, num_groups=shape.num_groups * cells
            )
            sql_init(self, plan, policy, loose)

        monkeypatch.setattr(frame._Sql, "__init__", init)

    return plant


Change = Callable[[Shape, mechanism.Calibration, float], mechanism.Calibration | None]


def _calibration(change: Change) -> Mutation:
    """``calibrate`` returns what ``change`` makes of the right calibration, stating its ε, δ."""

    def plant(monkeypatch: pytest.MonkeyPatch) -> None:
        right_calibrate = mechanism.calibrate

        def calibrate(shape: Shape, confidence: float, tuning: Any = None) -> mechanism.Calibration:
            right = right_calibrate(shape, confidence, tuning)
            wrong = change(shape, right, confidence)
            assert wrong is not None, "OpenDP's accountant refused the planted bug"
            return replace(wrong, epsilon=right.epsilon, delta=right.delta)

        monkeypatch.setattr(mechanism, "calibrate", calibrate)

    return plant


def _half_scale(
    shape: Shape, right: mechanism.Calibration, confidence: float
) -> mechanism.Calibration | None:
    """Laplace noise at half the scale; OpenDP is given 2ε, so that its accountant agrees."""
    assert right.noise is Noise.LAPLACE, "halving the scale doubles ε only for Laplace noise"
    halved = right.tuning.model_copy(update={"scale": right.tuning.scale / 2})
    return mechanism._calibrate(
        replace(shape, epsilon=2 * shape.epsilon), right.noise, confidence, halved
    )


def _half_threshold(
    shape: Shape, right: mechanism.Calibration, confidence: float
) -> mechanism.Calibration | None:
    """Private groups shown from half the noisy size; OpenDP is given a δ that allows it."""
    assert right.tuning.threshold is not None, "the group keys are not private"
    lowered = right.tuning.model_copy(update={"threshold": right.tuning.threshold // 2})
    return mechanism._calibrate(replace(shape, delta=LOOSE_DELTA), right.noise, confidence, lowered)


MUTATIONS: dict[str, Mutation] = {
    "rows_per_cell_x5": _frame_bounds(rows=5, cells=1),
    "cells_per_member_x5": _frame_bounds(rows=1, cells=5),
    "bounds_x5": _frame_bounds(rows=5, cells=5),
    "noise_scale_halved": _calibration(_half_scale),
    "threshold_halved": _calibration(_half_threshold),
}
