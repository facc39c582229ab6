"""Support requests: ten-plus years of questions to the help desk.

Requests arrive over a member's active life at a personal rate (a few members
write often), get closed after a skewed number of days, and the most recent
ones are still open. The free text sometimes ends with the member's first
name: identifying text the extract must drop.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gateway.source import behaviour as b
from gateway.source.draw import (
    DAY_US,
    YEAR_US,
    Ints,
    Timeline,
    at_busy_hour,
    between,
    repeat_rows,
    stream,
    timestamps,
    to_arrow,
)
from gateway.source.identities import first_names
from gateway.source.members import Members
from gateway.source.schema import SUPPORT_CATEGORIES
from gateway.source.texts import LANGUAGES, support_pools

EXTRA_SENTENCE_SHARE = 0.4
"""Requests with a second sentence."""


def support_requests(seed: int, members: Members, timeline: Timeline) -> pa.Table:
    """The ``support_requests`` table, ``request_id`` in order of arrival."""
    rng = stream(seed, "support")
    rate = rng.gamma(
        b.SUPPORT_RATE_SHAPE, b.SUPPORT_RATE_PER_YEAR / b.SUPPORT_RATE_SHAPE, members.count
    )
    tenure = (members.end - members.created) / YEAR_US
    member, _ = repeat_rows(rng.poisson(rate * tenure))
    start, end = members.created[member], members.end[member]
    created = at_busy_hour(rng, between(rng, start, end), start, end)
    order = np.argsort(created, kind="stable")
    member, created = member[order], created[order]
    weights = np.array([b.SUPPORT_CATEGORY_WEIGHTS[c] for c in SUPPORT_CATEGORIES])
    category = rng.choice(len(SUPPORT_CATEGORIES), len(member), p=weights / weights.sum())
    days = rng.lognormal(np.log(b.SUPPORT_CLOSE_MEDIAN_DAYS), b.SUPPORT_CLOSE_SD, len(member))
    closed = created + (days * DAY_US).astype(np.int64)
    still_open = (closed >= timeline.end) | (rng.random(len(member)) < b.SUPPORT_ABANDONED)
    return to_arrow(
        "support_requests",
        {
            "request_id": np.arange(1, len(member) + 1, dtype=np.int64),
            "account_id": member + 1,
            "category": pa.array(SUPPORT_CATEGORIES).take(pa.array(category)),
            "body": _bodies(rng, members, member, category),
            "created_at": timestamps(created),
            "closed_at": timestamps(closed, still_open),
        },
    )


def _bodies(rng: np.random.Generator, members: Members, member: Ints, category: Ints) -> pa.Array:
    """One or two sentences on the category, half of them signed with a first name."""
    pools = support_pools()
    language = members.english[member].astype(np.int64)
    count = 1 + (rng.random(len(member)) < EXTRA_SENTENCE_SHARE).astype(np.int64)
    request, _ = repeat_rows(count)
    body = pools.texts(rng, category[request] * len(LANGUAGES) + language[request], count)
    sign_off = pools.texts(
        rng, len(SUPPORT_CATEGORIES) * len(LANGUAGES) + language, np.ones_like(count)
    )
    name = first_names(members.first_name[member], members.female[member])
    signed = pc.binary_join_element_wise(body, sign_off, name, " ")
    return pc.if_else(pa.array(rng.random(len(member)) < b.SUPPORT_SIGNED), signed, body)
