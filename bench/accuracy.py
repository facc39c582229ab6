"""Accuracy of DP releases on a researcher's workload, against the exact unbounded answers.

Run: ``python -m bench.accuracy [--members 10000 100000] [--reps 20] [--search-reps 5]
[--data DIR] [--json] [--no-write]``.

For each size a synthetic source (seed 1) and a mission extract of it are
built with the gateway's own commands, or reused from ``--data`` (default
``.gateway/bench/accuracy``; an expired or stale extract is rebuilt). Each
query of ``QUERIES`` is answered exactly by plain DuckDB on the extract (the
truth: no bounds, no noise), and then released ``--reps`` times at ε = 1 by
the gateway's engine (``gateway.dp.engine.execute``; no release store, so
every repetition is a fresh release) in three configurations, in the same
run:

* policy bounds  the bounds fixed by the policy before issue 19
                 (``BASELINE_*``: 20 tips per member per cell, 24 cells,
                 helpful_votes clamped to [0, 50], word_count to [0, 400]):
                 the baseline OpenDP used directly, Tumult Analytics and
                 PipelineDP match with the same bounds
* reference      the same engine with the best fixed bounds for the query,
                 found non-privately: each bound of the query's grid is
                 released ``--search-reps`` times and scored against the
                 truth (``search_key``); the best is then released
                 ``--reps`` times
* gateway        the engine as it is: ``vet(sql, policy)`` and ``execute``
                 with the policy unchanged, whatever bounds the engine uses
                 by default

Both fixed configurations go through ``fix_bounds``, the one place that
says how a query is given explicit bounds (the plan's contributions and
clamps, and a policy copy whose maxima are those bounds and which chooses
none); ``check_fixed`` stops the run if a fixed release spent ε on choosing
bounds or states bounds other than the fixed ones.

Per query, size and configuration it prints the median and 90th-percentile
relative error |released - true| / |true| over the released groups and
repetitions, the share of 95 % intervals that contain the true (unbounded)
answer, the share of the true groups released and, where releases state
it, the share flagged biased and the median estimated cut; then the ratios of the
gateway's and the baseline's median error to the reference's. The section
``## Accuracy`` of ``docs/benchmarks.md`` is replaced with the results
unless ``--no-write``; ``--json`` prints them as JSON instead of the table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report import DOC, machine, write_section

if TYPE_CHECKING:
    import duckdb

    from gateway.dp.release import ColumnBounds, Release
    from gateway.plan import QueryPlan
    from gateway.policy import Policy

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "policies" / "health_thing.yaml"
DATA = ROOT / ".gateway" / "bench" / "accuracy"
HEADING = "## Accuracy"
EPSILON = 1.0
SIZES = (10_000, 100_000)
REPS = 20
SEARCH_REPS = 5
STEADY = (
    "errors do not depend on it, but vary with the noise drawn from run to run (and the "
    "reference's bounds with the noise of its search)."
)
GOAL_RATIO = {10_000: 2.0, 100_000: 1.5}
"""Issue 19's goal for the gateway's median error against the reference's, by size."""

BASELINE_ROWS, BASELINE_CELLS = 20, 24
BASELINE_UPPER = {"helpful_votes": 50, "word_count": 400}
"""The policy's fixed bounds before bounds were chosen per query (issue 19), kept as they
were so the baseline stays the one the issue and the other libraries were measured with."""

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Bounds:
    """Fixed contribution bounds: rows per member per cell, cells per member, clamp top."""

    rows: int
    cells: int
    upper: int | None = None  # the measure's clamp upper bound; None for counts

    def label(self) -> str:
        clamp = f", clamp [0, {self.upper}]" if self.upper is not None else ""
        rows = "1 row" if self.rows == 1 else f"{self.rows} rows"
        cells = "1 cell" if self.cells == 1 else f"{self.cells} cells"
        return f"{rows} × {cells}{clamp}"


