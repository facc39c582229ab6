from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateway.extract.dummy import build_dummy
from gateway.policy import Policy, load_policy
from tests.analyses.factories import POLICY


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(POLICY)


@pytest.fixture(scope="session")
def dummy_extract(tmp_path_factory: pytest.TempPathFactory, policy: Policy) -> Path:
    """A small dummy extract, built once: 300 synthetic members."""
    out = tmp_path_factory.mktemp("dummy") / "dummy.duckdb"
    build_dummy(policy, out, members=300, seed=7, as_of=dt.date(2025, 6, 15))
    return out
