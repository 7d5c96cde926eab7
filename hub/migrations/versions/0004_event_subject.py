"""Consignment events: the document each is about, and one row per message for events without a UCR.

``subject`` names the document an event concerns (the entry of a release, the PRN of an assessment or a
payment, ``AGENCY:application`` of a permit status, the container of a gate event), so that the status is
derived per document: several permits, a reassessment, a cancelled entry. The unique constraint of 0003 on
(sender, message_id, ucr) does not hold for a vessel-level event (arrival.iar, bayplan), recorded with no UCR
(NULLs are distinct): a partial unique index on (sender, message_id) where the UCR is NULL does.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consignment_events") as batch:
        batch.add_column(sa.Column("subject", sa.String(80), nullable=True))
    op.create_index(
        "uq_event_message_no_ucr",
        "consignment_events",
        ["sender", "message_id"],
        unique=True,
        sqlite_where=sa.text("ucr IS NULL"),
        postgresql_where=sa.text("ucr IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_event_message_no_ucr", table_name="consignment_events")
    with op.batch_alter_table("consignment_events") as batch:
        batch.drop_column("subject")