@dataclass(frozen=True)
class Query:
    """One query of the workload and the grid the reference's bounds are searched in."""

    name: str
    sql: str
    rows: tuple[int, ...]
    cells: tuple[int, ...]
    uppers: tuple[int | None, ...] = (None,)

    def grid(self) -> list[Bounds]:
        return [Bounds(*point) for point in itertools.product(self.rows, self.cells, self.uppers)]


QUERIES = (
    Query(
        "count tips by theme",
        "SELECT theme, COUNT(*) AS tips FROM tips GROUP BY theme",
        rows=(10, 20, 50, 100, 150, 200, 300),
        cells=(6, 8, 10, 12),
    ),
    Query(
        "mean helpful votes by theme",
        "SELECT theme, AVG(helpful_votes) AS votes FROM tips GROUP BY theme",
        rows=(1, 2, 5, 20),
        cells=(3, 6, 12),
        uppers=(10, 20, 50),
    ),
    Query(
        "distinct members by theme",
        "SELECT theme, COUNT(DISTINCT member_pid) AS members FROM tips GROUP BY theme",
        rows=(BASELINE_ROWS,),  # a member counts once per cell whatever the row bound
        cells=(1, 2, 3, 4, 6, 8, 10, 12),
    ),
    Query(
        "count tips by month",
        "SELECT created_month, COUNT(*) AS tips FROM tips GROUP BY created_month",
        rows=(2, 3, 5, 10, 20),
        cells=(6, 12, 24, 48, 96),
    ),
    Query(
        "mean word count by age band",
        "SELECT m.age_band, AVG(t.word_count) AS words "
        "FROM tips t JOIN members m ON m.member_pid = t.member_pid GROUP BY m.age_band",
        rows=(1, 2, 5, 20),
        cells=(1, 3),
        uppers=(50, 100, 200, 400),
    ),
    Query(
        "median word count by theme",
        "SELECT theme, MEDIAN(word_count) AS words FROM tips GROUP BY theme",
        rows=(1, 3, 10),
        cells=(3, 6, 12),
        uppers=(50, 400),
    ),
)

CONFIGS = ("policy bounds", "reference", "gateway")


# --- the numbers: pure functions of observations (tested in tests/bench) ---------------------


@dataclass(frozen=True)
class Observation:
    """One true group in one release: its relative error and interval, if released."""

    released: bool
    error: float | None = None  # |released - true| / |true|; 1.0 for a row without a value
    covered: bool | None = None  # None when the release gives no interval
    biased: bool = False  # the release flagged the column biased


@dataclass(frozen=True)
class Summary:
    median_error: float | None
    p90_error: float | None
    coverage: float | None  # share of intervals given that contain the true answer
    coverage_unflagged: float | None  # the same, in releases that did not flag the column
    intervals: int  # how many intervals were given
    flagged: float  # share of the released groups whose column was flagged biased
    released: float  # share of true groups released, over all repetitions
    search_score: float  # median error, counting a group not released as 100 %
    capped_mean: float  # mean error capped at 100 %, counting a group not released as 100 %
    observations: int


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between order statistics."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def relative_error(value: float | None, truth: float) -> float:
    """|value - truth| / |truth|; a missing value is as far off as answering 0."""
    if value is None:
        return 1.0
    return abs(value - truth) / max(abs(truth), 1e-12)


def observe(
    truth: dict[Key, float],
    released: dict[Key, tuple[float | None, tuple[float, float] | None]],
    biased: bool = False,
) -> list[Observation]:
    """Each true group as one release shows it; groups the truth lacks are not scored."""
    observations = []
    for key, true in truth.items():
        if key not in released:
            observations.append(Observation(released=False))
            continue
        value, interval = released[key]
        covered = None if interval is None else interval[0] <= true <= interval[1]
        observations.append(Observation(True, relative_error(value, true), covered, biased))
    return observations


