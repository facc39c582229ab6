"""Who the members are: sign-up, age, sex, country, interests, activity level.

``draw_members`` decides everything later tables depend on, as arrays over
all members; ``accounts`` then adds what only the accounts table shows
(handles, contact details, city), nulling identifiers of deleted accounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from gateway.source import behaviour as b
from gateway.source import identities
from gateway.source.draw import (
    DAY_US,
    YEAR_US,
    Bools,
    Floats,
    Ints,
    Timeline,
    between,
    stream,
    timestamps,
    to_arrow,
)
from gateway.source.geography import (
    ABROAD_CITIES,
    CITIES,
    COUNTRY_SHARE,
    PHONE_PREFIX,
    PROVINCE_POPULATION,
)
from gateway.source.schema import THEMES

COUNTRIES: tuple[str, ...] = tuple(COUNTRY_SHARE)
PREFERENCE_BLOCK = 1_000_000
"""Members per block when ranking interests (bounds memory at 20M members)."""


@dataclass(frozen=True)
class Members:
    """Per-member arrays, row ``i`` is account ``i + 1`` (accounts in sign-up order)."""

    created: Ints
    end: Ints
    """Deletion time for deleted accounts, else the snapshot: activity stops here."""
    deleted: Bools
    country: Ints
    birth: Ints
    """Birth time, epoch microseconds (midnight)."""
    female: Bools
    first_name: Ints
    english: Bools
    preference: npt.NDArray[np.int8]
    """``n x len(THEMES)``: theme indices, most interesting first."""
    follows: Ints
    tips: Ints
    quality: Floats
    """How helpful others find the member's tips (a multiplier, median 1)."""

    @property
    def count(self) -> int:
        return len(self.created)

    @cached_property
    def tips_before(self) -> Ints:
        """Tips of all members before each member: where their ``tip_id``s start."""
        return np.cumsum(self.tips) - self.tips

    @property
    def account_id(self) -> Ints:
        return np.arange(1, self.count + 1, dtype=np.int64)

    @property
    def abroad(self) -> Bools:
        abroad: Bools = self.country != COUNTRIES.index("NL")
        return abroad


def draw_members(seed: int, n: int, timeline: Timeline) -> Members:
    """Draw ``n`` members whose history ends at ``timeline.snapshot_at``."""
    rng = stream(seed, "members")
    created = _signups(rng, n, timeline)
    deleted = rng.random(n) < b.DELETED_SHARE
    end = np.full(n, timeline.end, dtype=np.int64)
    end[deleted] = between(rng, created[deleted] + 1, end[deleted])
    country = rng.choice(len(COUNTRIES), n, p=_normalised(COUNTRY_SHARE.values()))
    birth = _births(rng, created, timeline)
    age = (timeline.end - birth) / YEAR_US
    female = rng.random(n) < b.FEMALE_SHARE
    female_name = rng.choice(
        len(identities.FEMALE_NAMES),
        n,
        p=identities.zipf_weights(len(identities.FEMALE_NAMES), 0.5),
    )
    male_name = rng.choice(
        len(identities.MALE_NAMES), n, p=identities.zipf_weights(len(identities.MALE_NAMES), 0.5)
    )
    english_share = np.where(
        country == COUNTRIES.index("NL"), b.ENGLISH_SHARE["NL"], b.ENGLISH_SHARE["abroad"]
    )
    return Members(
        created=created,
        end=end,
        deleted=deleted,
        country=country,
        birth=birth,
        female=female,
        first_name=np.where(female, female_name, male_name),
        english=rng.random(n) < english_share,
        preference=_preferences(rng, age, female),
        follows=rng.choice(len(b.FOLLOW_COUNT_WEIGHTS), n, p=_normalised(b.FOLLOW_COUNT_WEIGHTS)),
        tips=_tip_counts(rng, created, end),
        quality=rng.lognormal(0.0, b.VOTES_QUALITY_SD, n),
    )


def _normalised(weights: Iterable[float]) -> Floats:
    values: Floats = np.asarray(list(weights), dtype=np.float64)
    values /= values.sum()
    return values


def _signups(rng: np.random.Generator, n: int, timeline: Timeline) -> Ints:
    """Sign-up times with exponential growth, sorted: account ids follow sign-up order."""
    growth = np.log(b.SIGNUP_GROWTH) / (1 - 1 / b.HISTORY_YEARS)
    fraction = np.log1p(rng.random(n) * np.expm1(growth)) / growth
    span = timeline.end - timeline.launch
    return np.sort(timeline.launch + (fraction * span).astype(np.int64))


def _births(rng: np.random.Generator, created: Ints, timeline: Timeline) -> Ints:
    """Birth times from the age pyramid at the snapshot; nobody joined younger than 16."""
    low, high, weight = (
        np.array(column, dtype=np.float64) for column in zip(*b.AGE_PYRAMID, strict=True)
    )
    band = rng.choice(len(weight), len(created), p=weight / weight.sum())
    age = low[band] + rng.random(len(created)) * (high[band] - low[band])
    youngest = created - b.MIN_SIGNUP_AGE * YEAR_US - DAY_US  # a day's margin for leap years
    birth: Ints = np.minimum(timeline.end - (age * YEAR_US).astype(np.int64), youngest)
    return birth - birth % DAY_US


