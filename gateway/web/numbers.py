"""Numbers as people read them: Dutch uses a decimal comma and a dot for thousands."""

from __future__ import annotations

from gateway.web.i18n import Lang


def number(value: object, lang: Lang = "nl", digits: int = 1) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "" if value is None else str(value)
    text = f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"
    if lang == "nl":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text
