"""Accounts: Dutch identities, plausible ages and provinces, deleted accounts unlinked."""

from __future__ import annotations

import re

import duckdb
import pytest

from gateway.source.behaviour import MIN_SIGNUP_AGE
from gateway.source.geography import ABROAD_CITIES, CITY_PROVINCE, PROVINCE_POPULATION
from gateway.source.schema import PROVINCES
from tests.source.factories import AS_OF, scalar, values

IDENTIFIERS = ("username", "email", "phone", "iban", "password_hash", "birth_date", "city")


def share(db: duckdb.DuckDBPyConnection, condition: str, table: str = "accounts") -> float:
    return scalar(db, f"SELECT avg(CASE WHEN {condition} THEN 1.0 ELSE 0 END) FROM {table}")


def test_account_ids_follow_sign_up_order(db: duckdb.DuckDBPyConnection) -> None:
    ids = values(db, "SELECT account_id FROM accounts ORDER BY created_at")
    assert ids == list(range(1, len(ids) + 1))


def test_deleted_accounts_keep_a_row_without_identifiers(db: duckdb.DuckDBPyConnection) -> None:
    deleted = share(db, "deleted_at IS NOT NULL")
    assert 0.04 < deleted < 0.08
    leaked = " OR ".join(f"{column} IS NOT NULL" for column in IDENTIFIERS)
    assert (
        scalar(db, f"SELECT count(*) FROM accounts WHERE deleted_at IS NOT NULL AND ({leaked})")
        == 0
    )
    assert scalar(db, "SELECT count(*) FROM accounts WHERE deleted_at <= created_at") == 0
    assert scalar(db, "SELECT count(*) FROM accounts WHERE country IS NULL") == 0


def test_deleted_accounts_keep_their_content(db: duckdb.DuckDBPyConnection) -> None:
    tips_of_deleted = scalar(
        db,
        "SELECT count(*) FROM tips JOIN accounts USING (account_id) "
        "WHERE accounts.deleted_at IS NOT NULL",
    )
    assert tips_of_deleted > 1_000
    assert (
        scalar(
            db,
            "SELECT count(*) FROM tips JOIN accounts a USING (account_id) "
            "WHERE tips.created_at >= a.deleted_at",
        )
        == 0
    )


def test_handles_and_addresses_are_unique_and_well_formed(db: duckdb.DuckDBPyConnection) -> None:
    for column in ("username", "email"):
        assert scalar(db, f"SELECT count({column}) - count(DISTINCT {column}) FROM accounts") == 0
    usernames = values(db, "SELECT username FROM accounts WHERE username IS NOT NULL")
    assert all(re.fullmatch(r"[a-z0-9._]+", name) for name in usernames)
    emails = values(db, "SELECT email FROM accounts WHERE email IS NOT NULL")
    assert all(re.fullmatch(r"[a-z0-9._]+@[a-z0-9.]+\.[a-z]+", email) for email in emails)
    assert any(name.startswith(("sanne", "daan", "emma", "jan")) for name in usernames)


def test_phones_are_mobile_numbers_of_the_members_country(db: duckdb.DuckDBPyConnection) -> None:
    assert 0.7 < share(db, "phone IS NOT NULL") < 0.8
    dutch = values(db, "SELECT phone FROM accounts WHERE country = 'NL' AND phone IS NOT NULL")
    assert all(re.fullmatch(r"\+316\d{8}", phone) for phone in dutch)
    assert (
        scalar(db, "SELECT count(*) FROM accounts WHERE country = 'BE' AND phone LIKE '+32%'") > 0
    )


def test_ibans_are_valid_dutch_ibans(db: duckdb.DuckDBPyConnection) -> None:
    ibans = values(db, "SELECT iban FROM accounts WHERE iban IS NOT NULL")
    assert 0.15 < len(ibans) / 20_000 < 0.35
    for iban in ibans:
        assert re.fullmatch(r"NL\d{2}[A-Z]{4}\d{10}", iban)
        rearranged = iban[4:] + iban[:4]
        assert int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1
    assert (
        scalar(db, "SELECT count(*) FROM accounts WHERE iban IS NOT NULL AND country <> 'NL'") == 0
    )


def test_password_hashes_look_like_argon2(db: duckdb.DuckDBPyConnection) -> None:
    hashes = values(db, "SELECT password_hash FROM accounts WHERE deleted_at IS NULL")
    assert len(set(hashes)) == len(hashes)
    assert all(
        re.fullmatch(r"\$argon2id\$v=19\$m=65536,t=3,p=4\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}", h)
        for h in hashes
    )


def test_ages_follow_an_adult_dutch_pyramid(db: duckdb.DuckDBPyConnection) -> None:
    age = f"date_sub('year', birth_date, DATE '{AS_OF}')"
    known = "birth_date IS NOT NULL AND "
    assert share(db, f"{known}{age} < 18") < 0.01
    assert 0.05 < share(db, f"{known}{age} BETWEEN 18 AND 24") < 0.12
    assert 0.6 < share(db, f"{known}{age} BETWEEN 25 AND 64") < 0.8
    assert 0.03 < share(db, f"{known}{age} >= 75") < 0.1
    assert scalar(db, f"SELECT max({age}) FROM accounts") <= 96
    too_young = f"birth_date > created_at - INTERVAL {MIN_SIGNUP_AGE} YEAR"
    assert scalar(db, f"SELECT count(*) FROM accounts WHERE {too_young}") == 0


def test_provinces_follow_the_population(db: duckdb.DuckDBPyConnection) -> None:
    cities = db.execute(
        "SELECT city, count(*) FROM accounts "
        "WHERE country = 'NL' AND city IS NOT NULL GROUP BY city"
    ).fetchall()
    assert {city for city, _ in cities} <= CITY_PROVINCE.keys()
    per_province = dict.fromkeys(PROVINCES, 0)
    for city, count in cities:
        per_province[CITY_PROVINCE[city]] += count
    total = sum(per_province.values())
    population = sum(PROVINCE_POPULATION.values())
    for province, count in per_province.items():
        expected = PROVINCE_POPULATION[province] / population
        assert count / total == pytest.approx(expected, rel=0.25), province
    assert max(per_province, key=per_province.__getitem__) == "Zuid-Holland"


def test_members_abroad_live_in_cities_outside_the_mapping(db: duckdb.DuckDBPyConnection) -> None:
    assert 0.04 < share(db, "country <> 'NL'") < 0.12
    abroad = db.execute(
        "SELECT country, city FROM accounts WHERE country <> 'NL' AND city IS NOT NULL"
    ).fetchall()
    assert {country for country, _ in abroad} >= {"BE", "DE"}
    assert all(
        city in ABROAD_CITIES[country] and city not in CITY_PROVINCE for country, city in abroad
    )


def test_sign_ups_grow_over_the_years(db: duckdb.DuckDBPyConnection) -> None:
    per_year = dict(
        db.execute(
            f"SELECT date_sub('year', created_at, TIMESTAMP '{AS_OF}'), count(*) "
            "FROM accounts GROUP BY 1"
        ).fetchall()
    )
    assert per_year[0] > 3 * per_year[11]
    assert min(per_year) == 0
    assert max(per_year) == 11