def _preferences(rng: np.random.Generator, age: Floats, female: Bools) -> npt.NDArray[np.int8]:
    """Rank themes per member by interest: Gumbel top-k over popularity x age x sex."""
    popularity = np.array([b.THEME_POPULARITY[theme] for theme in THEMES])
    affinity = np.array([b.THEME_AGE_AFFINITY[theme] for theme in THEMES]).T
    male = np.array([b.THEME_MALE_AFFINITY.get(theme, 1.0) for theme in THEMES])
    band = np.searchsorted(b.AFFINITY_BANDS, age, side="right")
    ranking = np.empty((len(age), len(THEMES)), dtype=np.int8)
    for start in range(0, len(age), PREFERENCE_BLOCK):
        rows = slice(start, start + PREFERENCE_BLOCK)
        weight = popularity * affinity[band[rows]] * np.where(female[rows, None], 1.0, male)
        keys = np.log(weight) + rng.gumbel(size=weight.shape)
        ranking[rows] = np.argsort(-keys, axis=1)
    return ranking


def _tip_counts(rng: np.random.Generator, created: Ints, end: Ints) -> Ints:
    """Zero-inflated lognormal counts growing with tenure: most a few, some hundreds."""
    n = len(created)
    tenure = (end - created) / (b.TIPS_FULL_TENURE_YEARS * YEAR_US)
    volume = rng.lognormal(b.TIPS_LOG_MEAN, b.TIPS_LOG_SD, n) * np.minimum(tenure, 1.0)
    counts: Ints = np.minimum(np.floor(volume), b.MAX_TIPS_PER_MEMBER).astype(np.int64)
    counts[rng.random(n) < b.LURKER_SHARE] = 0
    return counts


def accounts(seed: int, members: Members) -> pa.Table:
    """The ``accounts`` table: identities of live members, nulls for deleted ones."""
    rng = stream(seed, "identities")
    n = members.count
    gone = members.deleted
    surname = rng.choice(
        len(identities.SURNAMES), n, p=identities.zipf_weights(len(identities.SURNAMES))
    )
    birth_year = (
        members.birth.astype("datetime64[us]").astype("datetime64[Y]").astype(np.int64) + 1970
    )
    prefix = pa.array([PHONE_PREFIX[country] for country in COUNTRIES]).take(
        pa.array(members.country)
    )
    no_phone = gone | (rng.random(n) >= b.HAS_PHONE)
    no_iban = gone | members.abroad | (rng.random(n) >= b.HAS_IBAN)
    no_city = gone | (rng.random(n) < b.MISSING_CITY)
    no_birth = gone | (rng.random(n) < b.MISSING_BIRTH_DATE)
    return to_arrow(
        "accounts",
        {
            "account_id": members.account_id,
            "username": _null(
                identities.usernames(rng, members.first_name, members.female, surname, birth_year),
                gone,
            ),
            "email": _null(
                identities.emails(rng, members.first_name, members.female, surname, birth_year),
                gone,
            ),
            "password_hash": _null(identities.password_hashes(rng, n), gone),
            "phone": _null(identities.phones(rng, prefix), no_phone),
            "birth_date": pa.array(members.birth // DAY_US, pa.int32(), mask=no_birth).cast(
                pa.date32()
            ),
            "city": _null(_cities(rng, members.country), no_city),
            "country": pa.array(COUNTRIES).take(pa.array(members.country)),
            "iban": _null(identities.dutch_ibans(rng, n), no_iban),
            "created_at": timestamps(members.created),
            "deleted_at": timestamps(members.end, ~gone),
        },
    )


def _null(values: pa.Array, missing: Bools) -> pa.Array:
    return pc.if_else(pa.array(missing), pa.scalar(None, values.type), values)


def _cities(rng: np.random.Generator, country: Ints) -> pa.Array:
    """A city per member: Dutch ones by province population then city size,
    others uniformly among their country's cities."""
    names, keys = _city_keys()
    population = np.array([PROVINCE_POPULATION[p] for p in CITIES], dtype=np.float64)
    province = rng.choice(len(CITIES), len(country), p=population / population.sum())
    home = np.where(country == COUNTRIES.index("NL"), province, len(CITIES) + country)
    city = np.searchsorted(keys, home + rng.random(len(country)) * (1 - 1e-12), side="right")
    return names.take(pa.array(city))


@cache
def _city_keys() -> tuple[pa.Array, Floats]:
    """City names grouped by home (province ``i``, then ``len(CITIES) + country``),
    each keyed by ``home + cumulative share within the home``: a uniform draw
    ``home + u`` then finds its city with one ``searchsorted``."""
    homes = [list(cities.items()) for cities in CITIES.values()]
    homes += [[(city, 1) for city in ABROAD_CITIES.get(code, ())] for code in COUNTRIES]
    names = [city for home in homes for city, _ in home]
    keys = [
        index + share
        for index, home in enumerate(homes)
        for share in np.cumsum([size for _, size in home]) / max(1, sum(s for _, s in home))
    ]
    return pa.array(names), np.array(keys)
