"""The metadata database: SQLAlchemy 2 engine, connections, sessions and the tables' metadata.

SQLite in ``GATEWAY_DATA_DIR`` by default; PostgreSQL (``GATEWAY_DATABASE_URL``)
when several processes share it. Every stage that keeps state on the trusted
side (rights ledger, release store, budget ledger, jobs, audit log) declares
its tables on ``METADATA``; Alembic migrations create them. The stages a
repeated ``gateway run`` passes (the rights ledger, the release store) use
SQLAlchemy Core over a ``connection``; the service's models use the ORM and
``session``. Importing this module loads no ORM: ``session`` does, when used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, text
from sqlalchemy.exc import DBAPIError

from gateway.config import Settings

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.orm import Session

MODEL_MODULES: tuple[str, ...] = (
    "gateway.extract.ledger",
    "gateway.release_store",
    "gateway.service.models",
)
"""Modules that declare tables on ``METADATA``; Alembic's environment imports them."""

METADATA = MetaData()
"""Every table of the metadata database, Core and ORM alike."""


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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "gateway:migrations")
    return config


def head_revision() -> str:
    """The newest migration's revision: each is the four-digit number its file starts with."""
    versions = Path(__file__).parent / "migrations" / "versions"
    return max(f.name[:4] for f in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))


def _revision(engine: Engine) -> str | None:
    """The revision the database is at; None before its first migration."""
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version"))
            return found.scalar_one_or_none()
    except DBAPIError:
        return None


@lru_cache(maxsize=8)
def _migrated(url: str) -> Engine:
    """Run the migrations a database lacks; one already at the newest costs one read, no Alembic."""
    engine = engine_for(url)
    if _revision(engine) == head_revision():
        return engine
    from alembic import command

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
def connection(settings: Settings) -> Iterator[Connection]:
    """A Core transaction: committed on success, rolled back on any error."""
    with migrate(settings).begin() as c:
        yield c


@contextmanager
def session(settings: Settings) -> Iterator[Session]:
    """An ORM transaction: committed on success, rolled back on any error."""
    from sqlalchemy.orm import sessionmaker

    factory = sessionmaker(migrate(settings), expire_on_commit=False)
    with factory.begin() as s:
        yield s
