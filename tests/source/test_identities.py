"""Column-wise identity builders: uniqueness, check digits, exact shapes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from gateway.source import identities
from gateway.source.geography import (
    ABROAD_CITIES,
    CITIES,
    CITY_PROVINCE,
    COUNTRY_SHARE,
    PHONE_PREFIX,
    PROVINCE_POPULATION,
)
from gateway.source.schema import PROVINCES


def test_numbered_duplicates_keeps_first_and_numbers_the_rest() -> None:
    stems = pa.array(["sanne", "bram", "sanne", "sanne", "bram", "eva"])
    assert identities.numbered_duplicates(stems).to_pylist() == [
        "sanne",
        "bram",
        "sanne_2",
        "sanne_3",
        "bram_2",
        "eva",
    ]


def test_numbered_duplicates_counts_the_tail() -> None:
    stems = pa.array(["s.devries", "s.devries", "s.devries"])
    tails = pa.array(["@gmail.com", "@ziggo.nl", "@gmail.com"])
    assert identities.numbered_duplicates(stems, tails).to_pylist() == [
        "s.devries",
        "s.devries",
        "s.devries_2",
    ]


def test_usernames_stay_unique_under_heavy_collisions() -> None:
    rng = np.random.default_rng(1)
    n = 50_000
    first = rng.integers(0, 3, n)
    names = identities.usernames(
        rng, first, rng.random(n) < 0.5, rng.integers(0, 2, n), rng.integers(1950, 1953, n)
    )
    assert len(set(names.to_pylist())) == n


def test_ibans_carry_valid_check_digits() -> None:
    ibans = identities.dutch_ibans(np.random.default_rng(2), 2_000).to_pylist()
    for iban in ibans:
        digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
        assert int(digits) % 97 == 1
    assert {iban[4:8] for iban in ibans} == set(identities.BANKS)


def test_ascii_strings_turns_rows_into_strings() -> None:
    codes = np.frombuffer(b"abcxyz", dtype=np.uint8).reshape(2, 3)
    assert identities.ascii_strings(codes).to_pylist() == ["abc", "xyz"]


@pytest.mark.parametrize(
    ("name", "slug"),
    [("van den Berg", "vandenberg"), ("Öztürk", "ozturk"), ("El Amrani", "elamrani")],
)
def test_slug(name: str, slug: str) -> None:
    assert identities.slug(name) == slug


def test_geography_tables_agree() -> None:
    assert set(CITIES) == set(PROVINCE_POPULATION) == set(PROVINCES)
    assert all(len(cities) >= 5 for cities in CITIES.values())
    assert set(COUNTRY_SHARE) == set(PHONE_PREFIX) == set(ABROAD_CITIES) | {"NL"}
    assert sum(COUNTRY_SHARE.values()) == pytest.approx(1.0)
    abroad = {city for cities in ABROAD_CITIES.values() for city in cities}
    assert not abroad & CITY_PROVINCE.keys()
    assert CITY_PROVINCE["Groningen"] == "Groningen"
    assert CITY_PROVINCE["Den Haag"] == "Zuid-Holland"
