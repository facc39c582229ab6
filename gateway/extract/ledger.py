"""The rights ledger: members' rights changes sent by the platform, kept by the gateway.

The platform reports every consent change, restriction of processing, erasure
request and account deletion as one JSON object per line (``gateway rights
import --file CHANGES.jsonl``). Each carries a unique ``change_id``, so a file
can be sent twice without effect. Builds honour the ledger together with the
source's own rights tables, and a change imported after an extract was built
makes that extract stale (``gateway extract status``).

A file is imported whole or not at all: one malformed line, or a ``change_id``
reused for different content, refuses the file and names the line.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from gateway.config import Settings
from gateway.db import Base, session
from gateway.errors import Issue, SourceError, field_message
from gateway.extract.source import naive, utc
from gateway.source.schema import PURPOSES

Timestamp = Annotated[dt.datetime, AfterValidator(utc)]
"""ISO 8601; without an offset it is read as UTC."""


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    change_id: str = Field(min_length=1, max_length=200, description="unique per change")
    account_id: int = Field(ge=0, description="the member's account on the platform")


class ConsentChange(_Change):
    """A member granted or withdrew consent for one purpose; the latest change wins."""

    type: Literal["consent"]
    purpose: str
    granted: bool
    changed_at: Timestamp

    @field_validator("purpose")
    @classmethod
    def _known_purpose(cls, purpose: str) -> str:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown purpose; known: {', '.join(PURPOSES)}")
        return purpose


class RestrictionChange(_Change):
    """Processing restricted from ``since`` until ``until`` (open-ended if absent).

    Sending the same ``account_id`` and ``since`` again with an ``until``
    ends that restriction.
    """

    type: Literal["restriction"]
    since: Timestamp
    until: Timestamp | None = None

    @model_validator(mode="after")
    def _until_after_since(self) -> RestrictionChange:
        if self.until is not None and self.until <= self.since:
            raise ValueError("`until` must be after `since`")
        return self


class ErasureRequest(_Change):
    """Erase the member's content, or unlink their account (see docs/extract.md)."""

    type: Literal["erasure"]
    scope: Literal["account", "content"]
    requested_at: Timestamp


class AccountDeletion(_Change):
    """The member deleted their account; their content stays, linked to no one."""

    type: Literal["account_deletion"]
    deleted_at: Timestamp


AnyChange = ConsentChange | RestrictionChange | ErasureRequest | AccountDeletion
RightsChange = Annotated[AnyChange, Field(discriminator="type")]
"""One line of a rights-change file, told apart by its ``type``."""
_CHANGE: TypeAdapter[AnyChange] = TypeAdapter(RightsChange)


class LedgerEntry(Base):
    """One imported rights change. Times are naive UTC."""

    __tablename__ = "rights_changes"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    change_id: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    account_id: Mapped[int] = mapped_column(BigInteger, index=True)
    purpose: Mapped[str | None] = mapped_column(String(64))
    granted: Mapped[bool | None] = mapped_column(Boolean)
    scope: Mapped[str | None] = mapped_column(String(16))
    effective_at: Mapped[dt.datetime] = mapped_column(DateTime, doc="when the change took effect")
    until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    payload: Mapped[str] = mapped_column(Text, doc="the change as imported, canonical JSON")


class ImportResult(BaseModel):
    file: str
    lines: int
    imported: int
    already_present: int


