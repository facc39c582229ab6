"""Members' rights as the platform records them: consents, restrictions, erasures.

``consents`` is a history (latest row per member and purpose wins): opt-in
purposes get a grant, sometimes an explicit refusal at sign-up, some grants
are withdrawn later and a few withdrawals granted again. ``mission`` rests
on the membership contract and has no rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from gateway.source import behaviour as b
from gateway.source.draw import DAY_US, Bools, Ints, Timeline, between, stream, timestamps, to_arrow
from gateway.source.members import Members
from gateway.source.schema import ERASURE_SCOPES, PURPOSES

SIGNUP_WINDOW_US = 3_600 * 1_000_000
"""Explicit refusals are recorded within an hour of signing up."""


def consents(seed: int, members: Members) -> pa.Table:
    """The ``consents`` history for the opt-in purposes, by member then time."""
    rng = stream(seed, "consents")
    member: list[Ints] = []
    purpose: list[Ints] = []
    granted: list[Bools] = []
    changed: list[Ints] = []

    def record(who: Ints, name: str, grant: bool, when: Ints) -> None:
        member.append(who)
        purpose.append(np.full(len(who), PURPOSES.index(name)))
        granted.append(np.full(len(who), grant))
        changed.append(when)

    research = np.zeros(members.count, dtype=bool)
    for name, rate in b.CONSENT_RATES.items():
        chance = np.full(members.count, rate["grant"])
        if name == "research_contact":
            chance[research] = b.CONTACT_GIVEN_RESEARCH
        grants = rng.random(members.count) < chance
        if name == "external_research":
            research = grants
        start, end = members.created, members.end
        refuses = np.flatnonzero(~grants & (rng.random(members.count) < rate["refuse"]))
        signup_end = np.minimum(start[refuses] + SIGNUP_WINDOW_US, end[refuses])
        record(refuses, name, False, between(rng, start[refuses], signup_end))
        who = np.flatnonzero(grants)
        when = between(rng, start[who], end[who], power=2.0)
        record(who, name, True, when)
        for grant, share in ((False, rate["withdraw"]), (True, rate["regrant"])):
            chosen = rng.random(len(who)) < share
            who = who[chosen]
            when = between(rng, when[chosen] + 1, end[who])
            record(who, name, grant, when)

    rows = np.concatenate(member)
    times = np.concatenate(changed)
    order = np.lexsort((times, rows))
    return to_arrow(
        "consents",
        {
            "account_id": rows[order] + 1,
            "purpose": pa.array(PURPOSES).take(pa.array(np.concatenate(purpose)[order])),
            "granted": np.concatenate(granted)[order],
            "changed_at": timestamps(times[order]),
        },
    )


def restrictions(seed: int, members: Members, timeline: Timeline) -> pa.Table:
    """Restrictions of processing; ``until`` is NULL while one is still in force."""
    rng = stream(seed, "restrictions")
    who = np.flatnonzero(rng.random(members.count) < b.RESTRICTED_SHARE)
    since = between(rng, members.created[who], members.end[who])
    days = rng.lognormal(np.log(b.RESTRICTION_MEDIAN_DAYS), 1.0, len(who))
    until = since + (days * DAY_US).astype(np.int64)
    open_ended = (rng.random(len(who)) < b.RESTRICTION_OPEN_SHARE) | (until >= timeline.end)
    return to_arrow(
        "restrictions",
        {
            "account_id": who + 1,
            "since": timestamps(since),
            "until": timestamps(until, open_ended),
        },
    )


def erasure_requests(seed: int, members: Members) -> pa.Table:
    """Requests to erase a whole account or only its content."""
    rng = stream(seed, "erasures")
    picks = [np.flatnonzero(rng.random(members.count) < b.ERASURE_SHARE[s]) for s in ERASURE_SCOPES]
    who = np.concatenate(picks)
    scope = np.repeat(np.arange(len(ERASURE_SCOPES)), [len(p) for p in picks])
    requested = between(rng, members.created[who], members.end[who])
    order = np.lexsort((requested, who))
    return to_arrow(
        "erasure_requests",
        {
            "account_id": who[order] + 1,
            "scope": pa.array(ERASURE_SCOPES).take(pa.array(scope[order])),
            "requested_at": timestamps(requested[order]),
        },
    )
