"""``gateway rights import``, audited: the ledger import and its audit record commit together."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy.orm import Session

from gateway.config import Settings
from gateway.extract.ledger import ImportResult, import_changes
from gateway.service import audit
from gateway.service.audit import Actor, chain_pending


def import_rights(settings: Settings, actor: Actor, path: Path) -> ImportResult:
    """Import the platform's rights changes from ``path``; one audit record says what came in."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None

    def record(s: Session, result: ImportResult) -> None:
        audit.record(
            s,
            actor,
            "rights.import",
            "rights_file",
            path.name,
            sha256=digest,
            lines=result.lines,
            imported=result.imported,
            already_present=result.already_present,
        )
        chain_pending(s)

    return import_changes(path, settings, then=record)
