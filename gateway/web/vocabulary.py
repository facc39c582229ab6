"""The policy's words in Dutch and English: themes, categories, columns, months.

A release speaks the extract's language: ``theme = 'sleep'``, a column named
``n``, a month ``2026-03-01``. Members read it in theirs: "Slaap", "Aantal
tips", "maart 2026". A group key is named after the policy column it reads, an
aggregate after its function and what it counts or measures; the researcher's
own alias is the last resort. Every value a policy domain lists has a
translation here (a test checks), so no English word reaches a Dutch page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel

from gateway.dp.release import Cell, Release
from gateway.policy.model import Aggregation
from gateway.web.i18n import MESSAGES, Lang, translate

TERMS: dict[str, tuple[str, str]] = {
    # learning themes
    "sleep": ("Slaap", "Sleep"),
    "stress": ("Stress", "Stress"),
    "nutrition": ("Voeding", "Nutrition"),
    "movement": ("Bewegen", "Movement"),
    "chronic pain": ("Chronische pijn", "Chronic pain"),
    "diabetes": ("Diabetes", "Diabetes"),
    "mental health": ("Mentale gezondheid", "Mental health"),
    "heart health": ("Hartgezondheid", "Heart health"),
    "weight": ("Gewicht", "Weight"),
    "smoking cessation": ("Stoppen met roken", "Quitting smoking"),
    "pregnancy": ("Zwangerschap", "Pregnancy"),
    "ageing well": ("Gezond ouder worden", "Ageing well"),
    # places and unknowns
    "abroad": ("Buitenland", "Abroad"),
    "unknown": ("Onbekend", "Unknown"),
    # support request categories
    "account": ("Account", "Account"),
    "privacy": ("Privacy", "Privacy"),
    "content": ("Inhoud", "Content"),
    "technical": ("Techniek", "Technical"),
    "billing": ("Betalingen", "Billing"),
    "other": ("Overig", "Other"),
    # age bands read the same in both languages but for the oldest
    "75+": ("75 en ouder", "75 and over"),
    "<18": ("Jonger dan 18", "Under 18"),
    # purposes
    "mission": ("Eigen analyse voor de missie", "Analysis for the mission"),
    "external_research": (
        "Onderzoek buiten de missie, met toestemming",
        "Research beyond the mission, with consent",
    ),
}

COLUMNS: dict[str, tuple[str, str]] = {
    "theme": ("thema", "theme"),
    "age_band": ("leeftijdsgroep", "age group"),
    "province": ("provincie", "province"),
    "country": ("land", "country"),
    "category": ("soort hulpvraag", "kind of support request"),
    "created_month": ("maand", "month"),
    "created_date": ("dag", "day"),
    "joined_month": ("maand van aanmelding", "month joined"),
    "followed_month": ("maand van volgen", "month followed"),
    "helpful_votes": ("stemmen 'nuttig'", "'helpful' votes"),
    "word_count": ("aantal woorden", "word count"),
    "days_to_close": ("dagen tot afhandeling", "days to close"),
    "birth_year": ("geboortejaar", "birth year"),
}

AGGREGATES: dict[Aggregation, tuple[str, str]] = {
    Aggregation.COUNT: ("Aantal {what}", "Number of {what}"),
    Aggregation.COUNT_DISTINCT_MEMBERS: ("Aantal leden", "Number of members"),
    Aggregation.SUM: ("Totaal {what}", "Total {what}"),
    Aggregation.MEAN: ("Gemiddeld {what}", "Average {what}"),
    Aggregation.MEDIAN: ("Mediaan {what}", "Median {what}"),
    Aggregation.QUANTILE: ("Kwantiel {what}", "Quantile of {what}"),
}

MONTHS: dict[Lang, tuple[str, ...]] = {
    "nl": (
        "januari", "februari", "maart", "april", "mei", "juni",
        "juli", "augustus", "september", "oktober", "november", "december",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip

_MONTH = re.compile(r"(\d{4})-(\d{2})(?:-01)?")


class Labels(BaseModel):
    """A release's columns and group keys as members read them, in one language."""

    columns: list[str]
    keys: list[list[str | None]]
    """Per row, per column: a group key's value in words; None for an aggregate's number."""


def term(value: str, lang: Lang) -> str:
    """A policy value (theme, category, purpose) in ``lang``; unknown values as they are."""
    pair = TERMS.get(value)
    return value if pair is None else pair[0 if lang == "nl" else 1]


def labels(
    release: Release,
    lang: Lang,
    table: str | None,
    aggregates: Mapping[str, Aggregation],
    sources: Mapping[str, str],
) -> Labels:
    """Names for ``release``'s columns and words for its group keys."""
    released = set(release.budget_split) | set(release.bounds) | set(aggregates)
    names = [
        _aggregate(aggregates.get(column), sources.get(column), table, lang) or column
        if column in released
        else column_word(sources.get(column, column), lang).capitalize()
        for column in release.columns
    ]
    keys = [
        [
            None if column in released else _value(value, sources.get(column, column), lang)
            for column, value in zip(release.columns, row, strict=True)
        ]
        for row in release.rows
    ]
    return Labels(columns=names, keys=keys)


def column_word(name: str, lang: Lang) -> str:
    """A policy column's name in ``lang``, in lower case ("leeftijdsgroep")."""
    pair = COLUMNS.get(name)
    return name.replace("_", " ") if pair is None else pair[0 if lang == "nl" else 1]


def row_nouns(table: str | None, lang: Lang) -> tuple[str, str]:
    """(one, many) rows of ``table``: ("tip", "tips"); "rows" for members or unknown."""
    key = f"noun_{table}"
    one, many = translate(key if key in MESSAGES else "noun_rows", lang).split("|")
    return one, many


def _aggregate(
    function: Aggregation | None, measure: str | None, table: str | None, lang: Lang
) -> str | None:
    if function is None:
        return None
    what = column_word(measure, lang) if measure is not None else row_nouns(table, lang)[1]
    return AGGREGATES[function][0 if lang == "nl" else 1].format(what=what)


def _value(value: Cell, source: str, lang: Lang) -> str:
    if value is None:
        return translate("no_value", lang)
    text = str(value)
    month = _MONTH.fullmatch(text)
    if month and source.endswith("_month"):
        year, number = month.groups()
        return f"{MONTHS[lang][int(number) - 1]} {year}"
    return term(text, lang)
