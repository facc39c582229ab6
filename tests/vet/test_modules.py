"""The vetter stays in modules a reader can hold in mind: one concept, one clause each."""

from __future__ import annotations

from pathlib import Path

import gateway.vet

MOST_LINES = 600
VET = Path(gateway.vet.__file__).parent


def test_no_vet_module_is_over_600_lines() -> None:
    sizes = {
        str(path.relative_to(VET)): len(path.read_text(encoding="utf-8").splitlines())
        for path in VET.rglob("*.py")
    }
    assert {name: lines for name, lines in sizes.items() if lines > MOST_LINES} == {}
