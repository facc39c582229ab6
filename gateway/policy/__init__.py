"""Policy: what may be extracted, asked and released. Data, not logic."""

from gateway.policy.load import load_policy, policy_hash
from gateway.policy.model import (
    Aggregation,
    Column,
    ColumnRole,
    Policy,
    Purpose,
    Table,
)

__all__ = [
    "Aggregation",
    "Column",
    "ColumnRole",
    "Policy",
    "Purpose",
    "Table",
    "load_policy",
    "policy_hash",
]
