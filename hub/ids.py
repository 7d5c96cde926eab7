"""Derived identifiers: a delivery's message_id depends only on (sender, inbound id, recipient).

So a delivery repeated after a crash carries the same id and the recipient can de-duplicate it.
"""

from __future__ import annotations

import hashlib
import uuid

_NS = uuid.UUID("0b5d3c1e-6f7a-4e3b-9a63-8c2f1d4e5a70")


def delivery_id(sender: str, inbound_id: str, recipient: str) -> str:
    return str(uuid.uuid5(_NS, f"deliver\n{sender}\n{inbound_id}\n{recipient}"))


def ack_id(sender: str, inbound_id: str, status: str, payload_sha256: str = "") -> str:
    """Same answer to the same payload -> same id; a re-sent, different payload gets a new one."""
    return str(uuid.uuid5(_NS, f"ack\n{sender}\n{inbound_id}\n{status}\n{payload_sha256}"))


def payload_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()
