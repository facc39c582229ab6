"""What the extract code splices into SQL or keeps in it: quoted names and literals, the
form of the one secret ever spliced (an extract key), and times as naive UTC."""

from __future__ import annotations

import datetime as dt
import re

HEX_KEY = re.compile(r"^[0-9a-f]{64}$")
"""An extract's encryption key: 256 random bits as hex, checked before it is used."""


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def utc(value: dt.datetime) -> dt.datetime:
    """Source timestamps are naive UTC; the gateway speaks aware UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def naive(value: dt.datetime) -> dt.datetime:
    """Aware UTC -> the naive UTC that source and metadata tables store."""
    return utc(value).replace(tzinfo=None)
