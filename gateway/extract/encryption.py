"""DuckDB's database encryption, backed by OpenSSL from the ``httpfs`` extension.

Writing an encrypted DuckDB file needs the OpenSSL crypto that ships in the
``httpfs`` extension; without it DuckDB either refuses or offers a fallback it
calls "not securely encrypted". We never take that fallback: the extension
comes from the ``duckdb-ext-httpfs`` package, is loaded from its file (nothing
is downloaded, autoload and autoinstall stay off), and if it is missing the
build stops. Reading an encrypted file needs no extension.
"""

from __future__ import annotations

import pathlib
from functools import lru_cache

import duckdb

from gateway.errors import ExtractError
from gateway.extract._sql import literal

DuckConfig = dict[str, str | bool | int | float | list[str]]

CLOSED_CONFIG: DuckConfig = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
"""No connection of ours fetches or loads an extension behind our back."""


@lru_cache(maxsize=1)
def httpfs_extension() -> pathlib.Path:
    """The ``httpfs`` extension file shipped in the ``duckdb-ext-httpfs`` wheel."""
    try:
        import duckdb_ext
    except ImportError:
        duckdb_ext = None
    found = (
        sorted(pathlib.Path(next(iter(duckdb_ext.__path__))).rglob("httpfs.duckdb_extension"))
        if duckdb_ext is not None
        else []
    )
    if not found:
        raise ExtractError(
            "encryption_unavailable",
            "DuckDB's OpenSSL crypto (the httpfs extension) is not installed; "
            "refusing to write an extract that is not securely encrypted",
            hint="install the pinned dependencies: uv sync --frozen",
        )
    return found[-1]


def load_crypto(con: duckdb.DuckDBPyConnection) -> None:
    """Load OpenSSL's crypto into ``con`` from the packaged file, or refuse."""
    try:
        con.execute(f"LOAD {literal(str(httpfs_extension()))}")
        loaded = con.execute(
            "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'httpfs'"
        ).fetchone()
    except duckdb.Error as exc:
        raise ExtractError(
            "encryption_unavailable", f"cannot load DuckDB's OpenSSL crypto: {exc}"
        ) from None
    if not loaded or not loaded[0]:
        raise ExtractError("encryption_unavailable", "the httpfs extension did not load")


def writer_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory connection that can write encrypted databases, and only securely."""
    con = duckdb.connect(":memory:", config=dict(CLOSED_CONFIG))
    try:
        load_crypto(con)
        con.execute("SET temp_file_encryption = true")
        # Row order carries nothing an extract needs; not keeping it lets
        # DuckDB write in parallel with less memory.
        con.execute("SET preserve_insertion_order = false")
    except BaseException:
        con.close()
        raise
    return con
