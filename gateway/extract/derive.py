"""From a policy's ``derive`` specs to the SQL that reduces source columns.

Every extract column names a source column and one of a fixed set of
reductions (``Derivation.transform``). Which reductions a source column may
take is decided here, by what the column *is* (``SOURCE_KINDS``): keys only
become keyed pseudonyms, a birth date only a year or an age band, a city only a
province, free text only a word count, and direct identifiers nothing at all.
A policy that asks for anything else is refused before any data is read, so no
policy can copy an identifier or a free-text column into an extract.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from enum import StrEnum

from gateway.errors import Issue, PolicyError
from gateway.extract._sql import ident, literal
from gateway.policy import ColumnRole, Policy, Table
from gateway.policy.model import Derivation


class Kind(StrEnum):
    """What a source column holds, which decides how it may be reduced."""

    KEY = "key"  # a row identifier: only a keyed pseudonym
    IDENTIFIER = "identifier"  # name, e-mail, phone, IBAN, password hash: never extracted
    BIRTH_DATE = "birth_date"  # exact date of birth: year or age band
    PLACE = "place"  # city: province
    FREE_TEXT = "free_text"  # what people wrote: word count only
    TIMESTAMP = "timestamp"  # date, month, year, or days between two of them
    CATEGORY = "category"  # a small closed set: copied
    COUNT = "count"  # a number: copied
    THEME_REF = "theme_ref"  # a theme id: the theme's public name


ALLOWED: dict[Kind, frozenset[str]] = {
    Kind.KEY: frozenset({"pseudonym"}),
    Kind.IDENTIFIER: frozenset(),
    Kind.BIRTH_DATE: frozenset({"year", "age_band"}),
    Kind.PLACE: frozenset({"province"}),
    Kind.FREE_TEXT: frozenset({"word_count"}),
    Kind.TIMESTAMP: frozenset({"date", "month", "year", "days_between"}),
    Kind.CATEGORY: frozenset({"copy"}),
    Kind.COUNT: frozenset({"copy"}),
    Kind.THEME_REF: frozenset({"theme_name"}),
}
"""Kind -> the reductions a policy may ask for."""

SENSITIVE = frozenset({Kind.KEY, Kind.IDENTIFIER, Kind.BIRTH_DATE, Kind.PLACE, Kind.FREE_TEXT})
"""Kinds whose raw value identifies a member or is what they wrote."""

SOURCE_KINDS: dict[str, Kind] = {
    "accounts.account_id": Kind.KEY,
    "accounts.username": Kind.IDENTIFIER,
    "accounts.email": Kind.IDENTIFIER,
    "accounts.password_hash": Kind.IDENTIFIER,
    "accounts.phone": Kind.IDENTIFIER,
    "accounts.iban": Kind.IDENTIFIER,
    "accounts.birth_date": Kind.BIRTH_DATE,
    "accounts.city": Kind.PLACE,
    "accounts.country": Kind.CATEGORY,
    "accounts.created_at": Kind.TIMESTAMP,
    "accounts.deleted_at": Kind.TIMESTAMP,
    "tips.tip_id": Kind.KEY,
    "tips.account_id": Kind.KEY,
    "tips.theme_id": Kind.THEME_REF,
    "tips.body": Kind.FREE_TEXT,
    "tips.created_at": Kind.TIMESTAMP,
    "tips.helpful_votes": Kind.COUNT,
    "theme_follows.account_id": Kind.KEY,
    "theme_follows.theme_id": Kind.THEME_REF,
    "theme_follows.followed_at": Kind.TIMESTAMP,
    "support_requests.request_id": Kind.KEY,
    "support_requests.account_id": Kind.KEY,
    "support_requests.category": Kind.CATEGORY,
    "support_requests.body": Kind.FREE_TEXT,
    "support_requests.created_at": Kind.TIMESTAMP,
    "support_requests.closed_at": Kind.TIMESTAMP,
}
"""Every source column an extract may draw on. Rights tables are not among them."""

KEY_NAMESPACES: dict[str, str] = {
    "accounts.account_id": "account",
    "tips.account_id": "account",
    "theme_follows.account_id": "account",
    "support_requests.account_id": "account",
    "tips.tip_id": "tip",
    "support_requests.request_id": "support_request",
}
"""Keys naming the same thing share a namespace, hence a pseudonym: the HMAC
message is ``namespace:value``, so tip 7 and account 7 never collide."""

MEMBERS = "accounts"
MEMBER_NAMESPACE = "account"
PROFILE_COLUMNS = frozenset({"accounts.birth_date", "accounts.city", "accounts.country"})
"""Account attributes an unlinked (deleted or account-erased) member no longer has."""

PSEUDONYM_HEX = 32
"""Pseudonyms are HMAC-SHA256 truncated to 128 bits, as 32 hex digits."""


def check_policy(policy: Policy) -> None:
    """Refuse a policy that would copy anything identifying, with every reason at once."""
    issues: list[Issue] = []

    def refuse(code: str, where: str, message: str, hint: str | None = None) -> None:
        issues.append(Issue(code=code, message=f"{where}: {message}", hint=hint))

    unit = policy.tables[policy.unit_table]
    if unit.source != MEMBERS:
        refuse(
            "unit_table_not_accounts",
            f"tables.{policy.unit_table}.source",
            f"the unit table must come from {MEMBERS!r}, not {unit.source!r}",
        )
    for table_name, table in policy.tables.items():
        for column_name, column in table.columns.items():
            where = f"tables.{table_name}.columns.{column_name}.derive"
            derive = column.derive
            if derive is None:
                refuse("no_derivation", where, "missing; every extract column needs one")
                continue
            for source_column in (derive.source, derive.until):
                if source_column is None:
                    continue
                if source_column.partition(".")[0] != table.source:
                    refuse(
                        "foreign_source_column",
                        where,
                        f"{source_column} is not a column of the table's source {table.source}",
                    )
                elif source_column not in SOURCE_KINDS:
                    refuse(
                        "unknown_source_column",
                        where,
                        f"{source_column} is not a source column an extract may use",
                        hint="known: " + ", ".join(sorted(SOURCE_KINDS)),
                    )
            if derive.source not in SOURCE_KINDS:
                continue
            kind = SOURCE_KINDS[derive.source]
            if derive.transform not in ALLOWED[kind]:
                allowed = ", ".join(sorted(ALLOWED[kind])) or "nothing: never extracted"
                refuse(
                    "raw_sensitive_column" if kind in SENSITIVE else "transform_not_allowed",
                    where,
                    f"{derive.source} is a {kind.value} column; "
                    f"transform {derive.transform!r} is not allowed (allowed: {allowed})",
                )
            if (derive.transform == "days_between") != (derive.until is not None):
                refuse("bad_until", where, "`until` goes with, and only with, days_between")
            elif derive.until is not None and SOURCE_KINDS.get(derive.until) is not Kind.TIMESTAMP:
                refuse("bad_until", where, f"{derive.until} is not a timestamp")
            if column.role in (ColumnRole.PRIVACY_UNIT, ColumnRole.IDENTIFIER) and (
                derive.transform != "pseudonym"
            ):
                refuse(
                    "identifier_not_pseudonymised",
                    where,
                    f"a {column.role.value} column must be a pseudonym",
                )
            if column.role is ColumnRole.PRIVACY_UNIT and (
                KEY_NAMESPACES.get(derive.source) != MEMBER_NAMESPACE
            ):
                refuse(
                    "privacy_unit_not_member",
                    where,
                    f"the privacy unit must be the member's pseudonym, not {derive.source}",
                )
    if issues:
        raise PolicyError(
            "policy_unsafe_for_extract",
            f"policy {policy.name!r} cannot be used to build an extract ({len(issues)} problem(s))",
            hint="fix the `derive` specs named below; see docs/extract.md",
            issues=issues,
        )


def member_link(table: Table, policy: Policy) -> str:
    """The source column that ties a row of ``table`` to its member (an account id)."""
    derive = table.columns[policy.privacy_unit].derive
    assert derive is not None  # check_policy guarantees it
    return derive.source.partition(".")[2]


def age_band_labels(bands: tuple[int, ...]) -> tuple[str, ...]:
    """``(18, 25, 35)`` -> ``("<18", "18-24", "25-34", "35+")``."""
    inner = [f"{lo}-{hi - 1}" for lo, hi in itertools.pairwise(bands)]
    return (f"<{bands[0]}", *inner, f"{bands[-1]}+")


@dataclass(frozen=True)
class Context:
    """What the reductions need beyond the row, by name in the build's connection.

    ``as_of`` is the SQL date ages are computed at; the city-to-province and
    theme tables are looked up per row; ``pseudonym`` is the keyed-hash macro.
    """

    as_of: str
    age_bands: tuple[int, ...]
    city_table: str = "_city_province"
    theme_table: str = "src.themes"
    pseudonym: str = "_pseudonym"


def column_sql(column_name: str, derivation: Derivation, sql_type: str, ctx: Context) -> str:
    """``CAST(<reduction of t.source> AS type) AS "column"``; rows are ``t``, members ``m``."""
    source = derivation.source
    col = f"t.{ident(source.partition('.')[2])}"
    if source in PROFILE_COLUMNS:
        col = f"(CASE WHEN m.unlinked THEN NULL ELSE {col} END)"
    expr = _reduction(derivation, source, col, ctx)
    return f"CAST({expr} AS {sql_type}) AS {ident(column_name)}"


def _reduction(derivation: Derivation, source: str, col: str, ctx: Context) -> str:
    match derivation.transform:
        case "pseudonym":
            namespace = KEY_NAMESPACES[source]
            if namespace == MEMBER_NAMESPACE:
                return "m.member_pid"
            return f"{ctx.pseudonym}({literal(namespace)}, {col})"
        case "copy":
            return col
        case "year":
            return f"year({col})"
        case "age_band":
            labels = age_band_labels(ctx.age_bands)
            age = f"date_sub('year', CAST({col} AS DATE), {ctx.as_of})"
            arms = " ".join(
                f"WHEN {age} < {bound} THEN {literal(label)}"
                for bound, label in zip(ctx.age_bands, labels, strict=False)
            )
            return f"CASE WHEN {col} IS NULL THEN 'unknown' {arms} ELSE {literal(labels[-1])} END"
        case "province":
            lookup = f"(SELECT cp.province FROM {ctx.city_table} cp WHERE cp.city = {col})"
            return f"CASE WHEN {col} IS NULL THEN 'unknown' ELSE coalesce({lookup}, 'abroad') END"
        case "date":
            return f"CAST({col} AS DATE)"
        case "month":
            return f"CAST(date_trunc('month', {col}) AS DATE)"
        case "theme_name":
            return f"(SELECT th.name FROM {ctx.theme_table} th WHERE th.theme_id = {col})"
        case "word_count":
            # Words are runs of characters other than spaces, tabs and line
            # breaks. Splitting on spaces is the fast path; the regex runs only
            # where a tab or line break occurs.
            return (
                f"CASE WHEN {col} IS NULL THEN 0 "
                f"WHEN contains({col}, chr(10)) OR contains({col}, chr(9)) "
                f"OR contains({col}, chr(13)) THEN len(regexp_extract_all({col}, '\\S+')) "
                f"ELSE len(list_filter(string_split({col}, ' '), w -> w <> '')) END"
            )
        case "days_between":
            assert derivation.until is not None
            until = f"t.{ident(derivation.until.partition('.')[2])}"
            return f"date_diff('day', {col}, {until})"
