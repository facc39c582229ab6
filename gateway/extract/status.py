"""Is an extract still fit to query? Fresh, stale, or expired, with the reasons.

Stale: a consent withdrawal (for the extract's purpose), a restriction, an
erasure request or an account deletion happened that the build could not have
honoured: dated after the source snapshot in the source, or imported into the
ledger after the build. Expired: past ``expires_at``. Either way the extract
must be rebuilt before it is queried again; ``usable_extract`` enforces that
(from the ledger and the clock; the source is not at hand when querying).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path

import duckdb
from pydantic import BaseModel

from gateway.config import Settings
from gateway.extract.encryption import CLOSED_CONFIG
from gateway.extract.ledger import changes_imported_after
from gateway.extract.manifest import Manifest, load_manifest
from gateway.extract.rights import source_changes_after
from gateway.extract.source import attach_source
from gateway.extract.usable import describe


class Freshness(StrEnum):
    FRESH = "fresh"
    STALE = "stale"
    EXPIRED = "expired"


class ExtractStatus(BaseModel):
    extract: str
    state: Freshness
    reasons: list[str]
    project: str
    purpose: str
    built_at: dt.datetime
    source_snapshot_at: dt.datetime
    expires_at: dt.datetime


def extract_status(
    extracts: list[Path],
    settings: Settings,
    *,
    source: Path | None,
    now: dt.datetime | None = None,
) -> list[ExtractStatus]:
    """The freshness of each extract, judged against ``source`` (if given) and the ledger."""
    now = now or dt.datetime.now(dt.UTC)
    manifests = [(path, load_manifest(path)) for path in extracts]
    con = duckdb.connect(":memory:", config=dict(CLOSED_CONFIG))
    try:
        if source is not None:
            attach_source(con, source)
        statuses = []
        for path, manifest in manifests:
            reasons = _expiry(manifest, now)
            if not manifest.dummy:
                if source is not None:
                    changes = source_changes_after(
                        con, manifest.source_snapshot_at, manifest.purpose
                    )
                    reasons += describe(changes, manifest, "in the source after its snapshot")
                changes = changes_imported_after(settings, manifest.built_at, manifest.purpose)
                reasons += describe(changes, manifest, "imported into the ledger after the build")
            statuses.append(_status(path, manifest, reasons, now))
        return statuses
    finally:
        con.close()


def _expiry(manifest: Manifest, now: dt.datetime) -> list[str]:
    if now >= manifest.expires_at:
        return [f"expired at {manifest.expires_at.isoformat()}"]
    return []


def _status(path: Path, manifest: Manifest, reasons: list[str], now: dt.datetime) -> ExtractStatus:
    if now >= manifest.expires_at:
        state = Freshness.EXPIRED
    elif reasons:
        state = Freshness.STALE
    else:
        state = Freshness.FRESH
    return ExtractStatus(
        extract=str(path),
        state=state,
        reasons=reasons,
        project=manifest.project,
        purpose=manifest.purpose,
        built_at=manifest.built_at,
        source_snapshot_at=manifest.source_snapshot_at,
        expires_at=manifest.expires_at,
    )
