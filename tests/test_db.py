"""The metadata database's schema comes from Alembic and matches the models."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from gateway.config import Settings
from gateway.db import METADATA, MODEL_MODULES, alembic_config, engine_for, head_revision, migrate
from tests.conftest import postgres_url


def _pending_changes(engine_url: str, settings: Settings) -> list[object]:
    for module in MODEL_MODULES:
        importlib.import_module(module)
    engine = migrate(settings)
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), METADATA))


def test_sqlite_migrations_create_every_model_table(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert _pending_changes(settings.metadata_url, settings) == []
    tables = set(inspect(migrate(settings)).get_table_names())
    assert set(METADATA.tables) <= tables
    assert "alembic_version" in tables


@pytest.mark.postgres
def test_postgres_migrations_match_models(postgres_schema: str, tmp_path: Path) -> None:
    url = postgres_url(postgres_schema)
    settings = Settings(data_dir=tmp_path, database_url=url)
    try:
        assert _pending_changes(url, settings) == []
    finally:
        engine_for(settings.metadata_url).dispose()


def test_the_delta_budget_migration_keeps_old_projects_running(backend: Settings) -> None:
    """0006 adds δ in place: approved projects get the default δ, the ledger stays append-only."""
    engine = engine_for(backend.metadata_url)

    def upgrade(revision: str) -> None:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    upgrade("0005")
    now = "2026-12-01 00:00:00"
    with engine.begin() as connection:
        connection.execute(
            text(f"INSERT INTO users VALUES (1, 'ann', 'researcher', '{now}', NULL)")
        )
        for project_id, status in ((1, "approved"), (2, "proposed")):
            connection.execute(
                text(
                    "INSERT INTO projects (id, title, summary, themes, purpose, "
                    "requested_epsilon, granted_epsilon, status, owner_id, created_at) "
                    f"VALUES ({project_id}, 't', 's', '[]', 'mission', 2.0, 2.0, '{status}', 1, "
                    f"'{now}')"
                )
            )
        connection.execute(
            text(
                "INSERT INTO jobs (id, project_id, submitted_by, kind, text, epsilon, state, "
                "status, message, review_reasons, created_at, updated_at, attempts) VALUES "
                f"(1, 1, 1, 'sql', 'SELECT 1', 0.5, 'PENDING', 'queued', '', '[]', '{now}', "
                f"'{now}', 0)"
            )
        )
        connection.execute(
            text(f"INSERT INTO budget_ledger VALUES (1, 1, 1, 'reserve', 0.5, '{now}')")
        )
    upgrade("head")
    with engine.begin() as connection:
        granted = dict(connection.execute(text("SELECT id, granted_delta FROM projects")).all())
        assert granted == {1: 1e-5, 2: None}
        assert connection.execute(text("SELECT delta, rho FROM budget_ledger")).one() == (0.0, None)
        assert connection.execute(text("SELECT delta FROM jobs")).scalar_one() == 0.0
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text("UPDATE budget_ledger SET delta = 1"))


def test_the_newest_migration_file_is_alembics_head() -> None:
    """``migrate`` skips Alembic for a database at ``head_revision``: it must be Alembic's head."""
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_a_database_at_the_newest_revision_is_opened_without_alembic(tmp_path: Path) -> None:
    migrate(Settings(data_dir=tmp_path))
    opened = (
        "import sys; from gateway.config import Settings; from gateway.db import migrate; "
        "migrate(Settings(data_dir=sys.argv[1])); "
        "print([m for m in sys.modules if m.startswith('alembic')])"
    )
    found = subprocess.run(
        [sys.executable, "-c", opened, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"
