"""``consignment.status.response``: the hub's answer to a ``consignment.status.request``.

The hub's own message (no partner sends it): the reference asked about, the consignment's UCR when the
hub knows it, where the consignment stands now and since when, what it waits for, and the timeline of
the messages that moved it there (each: its message type, the status it brought the consignment to, when,
and the partner that sent it). Names follow UN/EDIFACT IFTSTA/CUSRES status reporting (status code, event
date-time, status reason) and the WCO Data Model (UCR, references). XSD:
``xsd/consignment.status.response.xsd`` (namespace ``urn:ke:nesws:hub:consignment.status.response:1``,
root ``ConsignmentStatusResponse``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import StringConstraints, model_validator

from hub.config import PARTNER_ID_RE
from hub.identifiers import Text, Ucr, XsdDateTime
from hub.schemas.base import Body, Keys, Model, Reference, RefKind
from hub.schemas.consignment_status_request import ConsignmentReference

# A partner id (the broker user name, DESIGN.md section 3), or "hub" for the hub itself. XSD: same pattern.
PartnerId = Annotated[str, StringConstraints(pattern=PARTNER_ID_RE.pattern)]


class ConsignmentStatusCode(StrEnum):
    """Where a consignment stands, in the order a Kenyan import usually passes through these stages."""

    UCR_ISSUED = "UCR_ISSUED"
    MANIFESTED = "MANIFESTED"
    IDF_LODGED = "IDF_LODGED"
    ENTRY_LODGED = "ENTRY_LODGED"
    DUTY_ASSESSED = "DUTY_ASSESSED"
    DUTY_PAID = "DUTY_PAID"
    PERMIT_PENDING = "PERMIT_PENDING"
    PERMIT_APPROVED = "PERMIT_APPROVED"
    HELD_FOR_EXAMINATION = "HELD_FOR_EXAMINATION"
    RELEASED = "RELEASED"
    DELIVERY_ORDER_ISSUED = "DELIVERY_ORDER_ISSUED"
    GATED_OUT = "GATED_OUT"
    UNKNOWN = "UNKNOWN"


class WaitingForCode(StrEnum):
    """What a consignment that is not progressing waits for: the holds KRA's guidance on checking an iCMS
    release lists (customs inspection, KEBS verification, supporting documents, duty payment
    confirmation, other government agency approvals)."""

    CUSTOMS_INSPECTION = "CUSTOMS_INSPECTION"
    KEBS_VERIFICATION = "KEBS_VERIFICATION"
    SUPPORTING_DOCUMENTS = "SUPPORTING_DOCUMENTS"
    PAYMENT_CONFIRMATION = "PAYMENT_CONFIRMATION"
    AGENCY_APPROVAL = "AGENCY_APPROVAL"


class EventMessageType(StrEnum):
    """The contract's message types that can move a consignment (DESIGN.md section 3), by type name."""

    UCR_ISSUED = "ucr.issued"
    MANIFEST_SEA = "manifest.sea"
    MANIFEST_AIR = "manifest.air"
    ARRIVAL_IAR = "arrival.iar"
    IDF = "idf"
    CUSTOMS_ENTRY = "customs.entry"
    DUTY_ASSESSMENT = "duty.assessment"
    PAYMENT_CONFIRMATION = "payment.confirmation"
    PERMIT_APPLICATION = "permit.application"
    PERMIT_STATUS = "permit.status"
    INSURANCE_CERTIFICATE = "insurance.certificate"
    CUSTOMS_RELEASE = "customs.release"
    DELIVERY_ORDER = "delivery.order"
    ESEAL_EVENT = "eseal.event"
    GATE_EVENT = "gate.event"


class StatusEvent(Model):
    """One step of the consignment's timeline: a message the hub accepted about it (IFTSTA status event)."""

    message_type: EventMessageType
    status_code: ConsignmentStatusCode
    event_date_time: XsdDateTime
    source_partner_id: PartnerId


class ConsignmentStatusResponse(Body):
    """The hub's answer: where the consignment named by the reference stands, and how it got there."""

    TYPE: ClassVar[str] = "consignment.status.response"
    ROOT: ClassVar[str] = "ConsignmentStatusResponse"

    reference: ConsignmentReference
    ucr: Ucr | None = None
    status_code: ConsignmentStatusCode
    waiting_for_code: WaitingForCode | None = None
    waiting_for_text: Text | None = None
    status_date_time: XsdDateTime | None = None
    status_event: tuple[StatusEvent, ...] = ()

    @model_validator(mode="after")
    def _known_status_has_a_date(self) -> ConsignmentStatusResponse:
        if self.status_code is ConsignmentStatusCode.UNKNOWN:
            if self.status_date_time is not None or self.status_event or self.ucr is not None:
                raise ValueError("an UNKNOWN status carries no Ucr, StatusDateTime or StatusEvent")
        elif self.status_date_time is None:
            raise ValueError(f"a {self.status_code.value} status carries the StatusDateTime it was reached at")
        if self.ucr is not None and self.reference.ucr is not None and self.ucr != self.reference.ucr:
            raise ValueError("the Ucr differs from the UCR the request asked about")
        return self

    def keys(self) -> Keys:
        """The UCR when known (else the one asked about); the reference asked about, and the UCR. No parties:
        the response goes back to the partner that asked."""
        ucr = self.ucr or self.reference.ucr
        refs = list(self.reference.references())
        if ucr is not None:
            refs.append(Reference(kind=RefKind.UCR, value=ucr))
        return Keys(ucr=ucr, references=tuple(dict.fromkeys(refs)))


__all__ = [
    "ConsignmentStatusCode",
    "ConsignmentStatusResponse",
    "EventMessageType",
    "PartnerId",
    "StatusEvent",
    "WaitingForCode",
]
