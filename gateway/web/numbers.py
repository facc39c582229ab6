"""Numbers as people read them: Dutch uses a decimal comma and a dot for thousands.

A whole number shows no decimals (a count of 120 is not "120,0"); an amount
asked for with two decimals, such as a budget, keeps them.
"""

from __future__ import annotations

from gateway.web.i18n import Lang


def number(value: object, lang: Lang = "nl", digits: int = 1) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "" if value is None else str(value)
    whole = isinstance(value, int) or (value.is_integer() and digits <= 1)
    text = f"{value:,.0f}" if whole else f"{value:,.{digits}f}"
    if lang == "nl":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text
