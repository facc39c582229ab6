"""job dummy: a job may run on the policy's dummy extract, free

``jobs.dummy`` is true for a query or analysis submitted with ``"dummy":
true``: it runs on synthetic data built from the policy, holds and spends no
budget, needs no reviewer and its release is labelled dummy. False for every
job submitted before this revision.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "jobs", sa.Column("dummy", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("jobs", "dummy")
