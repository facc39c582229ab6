"""release store keyed by the whole question: plan, extract, ε, policy and engine

A release made under one policy must not answer the same plan under another
(other bounds, δ or ``min_group_members``), nor one made by an older engine.
Releases kept before this revision do not say which policy made them, so the
store is emptied: the next identical question is answered anew (and charged),
never from a release whose policy is unknown. Releases of service jobs are
kept with their jobs and are not affected.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("dp_releases")
    op.create_table(
        "dp_releases",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("plan_hash", sa.String(length=64), nullable=False),
        sa.Column("extract_hash", sa.String(length=64), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("policy_hash", sa.String(length=64), nullable=False),
        sa.Column("engine", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("release", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("dp_releases")
    op.create_table(
        "dp_releases",
        sa.Column("plan_hash", sa.String(length=64), nullable=False),
        sa.Column("extract_hash", sa.String(length=64), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("release", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("plan_hash", "extract_hash", "epsilon"),
    )
