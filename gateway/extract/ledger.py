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
from collections import Counter
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

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
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    Row,
    String,
    Table,
    Text,
    and_,
    false,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError

from gateway.config import Settings
from gateway.db import METADATA, connection, session
from gateway.errors import Issue, SourceError, field_message
from gateway.extract._sql import naive, utc
from gateway.source.schema import PURPOSES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

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


RIGHTS_CHANGES = Table(
    "rights_changes",
    METADATA,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("change_id", String(200), unique=True, nullable=False),
    Column("kind", String(32), index=True, nullable=False),
    Column("account_id", BigInteger, index=True, nullable=False),
    Column("purpose", String(64)),
    Column("granted", Boolean),
    Column("scope", String(16)),
    Column("effective_at", DateTime, nullable=False, doc="when the change took effect"),
    Column("until", DateTime),
    Column("imported_at", DateTime, index=True, nullable=False),
    Column("payload", Text, nullable=False, doc="the change as imported, canonical JSON"),
)
"""One row per imported rights change. Times are naive UTC."""

LedgerEntry = Row[Any]
"""One row of ``RIGHTS_CHANGES``."""


class Change(StrEnum):
    """Rights changes that make an extract built before them stale."""

    CONSENT_WITHDRAWN = "consent_withdrawn"
    RESTRICTION = "restriction"
    ERASURE = "erasure"
    ACCOUNT_DELETION = "account_deletion"


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
    ledger = RIGHTS_CHANGES.c
    existing: dict[str, str] = {
        change_id: payload
        for chunk in _chunks(ids, 500)
        for change_id, payload in s.execute(
            select(ledger.change_id, ledger.payload).where(ledger.change_id.in_(chunk))
        )
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
    rows = []
    for change in changes:
        if change.change_id in existing:
            already += 1
            continue
        existing[change.change_id] = _canonical(change)
        rows.append(_row(change, imported_at))
        imported += 1
    if rows:
        s.execute(insert(RIGHTS_CHANGES), rows)
    return imported, already


def changes_imported_after(
    settings: Settings, built_at: dt.datetime, purpose: str
) -> Counter[Change]:
    """Ledger changes imported after ``built_at``, by kind: the build cannot have seen them.

    Counted by the database; only a withdrawal of consent for ``purpose`` counts of consents.
    """
    ledger = RIGHTS_CHANGES.c
    withdrawn = and_(ledger.kind == "consent", ledger.granted == false(), ledger.purpose == purpose)
    counted = (
        select(ledger.kind, func.count())
        .where(ledger.imported_at > naive(built_at))
        .where(or_(ledger.kind.in_(("restriction", "erasure", "account_deletion")), withdrawn))
        .group_by(ledger.kind)
    )
    with connection(settings) as c:
        rows = c.execute(counted).all()
    return Counter(
        {Change.CONSENT_WITHDRAWN if kind == "consent" else Change(kind): n for kind, n in rows}
    )


def ledger_entries(settings: Settings) -> list[LedgerEntry]:
    """Every change in the ledger, oldest import first."""
    with connection(settings) as c:
        return list(c.execute(select(RIGHTS_CHANGES).order_by(RIGHTS_CHANGES.c.seq)))


def _row(change: AnyChange, imported_at: dt.datetime) -> dict[str, Any]:
    """The ledger row of ``change``: every column but ``seq``."""
    row: dict[str, Any] = {
        "change_id": change.change_id,
        "kind": change.type,
        "account_id": change.account_id,
        "purpose": None,
        "granted": None,
        "scope": None,
        "until": None,
        "imported_at": imported_at,
        "payload": _canonical(change),
    }
    match change:
        case ConsentChange():
            row |= {"purpose": change.purpose, "granted": change.granted}
            row["effective_at"] = naive(change.changed_at)
        case RestrictionChange():
            row["effective_at"] = naive(change.since)
            row["until"] = naive(change.until) if change.until is not None else None
        case ErasureRequest():
            row |= {"scope": change.scope, "effective_at": naive(change.requested_at)}
        case AccountDeletion():
            row["effective_at"] = naive(change.deleted_at)
    return row


def _canonical(change: BaseModel) -> str:
    return json.dumps(change.model_dump(mode="json"), sort_keys=True)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
