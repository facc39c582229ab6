"""docs/policy.md explains every policy field, and a policy error's hint points at its section."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from gateway.errors import PolicyError
from gateway.policy import load_policy
from gateway.policy.load import SECTIONS
from gateway.policy.model import (
    Column,
    Contributions,
    Derivation,
    Policy,
    Purpose,
    Table,
)

ROOT = Path(__file__).parents[1]
GUIDE = (ROOT / "docs" / "policy.md").read_text()
POLICY = (ROOT / "policies" / "health_thing.yaml").read_text()


def section(anchor: str) -> str:
    """The text under the heading whose anchor is ``anchor``, up to the next heading."""
    headings = list(re.finditer(r"^## (.+)$", GUIDE, flags=re.M))
    for i, heading in enumerate(headings):
        if heading.group(1).lower().replace(" ", "-") == anchor:
            end = headings[i + 1].start() if i + 1 < len(headings) else len(GUIDE)
            return GUIDE[heading.end() : end]
    raise AssertionError(f"docs/policy.md has no section #{anchor}")


def parts() -> dict[str, type[BaseModel]]:
    nested = {name: Policy.model_fields[name].annotation for name in SECTIONS}
    nested.pop("purposes")
    return {
        "top-level": Policy,
        "purposes": Purpose,
        "tables": Table,
        "contributions": Contributions,
        "columns": Column,
        "derive": Derivation,
        **{name: model for name, model in nested.items() if isinstance(model, type)},
    }


@pytest.mark.parametrize("anchor", sorted(parts()))
def test_every_field_is_explained_in_its_section(anchor: str) -> None:
    text = section(anchor)
    model = parts()[anchor]
    assert issubclass(model, BaseModel)
    for field in model.model_fields:
        assert f"| `{field}` |" in text, f"{anchor}.{field}"


@pytest.mark.parametrize(
    ("change", "anchor"),
    [
        (("delta: 1.0e-7", "delta: 0.5"), "budget"),
        (("max_cut_share: 0.05", "max_cut_share: 2"), "release"),
        (("sql: auto", "sql: sometimes"), "review"),
        (("version: 1", "version: one"), "top-level"),
        (
            ("contributions: {max_rows_per_group: 256", "contributions: {max_rows_per_group: 0"),
            "contributions",
        ),
        (("transform: word_count", "transform: copy_text"), "derive"),
        (
            (
                "role: measure, type: INTEGER, lower: 0, upper: 50",
                "role: measure, type: INTEGER, lower: 50, upper: 0",
            ),
            "columns",
        ),
    ],
)
def test_a_policy_error_points_at_the_section_that_explains_it(
    tmp_path: Path, change: tuple[str, str], anchor: str
) -> None:
    old, new = change
    assert old in POLICY
    broken = tmp_path / "policy.yaml"
    broken.write_text(POLICY.replace(old, new, 1))
    with pytest.raises(PolicyError) as refused:
        load_policy(broken)
    assert refused.value.code == "policy_invalid"
    assert refused.value.hint == f"see docs/policy.md#{anchor}"
    section(anchor)  # the section exists
