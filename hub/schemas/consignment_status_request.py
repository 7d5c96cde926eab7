"""``consignment.status.request``: a partner asks the hub where a consignment stands.

The consignment is named by exactly one reference, any of those an importer or agent has to hand (KRA's
guidance on checking a release: entry number, bill of lading, container, air waybill, IDF; and the UCR,
permit number and payment registration number the single window links to it, regulation 23). In the XSD
the reference is an ``xs:choice``; in the model it is ``ConsignmentReference``, one optional field per
kind with a validator requiring exactly one, which the generic codec maps element for element (only the
field that is set is written). Names follow the WCO Data Model (UCR, Declaration ID, TransportContract-
Document ID, TransportEquipment ID, AdditionalDocument ID, Payment ReferenceID, IssueDateTime). XSD:
``xsd/consignment.status.request.xsd`` (namespace ``urn:ke:nesws:hub:consignment.status.request:1``, root
``ConsignmentStatusRequest``).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import model_validator

from hub.identifiers import AwbNumber, ContainerNumber, EntryNumber, Reference35, Ucr, XsdDateTime
from hub.schemas.base import Body, Keys, Model, Reference, RefKind


class ConsignmentReference(Model):
    """Exactly one reference naming a consignment (an ``xs:choice`` in the XSD)."""

    ucr: Ucr | None = None
    declaration_id: EntryNumber | None = None
    idf_id: Reference35 | None = None
    transport_document_id: Reference35 | None = None
    air_waybill_id: AwbNumber | None = None
    transport_equipment_id: ContainerNumber | None = None
    permit_id: Reference35 | None = None
    payment_reference_id: Reference35 | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ConsignmentReference:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"exactly one reference is required, not {len(given)}")
        return self

    def references(self) -> tuple[Reference, ...]:
        """The reference as routing/correlation keys. The asker need not know whether its transport
        document was consolidated: a transport document number is looked up as a master or house bill of
        lading and as a house air waybill (a forwarder's number, no check digit); an IATA air waybill
        number as an air waybill and as a master air waybill."""
        if self.ucr is not None:
            return (Reference(kind=RefKind.UCR, value=self.ucr),)
        if self.declaration_id is not None:
            return (Reference(kind=RefKind.ENTRY, value=self.declaration_id),)
        if self.idf_id is not None:
            return (Reference(kind=RefKind.IDF, value=self.idf_id),)
        if self.transport_document_id is not None:
            kinds: tuple[RefKind, ...] = (RefKind.MASTER_BL, RefKind.HOUSE_BL, RefKind.HOUSE_AWB)
            return tuple(Reference(kind=k, value=self.transport_document_id) for k in kinds)
        if self.air_waybill_id is not None:
            kinds = (RefKind.AWB, RefKind.MASTER_AWB)
            return tuple(Reference(kind=k, value=self.air_waybill_id) for k in kinds)
        if self.transport_equipment_id is not None:
            return (Reference(kind=RefKind.CONTAINER, value=self.transport_equipment_id),)
        if self.permit_id is not None:
            return (Reference(kind=RefKind.PERMIT, value=self.permit_id),)
        assert self.payment_reference_id is not None  # the validator guarantees one is set
        return (Reference(kind=RefKind.PRN, value=self.payment_reference_id),)


class ConsignmentStatusRequest(Body):
    """A partner's question: where does the consignment with this reference stand?"""

    TYPE: ClassVar[str] = "consignment.status.request"
    ROOT: ClassVar[str] = "ConsignmentStatusRequest"

    reference: ConsignmentReference
    issue_date_time: XsdDateTime

    def keys(self) -> Keys:
        """The UCR when the question names one; the reference asked about. No parties: the asker is the
        sender, and what it may be told follows ACCESS.md for the sender's own profile."""
        return Keys(ucr=self.reference.ucr, references=self.reference.references())


__all__ = ["ConsignmentReference", "ConsignmentStatusRequest"]
