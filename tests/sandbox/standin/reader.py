"""Stand-in extract reader for sandbox tests: opens the encrypted file, hardens nothing.

Copied over ``gateway/extract/reader.py`` in a test copy of the package, so the
tests see what the sandbox itself adds to a connection.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import duckdb_ext  # type: ignore[import-untyped]


def attach(
    path: Path, key: str | None, *, memory_limit: str, threads: int, temp_directory: Path
) -> duckdb.DuckDBPyConnection:
    assert key is not None, "the stand-in reads encrypted extracts only"
    connection = duckdb.connect(
        config={
            "memory_limit": memory_limit,
            "threads": threads,
            "temp_directory": str(temp_directory),
        }
    )
    # Reading an encrypted file without OpenSSL's crypto takes seconds per attach.
    (httpfs,) = Path(duckdb_ext.__path__[0]).glob("extensions/*/*/httpfs.duckdb_extension")
    connection.execute(f"LOAD '{httpfs}'")
    quoted_key = key.replace("'", "''")
    connection.execute(f"ATTACH '{path}' AS extract (READ_ONLY, ENCRYPTION_KEY '{quoted_key}')")
    connection.execute("USE extract")
    return connection
