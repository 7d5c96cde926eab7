"""The transport protocol every delivery channel implements, and the delivery it carries.

A transport is async: ``send`` is called by a partner's delivery worker once per delivery, in order, and
either returns (the partner has it) or raises ``TransientDeliveryError`` (retry later: timeouts, 5xx,
refused connections) or ``PermanentDeliveryError`` (retrying the same bytes cannot help: 4xx other than
408/429). ``aclose`` releases connections when the worker stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from hub.errors import PermanentError, TransientError


class TransientDeliveryError(TransientError):
    code = "DELIVERY_TRANSIENT"


class PermanentDeliveryError(PermanentError):
    code = "DELIVERY_PERMANENT"


@dataclass(frozen=True)
class OutboundDelivery:
    """One message for one recipient, already encoded in the recipient's format."""

    message_id: str  # derived from (sender, inbound message_id, recipient): stable across retries
    correlation_id: str  # the inbound message_id
    msg_type: str
    content_type: str
    body: bytes
    source_partner: str
    ucr: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    queued_at: datetime | None = None  # when the hub accepted the inbound message


class Transport(Protocol):
    async def send(self, delivery: OutboundDelivery) -> None: ...

    async def aclose(self) -> None: ...
