"""The empirical privacy audit, its stated power, and the planted bugs it must catch.

Each audit puts its member where the bounds matter: at or past them, in cells
whose noise is small next to what one member may move (ε = 1, one cell per
member, one or two rows per member and cell). A correct engine then sits
exactly at its ε, and each planted bug (``mutations``) takes the member past
it by a margin the audit can see. How the audits work: ``audit``.

Every audit has two stated numbers, which ``test_every_audit_has_the_power_it_states``
computes exactly from OpenDP's own calibrations, right and mutated:

- *false alarm*, the chance that it fails the correct engine: at most
  ``audit.ALPHA`` = 1e-6 for any engine that keeps its (ε, δ), whatever the
  data, and less still for this engine's noise;
- *power*, the chance that it fails the engine with its planted bug: above
  1 − 1e-6 for every bug.

So each test here fails by chance less than once in a million runs.

| audit            | planted bug (mutation)                    | false alarm | power      |
|------------------|-------------------------------------------|-------------|------------|
| one_cell         | noise scale halved                        | 3e-12       | 1 − 1e-15  |
| one_cell_records | frame's rows per member and cell × 5      | 1e-65       | 1 − 3e-12  |
| five_cells       | frame's cells per member × 5              | 2e-18       | 1 − 1e-15  |
| five_cells       | frame's rows and cells per member × 5     | 2e-18       | 1 − 1e-15  |
| own_group        | partition selection threshold halved      | 9e-8        | 1 − 7e-9   |

The numbers hold for OpenDP's split of ε between the statistics today; if the
counts got less of it, the power test recomputes them and says so. With only
90 % of ε for them, the weakest (one_cell_records) would still have power 0.998.

The frame's row cap × 5 leaves queries on the cells pipeline private: OpenDP
clamps each member's count in a cell at the bound again (a second layer). So
that bug is looked for where only the frame bounds records: with a median.
``test_statistics.py`` checks ordinary releases: the noise distribution,
interval coverage, partition selection.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import duckdb
import polars as pl
import pytest
from scipy import stats

from gateway.plan import Aggregate, Contributions, QueryPlan
from gateway.policy import Policy
from gateway.policy.model import Aggregation
from tests.dp import audit
from tests.dp import factories as f
from tests.dp.audit import Event
from tests.dp.mutations import MUTATIONS

pytestmark = pytest.mark.slow

EPSILON = 1.0
PAST = 5  # the factor of the planted bugs: the member has PAST × k rows, or PAST cells


class Audit(Protocol):
    def failure(self) -> str | None:
        """Release, and say why the engine fails the audit (None: it passes)."""

    def chance_to_fail(self, kept: Sequence[int]) -> tuple[float, float]:
        """Bounds on the chance that ``failure`` fails the engine as calibrated now, when the
        member has ``kept[c]`` rows counted in cell c of their unit; from the noise alone."""


# --- neighbours side by side: units of days ---------------------------------------------

FIRST = dt.date(2000, 1, 1)
"""Cells are days: every day from here on is a public group key, released noisy or not."""


def _fixed_bounds(policy: Policy) -> Policy:
    """``policy`` with its contribution bounds used as they are, not chosen per query.

    Bounds chosen with DP would spend part of ε first, and which bounds the
    member meets would depend on the data; the audits fix them (in the plan
    too), so that the release spends all of ε and the member is at the bound.
    """
    bounding = policy.bounding.model_copy(update={"choose": False})
    return policy.model_copy(update={"bounding": bounding})


@functools.cache
def _tips_policy(days: int, per_group: int) -> Policy:
    """Tips with ``per_group`` rows per member and cell, in one cell; ``days`` public days."""
    policy = f.with_contributions(f.policy(), "tips", rows=per_group, groups=1)
    domain = (FIRST.isoformat(), (FIRST + dt.timedelta(days=days - 1)).isoformat())
    policy = f.with_column(policy, "tips", "created_date", domain=domain)
    limits = policy.limits.model_copy(update={"max_groups": days})
    return _fixed_bounds(policy.model_copy(update={"limits": limits}))


def _tips(policy: Policy, members: Sequence[tuple[str, int, int]]) -> duckdb.DuckDBPyConnection:
    """An extract whose tips are (member, day, rows): that many tips on day FIRST + day."""
    con = f.extract(policy)
    spec = pl.DataFrame(members, schema=["member", "day", "n"], orient="row")
    con.register("spec", spec.to_arrow())
    con.execute(
        """INSERT INTO tips SELECT sha256('tip ' || member || ' ' || day || ' ' || i::VARCHAR),
               sha256(member), 'sleep', $first + day::INTEGER,
               date_trunc('month', $first + day::INTEGER), 1, 40
           FROM spec, range(n) r(i)""",
        {"first": FIRST},
    )
    con.unregister("spec")
    return con


@dataclass(frozen=True)
class Neighbours:
    """Units of ``cells`` days; in the first half of them their member has ``rows`` rows on
    each day, in the second half no one does. Every day also has a crowd, a member of its
    own with one row, so that no cell is empty, with the member or without."""

    plan: QueryPlan
    per_group: int  # the policy's bound on rows per member and cell; one cell per member
    units: int  # units with the member in a release, and as many without
    cells: int
    rows: int
    releases: int
    events: tuple[Event, ...]

    @property
    def days(self) -> int:
        return 2 * self.units * self.cells

    @property
    def policy(self) -> Policy:
        return _tips_policy(self.days, self.per_group)

    def extract(self) -> duckdb.DuckDBPyConnection:
        crowd = [(f"crowd {day}", day, 1) for day in range(self.days)]
        heavy = [(f"heavy {day // self.cells}", day, self.rows) for day in range(self.days // 2)]
        return _tips(self.policy, crowd + heavy)

    def verdict(self) -> audit.Verdict:
        """Release, count each event with and without the member, and bound ε."""
        released = audit.releases(self.plan, self.policy, self.extract(), EPSILON, self.releases)
        assert released.height == self.releases * self.days  # public keys: every cell
        counts = [c for c in audit.COUNTS if c in released.columns]
        assert "rows" in counts
        cells = released.select(
            (pl.col("key").str.to_date() - FIRST).dt.total_days().alias("day"),
            "release",
            *(pl.col(c) - 1 for c in counts),  # over the crowd's one row and one member
        ).sort(pl.col("day") >= self.days // 2, "release", "day")
        half = cells.height // 2
        with_member, without = (
            {c: part[c].to_numpy().reshape(-1, self.cells) for c in counts}
            for part in (cells.head(half), cells.tail(half))
        )
        comparisons = audit.compare(self.events, with_member, without)
        return audit.verdict(comparisons, delta=self.policy.budget.delta)

    def failure(self) -> str | None:
        verdict = self.verdict()
        return str(verdict) if verdict.epsilon > EPSILON else None

    def chance_to_fail(self, kept: Sequence[int]) -> tuple[float, float]:
        """At least the likeliest comparison's chance to prove more than ε; at most their sum."""
        chances = self.chances(audit.scales(self.plan, self.policy, EPSILON), kept)
        return max(chances), min(1.0, sum(chances))

    def chances(self, scales: Mapping[str, float], kept: Sequence[int]) -> list[float]:
        draws = self.units * self.releases
        level = audit.levels(2 * len(self.events))
        delta = self.policy.budget.delta
        chances = []
        for event in self.events:
            p_with = event.probability(scales, kept)
            p_without = event.probability(scales, [0] * self.cells)
            chances.append(audit.power(p_with, p_without, draws, EPSILON, delta, level))
            chances.append(audit.power(1 - p_without, 1 - p_with, draws, EPSILON, delta, level))
        return chances