def summarise(observations: Sequence[Observation]) -> Summary:
    errors = [o.error for o in observations if o.error is not None]
    covered = [o.covered for o in observations if o.covered is not None]
    unflagged = [o.covered for o in observations if o.covered is not None and not o.biased]
    everyone = errors + [1.0] * sum(not o.released for o in observations)
    return Summary(
        median_error=percentile(errors, 0.5) if errors else None,
        p90_error=percentile(errors, 0.9) if errors else None,
        coverage=sum(covered) / len(covered) if covered else None,
        coverage_unflagged=sum(unflagged) / len(unflagged) if unflagged else None,
        intervals=len(covered),
        flagged=sum(o.biased for o in observations) / len(errors) if errors else 0.0,
        released=len(errors) / len(observations) if observations else 0.0,
        search_score=percentile(everyone, 0.5) if everyone else 1.0,
        capped_mean=sum(min(e, 1.0) for e in everyone) / len(everyone) if everyone else 1.0,
        observations=len(observations),
    )


def search_key(summary: Summary) -> tuple[float, float]:
    """How the reference ranks bounds: by median error, counting a group not released
    as 100 % wrong (so that no bound wins by withholding groups); ties, such as every
    bound at 100 % when most groups are withheld, by the mean error capped at 100 %."""
    return (summary.search_score, summary.capped_mean)


def error_ratio(mine: Summary, reference: Summary) -> tuple[float | None, str]:
    """Median error over the reference's; of the 90th percentiles where the reference's
    median error is 0 (a median released as exactly the true integer), marked so."""
    if reference.median_error == 0 and reference.p90_error:
        return ratio(mine.p90_error, reference.p90_error), " (p90)"
    return ratio(mine.median_error, reference.median_error), ""


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None:
        return None
    if denominator == 0:
        return math.inf if numerator > 0 else 1.0
    return numerator / denominator


# --- the engine: fixed bounds or the engine's own ----------------------------------------------


def fix_bounds(sql: str, policy: Policy, bounds: Bounds) -> tuple[QueryPlan, Policy]:
    """The plan and policy under which the engine releases ``sql`` with exactly ``bounds``.

    The one lever of the fixed configurations. It pulls all three ways a
    bound can be set, so that they hold whichever the engine reads:

    1. the plan fixes them, as a researcher does: ``plan.contributions``
       (rows per member per cell, cells per member) and each measure's clamp
       range in its aggregate (``lower``/``upper``);
    2. the policy copy's maxima are these bounds: the table's contributions and
       the measure's ``upper`` (fixed bounds must lie within the maxima; an
       engine without per-query bounds uses the maxima as the bounds);
    3. the policy copy chooses no bounds (``bounding.choose = False``).

    ``check_fixed`` then checks that each release states these bounds, fixed.
    """
    from gateway.plan import Contributions
    from gateway.policy.model import Contributions as Maxima
    from gateway.vet import vet

    plan = vet(sql, policy)
    tables = dict(policy.tables)
    maxima = Maxima(max_rows_per_group=bounds.rows, max_groups=bounds.cells)
    tables[plan.table] = tables[plan.table].model_copy(update={"contributions": maxima})
    clamps: dict[tuple[str, str], tuple[float, float]] = {}
    for aggregate in plan.aggregates:
        ref = aggregate.column
        if ref is None:
            continue
        table = tables[ref.table]
        column = table.columns[ref.column]
        assert column.lower is not None
        assert column.upper is not None
        upper = column.upper if bounds.upper is None else float(bounds.upper)
        clamps[(ref.table, ref.column)] = (column.lower, upper)
        column = column.model_copy(update={"upper": upper})
        tables[ref.table] = table.model_copy(
            update={"columns": {**table.columns, ref.column: column}}
        )
    bounding = policy.bounding.model_copy(update={"choose": False})
    fixed = policy.model_copy(update={"tables": tables, "bounding": bounding})
    plan = vet(sql, fixed)
    aggregates = []
    for aggregate in plan.aggregates:
        ref = aggregate.column
        clamp = None if ref is None else clamps[(ref.table, ref.column)]
        if clamp is not None:
            aggregate = aggregate.model_copy(update={"lower": clamp[0], "upper": clamp[1]})
        aggregates.append(aggregate)
    contributions = Contributions(rows_per_group=bounds.rows, groups=bounds.cells)
    update = {"aggregates": tuple(aggregates), "contributions": contributions}
    return plan.model_copy(update=update), fixed


