"""Is an extract still fit to query? Fresh, stale, or expired, with the reasons.

Stale: a consent withdrawal (for the extract's purpose), a restriction, an
erasure request or an account deletion happened that the build could not have
honoured: dated after the source snapshot in the source, or imported into the
ledger after the build. Expired: past ``expires_at``. Either way the extract
must be rebuilt before it is queried again; ``open_extract`` enforces that
(from the ledger and the clock; the source is not at hand when querying).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from enum import StrEnum
from pathlib import Path

import duckdb
from pydantic import BaseModel

from gateway.config import Settings
from gateway.errors import ExtractError
from gateway.extract.encryption import CLOSED_CONFIG
from gateway.extract.ledger import ledger_entries
from gateway.extract.manifest import Manifest, load_manifest
from gateway.extract.rights import Change, ledger_changes_after, source_changes_after
from gateway.extract.source import attach_source


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


_WORDS: dict[Change, str] = {
    Change.CONSENT_WITHDRAWN: "consent withdrawal(s) for {purpose}",
    Change.RESTRICTION: "restriction(s) of processing",
    Change.ERASURE: "erasure request(s)",
    Change.ACCOUNT_DELETION: "account deletion(s)",
}


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
    ledger = ledger_entries(settings)
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
                    reasons += _describe(changes, manifest, "in the source after its snapshot")
                changes = ledger_changes_after(ledger, manifest.built_at, manifest.purpose)
                reasons += _describe(changes, manifest, "imported into the ledger after the build")
            statuses.append(_status(path, manifest, reasons, now))
        return statuses
    finally:
        con.close()


def check_usable(
    path: Path, manifest: Manifest, settings: Settings, *, now: dt.datetime | None = None
) -> None:
    """Refuse an expired extract, or one the ledger says is stale."""
    now = now or dt.datetime.now(dt.UTC)
    rebuild = (
        f"rebuild it: gateway extract build --source SRC --policy POLICY "
        f"--project {manifest.project} --purpose {manifest.purpose} --out {path} --force"
    )
    if now >= manifest.expires_at:
        raise ExtractError(
            "extract_expired",
            f"extract {path} expired at {manifest.expires_at.isoformat()}",
            hint=rebuild,
        )
    if manifest.dummy:
        return
    changes = ledger_changes_after(ledger_entries(settings), manifest.built_at, manifest.purpose)
    if changes:
        what = "; ".join(_describe(changes, manifest, "since it was built"))
        raise ExtractError("extract_stale", f"extract {path} is stale: {what}", hint=rebuild)


def _expiry(manifest: Manifest, now: dt.datetime) -> list[str]:
    if now >= manifest.expires_at:
        return [f"expired at {manifest.expires_at.isoformat()}"]
    return []


def _describe(changes: Counter[Change], manifest: Manifest, where: str) -> list[str]:
    return [
        f"{n} {_WORDS[change].format(purpose=manifest.purpose)} {where}"
        for change, n in changes.items()
    ]


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
