"""Parked messages: accepted messages held until their consignment is known (hub.parking).

Revision ID: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parked_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("sender", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("msg_type", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("ucr", sa.String(35), nullable=True, index=True),
        sa.Column("lookup", sa.Text(), nullable=False),  # JSON [[kind, value], ...]: what would resolve it
        sa.Column("reason", sa.String(32), nullable=False),  # UCR_UNKNOWN | PARTIES_UNKNOWN | BEHIND_PARKED
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),  # parked | released | expired
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("sender", "message_id", name="uq_parked_message"),
    )
    op.create_table(
        "parked_refs",
        sa.Column("parked_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(64), primary_key=True),
        sa.Index("ix_parked_refs_kind_value", "kind", "value"),
    )


def downgrade() -> None:
    op.drop_table("parked_refs")
    op.drop_table("parked_messages")
