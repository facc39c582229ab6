"""Named fixtures for the vetting tests."""

from __future__ import annotations

import pytest

from gateway.policy import Policy
from tests.vet.factories import health_thing


@pytest.fixture(scope="session")
def policy() -> Policy:
    """The real research policy, policies/health_thing.yaml."""
    return health_thing()
