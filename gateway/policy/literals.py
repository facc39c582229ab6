"""Filter constants, typed by their column before any data is read.

A constant that does not fit its column's type would be cast by DuckDB row by
row, and the cast fails only on rows that reach it: a query would fail
exactly when a member matches the conditions before it, a yes/no answer
about one person for free. So every constant is checked here against the
declared type and its range, and turned into the Python value the engine
binds as a typed parameter. SQL from the vetter and plans from the analysis
SDK pass the same check, and the DP engine repeats it before it opens an
extract. What a comparison then means is exactly what SQL means on the
declared type; what it could not mean exactly is refused.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from gateway.policy.model import Column

INTEGER_RANGES = {"INTEGER": (-(2**31), 2**31 - 1), "BIGINT": (-(2**63), 2**63 - 1)}
"""Values DuckDB's integer types hold; a constant outside would fail to cast."""
EXACT_DOUBLE = 2**53
"""Integers a DOUBLE holds exactly; beyond it two constants would compare as one."""
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

Typed = int | float | str | dt.date


class LiteralProblem(Exception):
    """Why a constant cannot be compared with its column, and how to write it instead.

    ``code`` is one of the vetter's codes (``type_mismatch``, ``invalid_literal``, ...).
    """

    def __init__(self, code: str, message: str, *, hint: str) -> None:
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def typed_literal(column: str, spec: Column, value: object) -> Typed:
    """``value`` as the Python value of ``spec``'s type, or ``LiteralProblem``.

    ``column`` names the column in messages.
    """
    if spec.type in INTEGER_RANGES:
        return _integer(column, spec.type, value)
    if spec.type == "DOUBLE":
        return _double(column, value)
    if spec.type == "DATE":
        return _date(column, value)
    if isinstance(value, str):
        return value
    raise _mismatch(column, spec.type, value)


def _integer(column: str, sql_type: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _mismatch(column, sql_type, value)
    if isinstance(value, float) and not math.isfinite(value):
        raise _mismatch(column, sql_type, value)
    low, high = INTEGER_RANGES[sql_type]
    if not low <= value <= high:
        raise LiteralProblem(
            "literal_out_of_range",
            f"`{column}` is {sql_type}, which holds {low:,} to {high:,}; {value!r} is outside",
            hint=f"compare `{column}` with a value in its range; a bound beyond it "
            "selects every row or none, so leave that condition out",
        )
    if isinstance(value, float) and not value.is_integer():
        below, above = math.floor(value), math.ceil(value)
        raise LiteralProblem(
            "not_a_whole_number",
            f"`{column}` holds whole numbers; {value!r} is not one",
            hint=f"say what you mean in whole numbers, e.g. `{column} >= {above}` "
            f"or `{column} <= {below}`",
        )
    return int(value)


def _double(column: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _mismatch(column, "DOUBLE", value)
    if not math.isfinite(value) or (isinstance(value, int) and abs(value) > EXACT_DOUBLE):
        raise LiteralProblem(
            "literal_out_of_range",
            f"`{column}` is DOUBLE; {value!r} is not a finite number it holds exactly",
            hint=f"compare `{column}` with a number between -2^53 and 2^53",
        )
    return float(value)


def _date(column: str, value: object) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise _mismatch(column, "DATE", value)
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise LiteralProblem(
            "invalid_literal",
            f"'{value}' is not a date",
            hint="write dates as 'YYYY-MM-DD', e.g. DATE '2024-03-01'",
        ) from None


def _mismatch(column: str, sql_type: str, value: object) -> LiteralProblem:
    expected = {"DATE": "a date such as DATE '2024-01-01'", "VARCHAR": "a 'string'"}
    return LiteralProblem(
        "type_mismatch",
        f"`{column}` is {sql_type}; it cannot be compared with {value!r}",
        hint="compare it with " + expected.get(sql_type, "a number"),
    )
