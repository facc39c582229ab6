"""job bounds: a SQL job keeps the bounds its researcher fixed

``jobs.bounds`` holds the ``FixedBounds`` given with a submission (rows per
member per cell, cells per member, clamp ranges by measure), used again when
the job runs. Null: every bound is chosen per query with DP, as for every
job submitted before this revision.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("jobs", sa.Column("bounds", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("jobs", "bounds")
