"""The audit log is append-only and its hash chain names the first record that was touched."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from gateway.config import Settings
from gateway.db import migrate, session
from gateway.policy import Policy
from gateway.service import audit
from gateway.service.audit import GENESIS, record_fields, record_hash
from gateway.service.models import AuditRecord
from tests.service.factories import approved_project, submit, tamper


def _log(settings: Settings, policy: Policy) -> Settings:
    """A log with a dozen records: users, a project, its decision, a job."""
    cast = approved_project(settings, policy)
    submit(settings, policy, cast)
    assert audit.verify(settings).records >= 5
    return settings


@pytest.fixture
def logged(settings: Settings, policy: Policy) -> Settings:
    return _log(settings, policy)


@pytest.fixture
def logged_on(backend: Settings, policy: Policy) -> Settings:
    """The same log on each backend, for what depends on the database."""
    return _log(backend, policy)


def _rows(settings: Settings) -> list[tuple[int, str, str]]:
    with migrate(settings).connect() as c:
        return [tuple(r) for r in c.execute(text("SELECT seq, prev_hash, hash FROM audit_log"))]


def test_an_untouched_log_verifies(logged: Settings) -> None:
    verdict = audit.verify(logged)
    assert verdict.intact
    assert verdict.first_broken is None
    rows = sorted(_rows(logged))
    assert [seq for seq, _, _ in rows] == list(range(1, len(rows) + 1))
    assert rows[0][1] == GENESIS
    assert all(rows[i][1] == rows[i - 1][2] for i in range(1, len(rows)))


def test_each_record_answers_who_what_when_outcome(logged: Settings) -> None:
    with migrate(logged).connect() as c:
        first = c.execute(text("SELECT * FROM audit_log WHERE seq = 1")).mappings().one()
    assert first["actor"] == "gateway"
    assert first["role"] == "system"
    assert first["action"] == "user.create"
    assert first["object_type"] == "user"
    assert first["outcome"] == "success"
    assert first["at"] is not None


def _records(settings: Settings) -> list[AuditRecord]:
    with session(settings) as s:
        return list(s.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars())


def test_the_hash_covers_prev_hash_and_content(logged: Settings) -> None:
    first = _records(logged)[0]
    assert record_hash(GENESIS, 1, record_fields(first)) == first.hash
    assert record_hash("1" * 64, 1, record_fields(first)) != first.hash
    assert record_hash(GENESIS, 2, record_fields(first)) != first.hash


def test_the_database_refuses_to_change_history(logged_on: Settings) -> None:
    for table, column in (("audit_log", "actor"), ("budget_ledger", "epsilon")):
        for change in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"):
            with pytest.raises(DBAPIError, match="append-only"), migrate(logged_on).begin() as c:
                c.execute(text(change))
    assert audit.verify(logged_on).intact


def test_an_altered_record_is_named(logged_on: Settings) -> None:
    tamper(logged_on, "UPDATE audit_log SET outcome = 'denied' WHERE seq = 3")
    verdict = audit.verify(logged_on)
    assert not verdict.intact
    assert verdict.first_broken is not None
    assert verdict.first_broken.seq == 3
    assert "content" in verdict.first_broken.reason


def test_a_deleted_record_is_found(logged: Settings) -> None:
    tamper(logged, "DELETE FROM audit_log WHERE seq = 2")
    broken = audit.verify(logged).first_broken
    assert broken is not None
    assert broken.seq == 3
    assert "missing" in broken.reason


def test_a_deleted_last_record_is_found(logged: Settings) -> None:
    last = audit.verify(logged).records
    tamper(logged, f"DELETE FROM audit_log WHERE seq = {last}")
    broken = audit.verify(logged).first_broken
    assert broken is not None
    assert broken.seq == last
    assert "end" in broken.reason


def test_reordered_records_are_found(logged: Settings) -> None:
    tamper(
        logged,
        "UPDATE audit_log SET seq = -1 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = 5",
        "UPDATE audit_log SET seq = 5 WHERE seq = -1",
    )
    broken = audit.verify(logged).first_broken
    assert broken is not None
    assert broken.seq == 4


def test_a_rewritten_chain_still_disagrees_with_its_head(logged: Settings) -> None:
    """Recomputing every hash after an edit is caught unless the head is rewritten too."""
    tamper(logged, "UPDATE audit_log SET actor = 'someone' WHERE seq = 1")
    prev, statements = GENESIS, []
    for row in _records(logged):
        digest = record_hash(prev, row.seq, record_fields(row))
        statements.append(
            f"UPDATE audit_log SET prev_hash = '{prev}', hash = '{digest}' WHERE seq = {row.seq}"
        )
        prev = digest
    tamper(logged, *statements)
    broken = audit.verify(logged).first_broken
    assert broken is not None
    assert "head" in broken.reason
