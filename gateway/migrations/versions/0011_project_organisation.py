"""project organisation: the register names who does the research

``projects.organisation`` is the organisation the researcher proposes the
project for (a university, a hospital, Health-Thing itself), shown in the
public register. Null for projects proposed before this revision.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("projects", sa.Column("organisation", sa.String(200), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("projects", "organisation")
