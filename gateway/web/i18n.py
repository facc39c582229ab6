"""Every word the pages show, in Dutch (the default) and English.

The words live in ``messages.toml``, one entry per key with both languages,
and are checked when this module loads: a key without one of its languages,
or whose translations disagree on their placeholders, stops the service from
starting instead of showing a page half in one language.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

Lang = Literal["nl", "en"]
LANGS: tuple[Lang, ...] = ("nl", "en")
DEFAULT: Lang = "nl"

SOURCE = Path(__file__).with_name("messages.toml")
POSITIONAL = ("%s", "|")
"""Placeholders filled by position (``%`` values, ``one|many`` forms): both languages need each."""


class Message(BaseModel):
    """One key's words in every language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    nl: str = Field(min_length=1)
    en: str = Field(min_length=1)

    @model_validator(mode="after")
    def _same_positional_placeholders(self) -> Message:
        for mark in POSITIONAL:
            if self.nl.count(mark) != self.en.count(mark):
                raise ValueError(f"nl and en differ in how often they use {mark!r}")
        return self


def load_messages(path: Path = SOURCE) -> dict[str, tuple[str, str]]:
    """Every key's ``(nl, en)`` words from ``path``; a bad entry raises, naming its key."""
    checked = TypeAdapter(dict[str, Message]).validate_python(tomllib.loads(path.read_text()))
    return {key: (message.nl, message.en) for key, message in checked.items()}


MESSAGES = load_messages()


def translate(key: str, lang: Lang) -> str:
    """The message ``key`` in ``lang``; a missing key is a bug, so it shows as itself."""
    nl, en = MESSAGES.get(key, (key, key))
    return nl if lang == "nl" else en
