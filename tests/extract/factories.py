"""Hand-made platform databases whose every member has a known story.

Each member's rights situation is chosen so a test can say exactly what the
extract must hold for them; every identifying value is unique and
recognisable, so a scan of the extract can prove none of it leaked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from gateway.config import Settings
from gateway.extract.manifest import Manifest
from gateway.extract.reader import attach
from gateway.extract.usable import extract_key
from gateway.source.schema import SOURCE_TABLES, THEMES

T0 = dt.datetime(2026, 3, 1, 12, 0)
"""When the hand-made platform's history ends: its snapshot time."""
BUILT_AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
"""The clock at build time in these tests: the day after the snapshot."""

CITY_PROVINCE = {
    "Amsterdam": "Noord-Holland",
    "Rotterdam": "Zuid-Holland",
    "Eindhoven": "Noord-Brabant",
    "Zwolle": "Overijssel",
}
"""The test platform's Dutch cities; none shares its name with a province."""


@dataclass
class Member:
    account_id: int
    name: str
    birth_date: dt.date | None = dt.date(1980, 6, 15)
    city: str | None = "Amsterdam"
    country: str | None = "NL"
    created_at: dt.datetime = dt.datetime(2020, 1, 10, 9, 30)
    deleted_at: dt.datetime | None = None
    tips: int = 2
    consents: list[tuple[str, bool, dt.datetime]] = field(default_factory=list)
    restrictions: list[tuple[dt.datetime, dt.datetime | None]] = field(default_factory=list)
    erasures: list[tuple[str, dt.datetime]] = field(default_factory=list)

    @property
    def identifiers(self) -> dict[str, str | None]:
        """What the platform knows that identifies this member (nulled once deleted)."""
        if self.deleted_at is not None:
            return dict.fromkeys(("username", "email", "phone", "iban", "password_hash"))
        return {
            "username": f"user_{self.name}",
            "email": f"{self.name}@mail-{self.account_id}.example.nl",
            "phone": f"+31 6 {10000000 + self.account_id * 7919}",
            "iban": f"NL{self.account_id:02d}RABO0{300000000 + self.account_id}",
            "password_hash": f"$argon2id$v=19${self.name}hash",
        }

    def tip_body(self, n: int) -> str:
        return f"Tip {n} van {self.name}: slaap beter met lavendel{self.account_id}x{n} thee"


GRANT = ("external_research", True, dt.datetime(2021, 5, 1))


def story_members() -> list[Member]:
    """One member per rights situation the extract must handle."""
    return [
        Member(1, "anna", consents=[GRANT]),
        Member(
            2,
            "bram",
            consents=[GRANT, ("external_research", False, dt.datetime(2025, 11, 2))],
        ),
        Member(3, "carla", consents=[GRANT], restrictions=[(dt.datetime(2025, 12, 1), None)]),
        Member(4, "daan", consents=[GRANT], erasures=[("content", dt.datetime(2026, 1, 5))]),
        Member(
            5,
            "eva",
            consents=[GRANT],
            birth_date=None,
            city=None,
            country=None,
            deleted_at=dt.datetime(2025, 10, 1),
        ),
        Member(6, "floor", tips=1),  # never consented to anything
        Member(
            7,
            "gijs",
            consents=[GRANT],
            restrictions=[(dt.datetime(2024, 1, 1), dt.datetime(2024, 6, 1))],
        ),
        Member(8, "hanna", consents=[GRANT], erasures=[("account", dt.datetime(2026, 2, 1))]),
        Member(9, "ivo", consents=[GRANT], city="Antwerpen", country="BE"),
        Member(10, "jet", consents=[GRANT], birth_date=dt.date(2010, 3, 1), city="Rotterdam"),
    ]


def by_name(name: str) -> Member:
    return next(m for m in story_members() if m.name == name)


