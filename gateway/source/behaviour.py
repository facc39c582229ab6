"""How synthetic members behave: the shares, rates and shapes the generator draws from.

Only data lives here, so the realism of a source can be read (and tuned) in
one place. DP accuracy depends on these shapes: heavy tails decide how much
contribution bounding clips, small provinces and rare themes decide which
groups survive partition selection, seasons give time series a signal.
"""

from __future__ import annotations

HISTORY_YEARS = 12
"""The platform launched this long before the snapshot (support data spans 10+ years)."""

SIGNUP_GROWTH = 6.0
"""Sign-ups in the last year of history per sign-up in the first (exponential growth)."""

MIN_SIGNUP_AGE = 16
"""Nobody younger signs up; older members' birth dates are moved back if needed."""

AGE_PYRAMID: tuple[tuple[int, int, float], ...] = (
    (16, 18, 0.15),
    (18, 25, 1.26),
    (25, 35, 2.31),
    (35, 45, 2.27),
    (45, 55, 2.57),
    (55, 65, 2.50),
    (65, 75, 1.66),
    (75, 85, 0.59),
    (85, 96, 0.06),
)
"""(first age, age after the last, relative weight) at the snapshot: the Dutch
population by age (millions) times how likely each age is to join."""

AFFINITY_BANDS: tuple[int, ...] = (25, 35, 45, 55, 65, 75)
"""Upper bounds of the age bands for theme affinity: <25, 25-34, ..., 75+."""

THEME_POPULARITY: dict[str, float] = {
    "sleep": 0.12,
    "stress": 0.12,
    "nutrition": 0.11,
    "movement": 0.14,
    "chronic pain": 0.07,
    "diabetes": 0.06,
    "mental health": 0.10,
    "heart health": 0.05,
    "weight": 0.09,
    "smoking cessation": 0.04,
    "pregnancy": 0.03,
    "ageing well": 0.07,
}
"""How often a member's interests include each theme, before age and sex."""

THEME_AGE_AFFINITY: dict[str, tuple[float, ...]] = {
    "sleep": (1.0, 1.1, 1.1, 1.0, 1.0, 0.9, 0.9),
    "stress": (1.5, 1.5, 1.4, 1.1, 0.8, 0.4, 0.3),
    "nutrition": (1.1, 1.1, 1.0, 1.0, 1.0, 0.9, 0.8),
    "movement": (1.2, 1.1, 1.0, 1.0, 1.0, 0.9, 0.7),
    "chronic pain": (0.4, 0.7, 1.0, 1.3, 1.4, 1.3, 1.2),
    "diabetes": (0.2, 0.4, 0.7, 1.2, 1.8, 2.0, 1.8),
    "mental health": (1.8, 1.5, 1.2, 1.0, 0.7, 0.5, 0.4),
    "heart health": (0.2, 0.3, 0.6, 1.1, 1.8, 2.4, 2.6),
    "weight": (0.9, 1.1, 1.2, 1.2, 1.0, 0.8, 0.5),
    "smoking cessation": (1.0, 1.2, 1.2, 1.1, 0.9, 0.6, 0.3),
    "pregnancy": (1.6, 3.5, 1.2, 0.05, 0.01, 0.01, 0.01),
    "ageing well": (0.05, 0.1, 0.3, 0.8, 2.5, 4.0, 5.0),
}
"""Interest multiplier per affinity age band (see ``AFFINITY_BANDS``)."""

THEME_MALE_AFFINITY: dict[str, float] = {"pregnancy": 0.15, "heart health": 1.4, "weight": 0.8}
"""Interest multiplier for men where it differs from 1 (women: 1)."""

SEASONALITY: dict[str, tuple[float, ...]] = {
    "sleep": (1.35, 1.25, 1.05, 0.9, 0.85, 0.8, 0.85, 0.85, 0.95, 1.05, 1.2, 1.4),
    "stress": (1.2, 1.05, 1.0, 0.95, 1.0, 0.95, 0.75, 0.8, 1.1, 1.05, 1.15, 1.2),
    "nutrition": (1.5, 1.15, 1.0, 1.0, 1.1, 1.0, 0.85, 0.85, 0.95, 0.9, 0.9, 0.9),
    "movement": (1.1, 0.95, 1.15, 1.35, 1.45, 1.3, 1.05, 0.95, 1.05, 0.85, 0.7, 0.6),
    "chronic pain": (1.15, 1.15, 1.05, 0.95, 0.9, 0.85, 0.85, 0.85, 0.95, 1.05, 1.1, 1.15),
    "diabetes": (1.05, 1.0, 1.0, 0.95, 0.95, 0.95, 0.9, 0.9, 1.0, 1.0, 1.3, 1.0),
    "mental health": (1.25, 1.2, 1.05, 0.95, 0.9, 0.85, 0.85, 0.85, 0.95, 1.05, 1.15, 1.3),
    "heart health": (1.1, 1.05, 1.0, 1.0, 1.0, 0.95, 0.9, 0.9, 1.05, 1.0, 1.0, 1.05),
    "weight": (1.7, 1.3, 1.1, 1.1, 1.15, 1.0, 0.8, 0.75, 0.9, 0.85, 0.8, 0.7),
    "smoking cessation": (1.6, 1.1, 0.95, 0.9, 0.9, 0.85, 0.8, 0.8, 0.9, 1.6, 0.9, 0.8),
    "pregnancy": (1.0,) * 12,
    "ageing well": (1.0, 1.0, 1.0, 1.05, 1.05, 1.0, 0.95, 0.95, 1.0, 1.0, 1.0, 1.0),
}
"""Relative tip volume per calendar month (January first): movement in spring,
sleep and mood in winter, weight and quitting smoking after New Year (and
"Stoptober")."""

