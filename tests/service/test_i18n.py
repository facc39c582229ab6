"""The pages' words load only when every key has both languages, once."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.web.i18n import LANGS, MESSAGES, Message, load_messages


def _load(tmp_path: Path, text: str) -> dict[str, tuple[str, str]]:
    path = tmp_path / "messages.toml"
    path.write_text(text)
    return load_messages(path)


def test_an_entry_holds_exactly_the_languages_the_pages_speak() -> None:
    assert tuple(Message.model_fields) == LANGS
    assert len(MESSAGES) > 200


def test_a_key_without_one_of_its_languages_does_not_load(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"site\.en"):
        _load(tmp_path, 'site.nl = "Onderzoeksgateway"\n')


def test_an_empty_or_unknown_language_does_not_load(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"site\.en"):
        _load(tmp_path, 'site.nl = "Gateway"\nsite.en = ""\n')
    with pytest.raises(ValidationError, match=r"site\.de"):
        _load(tmp_path, 'site.nl = "Gateway"\nsite.en = "Gateway"\nsite.de = "Gateway"\n')


def test_translations_agree_on_positional_placeholders(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"noun_rows"):
        _load(tmp_path, 'noun_rows.nl = "rij|rijen"\nnoun_rows.en = "rows"\n')
    with pytest.raises(ValidationError, match=r"%s"):
        _load(tmp_path, 'few.nl = "minder dan %s leden"\nfew.en = "fewer members"\n')


def test_a_key_given_twice_does_not_load(tmp_path: Path) -> None:
    with pytest.raises(tomllib.TOMLDecodeError):
        _load(tmp_path, 'site.nl = "a"\nsite.en = "b"\nsite.nl = "c"\n')
