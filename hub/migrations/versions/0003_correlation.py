"""Correlation: references -> UCR, parties of each consignment, and the consignment timeline.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consignment_refs",
        sa.Column("kind", sa.String(32), primary_key=True),  # hub.schemas.base.RefKind
        sa.Column("value", sa.String(64), primary_key=True),
        sa.Column("ucr", sa.String(35), nullable=False, index=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "consignment_parties",
        sa.Column("ucr", sa.String(35), primary_key=True),
        sa.Column("role", sa.String(32), primary_key=True),  # hub.schemas.base.PartyRole
        sa.Column("scheme", sa.String(32), primary_key=True),  # hub.schemas.base.IdScheme
        sa.Column("party_id", sa.String(64), primary_key=True),
        sa.Column("partner", sa.String(32), nullable=True, index=True),  # registry match, if any
    )
    op.create_table(
        "consignment_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("ucr", sa.String(35), nullable=True, index=True),
        sa.Column("vessel_call", sa.String(64), nullable=True, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("msg_type", sa.String(64), nullable=False),
        sa.Column("sender", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(64), nullable=True),  # e.g. the release status code
        sa.UniqueConstraint("sender", "message_id", "ucr", name="uq_event_message"),
    )


def downgrade() -> None:
    op.drop_table("consignment_events")
    op.drop_table("consignment_parties")
    op.drop_table("consignment_refs")
