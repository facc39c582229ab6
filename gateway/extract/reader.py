"""Opening an extract for queries: a hardened, read-only DuckDB connection.

``attach`` is what the DP engine and the sandbox use: the extract's tables are
visible unqualified, and then the connection is locked down so that a hostile
statement cannot reach anything else: no file or network access (ATTACH,
COPY, read_csv, ...), no extension loading, and no way to change any of that
back (``lock_configuration``). The engine is one layer of defence; the vetter
and the sandbox are others.

``open_extract`` is the trusted side's entry: it refuses a stale or expired
extract before fetching its key (``gateway.extract.usable``).

The sandbox imports this module to call ``attach``, so its module-level
imports stay light (DuckDB and pydantic): the key store, the metadata
database and the freshness check are imported only by the trusted-side
functions that need them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from gateway.errors import ExtractError
from gateway.extract._sql import HEX_KEY, literal
from gateway.extract.encryption import CLOSED_CONFIG, DuckConfig, load_crypto
from gateway.extract.manifest import Manifest

if TYPE_CHECKING:
    from gateway.config import Settings

ALIAS = "extract"


def attach(
    path: Path,
    key: str | None,
    *,
    memory_limit: str = "1GB",
    threads: int = 2,
    temp_directory: Path | None = None,
) -> duckdb.DuckDBPyConnection:
    """A locked-down connection with the extract at ``path`` attached read-only.

    ``key`` is None only for dummy extracts, which are not encrypted.
    """
    if key is not None and not HEX_KEY.fullmatch(key):
        raise ExtractError("invalid_extract_key", "an extract key is 64 hex digits")
    config: DuckConfig = {
        **CLOSED_CONFIG,
        "memory_limit": memory_limit,
        "threads": threads,
    }
    if temp_directory is not None:
        config["temp_directory"] = str(temp_directory)
    con = duckdb.connect(":memory:", config=config)
    if key is not None:
        # Decrypting works without OpenSSL too, but about five times slower.
        with contextlib.suppress(ExtractError):
            load_crypto(con)
    try:
        options = "READ_ONLY" if key is None else f"ENCRYPTION_KEY {literal(key)}, READ_ONLY"
        con.execute(f"ATTACH {literal(str(path))} AS {ALIAS} ({options})")
        con.execute(f"USE {ALIAS}")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except duckdb.Error as exc:
        con.close()
        raise ExtractError(
            "extract_unreadable",
            f"cannot open extract {path}: {exc}",
            hint="check that the file is an extract and its key is the one in its manifest",
        ) from None
    return con


def open_extract(
    path: Path, settings: Settings, *, now: dt.datetime | None = None
) -> tuple[duckdb.DuckDBPyConnection, Manifest]:
    """Attach ``path`` if it may still be queried: not expired, not stale by the ledger."""
    from gateway.extract.usable import usable_extract

    manifest, key = usable_extract(path, settings, now=now)
    return attach(path, key), manifest
