"""Initial store: de-duplication records, quarantine log, dropped-acknowledgement counters.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbound",
        sa.Column("sender", sa.String(32), primary_key=True),
        sa.Column("message_id", sa.String(128), primary_key=True),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("msg_type", sa.String(64), nullable=False),
        sa.Column("ucr", sa.String(35), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipients", sa.Text, nullable=False),
    )
    op.create_index("ix_inbound_ucr", "inbound", ["ucr"])
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("routing_key", sa.String(255), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("message_id", sa.String(128), nullable=True),
    )
    op.create_table(
        "ack_drops",
        sa.Column("partner", sa.String(32), primary_key=True),
        sa.Column("dropped", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ack_drops")
    op.drop_table("quarantine")
    op.drop_index("ix_inbound_ucr", "inbound")
    op.drop_table("inbound")