# --- groups of one -----------------------------------------------------------------------

COUNTRIES = f.plan(
    "members",
    f.members(),
    group_by=[f.by("members", "country")],
    contributions=Contributions(rows_per_group=1, groups=1),
)


@dataclass(frozen=True)
class OwnGroups:
    """``solo`` members each alone in a country: a private group key of their own.

    Such a group shows only if its noisy member count passes OpenDP's threshold;
    without the member it does not exist, so it shows with probability at most δ.
    A few countries of 4 T members show always: the release is not empty.
    """

    solo: int
    big: int = 4

    @property
    def policy(self) -> Policy:
        return _fixed_bounds(f.policy())

    def allowed(self) -> int:
        return audit.shown_at_most(self.solo, self.policy.budget.delta)

    def extract(self) -> duckdb.DuckDBPyConnection:
        con = f.extract(self.policy)
        con.execute(
            """INSERT INTO members SELECT sha256('solo ' || i::VARCHAR), 1980, '35-44',
                   'Utrecht', 'solo ' || i::VARCHAR, DATE '2020-01-01' FROM range($n) r(i)""",
            {"n": self.solo},
        )
        size = 4 * audit.threshold(COUNTRIES, self.policy, EPSILON)
        con.execute(
            """INSERT INTO members SELECT sha256('big ' || i::VARCHAR), 1980, '35-44',
                   'Utrecht', 'big ' || (i % $big)::VARCHAR, DATE '2020-01-01'
               FROM range($n) r(i)""",
            {"big": self.big, "n": self.big * size},
        )
        return con

    def failure(self) -> str | None:
        keys = audit.releases(COUNTRIES, self.policy, self.extract(), EPSILON, 1)["key"]
        assert keys.str.starts_with("big ").sum() == self.big
        shown = int(keys.str.starts_with("solo ").sum())
        if shown <= self.allowed():
            return None
        return f"{shown} of {self.solo} groups of one shown; δ allows {self.allowed()}"

    def chance_to_fail(self, kept: Sequence[int]) -> tuple[float, float]:
        """Exact: a group of one shows iff 1 + Z > T, i.e. Z ≥ T."""
        scale = audit.scales(COUNTRIES, self.policy, EPSILON)["members"]
        shows = audit.laplace_tail(scale, audit.threshold(COUNTRIES, self.policy, EPSILON))
        chance = float(stats.binom.sf(self.allowed(), self.solo, shows))
        return chance, chance


