"""Stand-in DP engine for sandbox tests, with a deliberate bug.

It pastes ``plan.table`` into SQL unquoted, as if the vetter and the engine
had both failed, so the tests can reach DuckDB inside the sandbox with any
SQL. Its numbers are not private; it only exercises the sandbox.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from gateway.dp.release import Release
from gateway.dp.tuning import Noise, Tuning
from gateway.plan import QueryPlan
from gateway.policy.load import policy_hash
from gateway.policy.model import Policy


def execute(
    plan: QueryPlan,
    policy: Policy,
    connection: duckdb.DuckDBPyConnection,
    *,
    epsilon: float,
    extract_hash: str,
    dummy: bool = False,
    tuning: Tuning | None = None,
) -> Release:
    (count,) = connection.execute(f"SELECT count(*) FROM {plan.table}").fetchone() or (None,)
    return Release(
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


def tuning_for(
    plan: QueryPlan, policy: Policy, epsilon: float, tuning: Tuning | None = None
) -> Tuning:
    return tuning or Tuning(noise=Noise.LAPLACE, scale=1.0)
