"""Delivery (hub.delivery): blocked consignment lanes, dead and parked deliveries, maintenance windows, and
the running hubs' per-partner snapshots for ``hub status``.

Revision ID: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "delivery_lanes",
        sa.Column("partner", sa.String(32), primary_key=True),
        sa.Column("lane", sa.String(160), primary_key=True),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),  # blocked | dead
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "delivery_held",
        sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
        sa.Column("partner", sa.String(32), nullable=False),
        sa.Column("lane", sa.String(160), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # retry | parked | dead
        sa.Column("sender", sa.String(32), nullable=False),
        sa.Column("correlation_id", sa.String(128), nullable=True),
        sa.Column("msg_type", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.UniqueConstraint("partner", "message_id", name="uq_held_message"),
    )
    op.create_index("ix_held_lane", "delivery_held", ["partner", "lane", "id"])
    op.create_table(
        "maintenance_windows",
        sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(32), nullable=False, index=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("emergency", sa.Boolean, nullable=False),
        sa.Column("short_notice", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notice_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "delivery_snapshots",
        sa.Column("partner", sa.String(32), primary_key=True),
        sa.Column("process", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("in_memory", sa.Integer, nullable=False),
        sa.Column("queued", sa.Integer, nullable=False),
        sa.Column("inbox_depth", sa.Integer, nullable=True),
        sa.Column("oldest_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rate", sa.Float, nullable=True),
        sa.Column("delivered", _BIGINT, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("delivery_snapshots", "maintenance_windows", "delivery_held", "delivery_lanes"):
        op.drop_table(table)
