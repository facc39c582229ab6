"""Bar charts with error bars as inline SVG, drawn on the server (no JavaScript needed).

One chart per released measure: a bar per group at its DP value, with a
whisker over its confidence interval. Only what the release holds is drawn.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from gateway.dp.release import Release
from gateway.web.i18n import Lang, translate
from gateway.web.numbers import number

WIDTH = 640
ROW = 26
LABEL = 190
RIGHT = 90
TOP = 8


def release_charts(release: Release, lang: Lang = "nl") -> list[Markup]:
    """An SVG per measure column (a column with intervals) of ``release``."""
    keys = [j for j in range(len(release.columns)) if _is_key(release, j)]
    measures = [j for j in range(len(release.columns)) if j not in keys]
    labels = [
        " · ".join(str(row[j]) for j in keys) if keys else release.columns[0]
        for row in release.rows
    ]
    return [_chart(release, j, labels, lang) for j in measures]


def _is_key(release: Release, column: int) -> bool:
    """A group key: not an aggregate (every aggregate has a share of the budget).

    Releases that name no aggregates tell keys by their missing intervals.
    A median has no interval either, but it is no key, so it gets no chart.
    """
    aggregates = set(release.budget_split) | set(release.bounds)
    if aggregates:
        return release.columns[column] not in aggregates
    return all(cis[column] is None for cis in release.ci)


def _chart(release: Release, column: int, labels: list[str], lang: Lang) -> Markup:
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

    name = release.columns[column]
    height = TOP * 2 + ROW * len(bars)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(name)}" xmlns="http://www.w3.org/2000/svg">',
        f'<line class="axis" x1="{x(0):.1f}" y1="0" x2="{x(0):.1f}" y2="{height}"/>',
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


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
