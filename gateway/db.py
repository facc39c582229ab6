"""The metadata database: SQLAlchemy 2 engine, sessions and the declarative base.

SQLite in ``GATEWAY_DATA_DIR`` by default; PostgreSQL (``GATEWAY_DATABASE_URL``)
when several processes share it. Every stage that keeps state on the trusted
side (rights ledger, release store, budget ledger, jobs, audit log) declares
its tables on ``Base``; Alembic migrations create them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from gateway.config import Settings

MODEL_MODULES: tuple[str, ...] = (
    "gateway.extract.ledger",
    "gateway.release_store",
    "gateway.service.models",
)
"""Modules that declare tables on ``Base``; Alembic's environment imports them."""


class Base(DeclarativeBase):
    pass


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn, _record):  # type: ignore[no-untyped-def]
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "gateway:migrations")
    return config


@lru_cache(maxsize=8)
def _migrated(url: str) -> Engine:
    engine = engine_for(url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return engine


def migrate(settings: Settings) -> Engine:
    """Bring the metadata database up to date (once per process) and return its engine."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return _migrated(settings.metadata_url)


@contextmanager
def session(settings: Settings) -> Iterator[Session]:
    """A transaction: committed on success, rolled back on any error."""
    factory = sessionmaker(migrate(settings), expire_on_commit=False)
    with factory.begin() as s:
        yield s
