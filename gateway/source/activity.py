"""What members do: follow themes and write tips.

Members follow their top-ranked themes and tip mostly within them. A tip's
time is drawn over the member's active life and thinned by the theme's
season, so monthly theme counts carry a seasonal signal. Tips come in chunks
of members, each from its own random stream: a chunk's contents depend only
on the seed and the chunk number, so chunks can be built in any order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from gateway.source import behaviour as b
from gateway.source.draw import (
    DAY_US,
    Bools,
    Floats,
    Ints,
    Timeline,
    at_busy_hour,
    between,
    months,
    repeat_rows,
    stream,
    timestamps,
    to_arrow,
)
from gateway.source.members import Members
from gateway.source.schema import THEMES
from gateway.source.texts import LANGUAGES, tip_pools

TIP_CHUNK_MEMBERS = 50_000
"""Members per tips chunk (part of the seed's meaning: changing it changes the data)."""
SEASON_ROUNDS = 8
"""Rejection rounds for seasonal timing; the few still rejected keep their last draw."""


def theme_follows(seed: int, members: Members) -> pa.Table:
    """The ``theme_follows`` table: each member follows their top ``follows`` themes."""
    rng = stream(seed, "follows")
    member, rank = repeat_rows(members.follows)
    start, end = members.created[member], members.end[member]
    followed = at_busy_hour(rng, between(rng, start, end, power=4.0), start, end)
    return to_arrow(
        "theme_follows",
        {
            "account_id": member + 1,
            "theme_id": members.preference[member, rank].astype(np.int32) + 1,
            "followed_at": timestamps(followed),
        },
    )


def tip_chunks(members: Members) -> int:
    """How many chunks the tips of ``members`` come in."""
    return -(-members.count // TIP_CHUNK_MEMBERS)


def tips(seed: int, members: Members, timeline: Timeline, chunk: int) -> pa.Table:
    """The ``tips`` rows of one chunk of members; ``tip_id`` runs on across chunks."""
    rng = stream(seed, "tips", chunk)
    rows = slice(chunk * TIP_CHUNK_MEMBERS, (chunk + 1) * TIP_CHUNK_MEMBERS)
    counts = members.tips[rows]
    first_tip_id = int(members.tips_before[rows.start]) + 1
    local, _ = repeat_rows(counts)
    member = local + rows.start
    theme = _themes(rng, members, member)
    start, end = members.created[member], members.end[member]
    created = at_busy_hour(rng, _seasonal_times(rng, start, end, theme), start, end)
    return to_arrow(
        "tips",
        {
            "tip_id": np.arange(first_tip_id, first_tip_id + len(member), dtype=np.int64),
            "account_id": member + 1,
            "theme_id": theme.astype(np.int32) + 1,
            "body": _bodies(rng, theme, members.english[member]),
            "created_at": timestamps(created),
            "helpful_votes": _votes(rng, members.quality[member], timeline.end - created),
        },
    )


def _themes(rng: np.random.Generator, members: Members, member: Ints) -> Ints:
    """Mostly one of the member's favourite themes, sometimes any theme."""
    favourites = np.clip(members.follows[member], 1, b.TIP_FAVOURITES_MAX)
    pick = (rng.random(len(member)) * favourites).astype(np.int64)
    theme = members.preference[member, pick].astype(np.int64)
    other = rng.random(len(member)) < b.TIP_OFF_FAVOURITE
    popularity = np.array([b.THEME_POPULARITY[t] for t in THEMES])
    theme[other] = rng.choice(len(THEMES), int(other.sum()), p=popularity / popularity.sum())
    return theme


def _seasonal_times(rng: np.random.Generator, start: Ints, end: Ints, theme: Ints) -> Ints:
    """Times in ``[start, end)`` accepted with the theme's relative monthly volume."""
    season = np.array([b.SEASONALITY[t] for t in THEMES])
    accept = season / season.max(axis=1, keepdims=True)
    times = between(rng, start, end)
    pending = np.arange(len(times))
    for _ in range(SEASON_ROUNDS):
        keep = rng.random(len(pending)) < accept[theme[pending], months(times[pending])]
        pending = pending[~keep]
        if not len(pending):
            break
        times[pending] = between(rng, start[pending], end[pending])
    return times


def _bodies(rng: np.random.Generator, theme: Ints, english: Bools) -> pa.Array:
    """Tip texts: a sentence on the theme, then theme or generic sentences."""
    count = rng.geometric(b.SENTENCES_P, len(theme)).clip(max=12)
    long = rng.random(len(theme)) < b.LONG_TIP_SHARE
    count[long] += rng.integers(*b.LONG_TIP_EXTRA, int(long.sum()))
    tip, rank = repeat_rows(count)
    language = english[tip].astype(np.int64)
    generic = (rank > 0) & (rng.random(len(tip)) >= b.THEME_SENTENCE_SHARE)
    pool = np.where(generic, len(THEMES), theme[tip]) * len(LANGUAGES) + language
    return tip_pools().texts(rng, pool, count)


def _votes(rng: np.random.Generator, quality: Floats, age: Ints) -> npt.NDArray[np.int32]:
    """Skewed helpful votes: good writers and older tips collect more."""
    maturity = -np.expm1(-age / (b.VOTES_MATURITY_DAYS * DAY_US))
    noise = rng.gamma(b.VOTES_GAMMA_SHAPE, 1 / b.VOTES_GAMMA_SHAPE, len(age))
    votes: npt.NDArray[np.int32] = rng.poisson(b.VOTES_BASE * quality * noise * maturity).astype(
        np.int32
    )
    return votes
