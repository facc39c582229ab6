"""delta budget: the ledger, jobs and releases record δ (and ρ); projects are granted a δ

Columns are added in place (``ALTER TABLE ... ADD COLUMN``), never by copying
a table, so the append-only triggers on ``budget_ledger`` stay. Lines and
jobs from before hold δ = 0; projects approved before get the policy's
default δ budget as shipped (1e-5), so they keep running.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_PROJECT_DELTA = 1e-5
"""``Budget.default_project_delta`` when this revision was written."""


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "budget_ledger", sa.Column("delta", sa.Float(), server_default="0", nullable=False)
    )
    op.add_column("budget_ledger", sa.Column("rho", sa.Float(), nullable=True))
    op.add_column("jobs", sa.Column("delta", sa.Float(), server_default="0", nullable=False))
    op.add_column(
        "releases", sa.Column("delta_charged", sa.Float(), server_default="0", nullable=False)
    )
    op.add_column("projects", sa.Column("granted_delta", sa.Float(), nullable=True))
    op.execute(
        f"UPDATE projects SET granted_delta = {DEFAULT_PROJECT_DELTA!r} WHERE status = 'approved'"
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("projects", "granted_delta")
    op.drop_column("releases", "delta_charged")
    op.drop_column("jobs", "delta")
    op.drop_column("budget_ledger", "rho")
    op.drop_column("budget_ledger", "delta")
