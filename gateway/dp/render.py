"""A release as a table for people: each value with its 95% interval beside it."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from gateway.dp.release import Cell, Release


def render_release(release: Release) -> Table:
    """Group keys as they are; DP values as ``value [low, high]``."""
    table = Table(title=_title(release), caption=_caption(release), title_justify="left")
    for column in release.columns:
        key = column not in release.budget_split  # every aggregate has a share of the budget
        table.add_column(column, justify="left" if key else "right")
    for row, intervals in zip(release.rows, release.ci, strict=True):
        table.add_row(
            *(
                escape(
                    _value(value) if interval is None else f"{_value(value)} {_interval(interval)}"
                )
                for value, interval in zip(row, intervals, strict=True)
            )
        )
    return table


def _title(release: Release) -> str:
    loss = f"ε = {release.epsilon:g}, δ = {release.delta:g}"
    if release.rho is not None:
        loss += f", ρ = {release.rho:.4g}"
    origin = "from the release store, charged ε = 0" if release.from_store else "new release"
    dummy = "; DUMMY DATA, not an insight" if release.dummy else ""
    return escape(f"{loss}; {release.mechanism}; {origin}{dummy}")


def _caption(release: Release) -> str:
    withheld = release.suppressed_groups
    groups = f"{withheld} group{'s' if withheld != 1 else ''} withheld" if withheld else ""
    level = escape(f"[low, high]: {release.confidence:.0%} confidence interval")
    selection = release.selection
    shown = (
        f"groups of fewer than about {selection.threshold:,} {selection.size} are not shown"
        if selection is not None
        else ""
    )
    return "; ".join(part for part in (level, groups, shown) if part)


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
