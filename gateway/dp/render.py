"""A release as a table for people: each value with its 95% interval beside it.

Under the table, each column says in words what bounding did to it (how
much one member counts, the clamp range, whether the bounds were chosen with
DP or fixed, and the share of the unbounded answer they cut), a biased
column is marked in its header, and a median or quantile says that it has no
interval. Each column also says what its interval covers: the bounded
statistic, or, for counts and sums the engine widened by their estimated cut,
the unbounded answer when the estimate holds.

The line above the table and the words under it are paragraphs of their own,
wrapped at the terminal's width: as a table's title and caption they wrapped
at the table's, which a one-column table makes a few words wide, splitting
phrases such as "95% confidence interval" across lines.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from gateway.dp.release import Cell, ColumnBounds, Release
from gateway.policy.model import Aggregation


def render_release(
    release: Release,
    *,
    table: str | None = None,
    aggregates: Mapping[str, Aggregation] | None = None,
) -> Group:
    """Group keys as they are; DP values as ``value [low, high]``.

    ``table`` is the extract table the query counted rows of (``tips``) and
    ``aggregates`` each column's function, for the words under the table;
    without them the words say "rows" and read every column as counting rows.
    """
    shown = Table()
    released = _aggregates(release)
    for column in release.columns:
        header = escape(column)
        bounds = release.bounds.get(column)
        if bounds is not None and bounds.biased:
            header += " [bold red](BIASED)[/bold red]"
        shown.add_column(header, justify="right" if column in released else "left")
    for row, intervals in zip(release.rows, release.ci, strict=True):
        shown.add_row(
            *(
                escape(
                    _value(value) if interval is None else f"{_value(value)} {_interval(interval)}"
                )
                for value, interval in zip(row, intervals, strict=True)
            )
        )
    notes = _caption(release, table, aggregates or {})
    return Group(
        Text(_title(release), style="table.title"),
        shown,
        *(Text(note, style="table.caption") for note in notes),
    )


def _aggregates(release: Release) -> set[str]:
    """Aggregate columns: each has a share of the budget (and, once bounded, its bounds)."""
    return set(release.budget_split) | set(release.bounds)


def _keys(release: Release) -> list[str]:
    aggregates = _aggregates(release)
    return [c for c in release.columns if c not in aggregates]


def without_interval(release: Release) -> list[str]:
    """Aggregate columns with no interval in any row: medians and quantiles."""
    if not release.rows:
        return []
    aggregates = _aggregates(release)
    return [
        column
        for j, column in enumerate(release.columns)
        if column in aggregates and all(cis[j] is None for cis in release.ci)
    ]


def _title(release: Release) -> str:
    loss = f"ε = {release.epsilon:g}, δ = {release.delta:g}"
    if release.rho is not None:
        loss += f", ρ = {release.rho:.4g}"
    origin = "from the release store, charged ε = 0" if release.from_store else "new release"
    dummy = "; DUMMY DATA, not an insight" if release.dummy else ""
    return f"{loss}; {release.mechanism}; {origin}{dummy}"


def _caption(
    release: Release, table: str | None, aggregates: Mapping[str, Aggregation]
) -> list[str]:
    withheld = release.suppressed_groups
    groups = f"{withheld} group{'s' if withheld != 1 else ''} withheld" if withheld else ""
    level = f"[low, high]: {release.confidence:.0%} confidence interval"
    selection = release.selection
    shown = (
        f"groups of fewer than about {selection.threshold:,} {selection.size} are not shown"
        if selection is not None
        else ""
    )
    lines = ["; ".join(part for part in (level, groups, shown) if part)]
    keys = _keys(release)
    for column, bounds in release.bounds.items():
        function = aggregates.get(column)
        lines.append(describe_bounds(column, bounds, keys, table, function))
    for column in without_interval(release):
        lines.append(f"{column}: a DP median or quantile has no interval; read it as a rough value")
    if release.bounds_epsilon > 0:
        lines.append(
            f"ε = {release.bounds_epsilon:g} of the ε = {release.epsilon:g} was spent "
            "choosing bounds and estimating what they cut"
        )
    return [line for line in lines if line]


def describe_bounds(
    column: str,
    bounds: ColumnBounds,
    keys: list[str],
    table: str | None = None,
    function: Aggregation | None = None,
) -> str:
    """What bounding did to ``column``, in one English sentence.

    "n: at most 50 tips per member per theme counted, in at most 12 themes
    (chosen with DP); about 3 % of tips were left out (± 1 %)". A count of
    members (``function``) counts each member once per cell, so only the
    cells bound it: "each member counted in at most 12 themes; about 2 % of
    members were left out".
    """
    many = _noun(table)
    rows = many if bounds.rows_per_group != 1 else _singular(many)
    cell = " and ".join(k.replace("_", " ") for k in keys)
    cells = plural(cell) if len(keys) == 1 else f"{' × '.join(keys)} cells"
    if function is Aggregation.COUNT_DISTINCT_MEMBERS:
        many = "members"
        sentence = (
            f"each member counted in at most {bounds.groups:,} {cells}"
            if keys
            else "each member counted once"
        )
    elif function is Aggregation.MEAN and bounds.rows_per_group == 1:
        sentence = f"each member's {many} count once" + (f" per {cell}" if keys else "")
        sentence += ", as their average"
    else:
        sentence = f"at most {bounds.rows_per_group:,} {rows} per member"
        sentence += f" per {cell} counted" if keys else " counted"
        if function is Aggregation.MEAN:
            sentence += " (a member with more counts as their average)"
    if function is not Aggregation.COUNT_DISTINCT_MEMBERS and keys and bounds.groups > 1:
        sentence += f", in at most {bounds.groups:,} {cells}"
    if bounds.clamp is not None:
        low, high = bounds.clamp
        sentence += f", each value clamped to [{low:,}, {high:,}]"
    sentence += (
        " (chosen with DP)"
        if bounds.chosen
        else " (fixed by the researcher)"
        if bounds.fixed
        else " (set by the policy)"
    )
    if bounds.cut_share is not None:
        cut = (
            f"about {_percent(bounds.cut_share)} of {many} were left out"
            if bounds.clamp is None
            else f"about {_percent(bounds.cut_share)} of the unbounded answer was cut off"
        )
        if bounds.cut_share_error is not None:
            cut += f" (± {_percent(bounds.cut_share_error)})"
        sentence += f"; {cut}"
    else:
        sentence += "; what bounding cut is not estimated"
    if bounds.too_noisy:
        sentence += (
            f"; {bounds.too_noisy:,} of its values are not shown: noise carried them outside "
            "the clamp range"
        )
    if bounds.widened:
        sentence += (
            "; its interval is widened upwards by that cut, so it covers the unbounded answer "
            "when the estimate holds"
        )
    else:
        sentence += "; its interval is that of the bounded value"
    if bounds.biased:
        likely = "an underestimate" if bounds.clamp is None else "off by about that much"
        return (
            f"{column} (BIASED): {sentence}; that is more than the policy tolerates, so "
            f"{column} is likely {likely}"
        )
    return f"{column}: {sentence}"


def _noun(table: str | None) -> str:
    """The rows a query over ``table`` counts: ``tips``, ``support requests``."""
    if table is None or table == "members":
        return "rows"
    return table.replace("_", " ")


def _singular(noun: str) -> str:
    return noun[:-1] if noun.endswith("s") else noun


def plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    return noun + "s"


def _percent(share: float) -> str:
    percent = 100 * share
    text = f"{percent:.0f}" if percent >= 10 else f"{percent:.1f}".rstrip("0").rstrip(".")
    return f"{text} %"


def _value(value: Cell) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return value


def _interval(interval: tuple[float, float]) -> str:
    low, high = (int(end) if float(end).is_integer() else end for end in interval)
    return f"[{_value(low)}, {_value(high)}]"
