"""The metadata database's schema comes from Alembic and matches the models."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from gateway.config import Settings
from gateway.db import MODEL_MODULES, Base, migrate
from tests.conftest import postgres_url


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


@pytest.mark.postgres
def test_postgres_migrations_match_models(postgres_schema: str, tmp_path: Path) -> None:
    url = postgres_url(postgres_schema)
    settings = Settings(data_dir=tmp_path, database_url=url)
    assert _pending_changes(url, settings) == []
