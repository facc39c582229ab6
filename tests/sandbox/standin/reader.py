"""Stand-in extract reader for sandbox tests: opens the encrypted file, hardens nothing.

Copied over ``gateway/extract/reader.py`` in a test copy of the package, so the
tests see what the sandbox itself adds to a connection.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import duckdb_ext  # type: ignore[import-untyped]


def attach(
    path: str, key: str, *, memory_limit: int, threads: int, temp_directory: str
) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(
        config={
            "memory_limit": f"{memory_limit // 2**20}MiB",
            "threads": threads,
            "temp_directory": temp_directory,
        }
    )
    # Reading an encrypted file without OpenSSL's crypto takes seconds per attach.
    (httpfs,) = Path(duckdb_ext.__path__[0]).glob("extensions/*/*/httpfs.duckdb_extension")
    connection.execute(f"LOAD '{httpfs}'")
    quoted_key = key.replace("'", "''")
    connection.execute(f"ATTACH '{path}' AS extract (READ_ONLY, ENCRYPTION_KEY '{quoted_key}')")
    connection.execute("USE extract")
    return connection
