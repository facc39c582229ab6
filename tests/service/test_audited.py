"""What the audit log holds beyond decisions: every release read (lists too), and imports."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from sqlalchemy import select

from gateway.config import Settings
from gateway.db import session
from gateway.service.audit import SYSTEM, verify
from gateway.service.models import AuditRecord
from gateway.service.rights import import_rights
from tests.service.factories import Api
from tests.service.test_web import published

CHANGES = [
    {"change_id": "a", "type": "restriction", "account_id": 9, "since": "2026-02-01T00:00:00Z"},
    {
        "change_id": "b",
        "type": "erasure",
        "account_id": 10,
        "scope": "content",
        "requested_at": "2026-02-20T00:00:00Z",
    },
]


def _records(settings: Settings, action: str) -> list[tuple[str, dict[str, object]]]:
    with session(settings) as s:
        rows = s.execute(
            select(AuditRecord.actor, AuditRecord.detail)
            .where(AuditRecord.action == action)
            .order_by(AuditRecord.seq)
        ).all()
    return [(actor, json.loads(detail)) for actor, detail in rows]


def test_listing_releases_is_a_read_of_each_one(api_on: Api) -> None:
    release_id = published(api_on)
    listed = api_on.client.get("/api/releases", headers=api_on.as_("ann")).json()
    assert [r["id"] for r in listed["data"]] == [release_id]
    assert _records(api_on.settings, "release.list") == [("ann", {"releases": [release_id]})]
    nothing = api_on.client.get("/api/releases", headers=api_on.as_("bob")).json()
    assert nothing["count"] == 0
    assert len(_records(api_on.settings, "release.list")) == 1, "an empty list reads nothing"
    assert verify(api_on.settings).intact


def test_a_rights_import_is_audited_with_what_came_in(backend: Settings, tmp_path: Path) -> None:
    changes = tmp_path / "changes.jsonl"
    changes.write_text("".join(json.dumps(c) + "\n" for c in CHANGES), encoding="utf-8")
    first = import_rights(backend, SYSTEM, changes)
    again = import_rights(backend, SYSTEM, changes)
    assert (first.imported, again.imported, again.already_present) == (2, 0, 2)
    records = _records(backend, "rights.import")
    assert [detail["imported"] for _, detail in records] == [2, 0]
    assert records[0][1]["lines"] == 2
    assert len(str(records[0][1]["sha256"])) == 64
    assert verify(backend).intact


GATEWAY = Path(__file__).parents[2] / "gateway"
GUIDE = Path(__file__).parents[2] / "docs" / "reviewer-guide.md"


def _recorded_actions() -> set[str]:
    """Every action the code passes to ``audit.record`` (a job's is ``job.<status>``)."""
    actions = set()
    for path in GATEWAY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and len(node.args) >= 3
            ):
                action = node.args[2]
                for value in ast.walk(action):
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        actions.add(value.value)
                if isinstance(action, ast.JoinedStr):
                    actions.add("job.<status>")
    return {a for a in actions if re.fullmatch(r"[a-z_]+\.[a-z_<>]+", a)}


def test_the_reviewer_guide_lists_every_audited_action() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    actions = _recorded_actions()
    assert {"auth.signin", "release.list", "rights.import", "job.<status>"} <= actions
    assert sorted(a for a in actions if f"`{a}`" not in guide) == []
