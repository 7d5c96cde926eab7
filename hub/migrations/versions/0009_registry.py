"""The registry's record: partner statuses set by operators (over config/partners.yaml) and their history.

Revision ID: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_status",
        sa.Column("partner", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),  # active | suspended | deregistered
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "partner_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("partner", sa.String(32), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),  # suspend | reinstate | deregister | rotate-credentials
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("partner_changes")
    op.drop_table("partner_status")
