"""Fixtures of the DP engine tests: the policy, state in a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.policy import Policy
from tests.dp import factories


@pytest.fixture(scope="session")
def health_policy() -> Policy:
    return factories.policy()


@pytest.fixture(scope="session")
def fixed_policy(health_policy: Policy) -> Policy:
    """The policy with bounds that do not depend on the data (``factories.fixed``)."""
    return factories.fixed(health_policy)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "state")