def check_fixed(release: Release, plan: QueryPlan, bounds: Bounds) -> None:
    """Refuse a fixed-bounds release that chose any bound, or states other bounds."""
    from gateway.policy.model import Aggregation

    problems = []
    if release.bounds_epsilon > 0:
        problems.append(f"spent ε = {release.bounds_epsilon:g} on choosing bounds")
    for aggregate in plan.aggregates:
        stated = release.bounds.get(aggregate.alias)
        if stated is None:
            continue
        rows = aggregate.function is not Aggregation.COUNT_DISTINCT_MEMBERS
        if (
            stated.chosen
            or stated.groups != bounds.cells
            or (rows and stated.rows_per_group != bounds.rows)
            or (stated.clamp is not None and stated.clamp[1] != aggregate.upper)
        ):
            problems.append(f"{aggregate.alias} states {stated} for {bounds.label()}")
    if problems:
        raise RuntimeError(
            f"a fixed-bounds release did not keep its bounds: {'; '.join(problems)}; "
            "make bench.accuracy.fix_bounds fix them the way the engine reads them"
        )


def baseline_bounds(plan: QueryPlan) -> Bounds:
    measures = [a.column.column for a in plan.aggregates if a.column is not None]
    upper = BASELINE_UPPER[measures[0]] if measures else None
    return Bounds(BASELINE_ROWS, BASELINE_CELLS, upper)


def key_of(values: Iterable[Any]) -> Key:
    """A group key as a release shows it: dates as ISO strings."""
    return tuple(v.isoformat() if isinstance(v, dt.date) else v for v in values)


def truth_of(connection: duckdb.DuckDBPyConnection, sql: str) -> dict[Key, float]:
    """The exact answer: the query itself in plain DuckDB, with no bounds and no noise."""
    return {key_of(row[:-1]): float(row[-1]) for row in connection.execute(sql).fetchall()}


def shown(release: Release) -> dict[Key, tuple[float | None, tuple[float, float] | None]]:
    """Released groups: key -> (value of the last column, its interval)."""
    out: dict[Key, tuple[float | None, tuple[float, float] | None]] = {}
    for row, intervals in zip(release.rows, release.ci, strict=True):
        value = row[-1]
        assert value is None or isinstance(value, int | float)
        out[key_of(row[:-1])] = (None if value is None else float(value), intervals[-1])
    return out


def stated_label(stated: Sequence[ColumnBounds]) -> str:
    """What the releases said about the bounds of the measured column."""
    if not stated:
        return "engine default"
    fixed = "fixed" if any(b.fixed for b in stated) else "set by the policy"
    how = "chosen" if any(b.chosen for b in stated) else fixed
    rows = percentile([b.rows_per_group for b in stated], 0.5)
    cells = percentile([b.groups for b in stated], 0.5)
    clamps = [b.clamp[1] for b in stated if b.clamp is not None]
    clamp = f", clamp [0, {percentile(clamps, 0.5):g}]" if clamps else ""
    median = " (medians)" if how == "chosen" else ""
    bounds = Bounds(round(rows), round(cells)).label()  # medians of integers: whole or .5
    if (rows, cells) != (round(rows), round(cells)):
        bounds = f"{rows:g} rows × {cells:g} cells"
    return f"engine default: {how}, {bounds}{clamp}{median}"


