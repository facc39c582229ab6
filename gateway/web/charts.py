"""Bar charts with error bars as inline SVG, drawn on the server (no JavaScript needed).

One chart per released measure: a bar per group at its DP value, with a
whisker over its confidence interval. Only what the release holds is drawn.
Each chart has a visible title, a name for its groups and for its value axis
(with the axis's end values), and an accessible name and description for
screen readers; given ``Labels``, every word is in the page's language.
``monthly_chart`` draws a series over months (what all research spent on
members' privacy), as columns, titled and described the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from markupsafe import Markup, escape

from gateway.dp.release import Release
from gateway.web.i18n import Lang, translate
from gateway.web.numbers import number
from gateway.web.vocabulary import MONTHS, Labels

WIDTH = 640
ROW = 26
LABEL = 190
RIGHT = 90
TOP = 48
"""Room above the bars for the title and the name of the groups."""
BOTTOM = 44
"""Room below the bars for the value axis, its end values and its name."""


def release_charts(
    release: Release, lang: Lang = "nl", names: Labels | None = None
) -> list[Markup]:
    """An SVG per measure column (a column with intervals) of ``release``."""
    keys = [j for j in range(len(release.columns)) if _is_key(release, j)]
    measures = [j for j in range(len(release.columns)) if j not in keys]
    columns = names.columns if names else release.columns
    labels = [
        " · ".join(str((names.keys[i][j] if names else None) or row[j]) for j in keys)
        if keys
        else columns[0]
        for i, row in enumerate(release.rows)
    ]
    groups = " × ".join(columns[j] for j in keys)
    return [_chart(release, j, labels, columns[j], groups, lang) for j in measures]


def _is_key(release: Release, column: int) -> bool:
    """A group key: not an aggregate (every aggregate has a share of the budget).

    Releases that name no aggregates tell keys by their missing intervals.
    A median has no interval either, but it is no key, so it gets no chart.
    """
    aggregates = set(release.budget_split) | set(release.bounds)
    if aggregates:
        return release.columns[column] not in aggregates
    return all(cis[column] is None for cis in release.ci)


def _chart(
    release: Release, column: int, labels: list[str], name: str, groups: str, lang: Lang
) -> Markup:
    bars = []
    for label, row, cis in zip(labels, release.rows, release.ci, strict=True):
        value, interval = row[column], cis[column]
        if isinstance(value, int | float) and interval is not None:
            bars.append((label, float(value), interval))
    if not bars:
        return Markup("")
    low = min(0.0, *(lo for _, _, (lo, _) in bars))
    high = max(0.0, *(max(v, hi) for _, v, (_, hi) in bars))
    span = (high - low) or 1.0
    plot = WIDTH - LABEL - RIGHT

    def x(value: float) -> float:
        return LABEL + (value - low) / span * plot

    title = f"{name} {translate('per', lang)} {groups.lower()}" if groups else name
    describe = translate("chart_description", lang).format(
        bars=len(bars), groups=(groups or name).lower()
    )
    ident = (
        "chart-" + hashlib.sha256(f"{release.model_dump_json()}{column}".encode()).hexdigest()[:12]
    )
    bottom = TOP + ROW * len(bars)
    height = bottom + BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(describe)}</desc>',
        f'<text class="title" x="0" y="16">{escape(title)}</text>',
        f'<text class="axis-name" x="{LABEL - 8}" y="{TOP - 8}" text-anchor="end">'
        f"{escape(groups)}</text>",
        f'<line class="axis" x1="{x(0):.1f}" y1="{TOP}" x2="{x(0):.1f}" y2="{bottom}"/>',
        f'<line class="axis" x1="{LABEL}" y1="{bottom}" x2="{LABEL + plot}" y2="{bottom}"/>',
        *(
            f'<text class="tick" x="{x(end):.1f}" y="{bottom + 16}" text-anchor="{anchor}">'
            f"{escape(number(end, lang))}</text>"
            for end, anchor in ((low, "start"), (high, "end"))
        ),
        f'<text class="axis-name" x="{LABEL + plot / 2:.1f}" y="{bottom + 36}" '
        f'text-anchor="middle">{escape(name)}</text>',
    ]
    for i, (label, value, (lo, hi)) in enumerate(bars):
        y = TOP + i * ROW
        mid = y + ROW / 2
        left, right = sorted((x(0), x(value)))
        tip = (
            f"{label}: {number(value, lang)} ({translate('interval', lang)} "
            f"{number(lo, lang)} – {number(hi, lang)})"
        )
        parts += [
            f"<g><title>{escape(tip)}</title>",
            f'<text class="label" x="{LABEL - 8}" y="{mid + 4:.1f}" text-anchor="end">'
            f"{escape(_short(label))}</text>",
            f'<rect class="bar" x="{left:.1f}" y="{y + 4}" width="{right - left:.1f}" '
            f'height="{ROW - 8}"/>',
            f'<line class="whisker" x1="{x(lo):.1f}" y1="{mid:.1f}" x2="{x(hi):.1f}" '
            f'y2="{mid:.1f}"/>',
            *(
                f'<line class="whisker" x1="{x(end):.1f}" y1="{mid - 5:.1f}" '
                f'x2="{x(end):.1f}" y2="{mid + 5:.1f}"/>'
                for end in (lo, hi)
            ),
            f'<text class="value" x="{WIDTH - RIGHT + 8}" y="{mid + 4:.1f}">'
            f"{escape(number(value, lang))}</text></g>",
        ]
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every label and number is escaped above)


SHORT_MONTHS: dict[Lang, tuple[str, ...]] = {
    "nl": ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
COLUMNS = 120
"""Height of the tallest column."""


class MonthlyLoss(Protocol):
    """One month of a series: its ``YYYY-MM`` and the ε spent in it."""

    @property
    def month(self) -> str: ...

    @property
    def epsilon(self) -> float: ...


def monthly_chart(months: Sequence[MonthlyLoss], title: str, lang: Lang = "nl") -> Markup:
    """A column per month of its ε, labelled with the month and, under January, the year."""
    if not months:
        return Markup("")
    high = max(m.epsilon for m in months) or 1.0
    step = WIDTH / len(months)
    base = TOP + COLUMNS
    ident = (
        "chart-"
        + hashlib.sha256(f"{title}{[(m.month, m.epsilon) for m in months]}".encode()).hexdigest()[
            :12
        ]
    )
    describe = translate("monthly_description", lang).format(months=len(months))
    parts = [
        f'<svg class="chart monthly" viewBox="0 0 {WIDTH} {base + BOTTOM}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(describe)}</desc>',
        f'<text class="title" x="0" y="16">{escape(title)}</text>',
        f'<line class="axis" x1="0" y1="{base}" x2="{WIDTH}" y2="{base}"/>',
    ]
    for i, entry in enumerate(months):
        year, month = entry.month.split("-")
        value, middle = entry.epsilon, (i + 0.5) * step
        tall = value / high * (COLUMNS - ROW)
        tip = f"{MONTHS[lang][int(month) - 1]} {year}: ε = {number(value, lang, 2)}"
        parts += [
            f"<g><title>{escape(tip)}</title>",
            f'<rect class="bar" x="{i * step + 4:.1f}" y="{base - tall:.1f}" '
            f'width="{step - 8:.1f}" height="{tall:.1f}"/>',
            f'<text class="label" x="{middle:.1f}" y="{base + 16}" text-anchor="middle">'
            f"{escape(SHORT_MONTHS[lang][int(month) - 1])}</text>",
        ]
        if i == 0 or month == "01":
            parts.append(
                f'<text class="value" x="{middle:.1f}" y="{base + 32}" '
                f'text-anchor="middle">{escape(year)}</text>'
            )
        if value:
            parts.append(
                f'<text class="value" x="{middle:.1f}" y="{base - tall - 4:.1f}" '
                f'text-anchor="middle">{escape(number(value, lang, 2))}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every label and number is escaped above)


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
