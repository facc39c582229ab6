"""docs/source.md documents every refusal code and every option of the command."""

from __future__ import annotations

import re
from pathlib import Path

import typer

import gateway.source.generate as generate_module
from gateway.cli import app

DOC = Path(__file__).parent.parent.parent / "docs" / "source.md"


def test_every_refusal_code_is_documented() -> None:
    source = Path(generate_module.__file__).read_text(encoding="utf-8")
    codes = set(re.findall(r'SourceError\(\s*"([a-z_]+)"', source))
    assert len(codes) >= 9
    documented = set(
        re.findall(r"^\| `([a-z_]+)` \|", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    )
    assert codes <= documented


def test_every_option_is_documented() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    source = group.commands["source"]
    assert isinstance(source, typer.core.TyperGroup)
    options = {opt for param in source.commands["generate"].params for opt in param.opts}
    assert {"--members", "--out", "--seed", "--as-of", "--force", "--json"} <= options
    text = DOC.read_text(encoding="utf-8")
    for option in options:
        assert f"`{option}" in text, option
