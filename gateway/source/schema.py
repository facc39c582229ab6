"""Schema of the platform database, the contract between generator and extract.

DESIGN.md section 3. The extract builder checks a source against this before
reading it, and names the missing table or column when it does not match.
"""

from __future__ import annotations

SOURCE_TABLES: dict[str, dict[str, str]] = {
    "accounts": {
        "account_id": "BIGINT",
        "username": "VARCHAR",
        "email": "VARCHAR",
        "password_hash": "VARCHAR",
        "phone": "VARCHAR",
        "birth_date": "DATE",
        "city": "VARCHAR",
        "country": "VARCHAR",
        "iban": "VARCHAR",
        "created_at": "TIMESTAMP",
        "deleted_at": "TIMESTAMP",
    },
    "themes": {"theme_id": "INTEGER", "name": "VARCHAR"},
    "tips": {
        "tip_id": "BIGINT",
        "account_id": "BIGINT",
        "theme_id": "INTEGER",
        "body": "VARCHAR",
        "created_at": "TIMESTAMP",
        "helpful_votes": "INTEGER",
    },
    "theme_follows": {
        "account_id": "BIGINT",
        "theme_id": "INTEGER",
        "followed_at": "TIMESTAMP",
    },
    "consents": {
        "account_id": "BIGINT",
        "purpose": "VARCHAR",
        "granted": "BOOLEAN",
        "changed_at": "TIMESTAMP",
    },
    "restrictions": {
        "account_id": "BIGINT",
        "since": "TIMESTAMP",
        "until": "TIMESTAMP",
    },
    "erasure_requests": {
        "account_id": "BIGINT",
        "scope": "VARCHAR",
        "requested_at": "TIMESTAMP",
    },
    "support_requests": {
        "request_id": "BIGINT",
        "account_id": "BIGINT",
        "category": "VARCHAR",
        "body": "VARCHAR",
        "created_at": "TIMESTAMP",
        "closed_at": "TIMESTAMP",
    },
}
"""Table -> column -> DuckDB type. Every source has at least these."""

THEMES: tuple[str, ...] = (
    "sleep",
    "stress",
    "nutrition",
    "movement",
    "chronic pain",
    "diabetes",
    "mental health",
    "heart health",
    "weight",
    "smoking cessation",
    "pregnancy",
    "ageing well",
)
"""The learning themes, in theme_id order (1-based)."""

PROVINCES: tuple[str, ...] = (
    "Drenthe",
    "Flevoland",
    "Friesland",
    "Gelderland",
    "Groningen",
    "Limburg",
    "Noord-Brabant",
    "Noord-Holland",
    "Overijssel",
    "Utrecht",
    "Zeeland",
    "Zuid-Holland",
)

SUPPORT_CATEGORIES: tuple[str, ...] = (
    "account",
    "privacy",
    "content",
    "technical",
    "billing",
    "other",
)

PURPOSES: tuple[str, ...] = ("mission", "external_research", "research_contact")
ERASURE_SCOPES: tuple[str, ...] = ("account", "content")
