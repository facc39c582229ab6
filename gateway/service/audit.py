"""The audit log: append-only and hash-chained, one record per access or decision.

Each record says who (``actor``), in what role, did what (``action``) to what
(``object_type``/``object_id``), when, and with what outcome, in the manner
of NEN 7513. Its ``hash`` is SHA-256 over the previous record's hash and the
record's canonical JSON; ``audit_head`` holds the last sequence number and
hash. ``verify`` walks the chain and names the first record that does not
fit, so altering, deleting or reordering any record (the last one included)
is found.

Records are collected on the session with ``record`` and chained by
``transaction`` just before it commits, with the head row locked last, so
the log has exactly the decisions that were committed, in commit order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.db import session
from gateway.service.models import AuditHead, AuditRecord, utcnow

GENESIS = "0" * 64
"""``prev_hash`` of the first record."""

HEAD_ID = 1
_PENDING = "audit_pending"


@dataclass(frozen=True)
class Actor:
    """Who acts: a user by name and role, or a part of the gateway (role ``system``)."""

    name: str
    role: str


SYSTEM = Actor("gateway", "system")


def record(
    s: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object = None,
    *,
    outcome: str = "success",
    **detail: Any,
) -> None:
    """Add a record to this transaction's log; it is chained when the transaction commits."""
    s.info.setdefault(_PENDING, []).append(
        {
            "at": utcnow(),
            "actor": actor.name,
            "role": actor.role,
            "action": action,
            "object_type": object_type,
            "object_id": None if object_id is None else str(object_id),
            "outcome": outcome,
            "detail": json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str),
        }
    )


def chain_pending(s: Session) -> None:
    """Append this transaction's records to the chain; called once, last, before commit."""
    pending = s.info.pop(_PENDING, [])
    if not pending:
        return
    head = s.execute(
        select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
    ).scalar_one()
    for fields in pending:
        seq = head.seq + 1
        digest = record_hash(head.hash, seq, fields)
        s.add(AuditRecord(seq=seq, prev_hash=head.hash, hash=digest, **fields))
        head.seq, head.hash = seq, digest
    s.flush()


def canonical(seq: int, fields: dict[str, Any]) -> str:
    """The JSON that is hashed: sorted keys, no spaces, times in ISO 8601 UTC."""
    body = {
        "seq": seq,
        "at": fields["at"].isoformat(),
        **{k: fields[k] for k in ("actor", "role", "action", "object_type", "object_id")},
        "outcome": fields["outcome"],
        "detail": fields["detail"],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(prev_hash: str, seq: int, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(seq, fields)).encode()).hexdigest()


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str
    role: str
    action: str
    object_type: str
    object_id: str | None
    outcome: str
    detail: dict[str, Any]
    hash: str


class Broken(BaseModel):
    seq: int
    reason: str


class Verdict(BaseModel):
    """What ``gateway audit verify --json`` prints."""

    intact: bool
    records: int
    head_seq: int
    first_broken: Broken | None = None


def record_fields(row: AuditRecord) -> dict[str, Any]:
    return {
        "at": row.at,
        "actor": row.actor,
        "role": row.role,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "outcome": row.outcome,
        "detail": row.detail,
    }


def _walk(rows: Iterator[AuditRecord], head: AuditHead) -> tuple[int, Broken | None]:
    prev, expected = GENESIS, 1
    count = 0
    for row in rows:
        count += 1
        if row.seq != expected:
            return count, Broken(
                seq=row.seq, reason=f"expected record {expected} next; records are missing"
            )
        if row.prev_hash != prev:
            return count, Broken(
                seq=row.seq, reason="prev_hash does not match the previous record's hash"
            )
        if record_hash(prev, row.seq, record_fields(row)) != row.hash:
            return count, Broken(seq=row.seq, reason="the record's content does not match its hash")
        prev, expected = row.hash, expected + 1
    if head.seq != expected - 1 or head.hash != prev:
        return count, Broken(
            seq=expected,
            reason=f"the log ends at record {expected - 1} but its head says {head.seq}; "
            "records were removed from the end",
        )
    return count, None


def verify(settings: Settings) -> Verdict:
    """Walk the whole chain in order; the first record that does not fit breaks it."""
    with session(settings) as s:
        head = s.execute(select(AuditHead).where(AuditHead.id == HEAD_ID)).scalar_one()
        rows = s.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars()
        count, broken = _walk(iter(rows.yield_per(1000)), head)
        return Verdict(intact=broken is None, records=count, head_seq=head.seq, first_broken=broken)


def entries(s: Session, *, after: int = 0, limit: int = 100) -> list[AuditEntry]:
    """Records after sequence number ``after``, oldest first, for the reviewer's trail."""
    rows = s.execute(
        select(AuditRecord).where(AuditRecord.seq > after).order_by(AuditRecord.seq).limit(limit)
    ).scalars()
    return [
        AuditEntry(
            seq=r.seq,
            at=r.at.isoformat(),
            actor=r.actor,
            role=r.role,
            action=r.action,
            object_type=r.object_type,
            object_id=r.object_id,
            outcome=r.outcome,
            detail=json.loads(r.detail),
            hash=r.hash,
        )
        for r in rows
    ]
