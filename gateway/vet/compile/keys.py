"""A group key as SELECT, GROUP BY and ORDER BY name it: a column or its date_trunc.

Only the shape is read here; GROUP BY then judges whether the column may be
grouped on. Protected columns are refused at once, wherever the key stands,
and date_trunc only to a month or a year, the buckets the plan can express.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

from sqlglot import exp

from gateway.plan import ColumnRef
from gateway.policy.model import Column
from gateway.vet.classify import Clause
from gateway.vet.codes import Code
from gateway.vet.compile.context import INVALID, QUIET, Context, Invalid
from gateway.vet.scope import Bound
from gateway.vet.shapes import extra_args, grain, unparen

Bucket = Literal["month", "year"]


@dataclass(frozen=True)
class Key:
    """A group key: a category or date column, perhaps bucketed."""

    bound: Bound
    bucket: Bucket | None

    @property
    def ident(self) -> tuple[ColumnRef, Bucket | None]:
        return self.bound.ref, self.bucket

    def default_alias(self) -> str:
        column = self.bound.ref.column
        return column if self.bucket is None else f"{column}_{self.bucket}"


def group_key(node: exp.Expr, clause: Clause, ctx: Context) -> Key | None:
    """A group-key candidate (column or date_trunc), resolved but not yet judged."""
    if type(node) is exp.Column:
        bound = ctx.unprotected(node, clause)
        return None if bound is None else Key(bound, None)
    assert type(node) is exp.TimestampTrunc
    unit = node.args.get("unit")
    column = unparen(node.this)
    extra = extra_args(node, {"this", "unit", "input_type_preserved"})
    if (
        extra
        or not isinstance(unit, exp.Var | exp.Literal)
        or type(column) is not exp.Column
        or isinstance(column.this, exp.Star)
    ):
        ctx.add(
            Code.UNSUPPORTED_EXPRESSION,
            "date_trunc takes a unit and a date column",
            node,
            hint="e.g. date_trunc('month', created_date)",
        )
        ctx.reject_inside(node, clause, above=QUIET, skip_root=True)
        return None
    bound = ctx.unprotected(column, clause)
    if bound is None:
        return None
    if bound.spec.type != "DATE":
        ctx.add(
            Code.TYPE_MISMATCH,
            f"date_trunc needs a date column; `{bound.ref.column}` is a {bound.spec.role.value}",
            node,
            hint="truncate a date column, e.g. date_trunc('month', created_date)",
        )
        return None
    bucket = _bucket(unit.name.lower(), bound.spec, unit, ctx)
    return None if isinstance(bucket, Invalid) else Key(bound, bucket)


def _bucket(unit: str, spec: Column, at: exp.Expr, ctx: Context) -> Bucket | Invalid | None:
    """The plan's bucket for a truncation; truncating to the column's own grain is a no-op."""
    monthly = grain(spec) == "month"
    if unit == "day" or (unit == "month" and monthly):
        return None
    if unit in ("month", "year"):
        return cast(Bucket, unit)
    ctx.add(
        Code.UNSUPPORTED_BUCKET,
        f"date_trunc to '{unit}' is not supported",
        at,
        hint="truncate to 'month' or 'year'",
    )
    return INVALID