def parse_changes(path: Path) -> list[AnyChange]:
    """Every change in ``path``, or an error naming each bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(
            "rights_file_not_found",
            f"rights change file {path} does not exist",
            hint="pass --file CHANGES.jsonl, one JSON object per line",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError("rights_file_unreadable", f"cannot read {path}: {exc}") from None
    changes = []
    issues: list[Issue] = []
    seen: dict[str, tuple[int, str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            change = _CHANGE.validate_json(line)
        except ValidationError as exc:
            issues.append(
                Issue(
                    code="malformed_change",
                    message=f"line {number}: {field_message(exc.errors()[0], top='(line)')}",
                    line=number,
                )
            )
            continue
        canonical = _canonical(change)
        earlier = seen.get(change.change_id)
        if earlier is not None and earlier[1] != canonical:
            issues.append(
                Issue(
                    code="change_id_conflict",
                    message=f"line {number}: change_id {change.change_id!r} "
                    f"already used on line {earlier[0]} for a different change",
                    line=number,
                )
            )
            continue
        seen.setdefault(change.change_id, (number, canonical))
        changes.append(change)
    if issues:
        raise SourceError(
            "rights_file_invalid",
            f"{path}: {len(issues)} bad line(s), first {issues[0].message}; nothing imported",
            hint="fix the named lines (format: docs/extract.md) and import the file again",
            issues=issues,
        )
    return changes


def import_changes(
    path: Path,
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    then: Callable[[Session, ImportResult], None] | None = None,
) -> ImportResult:
    """Import ``path`` into the ledger in one transaction; idempotent by ``change_id``.

    ``then`` runs in that transaction before it commits (the service audits the import there).
    """
    changes = parse_changes(path)
    imported_at = naive(now or dt.datetime.now(dt.UTC))
    try:
        with session(settings) as s:
            imported, already = _store(s, changes, imported_at, path)
            result = ImportResult(
                file=str(path), lines=len(changes), imported=imported, already_present=already
            )
            if then is not None:
                then(s, result)
    except IntegrityError:
        raise SourceError(
            "concurrent_import",
            f"another import stored some of the change ids of {path} meanwhile; "
            "nothing imported from this file",
            hint="import the file again; changes already in the ledger are skipped",
        ) from None
    return result


def _store(
    s: Session, changes: list[AnyChange], imported_at: dt.datetime, path: Path
) -> tuple[int, int]:
    """Add the changes not yet in the ledger; ``(imported, already present)``."""
    imported = already = 0
    ids = [c.change_id for c in changes]
    existing = {
        entry.change_id: entry.payload
        for chunk in _chunks(ids, 500)
        for entry in s.scalars(select(LedgerEntry).where(LedgerEntry.change_id.in_(chunk)))
    }
    conflicts = [
        c.change_id
        for c in changes
        if c.change_id in existing and existing[c.change_id] != _canonical(c)
    ]
    if conflicts:
        raise SourceError(
            "change_id_conflict",
            f"{path}: change_id {conflicts[0]!r} was imported before with different "
            f"content ({len(conflicts)} such id(s)); nothing imported",
            hint="a change_id names one change forever; give a new change a new id",
        )
    for change in changes:
        if change.change_id in existing:
            already += 1
            continue
        existing[change.change_id] = _canonical(change)
        s.add(_entry(change, imported_at))
        imported += 1
    return imported, already


def ledger_entries(settings: Settings) -> list[LedgerEntry]:
    """Every change in the ledger, oldest import first."""
    with session(settings) as s:
        return list(s.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)))


def _entry(change: AnyChange, imported_at: dt.datetime) -> LedgerEntry:
    entry = LedgerEntry(
        change_id=change.change_id,
        kind=change.type,
        account_id=change.account_id,
        imported_at=imported_at,
        payload=_canonical(change),
    )
    match change:
        case ConsentChange():
            entry.purpose, entry.granted = change.purpose, change.granted
            entry.effective_at = naive(change.changed_at)
        case RestrictionChange():
            entry.effective_at = naive(change.since)
            entry.until = naive(change.until) if change.until is not None else None
        case ErasureRequest():
            entry.scope, entry.effective_at = change.scope, naive(change.requested_at)
        case AccountDeletion():
            entry.effective_at = naive(change.deleted_at)
    return entry


def _canonical(change: BaseModel) -> str:
    return json.dumps(change.model_dump(mode="json"), sort_keys=True)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
