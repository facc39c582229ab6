"""The metadata database's schema comes from Alembic and matches the models."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from gateway.config import Settings
from gateway.db import MODEL_MODULES, Base, migrate

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _pending_changes(engine_url: str, settings: Settings) -> list[object]:
    for module in MODEL_MODULES:
        importlib.import_module(module)
    engine = migrate(settings)
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def test_sqlite_migrations_create_every_model_table(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert _pending_changes(settings.metadata_url, settings) == []
    tables = set(inspect(migrate(settings)).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


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


@pytest.mark.postgres
def test_postgres_migrations_match_models(postgres_schema: str, tmp_path: Path) -> None:
    url = f"{POSTGRES}?options=-csearch_path%3D{postgres_schema}"
    settings = Settings(data_dir=tmp_path, database_url=url)
    assert _pending_changes(url, settings) == []
