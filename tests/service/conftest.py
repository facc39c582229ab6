"""Named service configurations: the policy, and the service over SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.policy import Policy, load_policy
from tests.service.factories import Api, make_api, reviewing

POLICY = Path(__file__).parents[2] / "policies" / "health_thing.yaml"


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(POLICY)


@pytest.fixture(scope="session")
def reviewed_policy(policy: Policy) -> Policy:
    """The policy with ``review: {sql: always, analyses: always}``: each job waits for a
    reviewer."""
    return reviewing(policy)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A fresh SQLite metadata database."""
    return Settings(data_dir=tmp_path, job_lease_seconds=30)


@pytest.fixture
def api(settings: Settings, policy: Policy) -> Api:
    """The service over SQLite: ann and bob (researchers), rita (reviewer), adam (admin)."""
    return make_api(settings, policy)


@pytest.fixture
def api_on(backend: Settings, policy: Policy) -> Api:
    """The service over each backend (SQLite, PostgreSQL), with the same four people."""
    return make_api(backend, policy)
