"""Acknowledgements to senders: the ``hub.ack/1`` JSON document (DESIGN.md section 3)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from hub.errors import ErrorDetail

ACK_SCHEMA = "hub.ack/1"


class AckStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    PENDING = "pending"
    DELIVERY_FAILED = "delivery_failed"


def ack_document(
    correlation_id: str | None,
    status: AckStatus,
    received_at: datetime,
    errors: Sequence[ErrorDetail] = (),
    held_until: datetime | None = None,
) -> bytes:
    doc = {
        "schema": ACK_SCHEMA,
        "correlation_id": correlation_id,
        "status": status.value,
        "errors": [e.as_dict() for e in errors],
        "held_until": held_until.isoformat() if held_until else None,
        "received_at": received_at.isoformat(),
    }
    return json.dumps(doc, separators=(",", ":")).encode()
