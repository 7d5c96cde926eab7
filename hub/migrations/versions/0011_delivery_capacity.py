"""Delivery capacity per partner (hub.delivery.status.BusyRate): how fast the hub delivered to it when it had
more than it could send, kept across restarts for the drain ETA.

Revision ID: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_capacity",
        sa.Column("partner", sa.String(32), primary_key=True),
        sa.Column("rate", sa.Float, nullable=False),  # deliveries per second
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("delivery_capacity")