@dataclass
class Runner:
    """Releases of one query over one extract, scored against its truth."""

    connection: duckdb.DuckDBPyConnection
    truth: dict[Key, float]
    extract_hash: str
    seconds: float = 0.0

    def run(
        self, plan: QueryPlan, policy: Policy, reps: int, fixed: Bounds | None = None
    ) -> tuple[Summary, list[ColumnBounds]]:
        """``reps`` fresh releases; with ``fixed``, each is checked to have kept those bounds."""
        from gateway.dp.engine import execute
        from gateway.dp.shape import shape_of

        alias = plan.aggregates[-1].alias
        observations: list[Observation] = []
        stated: list[ColumnBounds] = []
        start = time.perf_counter()
        for _ in range(reps):
            release = execute(
                plan,
                policy,
                self.connection,
                shape=shape_of(plan, policy, epsilon=EPSILON),
                epsilon=EPSILON,
                extract_hash=self.extract_hash,
            ).release
            if fixed is not None:
                check_fixed(release, plan, fixed)
            column = release.bounds.get(alias)
            stated += [column] if column is not None else []
            biased = column is not None and column.biased
            observations += observe(self.truth, shown(release), biased)
        self.seconds += time.perf_counter() - start
        return summarise(observations), stated


@dataclass
class Result:
    members: int
    query: str
    config: str
    bounds: str
    summary: Summary
    seconds: float
    cut_share: float | None = None  # median of the releases' estimated cut, where stated
    searched: list[dict[str, Any]] = field(default_factory=list)


