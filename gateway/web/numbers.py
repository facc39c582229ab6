"""Numbers as people read them: Dutch uses a decimal comma and a dot for thousands.

A whole number shows no decimals (a count of 120 is not "120,0"); an amount
asked for with two decimals, such as a budget, keeps them. A tiny amount such
as δ reads in powers of ten: 1 × 10⁻⁵.
"""

from __future__ import annotations

from gateway.web.i18n import Lang

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def number(value: object, lang: Lang = "nl", digits: int = 1) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "" if value is None else str(value)
    whole = isinstance(value, int) or (value.is_integer() and digits <= 1)
    text = f"{value:,.0f}" if whole else f"{value:,.{digits}f}"
    if lang == "nl":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def scientific(value: object, lang: Lang = "nl", digits: int = 2) -> str:
    """``value`` as mantissa × 10 to a power (1 × 10⁻⁵, 2,5 × 10⁻⁷); 0 is "0"."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "" if value is None else str(value)
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    if lang == "nl":
        mantissa = mantissa.replace(".", ",")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"
