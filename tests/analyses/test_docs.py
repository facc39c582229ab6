"""The researcher guide documents every refusal code and every SDK name."""

from __future__ import annotations

import re

import gateway.analyses
from tests.analyses.factories import ROOT

DOC = (ROOT / "docs" / "analyses.md").read_text()
RAISED = re.compile(r'(?:Error\(|_Refused\(|_located\(|code=|^[A-Z_]+ = )\s*"([a-z_]+)"', re.M)
SOURCES = [
    *(ROOT / "gateway" / "analyses").glob("*.py"),
    ROOT / "gateway" / "pipeline.py",
    ROOT / "gateway" / "policy" / "epsilon.py",
]


def test_every_refusal_code_is_documented() -> None:
    codes = {code for path in SOURCES for code in RAISED.findall(path.read_text())}
    assert len(codes) > 12
    assert {c for c in codes if f"`{c}`" not in DOC} == set()


def test_every_sdk_name_is_documented() -> None:
    names = [n for n in gateway.analyses.__all__ if n[0].islower() or n == "Analysis"]
    assert [n for n in names if f"{n}(" not in DOC] == []
