"""docs/dp.md documents every refusal the DP engine and `gateway run` make."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "dp.md").read_text(encoding="utf-8")
RAISERS = {"DpError", "BudgetError", "ExtractError"}


def _codes(path: Path) -> set[str]:
    """First arguments of DpError/BudgetError/ExtractError(...) calls in ``path``."""
    codes = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in RAISERS
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            codes.add(node.args[0].value)
    return codes


def test_every_engine_refusal_is_in_the_table() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", DOC, flags=re.M))
    raised = set().union(*(_codes(p) for p in (ROOT / "gateway" / "dp").glob("*.py")))
    assert "policy_mismatch" in _codes(ROOT / "gateway" / "pipeline.py")  # `gateway run`'s own
    assert raised
    assert raised <= documented, raised - documented
    assert {"invalid_epsilon", "epsilon_over_cap", "policy_mismatch"} <= documented
