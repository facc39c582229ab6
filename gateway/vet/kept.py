"""``kept_vet``: the plan of a query vetted before, read instead of parsed again.

What the vetter makes of a query depends on nothing but the query's exact
text, the policy and the vetter itself, so the command line keeps each
allowed query's plan in the data directory (``KeptPlans``), named by all
three: the text, ``policy_hash`` and ``vetter_version`` (the vetter's own
source and sqlglot's version). A repeated ``gateway run`` then loads no
sqlglot. A changed policy or vetter asks again; a refused query is never
kept, so it is vetted, and refused, every time. A kept plan is read back
through its pydantic model and only for the very text it was kept for;
anything else counts as not kept, and the query is vetted afresh.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.kept import Kept, KeptEntry
from gateway.plan import QueryPlan
from gateway.policy.load import policy_hash
from gateway.policy.model import Policy

if TYPE_CHECKING:
    from gateway.config import Settings

FOLDER = "plans"
"""Where in the data directory ``KeptPlans`` keeps its files."""

PACKAGE = Path(__file__).parents[1]
VETTER = (
    "__init__.py",
    "errors.py",
    "plan.py",
    "policy",
    "source/__init__.py",
    "source/schema.py",
    "vet",
)
"""The source of everything ``vet`` runs, as paths in the package (a test holds it complete)."""


@cache
def vetter_version() -> str:
    """A hash of the vetter's source and of the sqlglot it parses with."""
    files = sorted(
        path
        for part in VETTER
        for path in (
            (PACKAGE / part).rglob("*.py*") if (PACKAGE / part).is_dir() else [PACKAGE / part]
        )
        if path.suffix in (".py", ".pyi")
    )
    digest = hashlib.sha256(f"sqlglot {version('sqlglot')}".encode())
    for path in files:
        digest.update(f"\0{path.relative_to(PACKAGE).as_posix()}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def plan_key(sql: str, policy: Policy) -> str:
    """Names a vetting: the exact text, the policy and the vetter."""
    text = hashlib.sha256(sql.encode()).hexdigest()
    asked = f"{vetter_version()} {policy_hash(policy)} {text}"
    return hashlib.sha256(asked.encode()).hexdigest()


class KeptPlan(KeptEntry):
    """The plan the vetter compiled from ``sql``, kept by ``plan_key``."""

    sql: str
    plan: QueryPlan


class KeptPlans(Kept[KeptPlan]):
    """Plans in the data directory of ``settings``, one JSON file per vetting."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.data_dir / FOLDER, KeptPlan)


def kept_vet(sql: str, policy: Policy, kept: KeptPlans | None) -> QueryPlan:
    """``vet``, read from ``kept`` when this text was allowed under this policy by this
    vetter before, and kept there when it is allowed now (without ``kept``: just ``vet``)."""
    if kept is None:
        return _vet(sql, policy)
    key = plan_key(sql, policy)
    found = kept.read(key)
    if found is not None and found.sql == sql:
        return found.plan
    plan = _vet(sql, policy)
    kept.write(KeptPlan(key=key, sql=sql, plan=plan))
    return plan


def _vet(sql: str, policy: Policy) -> QueryPlan:
    """``vet``, imported only when a query is vetted: it loads sqlglot."""
    from gateway.vet.vetting import vet

    return vet(sql, policy)
