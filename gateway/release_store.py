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
from collections.abc import Mapping

from pydantic import TypeAdapter
from sqlalchemy import Column, DateTime, Float, String, Table, Text, insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.config import Settings
from gateway.db import METADATA, connection
from gateway.dp.release import Release, engine_version
from gateway.dp.tuning import Tuning
from gateway.plan import QueryPlan
from gateway.policy import Policy, policy_hash

RELEASES = Table(
    "dp_releases",
    METADATA,
    Column("key", String(64), primary_key=True),
    Column("plan_hash", String(64), nullable=False),
    Column("extract_hash", String(64), nullable=False),
    Column("epsilon", Float, nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("engine", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("release", Text, nullable=False),
)
"""Every release kept, by the question it answers."""

TUNINGS = Table(
    "dp_tunings",
    METADATA,
    Column("key", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("tuning", Text, nullable=False),
)
"""Every calibration outcome kept, by the search it answers (``tuning_key``)."""


def question(plan: QueryPlan, policy: Policy, epsilon: float, extract_hash: str) -> str:
    """The key a release is kept by: only an identical question gets it again.

    A changed policy (bounds, δ, confidence, ``min_group_members``) or engine
    asks another question, even of the same extract.
    """
    asked = (
        f"{plan.plan_hash()} {extract_hash} {epsilon!r} {policy_hash(policy)} {engine_version()}"
    )
    return hashlib.sha256(asked.encode()).hexdigest()


class ReleaseStore:
    """Releases in the metadata database of ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def get(self, key: str) -> Release | None:
        """The stored release for the question ``key`` (``question``), charged nothing."""
        with connection(self.settings) as c:
            found = c.execute(select(RELEASES.c.release).where(RELEASES.c.key == key)).scalar()
        return None if found is None else _from_store(Release.model_validate_json(found))

    def put(self, key: str, release: Release) -> Release:
        """Keep ``release`` as the answer to ``key``; if it was answered meanwhile, return that."""
        try:
            with connection(self.settings) as c:
                c.execute(
                    insert(RELEASES).values(
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


class TuningStore:
    """Calibration outcomes in the metadata database of ``settings``, by ``tuning_key``.

    They hold no data and bind nothing: the engine uses one only if OpenDP
    finds it within the loss asked for, so a wrong or outdated entry costs a
    search, never privacy. Beside each shape's tuning, the searches its jobs
    did (``searches``): a query with chosen bounds calibrates shapes that only
    its data name.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def get(self, key: str) -> Tuning | None:
        found = self._read(key)
        return None if found is None else Tuning.model_validate_json(found)

    def put(self, key: str, tuning: Tuning) -> None:
        """Keep ``tuning`` for ``key``, replacing what was kept before."""
        self._write(key, tuning.model_dump_json())

    def searches(self, key: str) -> dict[str, Tuning]:
        """What the jobs of ``key``'s shape searched for, by ``search_key``."""
        found = self._read(_searches_key(key))
        return {} if found is None else SEARCHES.validate_json(found)

    def keep_searches(self, key: str, searched: Mapping[str, Tuning]) -> None:
        """Add ``searched`` to what the jobs of ``key``'s shape searched for."""
        merged = self.searches(key) | dict(searched)
        self._write(_searches_key(key), SEARCHES.dump_json(merged).decode())

    def _read(self, key: str) -> str | None:
        with connection(self.settings) as c:
            found = c.execute(select(TUNINGS.c.tuning).where(TUNINGS.c.key == key)).scalar()
        return None if found is None else str(found)

    def _write(self, key: str, value: str) -> None:
        """If another process writes the same key at the same moment, theirs stays."""
        row = {"created_at": dt.datetime.now(dt.UTC), "tuning": value}
        with contextlib.suppress(IntegrityError), connection(self.settings) as c:
            replaced = c.execute(update(TUNINGS).where(TUNINGS.c.key == key).values(row))
            if replaced.rowcount == 0:
                c.execute(insert(TUNINGS).values(key=key, **row))


SEARCHES: TypeAdapter[dict[str, Tuning]] = TypeAdapter(dict[str, Tuning])


def _searches_key(key: str) -> str:
    """Where the searches of ``key``'s shape are kept: a key of the same length."""
    return hashlib.sha256(f"searches {key}".encode()).hexdigest()


def _from_store(release: Release) -> Release:
    return release.model_copy(
        update={
            "from_store": True,
            "epsilon_spent": 0.0,
            "delta_spent": 0.0,
            "rho_spent": None if release.rho is None else 0.0,
        }
    )
