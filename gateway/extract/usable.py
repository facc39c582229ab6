"""``usable_extract``: may this extract be queried now? The trusted side's check before any query.

An extract is refused when it has expired, or when the rights ledger holds
a change it could not have honoured (imported after the build): it must be
rebuilt first. What passes gets its manifest and key. The check reads the
manifest, the clock, one count from the ledger and the key file; it opens no
extract, so it loads no DuckDB, and a repeated question is answered at the
cost of little more than this. ``gateway extract status`` says the same in
words, with the source too (``gateway.extract.status``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from gateway.config import Settings
from gateway.errors import ExtractError
from gateway.extract.keys import read_extract_key
from gateway.extract.ledger import Change, changes_imported_after
from gateway.extract.manifest import Manifest, load_manifest

_WORDS: dict[Change, str] = {
    Change.CONSENT_WITHDRAWN: "consent withdrawal(s) for {purpose}",
    Change.RESTRICTION: "restriction(s) of processing",
    Change.ERASURE: "erasure request(s)",
    Change.ACCOUNT_DELETION: "account deletion(s)",
}


def usable_extract(
    path: Path, settings: Settings, *, now: dt.datetime | None = None
) -> tuple[Manifest, str | None]:
    """The manifest and key (None for a dummy) of ``path``, if it may still be queried.

    Refused when expired or stale by the ledger; the trusted side calls this
    before anything reads the extract, in-process or in the sandbox.
    """
    manifest = load_manifest(path)
    check_usable(path, manifest, settings, now=now)
    return manifest, None if manifest.dummy else extract_key(manifest, settings)


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
    changes = changes_imported_after(settings, manifest.built_at, manifest.purpose)
    if changes:
        what = "; ".join(describe(changes, manifest, "since it was built"))
        raise ExtractError("extract_stale", f"extract {path} is stale: {what}", hint=rebuild)


def extract_key(manifest: Manifest, settings: Settings) -> str:
    """The extract's encryption key, e.g. to pass to the sandbox over a pipe."""
    if manifest.dummy:
        raise ExtractError("dummy_has_no_key", "a dummy extract is not encrypted")
    return read_extract_key(manifest.key_id, settings)


def describe(changes: Counter[Change], manifest: Manifest, where: str) -> list[str]:
    """Each kind of change in words, e.g. "2 erasure request(s) since it was built"."""
    return [
        f"{n} {_WORDS[change].format(purpose=manifest.purpose)} {where}"
        for change, n in changes.items()
    ]
