"""The release store: an identical question on the same extract gets the same answer.

It lives on the trusted side, beside the metadata database: the pipeline
asks it before any sandbox starts, and keeps what the engine released.
Releases are kept by the question they answer (``question``: plan,
extract, ε, policy and engine). Asking again returns the stored release,
marked ``from_store`` and charged nothing, so repeating a query cannot
average its noise away; under another policy or engine it is a new question.
Only the release is kept: it is already DP; nothing un-noised is written here.

Beside it, the tuning store keeps what calibrations found (``tuning``), by
the search they answer, so that a query job need not search again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib

from sqlalchemy import DateTime, Float, String, Text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from gateway.config import Settings
from gateway.db import Base, session
from gateway.dp.release import Release, engine_version
from gateway.dp.tuning import Tuning
from gateway.plan import QueryPlan
from gateway.policy import Policy, policy_hash


def question(plan: QueryPlan, policy: Policy, epsilon: float, extract_hash: str) -> str:
    """The key a release is kept by: only an identical question gets it again.

    A changed policy (bounds, δ, confidence, ``min_group_members``) or engine
    asks another question, even of the same extract.
    """
    asked = (
        f"{plan.plan_hash()} {extract_hash} {epsilon!r} {policy_hash(policy)} {engine_version()}"
    )
    return hashlib.sha256(asked.encode()).hexdigest()


class StoredRelease(Base):
    __tablename__ = "dp_releases"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    plan_hash: Mapped[str] = mapped_column(String(64))
    extract_hash: Mapped[str] = mapped_column(String(64))
    epsilon: Mapped[float] = mapped_column(Float)
    policy_hash: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    release: Mapped[str] = mapped_column(Text)


class ReleaseStore:
    """Releases in the metadata database of ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def get(self, key: str) -> Release | None:
        """The stored release for the question ``key`` (``question``), charged nothing."""
        with session(self.settings) as s:
            row = s.get(StoredRelease, key)
            return None if row is None else _from_store(Release.model_validate_json(row.release))

    def put(self, key: str, release: Release) -> Release:
        """Keep ``release`` as the answer to ``key``; if it was answered meanwhile, return that."""
        try:
            with session(self.settings) as s:
                s.add(
                    StoredRelease(
                        key=key,
                        plan_hash=release.plan_hash,
                        extract_hash=release.extract_hash,
                        epsilon=release.epsilon,
                        policy_hash=release.policy_hash,
                        engine=release.engine,
                        created_at=release.created_at,
                        release=release.model_dump_json(),
                    )
                )
        except IntegrityError:
            stored = self.get(key)
            assert stored is not None
            return stored
        return release


class StoredTuning(Base):
    __tablename__ = "dp_tunings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    tuning: Mapped[str] = mapped_column(Text)


class TuningStore:
    """Calibration outcomes in the metadata database of ``settings``, by ``tuning_key``.

    They hold no data and bind nothing: the engine uses one only if OpenDP
    finds it within the loss asked for, so a wrong or outdated entry costs a
    search, never privacy.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def get(self, key: str) -> Tuning | None:
        with session(self.settings) as s:
            row = s.get(StoredTuning, key)
            return None if row is None else Tuning.model_validate_json(row.tuning)

    def put(self, key: str, tuning: Tuning) -> None:
        """Keep ``tuning`` for ``key``, replacing what was kept before.

        If another process keeps one for the same key at the same moment, theirs stays.
        """
        row = StoredTuning(
            key=key, created_at=dt.datetime.now(dt.UTC), tuning=tuning.model_dump_json()
        )
        with contextlib.suppress(IntegrityError), session(self.settings) as s:
            s.merge(row)


def _from_store(release: Release) -> Release:
    return release.model_copy(
        update={
            "from_store": True,
            "epsilon_spent": 0.0,
            "delta_spent": 0.0,
            "rho_spent": None if release.rho is None else 0.0,
        }
    )
