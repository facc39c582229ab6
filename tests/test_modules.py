"""The package stays in modules a reader can hold in mind: one concept each."""

from __future__ import annotations

from pathlib import Path

import gateway

MOST_LINES = 600
PACKAGE = Path(gateway.__file__).parent


def test_no_module_is_over_600_lines() -> None:
    sizes = {
        str(path.relative_to(PACKAGE)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert len(sizes) > 100  # the whole package was read
    assert {name: lines for name, lines in sizes.items() if lines > MOST_LINES} == {}
