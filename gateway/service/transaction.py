"""One way to change the service's state: a serialised transaction that ends by chaining audit.

On PostgreSQL, rows that decide a limit are locked with ``SELECT ... FOR
UPDATE`` where they are read. SQLite has no row locks, so the transaction
takes the database's write lock at its first statement (``BEGIN
IMMEDIATE``): two read-check-write sequences can then never interleave, and
no transaction fails half-way to upgrade its lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.db import session
from gateway.service.audit import chain_pending


@contextmanager
def transaction(settings: Settings) -> Iterator[Session]:
    """Commit on success (audit records chained last), roll back everything on any error."""
    with session(settings) as s:
        if s.get_bind().dialect.name == "sqlite":
            s.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield s
        chain_pending(s)
