"""Names the vetter recognises in order to refuse them precisely.

Nothing here is an allow-list: the vetter accepts only the shapes it compiles
(see ``compile/``) and rejects everything else. These sets only choose the
most helpful error code for a refusal (``system_catalog`` rather than
``unknown_table`` for ``information_schema.tables``, say). Names are compared
lower-case.
"""

from __future__ import annotations

FORBIDDEN_STATEMENTS = frozenset(
    {
        "abort",
        "alter",
        "analyze",
        "attach",
        "begin",
        "call",
        "checkpoint",
        "comment",
        "commit",
        "copy",
        "create",
        "deallocate",
        "delete",
        "detach",
        "drop",
        "end",
        "execute",
        "export",
        "force",
        "grant",
        "import",
        "insert",
        "install",
        "load",
        "merge",
        "pragma",
        "prepare",
        "replace",
        "reset",
        "revoke",
        "rollback",
        "set",
        "start",
        "truncate",
        "uninstall",
        "update",
        "upsert",
        "use",
        "vacuum",
    }
)
"""First keywords of statements that change state, settings, files or extensions."""

SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "system", "temp"})
SYSTEM_TABLES = frozenset({"sqlite_master", "sqlite_schema", "sqlite_temp_master"})
SYSTEM_PREFIXES = ("duckdb_", "pragma_", "pg_", "sqlite_")
SYSTEM_FUNCTIONS = frozenset(
    {
        "checkpoint",
        "current_catalog",
        "current_database",
        "current_query",
        "current_role",
        "current_schema",
        "current_schemas",
        "current_setting",
        "current_user",
        "current_version",
        "disable_logging",
        "enable_logging",
        "force_checkpoint",
        "getenv",
        "session_user",
        "user",
        "version",
        "which_secret",
    }
)
"""Functions that reveal the engine's settings, environment or catalog."""

FILE_FUNCTIONS = frozenset(
    {
        "arrow_scan",
        "delta_scan",
        "glob",
        "iceberg_scan",
        "json_execute_serialized_sql",
        "mysql_scan",
        "pandas_scan",
        "parquet_bloom_probe",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "parquet_metadata",
        "parquet_scan",
        "parquet_schema",
        "postgres_scan",
        "query",
        "query_table",
        "seq_scan",
        "sniff_csv",
        "sqlite_scan",
        "st_read",
    }
)
FILE_PREFIXES = ("read_",)
"""Table functions that read files, other databases or arbitrary SQL."""

FILE_SUFFIXES = (
    ".csv",
    ".tsv",
    ".txt",
    ".parquet",
    ".json",
    ".jsonl",
    ".ndjson",
    ".db",
    ".duckdb",
    ".sqlite",
    ".xlsx",
    ".gz",
    ".zst",
)
PATH_MARKERS = ("/", "\\", "*", "?", ":", "~")
"""A table name that looks like a path is DuckDB's file "replacement scan"."""

EXTRA_AGGREGATES = frozenset(
    {
        "arbitrary",
        "arg_max_null",
        "arg_min_null",
        "bitstring_agg",
        "corr",
        "count_star",
        "covar_pop",
        "covar_samp",
        "entropy",
        "favg",
        "fsum",
        "histogram",
        "histogram_exact",
        "kahan_sum",
        "kurtosis_pop",
        "list",
        "mad",
        "mean",
        "product",
        "regr_avgx",
        "regr_avgy",
        "regr_sxx",
        "regr_sxy",
        "regr_syy",
        "reservoir_quantile",
        "sem",
        "string_agg",
        "sum_no_overflow",
        "sumkahan",
    }
)
"""DuckDB aggregates that sqlglot does not model as aggregate nodes."""


def is_system(name: str) -> bool:
    return name in SYSTEM_FUNCTIONS or name in SYSTEM_TABLES or name.startswith(SYSTEM_PREFIXES)


def is_file_reader(name: str) -> bool:
    return name in FILE_FUNCTIONS or name.startswith(FILE_PREFIXES)


def looks_like_path(name: str) -> bool:
    return any(m in name for m in PATH_MARKERS) or name.endswith(FILE_SUFFIXES)
