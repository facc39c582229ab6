"""docs/vetting.md documents every refusal code, and its examples do what they say."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gateway.errors import VetError
from gateway.policy import Policy
from gateway.vet import vet
from gateway.vet.codes import Code
from tests.vet.factories import ROOT

DOC = (ROOT / "docs" / "vetting.md").read_text(encoding="utf-8")
SECTIONS = dict(re.findall(r"^### `([a-z_]+)`\n(.*?)(?=^### |\Z)", DOC, flags=re.S | re.M))
RAISERS = {"issue", "add", "Issue", "VetError", "GatewayError"}


def _sql_example(section: str) -> str | None:
    found = re.search(r"```sql\n(.*?)\n```", section, flags=re.S)
    return found.group(1) if found else None


def test_every_code_is_documented_with_an_example_and_a_fix() -> None:
    assert set(SECTIONS) == {code.value for code in Code}
    for code, section in SECTIONS.items():
        assert "```" in section, f"{code} has no example"
        assert "**Fix:**" in section, f"{code} has no fix"


@pytest.mark.parametrize(
    "code", [c for c, s in SECTIONS.items() if _sql_example(s) is not None], ids=str
)
def test_documented_example_raises_its_code(code: str, policy: Policy) -> None:
    sql = _sql_example(SECTIONS[code])
    assert sql is not None
    with pytest.raises(VetError) as raised:
        vet(sql, policy)
    assert code in {issue.code for issue in raised.value.issues}


def _raised_literals(path: Path) -> list[str]:
    """String literals handed to an issue or error constructor as its code."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = (
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        )
        if name not in RAISERS:
            continue
        candidates = node.args[:1] + [k.value for k in node.keywords if k.arg == "code"]
        found += [
            c.value for c in candidates if isinstance(c, ast.Constant) and isinstance(c.value, str)
        ]
    return found


def test_codes_are_raised_only_through_the_registry() -> None:
    """A code spelled as a bare string could escape the documentation check above."""
    sources = [*(ROOT / "gateway" / "vet").glob("*.py"), ROOT / "gateway" / "cli" / "query.py"]
    vet_section = re.compile(r"# -+ vet\n(.*?)# -+ run", re.S)
    literals = []
    for path in sources:
        if path.parent.name == "cli":
            section = vet_section.search(path.read_text(encoding="utf-8"))
            assert section is not None
            tree = ast.parse(section.group(1))
            literals += [
                n.args[0].value
                for n in ast.walk(tree)
                if isinstance(n, ast.Call)
                and getattr(n.func, "id", "") in RAISERS
                and n.args
                and isinstance(n.args[0], ast.Constant)
            ]
        else:
            literals += _raised_literals(path)
    assert literals == []
