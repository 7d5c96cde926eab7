"""The hub's answer to a ``consignment.status.request`` received over AMQP: the request's reference looked up
as the asking partner may see it (hub.queries, the rules of ``GET /v1/consignments/{ref}``), written as a
``consignment.status.response``. Pure: the view comes from ``hub.queries.consignment_view``.

The request names one consignment; a reference naming several (a container carried twice, a vessel call)
is answered with the one whose status changed last. A consignment the partner may not see is answered
exactly like one the hub does not know: ``UNKNOWN``, no UCR, no events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.schemas.consignment_status_request import ConsignmentStatusRequest
from hub.schemas.consignment_status_response import (
    ConsignmentStatusCode,
    ConsignmentStatusResponse,
    EventMessageType,
    StatusEvent,
    WaitingForCode,
)

_EVENT_TYPES = {t.value for t in EventMessageType}


def asked(request: ConsignmentStatusRequest) -> str:
    """The reference value the request names (exactly one is set)."""
    return request.reference.references()[0].value


def response_for(request: ConsignmentStatusRequest, view: dict[str, Any]) -> ConsignmentStatusResponse:
    consignments = view.get("consignments") or []
    if not consignments:
        return ConsignmentStatusResponse(reference=request.reference, status_code=ConsignmentStatusCode.UNKNOWN)
    c = max(consignments, key=lambda c: c.get("since") or "")
    code = ConsignmentStatusCode(c["status"])
    if code is ConsignmentStatusCode.UNKNOWN or not c.get("since"):
        return ConsignmentStatusResponse(reference=request.reference, status_code=ConsignmentStatusCode.UNKNOWN)
    waiting = (c.get("waiting_for") or [{}])[0]
    events = [
        StatusEvent(message_type=EventMessageType(e["type"]), status_code=ConsignmentStatusCode(e["stage"]),
                    event_date_time=datetime.fromisoformat(e["at"]), source_partner_id=e["sender"])
        for e in c.get("events", []) if e.get("stage") and e["type"] in _EVENT_TYPES
    ]
    return ConsignmentStatusResponse(
        reference=request.reference,
        ucr=c["ucr"] if request.reference.ucr in (None, c["ucr"]) else None,
        status_code=code,
        waiting_for_code=WaitingForCode(waiting["code"]) if waiting.get("code") else None,
        waiting_for_text=(waiting.get("text") or None) and waiting["text"][:512],
        status_date_time=datetime.fromisoformat(c["since"]),
        status_event=tuple(events),
    )
