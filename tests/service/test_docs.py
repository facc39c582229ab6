"""The service's docs cover every status, setting and refusal the code has."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from gateway.config import Settings
from gateway.service.problems import _HTTP_CODES
from gateway.service.status import StatusCode, state_diagram

ROOT = Path(__file__).parents[2]
REVIEWER = (ROOT / "docs" / "reviewer-guide.md").read_text()
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()


SERVICE_COMMANDS = {"serve_command", "worker_command", "user_add", "user_token", "audit_verify"}
"""The command-line functions that belong to the service."""


def _trees() -> list[ast.AST]:
    trees: list[ast.AST] = [
        ast.parse(path.read_text()) for path in (ROOT / "gateway" / "service").rglob("*.py")
    ]
    cli = [ast.parse(path.read_text()) for path in (ROOT / "gateway" / "cli").glob("*.py")]
    return trees + [
        node
        for module in cli
        for node in module.body
        if isinstance(node, ast.FunctionDef) and node.name in SERVICE_COMMANDS
    ]


def refusal_codes() -> set[str]:
    """Every code the service raises a ``...Error("code", ...)`` with."""
    codes = set()
    for tree in _trees():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id.endswith("Error")
                and node.func.id != "ValueError"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and re.fullmatch(r"[a-z_]+", node.args[0].value)
            ):
                codes.add(node.args[0].value)
    return codes | set(_HTTP_CODES.values())


def test_the_state_diagram_is_the_generated_one() -> None:
    assert state_diagram() in REVIEWER


def test_every_status_is_explained() -> None:
    for code in StatusCode:
        assert f"| `{code.value}` | {code.state.value} | {code.description} |" in REVIEWER


def test_every_refusal_is_documented() -> None:
    codes = refusal_codes()
    assert {"token_expired", "project_not_approved", "request_too_large"} <= codes
    missing = sorted(code for code in codes if f"`{code}`" not in OPERATIONS)
    assert not missing


def test_every_setting_is_documented() -> None:
    for name, field in Settings.model_fields.items():
        variable = field.alias or f"GATEWAY_{name.removesuffix('_override').upper()}"
        assert f"`{variable}`" in OPERATIONS, variable
