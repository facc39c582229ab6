"""Kept plans: a query vetted before is read back, only ever for the same text, policy and
vetter; a refused query is never kept."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.errors import VetError
from gateway.policy import Policy, load_policy
from gateway.vet import kept as kept_module
from gateway.vet import vet
from gateway.vet.kept import KeptPlan, KeptPlans, kept_vet, plan_key, vetter_version
from tests.vet.factories import POLICY_PATH

SQL = "SELECT theme, COUNT(*) AS n FROM tips GROUP BY theme"
OTHER = "SELECT theme, COUNT(*) AS n FROM tips WHERE helpful_votes > 3 GROUP BY theme"


@pytest.fixture
def policy() -> Policy:
    return load_policy(POLICY_PATH)


@pytest.fixture
def kept(tmp_path: Path) -> KeptPlans:
    return KeptPlans(Settings(data_dir=tmp_path / "state"))


def _plant(kept: KeptPlans, key: str, sql: str, plan_of: str, policy: Policy) -> None:
    """A valid kept file under ``key`` that says ``sql`` was vetted into the plan of ``plan_of``."""
    kept.write(KeptPlan(key=key, sql=sql, plan=vet(plan_of, policy)))


def test_a_query_is_vetted_once_then_read_from_its_file(kept: KeptPlans, policy: Policy) -> None:
    assert kept_vet(SQL, policy, kept) == vet(SQL, policy)
    key = plan_key(SQL, policy)
    assert [p.name for p in kept.folder.iterdir()] == [f"{key}.json"]  # and no partial file
    _plant(kept, key, SQL, OTHER, policy)
    assert kept_vet(SQL, policy, kept) == vet(OTHER, policy)  # read, not vetted again


def test_a_kept_plan_is_never_served_for_other_sql(kept: KeptPlans, policy: Policy) -> None:
    kept_vet(SQL, policy, kept)
    assert kept_vet(OTHER, policy, kept) == vet(OTHER, policy)
    assert kept_vet(SQL + " ", policy, kept) == vet(SQL + " ", policy)
    # A file under this text's key that was kept for another text is not believed.
    _plant(kept, plan_key(OTHER, policy), SQL, SQL, policy)
    assert kept_vet(OTHER, policy, kept) == vet(OTHER, policy)


def test_a_changed_policy_vets_again(kept: KeptPlans, policy: Policy) -> None:
    _plant(kept, plan_key(SQL, policy), SQL, OTHER, policy)
    data = policy.model_dump()
    data["tables"]["tips"]["columns"]["helpful_votes"] |= {
        "role": "identifier",
        "lower": None,
        "upper": None,
    }
    stricter = Policy.model_validate(data)
    assert plan_key(SQL, stricter) != plan_key(SQL, policy)
    assert kept_vet(SQL, stricter, kept) == vet(SQL, stricter)
    with pytest.raises(VetError):  # the kept plan of OTHER under the old policy is not served
        kept_vet(OTHER, stricter, kept)


def test_a_changed_vetter_vets_again(
    kept: KeptPlans, policy: Policy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plant(kept, plan_key(SQL, policy), SQL, OTHER, policy)
    version = vetter_version()
    copy = tmp_path / "gateway"
    shutil.copytree(kept_module.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(kept_module, "PACKAGE", copy)
    vetter_version.cache_clear()
    try:
        assert vetter_version() == version  # the same source, wherever it lies
        with (copy / "vet" / "compile" / "where.py").open("a") as source:
            source.write("\n# a change to one clause of the vetter\n")
        vetter_version.cache_clear()
        assert vetter_version() != version
        assert kept_vet(SQL, policy, kept) == vet(SQL, policy)  # the planted plan is not served
    finally:
        vetter_version.cache_clear()


def test_a_refused_query_is_never_kept(kept: KeptPlans, policy: Policy) -> None:
    for _ in range(2):
        with pytest.raises(VetError):
            kept_vet("SELECT member_pid FROM tips", policy, kept)
    assert not kept.folder.exists()


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"key": "KEY", "sql": "SQL"}',
        b'{"key": "KEY", "sql": "SQL", "plan": {"table": "tips"}}',
        b'{"key": "another", "sql": "SQL", "plan": PLAN}',
        b'{"key": "KEY", "sql": "SQL", "plan": PLAN, "trust": "me"}',
    ],
    ids=["garbage", "no-plan", "bad-plan", "foreign", "extra"],
)
def test_a_corrupt_or_foreign_file_is_ignored_and_replaced(
    kept: KeptPlans, policy: Policy, content: bytes
) -> None:
    key = plan_key(SQL, policy)
    planted = (
        content.replace(b"KEY", key.encode())
        .replace(b"SQL", SQL.encode())
        .replace(b"PLAN", vet(OTHER, policy).model_dump_json().encode())
    )
    kept.folder.mkdir(parents=True)
    (kept.folder / f"{key}.json").write_bytes(planted)
    assert kept.read(key) is None
    assert kept_vet(SQL, policy, kept) == vet(SQL, policy)
    found = kept.read(key)
    assert found is not None
    assert found.plan == vet(SQL, policy)


def test_without_a_store_it_only_vets(policy: Policy) -> None:
    assert kept_vet(SQL, policy, None) == vet(SQL, policy)


VETTING = """
import json, sys
from gateway.errors import VetError
from gateway.policy import load_policy
from gateway.vet import vet

policy = load_policy(sys.argv[1])
for sql in (sys.argv[2], "SELECT member_pid FROM tips WHERE x("):
    try:
        vet(sql, policy)
    except VetError:
        pass
print(json.dumps([m.__file__ for n, m in sys.modules.items() if n.split(".")[0] == "gateway"]))
"""
"""Vets an allowed and a refused query, then names the file of every gateway module loaded."""


def test_the_vetter_version_covers_every_module_vetting_runs() -> None:
    """Any gateway module ``vet`` imports is in the source the version hashes."""
    found = subprocess.run(
        [sys.executable, "-c", VETTING, str(POLICY_PATH), SQL],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    package = kept_module.PACKAGE
    hashed = [package / part for part in kept_module.VETTER]
    loaded = [Path(file) for file in json.loads(found)]
    assert loaded
    assert [
        str(file.relative_to(package))
        for file in loaded
        if not any(file == part or file.is_relative_to(part) for part in hashed)
    ] == []