# --- the audits, and the bugs each is for ------------------------------------------------


def _bounded(plan: QueryPlan, per_group: int) -> QueryPlan:
    """``plan`` with its contribution bounds fixed: ``per_group`` rows per member in one cell."""
    contributions = Contributions(rows_per_group=per_group, groups=1)
    return plan.model_copy(update={"contributions": contributions})


COUNT = f.plan("tips", f.count(), group_by=[f.by("tips", "created_date")])
COUNT_AND_MEDIAN = f.plan(
    "tips",
    f.count(),
    Aggregate(
        function=Aggregation.MEDIAN,
        column=f.col("tips", "helpful_votes"),
        alias="median",
        lower=0,
        upper=3,
    ),
    group_by=[f.by("tips", "created_date")],
)

AUDITS: dict[str, Audit] = {
    "one_cell": Neighbours(
        _bounded(COUNT, 2),
        per_group=2,
        units=1250,
        cells=1,
        rows=PAST * 2,
        releases=3,
        events=(Event(rows=2), Event(rows=4)),
    ),
    "one_cell_records": Neighbours(
        _bounded(COUNT_AND_MEDIAN, 1),
        per_group=1,
        units=2000,
        cells=1,
        rows=PAST,
        releases=5,
        events=(Event(rows=1), Event(rows=3), Event(rows=PAST)),
    ),
    "five_cells": Neighbours(
        _bounded(COUNT, 2),
        per_group=2,
        units=500,
        cells=PAST,
        rows=2,
        releases=6,
        events=tuple(Event(rows=2, cells=w) for w in (2, 3, 4)),
    ),
    "own_group": OwnGroups(solo=100_000),
}
"""The numbers behind the table above (OpenDP 0.16, the policy's δ = 1e-7).

one_cell: a count on the cells pipeline; k = 2 and the member has 5k rows on one day.
The engine counts k of them, and OpenDP splits ε between the count of records (Laplace
scale 4) and of members (scale 2), so the member moves both by exactly ε in all:
P[rows ≥ k and members ≥ 1 over the crowd] is 0.35 with the member, 0.13 without, e^1.
With the noise at half the scale it is 0.46 against 0.06, e^2; 3750 draws of each prove
ε > 1 with probability 1 − 1e-15.

one_cell_records: the same with a median, so the frame keeps records (pipeline rows) and
only its row cap bounds them; k = 1, the member has 5 rows. The two counts get half of ε
(scale 4 each), the median the rest. With the cap × 5 the member moves the count of
records by 5: P[rows ≥ 5, members ≥ 1] is 0.32 against 0.07, e^(3/2); 10 000 draws prove
ε > 1 with probability 1 − 3e-12.

five_cells: k = 2, and the member has k rows on each of the five days of their unit, of
which the engine keeps one. With the cell bound × 5 it keeps all five: P[3 or more days
with rows ≥ k and members ≥ 1] is 0.24 against 0.017; 3000 draws prove ε > 1 with
probability 1 − 1e-15.

own_group: 100 000 groups of one. OpenDP shows a group whose noisy member count (scale
1) exceeds T = 16: a group of one with probability P[Z ≥ 16] = 8e-8 ≤ δ. More than 2
shown has probability at most 1.7e-7 for any engine with δ = 1e-7 (9e-8 for this one).
With T halved to 8 each shows with probability 2.5e-4, about 25 in all; 2 or fewer with
probability 7e-9.
"""

