"""One medium-sized source per test session: large enough for stable shares."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from gateway.source.generate import GenerateSummary
from tests.source.factories import make_source

STATS_MEMBERS = 20_000


@pytest.fixture(scope="session")
def stats_source(tmp_path_factory: pytest.TempPathFactory) -> GenerateSummary:
    """A source of 20k members (seed 11), written once per session."""
    return make_source(tmp_path_factory.mktemp("stats"), STATS_MEMBERS, seed=11)


@pytest.fixture
def db(stats_source: GenerateSummary) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to ``stats_source``."""
    with duckdb.connect(str(stats_source.path), read_only=True) as connection:
        yield connection
