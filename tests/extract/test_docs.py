"""Every refusal code and freshness state of the extract stage is documented."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.extract.build import EXCLUSION_REASONS
from gateway.extract.status import Freshness

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "extract.md").read_text()
RAISED = re.compile(r'(?:Error\(|refuse\(|code=)\s*"([a-z_]+)"')


def codes_in(package: Path) -> set[str]:
    return {code for path in package.glob("*.py") for code in RAISED.findall(path.read_text())}


def test_every_error_code_is_documented() -> None:
    codes = codes_in(ROOT / "gateway" / "extract")
    assert len(codes) > 20
    assert {c for c in codes if f"`{c}`" not in DOC} == set()


def test_every_state_and_exclusion_reason_is_documented() -> None:
    names = [s.value for s in Freshness] + list(EXCLUSION_REASONS)
    assert [n for n in names if n not in DOC] == []