KEPT: dict[str, Sequence[int]] = {
    "one_cell": [2],
    "one_cell_records": [1],
    "five_cells": [2, 0, 0, 0, 0],
    "own_group": [],
}
"""Audit -> the rows the correct engine counts for the member, per cell of their unit."""

CATCHES: dict[str, tuple[str, Sequence[int]]] = {
    "noise_scale_halved": ("one_cell", [2]),
    "rows_per_cell_x5": ("one_cell_records", [PAST]),
    "cells_per_member_x5": ("five_cells", [2] * PAST),
    "bounds_x5": ("five_cells", [2] * PAST),
    "threshold_halved": ("own_group", []),
}
"""Mutation -> the audit that must catch it, and the rows it lets the member count."""


@pytest.mark.parametrize("name", list(AUDITS))
def test_the_engine_passes_the_audit(name: str) -> None:
    failure = AUDITS[name].failure()
    assert failure is None, f"{name}: {failure}"


@pytest.mark.parametrize("mutation", list(CATCHES))
def test_the_audit_catches_the_planted_bug(monkeypatch: pytest.MonkeyPatch, mutation: str) -> None:
    MUTATIONS[mutation](monkeypatch)
    name, _ = CATCHES[mutation]
    assert AUDITS[name].failure() is not None, f"{mutation} passed the {name} audit"


def test_every_audit_has_the_power_it_states(monkeypatch: pytest.MonkeyPatch) -> None:
    """False alarm below 1e-6 and power above 1 − 1e-6, from the noise OpenDP calibrates."""
    for name, audited in AUDITS.items():
        _, false_alarm = audited.chance_to_fail(KEPT[name])
        assert false_alarm < audit.ALPHA, f"{name}: false alarm {false_alarm:.1e}"
    for mutation, (name, kept) in CATCHES.items():
        with monkeypatch.context() as patched:
            MUTATIONS[mutation](patched)
            power, _ = AUDITS[name].chance_to_fail(kept)
        assert power > 1 - audit.ALPHA, f"{mutation}: power {power}"
