"""Lookup indexes found by benchmarks/ref_lookup.py at 1,000,000 consignments.

- ``ix_consignment_events_vessel_level``: the vessel-call events (arrival report, bayplan: ``ucr IS NULL``)
  a consignment's timeline includes; the plain ``vessel_call`` index read ~480 rows of the call to keep 2.
- ``ix_consignment_refs_value``: ``Store.resolve`` looks a value up under every kind; PostgreSQL uses one
  index range instead of a primary-key probe per kind.

Revision ID: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_consignment_events_vessel_level", "consignment_events", ["vessel_call"],
                    postgresql_where=sa.text("ucr IS NULL"), sqlite_where=sa.text("ucr IS NULL"))
    op.create_index("ix_consignment_refs_value", "consignment_refs", ["value"])


def downgrade() -> None:
    op.drop_index("ix_consignment_refs_value", table_name="consignment_refs")
    op.drop_index("ix_consignment_events_vessel_level", table_name="consignment_events")