HOURLY_ACTIVITY: tuple[float, ...] = (
    0.6, 0.3, 0.2, 0.1, 0.1, 0.2, 0.6, 1.5, 2.5, 3.0, 3.0, 3.0,
    3.2, 3.0, 2.8, 2.8, 3.0, 3.4, 3.6, 4.4, 5.0, 5.0, 3.8, 1.8,
)  # fmt: skip
"""Relative activity per hour of the day (00:00 first): evenings are busiest."""

FEMALE_SHARE = 0.58
"""Health platforms draw more women than men."""

DELETED_SHARE = 0.06
"""Members who deleted their account (content kept, identifiers nulled)."""

MISSING_BIRTH_DATE = 0.015
MISSING_CITY = 0.02
HAS_PHONE = 0.8
HAS_IBAN = 0.28
"""Shares of live accounts with optional fields left empty or filled in."""

ENGLISH_SHARE = {"NL": 0.08, "abroad": 0.45}
"""Members who write in English rather than Dutch, at home and abroad."""

FOLLOW_COUNT_WEIGHTS: tuple[float, ...] = (
    12, 25, 24, 16, 9, 6, 3.5, 2, 1.2, 0.6, 0.3, 0.2, 0.2,
)  # fmt: skip
"""Relative weight of following 0, 1, ..., 12 themes."""

TIP_FAVOURITES_MAX = 3
"""A member's tips stay within their top themes (at most this many)..."""
TIP_OFF_FAVOURITE = 0.2
"""...except this share, drawn from the whole (seasonal) theme mix."""

LURKER_SHARE = 0.38
"""Members who never post a tip."""
TIPS_LOG_MEAN = 2.11
TIPS_LOG_SD = 1.35
"""Posters' tips ~ lognormal(mean, sd) scaled by tenure: most a few, some hundreds."""
TIPS_FULL_TENURE_YEARS = 2.0
"""Members reach their full tip volume after this long on the platform."""
MAX_TIPS_PER_MEMBER = 3000

SENTENCES_P = 0.42
"""Sentences per tip ~ geometric(p): mostly one to three..."""
LONG_TIP_SHARE = 0.01
LONG_TIP_EXTRA: tuple[int, int] = (10, 30)
"""...and a few long stories with this many extra sentences."""
THEME_SENTENCE_SHARE = 0.6
"""Later sentences come from the tip's theme this often, else from generic chatter."""

VOTES_BASE = 1.3
VOTES_QUALITY_SD = 0.9
VOTES_GAMMA_SHAPE = 0.6
VOTES_MATURITY_DAYS = 20.0
"""helpful_votes ~ Poisson(base * member quality * gamma noise * (1 - e^(-age/maturity)))."""

CONSENT_RATES: dict[str, dict[str, float]] = {
    "external_research": {"grant": 0.30, "refuse": 0.35, "withdraw": 0.15, "regrant": 0.2},
    "research_contact": {"grant": 0.05, "refuse": 0.25, "withdraw": 0.2, "regrant": 0.1},
}
"""Per opt-in purpose: share who grant, who explicitly refuse at sign-up, of
grants later withdrawn, and of withdrawals granted again. ``mission`` needs no
consent and has no rows."""
CONTACT_GIVEN_RESEARCH = 0.25
"""Of members who grant ``external_research``, this share (not the ``grant``
rate above) also grant ``research_contact``."""

RESTRICTED_SHARE = 0.012
RESTRICTION_OPEN_SHARE = 0.35
RESTRICTION_MEDIAN_DAYS = 45.0
"""Members who restricted processing; some restrictions have no end yet."""

ERASURE_SHARE: dict[str, float] = {"account": 0.003, "content": 0.005}
"""Members with an erasure request, per scope."""

SUPPORT_RATE_PER_YEAR = 0.12
SUPPORT_RATE_SHAPE = 0.35
"""Support requests ~ Poisson(tenure * gamma(shape, rate / shape)): a few members file many."""
SUPPORT_CATEGORY_WEIGHTS: dict[str, float] = {
    "account": 0.30,
    "privacy": 0.08,
    "content": 0.12,
    "technical": 0.30,
    "billing": 0.10,
    "other": 0.10,
}
SUPPORT_CLOSE_MEDIAN_DAYS = 1.5
SUPPORT_CLOSE_SD = 1.4
SUPPORT_ABANDONED = 0.01
SUPPORT_SIGNED = 0.5
"""Days to close ~ lognormal(median, sd); some requests are never closed;
half end with the member's first name."""
