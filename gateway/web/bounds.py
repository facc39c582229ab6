"""What bounding did to each released column, in words, in Dutch and English.

A release states per aggregate column the bounds it was computed with (rows
of one member per cell, cells per member, a measure's clamp range), whether
they were chosen with DP or fixed, and the share of the unbounded answer
they cut. Researchers and reviewers read all of it, and what each interval
covers: the bounded number's, or (counts and sums the engine widened by
their estimated cut) the unbounded one's when the estimate holds. Members
read what the interval covers and, for a column flagged biased, that the
number is likely an underestimate. A median
or quantile says, for everyone, that it has no interval. A release without
bounds (made before the engine stated them) gets no words about them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.dp.release import MEAN_GROUP, ColumnBounds, Release, per_aggregate
from gateway.dp.render import plural, without_interval
from gateway.policy.model import Aggregation
from gateway.web.i18n import Lang, translate
from gateway.web.numbers import number
from gateway.web.vocabulary import column_word, row_nouns


@dataclass(frozen=True)
class Note:
    """One sentence under a release: about ``column`` (empty: about the whole release)."""

    column: str
    text: str
    biased: bool = False


def release_notes(
    release: Release,
    lang: Lang,
    table: str | None = None,
    members: bool = False,
    aggregates: Mapping[str, Aggregation] | None = None,
    sources: Mapping[str, str] | None = None,
) -> list[Note]:
    """The sentences under ``release`` for researchers and reviewers, or for ``members``.

    ``table`` (the rows the query counts) and ``aggregates`` (each column's
    function) make the words exact; without them they say "rows". ``sources``
    (the policy column each group key reads) names the groups in ``lang``.
    """
    functions = aggregates or {}
    released = set(release.budget_split) | set(release.bounds)
    named = sources or {}
    keys = [column_word(named.get(c, c), lang) for c in release.columns if c not in released]
    notes: list[Note] = []
    for column, bounds in release.bounds.items():
        function = functions.get(column)
        distinct = function is Aggregation.COUNT_DISTINCT_MEMBERS
        counted = _counted(bounds, keys, table, lang, function)
        cut = _cut(bounds, table, lang, distinct)
        widened = bounds.widened
        if members:
            notes.append(Note(column, _for_members(counted, cut, bounds, widened, lang)))
            if bounds.biased:
                notes.append(Note(column, translate("member_biased", lang), biased=True))
            continue
        how = translate(
            "bounds_chosen"
            if bounds.chosen
            else "bounds_fixed"
            if bounds.fixed
            else "bounds_policy",
            lang,
        )
        text = f"{counted} ({how}); {cut}"
        if bounds.too_noisy:
            text += "; " + translate("too_noisy", lang).format(count=number(bounds.too_noisy, lang))
        if widened is not None:
            text += f"; {translate('interval_widened' if widened else 'interval_bounded', lang)}"
        if bounds.biased:
            text += f"; {translate('biased_researcher', lang)}"
        notes.append(Note(column, text, biased=bounds.biased))
    notes += [Note(column, translate("no_interval", lang)) for column in without_interval(release)]
    if release.bounds_epsilon > 0 and not members:
        spent = translate("bounds_epsilon", lang).format(
            part=number(release.bounds_epsilon, lang, 2), whole=number(release.epsilon, lang, 2)
        )
        notes.append(Note("", spent))
    return notes


def _for_members(
    counted: str, cut: str, bounds: ColumnBounds, widened: bool | None, lang: Lang
) -> str:
    """What a number counts and what its interval covers, without the jargon."""
    known = f"; {cut}" if bounds.cut_share is not None else ""
    if widened:
        return translate("member_widened", lang).format(counted=counted, cut=cut)
    if widened is None:
        return translate("member_counted", lang).format(counted=counted) + f"{known}."
    return translate("member_covers", lang).format(counted=counted) + f"{known}."


def _counted(
    bounds: ColumnBounds,
    keys: list[str],
    table: str | None,
    lang: Lang,
    function: Aggregation | None,
) -> str:
    one, many = row_nouns(table, lang)
    noun = one if bounds.rows_per_group == 1 else many
    rows = number(bounds.rows_per_group, lang)
    cell = " × ".join(keys)
    cells = plural(cell) if len(keys) == 1 else f"{cell} cells"
    groups = number(bounds.groups, lang)
    if function is Aggregation.COUNT_DISTINCT_MEMBERS:  # once per cell: the cells bound it
        if not keys:
            return translate("bounds_members_total", lang)
        return translate("bounds_members", lang).format(groups=groups, cell=cell, cells=cells)
    averaged = function is Aggregation.MEAN
    if averaged and bounds.rows_per_group == 1:
        key = "bounds_averaged" if keys else "bounds_averaged_total"
        text = translate(key, lang).format(noun=many, cell=cell)
    elif keys:
        text = translate("bounds_counted", lang).format(rows=rows, noun=noun, cell=cell)
    else:
        text = translate("bounds_counted_total", lang).format(rows=rows, noun=noun)
    if averaged and bounds.rows_per_group > 1:
        text += f" ({translate('bounds_averaged_more', lang)})"
    if keys and bounds.groups > 1:
        text += ", " + translate("bounds_groups", lang).format(
            groups=groups, cell=cell, cells=cells
        )
    if bounds.clamp is not None:
        low, high = (number(end, lang) for end in bounds.clamp)
        text += ", " + translate("bounds_clamp", lang).format(low=low, high=high)
    return text


def _cut(bounds: ColumnBounds, table: str | None, lang: Lang, distinct: bool) -> str:
    if bounds.cut_share is None:
        return translate("cut_unknown", lang)
    share = _percent(bounds.cut_share, lang)
    key = "cut_members" if distinct else "cut_rows" if bounds.clamp is None else "cut_value"
    text = translate(key, lang).format(share=share, noun=row_nouns(table, lang)[1])
    if bounds.cut_share_error is not None:
        error = _percent(bounds.cut_share_error, lang)
        text += " " + translate("cut_error", lang).format(error=error)
    return text


def _percent(share: float, lang: Lang) -> str:
    percent = 100 * share
    return f"{number(round(percent) if percent >= 10 else round(percent, 1), lang)} %"


def accuracy_lines(accuracy: Mapping[str, float], lang: Lang) -> list[tuple[str, float, str]]:
    """Predicted accuracy as (aggregate, ± half-width, note): a mean's in its own units,
    for a group of ``MEAN_GROUP`` values (its ``.sum`` and ``.count`` parts stay in the API)."""
    group = translate("mean_group", lang).format(values=number(MEAN_GROUP, lang))
    return [(name, width, group if mean else "") for name, width, mean in per_aggregate(accuracy)]
