"""Members' rights as the build sees them: the source's rights tables plus the ledger.

Both say the same kinds of thing (consents, restrictions, erasure requests,
deletions); the build reads their union, so a change reaches extracts whether
the platform wrote it into the source or sent it to ``gateway rights import``.
The same two places answer the freshness question: did anything that must
change an extract happen after it was built?
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

import duckdb

from gateway.extract._sql import literal, naive
from gateway.extract.ledger import Change, LedgerEntry
from gateway.extract.source import SOURCE


def load_rights(con: duckdb.DuckDBPyConnection, ledger: Sequence[LedgerEntry]) -> None:
    """Create temp views ``_consents``, ``_restrictions``, ``_erasures``, ``_deletions``.

    A ledger restriction with the same account and ``since`` as an earlier one
    (in the ledger or the source) replaces it, which is how a restriction ends.
    """
    import pyarrow as pa  # a build needs it; the freshness check every query makes does not

    schema = pa.schema(
        [
            ("seq", pa.int64()),
            ("kind", pa.string()),
            ("account_id", pa.int64()),
            ("purpose", pa.string()),
            ("granted", pa.bool_()),
            ("scope", pa.string()),
            ("effective_at", pa.timestamp("us")),
            ("until", pa.timestamp("us")),
        ]
    )
    rows = pa.Table.from_pylist(
        [{name: getattr(entry, name) for name in schema.names} for entry in ledger], schema=schema
    )
    con.register("_ledger_rows", rows)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _ledger AS SELECT * FROM _ledger_rows")
    finally:
        con.unregister("_ledger_rows")
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW _consents AS
            SELECT account_id, purpose, granted, changed_at FROM {SOURCE}.consents
            UNION ALL
            SELECT account_id, purpose, granted, effective_at FROM _ledger WHERE kind = 'consent';
        CREATE OR REPLACE TEMP VIEW _restrictions AS
            WITH ledger AS (
                SELECT account_id, effective_at AS since, arg_max_null(until, seq) AS until
                FROM _ledger WHERE kind = 'restriction' GROUP BY ALL
            )
            SELECT s.account_id, s.since, s.until
            FROM {SOURCE}.restrictions s ANTI JOIN ledger l USING (account_id, since)
            UNION ALL
            SELECT account_id, since, until FROM ledger;
        CREATE OR REPLACE TEMP VIEW _erasures AS
            SELECT account_id, scope, requested_at FROM {SOURCE}.erasure_requests
            UNION ALL
            SELECT account_id, scope, effective_at FROM _ledger WHERE kind = 'erasure';
        CREATE OR REPLACE TEMP VIEW _deletions AS
            SELECT account_id, deleted_at FROM {SOURCE}.accounts WHERE deleted_at IS NOT NULL
            UNION ALL
            SELECT account_id, effective_at FROM _ledger WHERE kind = 'account_deletion';
    """)


def member_states_sql(consent_purpose: str | None, as_of: dt.datetime) -> str:
    """One row per account: ``state`` (included / no_consent / restricted),
    ``content_erased`` and ``unlinked`` (deleted or account-erased).

    ``consent_purpose`` is None for the contract basis (everyone), else the
    purpose whose latest consent must be a grant; at equal times a withdrawal
    wins. A restriction counts if it is in force at ``as_of``.
    """
    at = f"TIMESTAMP {literal(naive(as_of).isoformat(sep=' '))}"
    if consent_purpose is None:
        consent_join, no_consent = "", "false"
    else:
        consent_join = f"""
            LEFT JOIN (
                SELECT account_id,
                       arg_max(granted, epoch_us(changed_at) * 2 + CAST(NOT granted AS BIGINT))
                           AS granted
                FROM _consents WHERE purpose = {literal(consent_purpose)} GROUP BY account_id
            ) c USING (account_id)"""
        no_consent = "c.granted IS NOT true"
    return f"""
        SELECT a.account_id,
               CASE WHEN {no_consent} THEN 'no_consent'
                    WHEN r.account_id IS NOT NULL THEN 'restricted'
                    ELSE 'included' END AS state,
               coalesce(e.content, false) AS content_erased,
               (d.account_id IS NOT NULL OR coalesce(e.account, false)) AS unlinked
        FROM {SOURCE}.accounts a
        {consent_join}
        LEFT JOIN (
            SELECT DISTINCT account_id FROM _restrictions
            WHERE since <= {at} AND (until IS NULL OR until > {at})
        ) r USING (account_id)
        LEFT JOIN (
            SELECT account_id, bool_or(scope = 'content') AS content,
                   bool_or(scope = 'account') AS account
            FROM _erasures GROUP BY account_id
        ) e USING (account_id)
        LEFT JOIN (SELECT DISTINCT account_id FROM _deletions) d USING (account_id)
    """


def source_changes_after(
    con: duckdb.DuckDBPyConnection, snapshot_at: dt.datetime, purpose: str
) -> Counter[Change]:
    """Rights changes in the attached source dated after ``snapshot_at``."""
    at = f"TIMESTAMP {literal(naive(snapshot_at).isoformat(sep=' '))}"
    row = con.execute(
        f"""
        SELECT
            (SELECT count(*) FROM {SOURCE}.consents
             WHERE NOT granted AND purpose = ? AND changed_at > {at}),
            (SELECT count(*) FROM {SOURCE}.restrictions WHERE since > {at}),
            (SELECT count(*) FROM {SOURCE}.erasure_requests WHERE requested_at > {at}),
            (SELECT count(*) FROM {SOURCE}.accounts WHERE deleted_at > {at})
    """,
        [purpose],
    ).fetchone()
    assert row is not None
    return _counter(row)


def _counter(row: tuple[int, ...]) -> Counter[Change]:
    return Counter({change: n for change, n in zip(Change, row, strict=True) if n})
