"""Stand-in DP engine for sandbox tests, with a deliberate bug.

It pastes ``plan.table`` into SQL unquoted, as if the vetter and the engine
had both failed, so the tests can reach DuckDB inside the sandbox with any
SQL. Its numbers are not private; it only exercises the sandbox.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import duckdb

from gateway.dp.engine import Outcome
from gateway.dp.release import Release
from gateway.dp.shape import Shape
from gateway.dp.tuning import Noise, Tuning
from gateway.plan import QueryPlan
from gateway.policy.load import policy_hash
from gateway.policy.model import Policy


def execute(
    plan: QueryPlan,
    policy: Policy,
    connection: duckdb.DuckDBPyConnection,
    *,
    shape: Shape,
    epsilon: float,
    extract_hash: str,
    dummy: bool = False,
    tuning: Tuning | None = None,
    searched: Mapping[str, Tuning] | None = None,
) -> Outcome:
    (count,) = connection.execute(f"SELECT count(*) FROM {plan.table}").fetchone() or (None,)
    release = Release(
        columns=["n"],
        rows=[[count]],
        ci=[[None]],
        epsilon=epsilon,
        epsilon_spent=epsilon,
        delta=0.0,
        suppressed_groups=0,
        mechanism="stand-in (not private)",
        plan_hash=plan.plan_hash(),
        extract_hash=extract_hash,
        policy_hash=policy_hash(policy),
        created_at=dt.datetime.now(dt.UTC),
        dummy=dummy,
    )
    return Outcome(release, tuning or Tuning(noise=Noise.LAPLACE, scale=1.0), dict(searched or {}))
