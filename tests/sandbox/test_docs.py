"""Every sandbox error code and every limit is documented for operators."""

from __future__ import annotations

import re

from gateway.sandbox import Limits
from tests.sandbox.factories import ROOT

DOC = (ROOT / "docs" / "sandbox.md").read_text()
SOURCES = [p for p in (ROOT / "gateway" / "sandbox").glob("*.py") if p.name != "stub.py"]
CODE = re.compile(r'(?:Error\(\s*|code=)"([a-z_]+)"')


def test_every_error_code_is_documented() -> None:
    codes = {code for path in SOURCES for code in CODE.findall(path.read_text())}
    assert {"sandbox_unavailable", "timeout", "result_too_large"} <= codes  # the pattern works
    undocumented = sorted(code for code in codes if f"`{code}`" not in DOC)
    assert not undocumented


def test_every_limit_is_documented() -> None:
    undocumented = sorted(name for name in Limits.model_fields if f"`{name}`" not in DOC)
    assert not undocumented
