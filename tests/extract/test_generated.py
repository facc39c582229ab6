"""Extracts of a realistic generated platform: nothing identifying leaks, rights hold exactly.

The story source in factories.py pins each rule on one member; here the same
rules are checked against a few hundred generated members, with the expected
membership computed independently, row by row, in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from gateway.config import Settings
from gateway.policy import Policy
from gateway.source.generate import generate
from gateway.source.schema import PROVINCES
from tests.extract.conftest import PROJECT, Build, build_with, make_settings, pseudonym
from tests.extract.factories import Rows, read_tables

AS_OF = dt.date(2026, 3, 1)
BUILT_AT = dt.datetime(2026, 3, 1, 6, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated") / "platform.duckdb"
    generate(400, 11, out, as_of=AS_OF)
    return out


@pytest.fixture(scope="session")
def generated_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generated-extracts")
    (root / "extracts").mkdir()
    return root


def _build(root: Path, platform: Path, policy: Policy, purpose: str) -> tuple[Settings, Rows]:
    settings = make_settings(root)
    out = root / "extracts" / f"{purpose}.duckdb"
    build: Build = build_with(platform, policy, settings, out)
    manifest = build(purpose=purpose, now=BUILT_AT)
    return settings, read_tables(out, manifest, settings)["members"]


def source_rows(platform: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(platform), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def identifying_values(platform: Path) -> set[str]:
    values = {
        str(v)
        for row in source_rows(
            platform, "SELECT username, email, password_hash, phone, iban FROM accounts"
        )
        for v in row
        if v is not None
    }
    values |= {str(b) for (b,) in source_rows(platform, "SELECT body FROM tips")}
    values |= {str(b) for (b,) in source_rows(platform, "SELECT body FROM support_requests")}
    return values


@pytest.mark.parametrize("purpose", ["mission", "external_research"])
def test_no_identifying_value_of_a_generated_platform_reaches_the_extract(
    purpose: str, platform: Path, generated_root: Path, policy: Policy
) -> None:
    settings = make_settings(generated_root)
    out = generated_root / "extracts" / f"scan-{purpose}.duckdb"
    manifest = build_with(platform, policy, settings, out)(purpose=purpose, now=BUILT_AT)
    tables = read_tables(out, manifest, settings)
    cells = {str(v) for rows in tables.values() for row in rows for v in row.values()}
    assert len(cells) > 1000
    identifying = identifying_values(platform)
    assert cells & identifying == set()
    long_values = [v for v in identifying if len(v) >= 8]
    assert [v for v in long_values for cell in cells if v in cell] == []
    cities = {c for (c,) in source_rows(platform, "SELECT DISTINCT city FROM accounts") if c}
    assert cells & (cities - set(PROVINCES)) == set()
    birth_dates = {
        d.isoformat()
        for (d,) in source_rows(platform, "SELECT birth_date FROM accounts")
        if d is not None
    }
    assert cells & birth_dates == set()


def expected_members(platform: Path, purpose: str) -> set[int]:
    """Who should be in, computed from the source without the builder's SQL."""
    as_of = max(BUILT_AT.replace(tzinfo=None), dt.datetime.combine(AS_OF, dt.time()))
    latest: dict[int, tuple[dt.datetime, bool]] = {}
    for account, granted, at in source_rows(
        platform,
        f"SELECT account_id, granted, changed_at FROM consents WHERE purpose = '{purpose}'",
    ):
        assert isinstance(account, int)
        assert isinstance(at, dt.datetime)
        current = latest.get(account)
        if current is None or (at, not granted) > (current[0], not current[1]):
            latest[account] = (at, bool(granted))
    restricted: dict[int, bool] = defaultdict(bool)
    for account, since, until in source_rows(
        platform, "SELECT account_id, since, until FROM restrictions"
    ):
        assert isinstance(account, int)
        assert isinstance(since, dt.datetime)
        assert until is None or isinstance(until, dt.datetime)
        restricted[account] |= since <= as_of and (until is None or until > as_of)
    accounts = [a for (a,) in source_rows(platform, "SELECT account_id FROM accounts")]
    return {
        a
        for a in accounts
        if isinstance(a, int)
        and not restricted[a]
        and (purpose == "mission" or latest.get(a, (None, False))[1])
    }


@pytest.mark.parametrize("purpose", ["mission", "external_research"])
def test_membership_follows_consent_and_restrictions_exactly(
    purpose: str, platform: Path, generated_root: Path, policy: Policy
) -> None:
    settings, members = _build(generated_root, platform, policy, purpose)
    expected = {
        pseudonym(settings, PROJECT, "account", a) for a in expected_members(platform, purpose)
    }
    assert 0 < len(expected) < 400
    assert {r["member_pid"] for r in members} == expected
