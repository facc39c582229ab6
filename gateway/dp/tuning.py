"""What a calibration found, kept so that each query shape is searched for once.

Finding the least noise OpenDP certifies for a shape takes about a second
(some forty constructions for each kind of noise), and every query job runs
in a fresh sandbox process, which would search again. What the search finds
holds no data: the kind of noise, OpenDP's global scale and the threshold for
private groups. Given those, the engine builds that one measurement, and
OpenDP checks that it keeps within the loss asked for; a tuning that does not
is ignored and searched for again, never used.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from importlib.metadata import version
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from gateway.dp.shape import Shape

FORMAT = 1
"""Part of every key: raise it when what a tuning means changes."""


class Noise(StrEnum):
    LAPLACE = "laplace"
    GAUSSIAN = "gaussian (zCDP)"


class Tuning(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    noise: Noise
    scale: float = Field(gt=0, description="OpenDP's global scale of the noise")
    threshold: int | None = Field(
        default=None, ge=0, description="noisy size below which a private group is withheld"
    )


def tuning_key(shape: Shape, confidence: float) -> str:
    """Names the search a ``Tuning`` answers: the shape, the confidence and OpenDP's version."""
    searched = f"{FORMAT} {version('opendp')} {confidence!r} {shape!r}"
    return hashlib.sha256(searched.encode()).hexdigest()


def search_key(shape: Shape, noise: Noise, confidence: float) -> str:
    """Names one kind of noise's search for ``shape`` (``tuning_key``: the better of both)."""
    return f"{tuning_key(shape, confidence)}/{noise.name.lower()}"
