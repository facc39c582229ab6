"""The sandbox's own process is light: the engine it runs needs no vetter, database or web."""

from __future__ import annotations

from gateway.sandbox.process import ProcessSandbox
from tests.sandbox.factories import observe

HEAVY = ("sqlglot", "sqlalchemy", "alembic", "fastapi", "gateway.vet")

LOADED = """
import sys
import duckdb
import gateway.dp.engine, gateway.dp.bounding, gateway.dp.frame, gateway.dp.mechanism
import gateway.extract.reader
plan = sorted(sys.modules)
"""
"""Every module a query job's process loads (its warm-up, then what ``execute`` imports)."""


def test_the_sandbox_process_loads_no_vetter_database_or_web(sandbox: ProcessSandbox) -> None:
    loaded = observe(sandbox, LOADED)
    assert isinstance(loaded, list)
    assert {"gateway.dp.engine", "gateway.sandbox.jobs", "opendp", "polars"} <= set(loaded)
    heavy = [name for name in loaded if isinstance(name, str) and name.startswith(HEAVY)]
    assert heavy == []