def measure_query(
    query: Query,
    members: int,
    connection: duckdb.DuckDBPyConnection,
    extract_hash: str,
    policy: Policy,
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> list[Result]:
    """The three configurations of one query at one size, and the reference's search."""
    from gateway.vet import vet

    runner = Runner(connection, truth_of(connection, query.sql), extract_hash)
    plan = vet(query.sql, policy)

    def configuration(config: str, bounds: Bounds | None) -> Result:
        before = runner.seconds
        if bounds is None:  # the engine's default: the plan as vetted, the policy as it is
            summary, stated = runner.run(plan, policy, args.reps)
        else:
            fixed_plan, fixed_policy = fix_bounds(query.sql, policy, bounds)
            summary, stated = runner.run(fixed_plan, fixed_policy, args.reps, bounds)
        cuts = [b.cut_share for b in stated if b.cut_share is not None]
        return Result(
            members,
            query.name,
            config,
            stated_label(stated) if bounds is None else bounds.label(),
            summary,
            runner.seconds - before,
            percentile(cuts, 0.5) if cuts else None,
        )

    baseline = configuration(CONFIGS[0], baseline_bounds(plan))
    searched = []
    start = time.perf_counter()
    for bounds in query.grid():
        grid_plan, grid_policy = fix_bounds(query.sql, policy, bounds)
        summary, _ = runner.run(grid_plan, grid_policy, args.search_reps, bounds)
        searched.append((search_key(summary), bounds, summary))
    searched.sort(key=lambda item: item[0])
    best = searched[0][1]
    search_s = time.perf_counter() - start
    say(f"  {query.name}: searched {len(searched)} bounds in {search_s:.0f} s; {best.label()}")
    reference = configuration(CONFIGS[1], best)
    reference.searched = [{"bounds": asdict(b), **asdict(s)} for _, b, s in searched]
    return [baseline, reference, configuration(CONFIGS[2], None)]


# --- data and report ---------------------------------------------------------------------------


def revision() -> str:
    """The commit measured, and whether the engine or policy had uncommitted changes."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "an unknown revision"
    dirty = git("status", "--porcelain", "--", "gateway", "policies")
    return f"commit {commit}" + (
        " with uncommitted changes to gateway/ or policies/" if dirty else ""
    )


def open_data(members: int, data: Path) -> tuple[duckdb.DuckDBPyConnection, str]:
    """The extract of ``members`` (built, or rebuilt when it may no longer be queried)."""
    from bench.dp_query import build
    from gateway.config import Settings
    from gateway.errors import ExtractError
    from gateway.extract.reader import open_extract

    data.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data / "state")
    build(members, data)
    try:
        connection, manifest = open_extract(data / "e.duckdb", settings)
    except ExtractError:  # expired or stale: build it again
        for name in ("e.duckdb", "e.duckdb.manifest.json"):
            (data / name).unlink(missing_ok=True)
        build(members, data)
        connection, manifest = open_extract(data / "e.duckdb", settings)
    return connection, manifest.content_hash


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _share(value: float | None) -> str:
    return "no interval" if value is None else f"{value * 100:.0f} %"


def _times_word(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _coverage(summary: Summary) -> str:
    if summary.coverage_unflagged is None or not summary.flagged:
        return _share(summary.coverage)
    return f"{_share(summary.coverage)} ({_share(summary.coverage_unflagged)} unflagged)"


def _flagged(result: Result) -> str:
    """Share of released groups in releases that flagged the column; its median cut."""
    if result.cut_share is None:
        return "—"
    flagged = f"{result.summary.flagged * 100:.0f} %"
    return f"{flagged} (cut {result.cut_share * 100:.1f} %)"


def _times(value: float | None) -> str:
    if value is None:
        return "—"
    return "∞" if math.isinf(value) else f"{value:.2f}"


def _find(results: Sequence[Result], members: int, query: str, config: str) -> Result:
    return next(r for r in results if (r.members, r.query, r.config) == (members, query, config))


def tables(results: Sequence[Result], sizes: Sequence[int]) -> str:
    lines = [
        "| query | members | configuration | bounds | median error | 90th pct error "
        "| intervals containing the truth | groups released | flagged biased |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for query in QUERIES:
        for members in sizes:
            for config in CONFIGS:
                r = _find(results, members, query.name, config)
                s = r.summary
                lines.append(
                    f"| {query.name} | {members:,} | {config} | {r.bounds} "
                    f"| {_pct(s.median_error)} | {_pct(s.p90_error)} | {_coverage(s)} "
                    f"| {s.released * 100:.0f} % | {_flagged(r)} |"
                )
    lines += [
        "",
        "Median error against the reference's (1.0 = as good as the best fixed bounds):",
        "",
        "| query | "
        + " | ".join(f"gateway, {m:,}" for m in sizes)
        + " | "
        + " | ".join(f"policy bounds, {m:,}" for m in sizes)
        + " |",
        "|---|" + "---:|" * (2 * len(sizes)),
    ]
    for query in QUERIES:
        cells = []
        for config in (CONFIGS[2], CONFIGS[0]):
            for members in sizes:
                reference = _find(results, members, query.name, CONFIGS[1]).summary
                mine = _find(results, members, query.name, config).summary
                value, which = error_ratio(mine, reference)
                goal = GOAL_RATIO.get(members)
                mark = (
                    ""
                    if config != CONFIGS[2] or goal is None or value is None
                    else (" ✓" if value <= goal else " ✗")
                )
                cells.append(_times(value) + which + mark)
        lines.append(f"| {query.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def section(
    results: Sequence[Result], args: argparse.Namespace, seconds: tuple[float, float], note: str
) -> str:
    """The doc's section; ``seconds`` is the run's wall-clock and CPU time."""
    from gateway.policy import load_policy

    policy = load_policy(POLICY)
    tips = policy.tables["tips"]
    now = (
        f"{tips.contributions.max_rows_per_group} rows × {tips.contributions.max_groups} cells, "
        f"helpful_votes [0, {tips.columns['helpful_votes'].upper:g}], "
        f"word_count [0, {tips.columns['word_count'].upper:g}]"
    )
    goals = " and ".join(f"{g:g}× at {m:,}" for m, g in GOAL_RATIO.items())
    lines = [
        HEADING,
        "",
        f"`python -m bench.accuracy`: six queries at ε = {EPSILON:g}, {args.reps} releases "
        f"each, over mission extracts of {' and '.join(f'{m:,}' for m in args.members)} members "
        f"(`gateway source generate --seed 1`, `gateway extract build`), engine and policy at "
        f"{revision()}. Errors are relative "
        "to the exact, unbounded answer of the same SQL in plain DuckDB on the extract, "
        "pooled over the released groups of all releases; the intervals are the releases' "
        '95 % intervals; "groups released" is the share of the true groups that appear. '
        "Three configurations of the gateway's engine (`gateway.dp.engine.execute`) in the "
        "same run:",
        "",
        f"- **policy bounds**: the fixed bounds of the policy before issue 19 "
        f"({BASELINE_ROWS} tips per member per cell, {BASELINE_CELLS} cells, helpful_votes "
        f"clamped to [0, {BASELINE_UPPER['helpful_votes']}], word_count to "
        f"[0, {BASELINE_UPPER['word_count']}]): OpenDP used directly, Tumult Analytics and "
        "PipelineDP give the same errors with these bounds.",
        f"- **reference**: the best fixed bounds per query and size, found non-privately: "
        f"each bound of a small grid (rows per cell × cells × clamp top) released "
        f"{_times_word(args.search_reps)} and ranked by median error, counting a group not "
        "released as 100 % wrong (ties, such as every bound at 100 % when most months are "
        "withheld, by the mean error capped at 100 %); the winner is then released "
        f"{_times_word(args.reps)} afresh. The grids are in `QUERIES` of `bench/accuracy.py`.",
        f"- **gateway**: the engine's default, with the policy as it is ({now}); the bounds "
        "column says what the releases stated about the bounds they used.",
        "",
        tables(results, args.members),
        "",
        f"Goal (issue 19): the gateway's median error at most the reference's times {goals} "
        "members (✓/✗). "
        "Medians have no interval. The month query's keys are private, so months are "
        "released only above OpenDP's threshold; its errors are over the months released. "
        "Where the reference's median error is 0, the ratio is of the 90th percentiles "
        f"(p90). The whole run took {seconds[0] / 60:.1f} minutes, {seconds[1] / 60:.1f} "
        f"minutes of CPU ({sum(r.seconds for r in results):.0f} s of wall-clock in the "
        f"{len(results)} configurations' final releases, the rest mostly in the "
        "reference's search).",
        "",
        note,
        "",
    ]
    return "\n".join(lines)


def as_json(
    results: Sequence[Result], args: argparse.Namespace, seconds: tuple[float, float]
) -> str:
    return json.dumps(
        {
            "epsilon": EPSILON,
            "reps": args.reps,
            "search_reps": args.search_reps,
            "seconds": seconds[0],
            "cpu_seconds": seconds[1],
            "results": [{**asdict(r), "summary": asdict(r.summary)} for r in results],
        },
        indent=2,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--reps", type=int, default=REPS, help="releases per configuration")
    parser.add_argument(
        "--search-reps", type=int, default=SEARCH_REPS, help="releases per bound searched"
    )
    parser.add_argument("--data", type=Path, default=DATA, help="keeps sources and extracts")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    args = parser.parse_args(argv)

    from gateway.policy import load_policy

    def say(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    policy = load_policy(POLICY)
    start, cpu = time.perf_counter(), time.process_time()
    load_before = os.getloadavg()
    results: list[Result] = []
    for members in args.members:
        connection, extract_hash = open_data(members, args.data / f"members-{members}")
        say(f"== {members:,} members")
        for query in QUERIES:
            results += measure_query(query, members, connection, extract_hash, policy, args, say)
        connection.close()
    seconds = (time.perf_counter() - start, time.process_time() - cpu)
    note = machine(load_before, os.getloadavg(), STEADY)
    text = section(results, args, seconds, note)
    if args.json:
        print(as_json(results, args, seconds))
    else:
        print(text)
    if not args.no_write:
        write_section(HEADING, text)


if __name__ == "__main__":
    main()
