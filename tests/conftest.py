"""Fixtures every part shares: a private schema on the local PostgreSQL server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text

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
