"""Fixtures every part shares: the metadata database on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

from gateway.config import Settings
from gateway.db import engine_for

# Timing is not what property tests check: a draw slowed by a busy machine is no failure.
settings.register_profile("gateway", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("gateway")

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A private schema on the local PostgreSQL server, dropped afterwards."""
    admin = create_engine(POSTGRES)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # any failure means no server here
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    yield schema
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def postgres_url(schema: str) -> str:
    """The URL of the test server with ``schema`` first on the search path."""
    return f"{POSTGRES}?options=-csearch_path%3D{schema}"


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
