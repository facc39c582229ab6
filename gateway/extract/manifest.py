"""The manifest stored beside every extract (``E.duckdb.manifest.json``).

It is what a reviewer, a DPO and the freshness check read: which policy and
source snapshot produced the extract, what was left out and why, when it
expires, and a content hash that every release quotes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from gateway.errors import ExtractError


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format_version: int = 1
    project: str
    purpose: str
    policy_name: str
    policy_hash: str
    source_snapshot_at: dt.datetime
    built_at: dt.datetime
    expires_at: dt.datetime
    row_counts: dict[str, int]
    excluded: dict[
        str, int
    ]  # reason -> rows left out (no_consent, restricted, erased, retention, ...)
    content_hash: str
    key_id: str  # names the key in GATEWAY_KEY_DIR; the key itself is never here
    dummy: bool = False  # synthetic values, no real member; unencrypted, never an insight


def manifest_path(extract: Path) -> Path:
    return extract.with_name(extract.name + ".manifest.json")


def load_manifest(extract: Path) -> Manifest:
    """The manifest stored beside ``extract``, or a clear error."""
    target = manifest_path(extract)
    try:
        return Manifest.model_validate_json(target.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExtractError(
            "manifest_missing",
            f"extract {extract} has no manifest ({target.name})",
            hint="rebuild it with `gateway extract build`",
        ) from None
    except ValueError as exc:
        raise ExtractError("manifest_invalid", f"manifest of {extract} is invalid: {exc}") from None
