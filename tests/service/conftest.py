"""Named service configurations: the metadata database on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.db import engine_for
from gateway.policy import Policy, load_policy
from tests.conftest import postgres_url
from tests.service.factories import Api, make_api

POLICY = Path(__file__).parents[2] / "policies" / "health_thing.yaml"


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(POLICY)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A fresh SQLite metadata database."""
    return Settings(data_dir=tmp_path, job_lease_seconds=30)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """A fresh metadata database on each backend (PostgreSQL in a private schema)."""
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, job_lease_seconds=30)
    else:
        schema = request.getfixturevalue("postgres_schema")
        settings = Settings(
            data_dir=tmp_path, database_url=postgres_url(schema), job_lease_seconds=30
        )
    yield settings
    engine_for(settings.metadata_url).dispose()


@pytest.fixture
def api(settings: Settings, policy: Policy) -> Api:
    """The service over SQLite: ann and bob (researchers), rita (reviewer), adam (admin)."""
    return make_api(settings, policy)