def make_source(
    path: Path,
    members: list[Member] | None = None,
    *,
    drop: str | None = None,
) -> Path:
    """Write a platform database; ``drop="table.column"`` or ``"table"`` breaks its schema."""
    members = story_members() if members is None else members
    con = duckdb.connect(str(path))
    try:
        for table, columns in SOURCE_TABLES.items():
            cols = ", ".join(f"{name} {type_}" for name, type_ in columns.items())
            con.execute(f"CREATE TABLE {table} ({cols})")
        con.executemany("INSERT INTO themes VALUES (?, ?)", list(enumerate(THEMES, start=1)))
        tip_id = 100
        for m in members:
            ids = m.identifiers
            con.execute(
                "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    m.account_id,
                    ids["username"],
                    ids["email"],
                    ids["password_hash"],
                    ids["phone"],
                    m.birth_date,
                    m.city,
                    m.country,
                    ids["iban"],
                    m.created_at,
                    m.deleted_at,
                ],
            )
            for n in range(m.tips):
                tip_id += 1
                created = dt.datetime(2025, 1 + n % 12, 10, 8, 0)
                con.execute(
                    "INSERT INTO tips VALUES (?, ?, ?, ?, ?, ?)",
                    [tip_id, m.account_id, 1 + n % len(THEMES), m.tip_body(n), created, n],
                )
            con.execute("INSERT INTO theme_follows VALUES (?, 2, ?)", [m.account_id, m.created_at])
            for purpose, granted, at in m.consents:
                con.execute(
                    "INSERT INTO consents VALUES (?, ?, ?, ?)", [m.account_id, purpose, granted, at]
                )
            for since, until in m.restrictions:
                con.execute(
                    "INSERT INTO restrictions VALUES (?, ?, ?)", [m.account_id, since, until]
                )
            for scope, at in m.erasures:
                con.execute(
                    "INSERT INTO erasure_requests VALUES (?, ?, ?)", [m.account_id, scope, at]
                )
            for request_id, created, closed in (
                (m.account_id * 10, dt.datetime(2025, 6, 1), dt.datetime(2025, 6, 4)),
                (m.account_id * 10 + 1, dt.datetime(2014, 2, 1), dt.datetime(2014, 2, 2)),
            ):
                con.execute(
                    "INSERT INTO support_requests VALUES (?, ?, 'privacy', ?, ?, ?)",
                    [request_id, m.account_id, f"Klacht van {m.name} over iets", created, closed],
                )
        # A tip whose author is not in accounts: left out, counted.
        con.execute(
            "INSERT INTO tips VALUES (99, 424242, 1, 'wees tip zonder lid', ?, 0)",
            [dt.datetime(2025, 2, 2)],
        )
        con.execute("INSERT INTO tips VALUES (98, 424242, 1, 'tweede wees', ?, 0)", [T0])
        if drop is not None:
            table, _, column = drop.partition(".")
            if column:
                con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
            else:
                con.execute(f"DROP TABLE {table}")
    finally:
        con.close()
    return path


def add_rights(path: Path, sql: str, params: list[object]) -> None:
    """Append a rights change to an existing source, as the platform would."""
    con = duckdb.connect(str(path))
    try:
        con.execute(sql, params)
    finally:
        con.close()


def identifying_values(members: list[Member] | None = None) -> set[str]:
    """Every value the extract must never contain."""
    members = story_members() if members is None else members
    values: set[str] = set()
    for m in members:
        values |= {v for v in m.identifiers.values() if v}
        values |= {m.tip_body(n) for n in range(m.tips)}
        values |= {f"lavendel{m.account_id}x{n}" for n in range(m.tips)}
        values.add(f"Klacht van {m.name} over iets")
        if m.city:
            values.add(m.city)
        if m.birth_date:
            values.add(m.birth_date.isoformat())
    values |= {"wees tip zonder lid", "tweede wees"}
    return values


Rows = list[dict[str, object]]


def read_tables(path: Path, manifest: Manifest, settings: Settings) -> dict[str, Rows]:
    """Every row of every table of a decrypted extract."""
    con = attach(path, extract_key(manifest, settings))
    try:
        names = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'extract'"
        ).fetchall()
        tables: dict[str, Rows] = {}
        for (name,) in names:
            cursor = con.execute(f'SELECT * FROM "{name}"')
            columns = [d[0] for d in cursor.description]
            tables[name] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        return tables
    finally:
        con.close()
