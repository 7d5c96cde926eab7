"""``customs.release``: customs' decision on a declaration (UN/EDIFACT CUSRES analogue).

Names follow the WCO Data Model (Declaration ID, Declarant, Consignee, TransportEquipment ID,
AdditionalInformation). XSD: ``xsd/customs.release.xsd`` (namespace
``urn:ke:nesws:hub:customs.release:1``, root ``CustomsRelease``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from hub.identifiers import Code17, ContainerNumber, EntryNumber, KraPin, Name, Text, Ucr, XsdDateTime
from hub.schemas.base import Body, IdScheme, Keys, Model, Party, PartyRole, Reference, RefKind


class ReleaseStatus(StrEnum):
    """Release status of the goods declared (CUSRES response)."""

    RELEASED = "RELEASED"
    PARTIALLY_RELEASED = "PARTIALLY_RELEASED"
    HELD = "HELD"
    EXAMINATION = "EXAMINATION"
    DOCUMENTS_REQUIRED = "DOCUMENTS_REQUIRED"
    CANCELLED = "CANCELLED"


class Trader(Model):
    """A party identified by its KRA PIN: WCO DM Declarant / Consignee (ID, Name)."""

    id: KraPin
    name: Name | None = None


class CustomsRelease(Body):
    """Customs' release decision on one entry (declaration) of a consignment."""

    TYPE: ClassVar[str] = "customs.release"
    ROOT: ClassVar[str] = "CustomsRelease"

    ucr: Ucr
    declaration_id: EntryNumber
    status_code: ReleaseStatus
    issue_date_time: XsdDateTime
    declaration_office_id: Code17
    declarant: Trader
    consignee: Trader
    transport_equipment_id: tuple[ContainerNumber, ...] = ()
    additional_information: Text | None = None

    def keys(self) -> Keys:
        """The UCR; the entry number and containers as references; declarant (the clearing agent) and
        consignee as parties."""
        refs = [Reference(kind=RefKind.ENTRY, value=self.declaration_id)]
        refs.extend(Reference(kind=RefKind.CONTAINER, value=c) for c in self.transport_equipment_id)
        parties = (
            Party(role=PartyRole.DECLARANT, scheme=IdScheme.KRA_PIN, id=self.declarant.id),
            Party(role=PartyRole.CONSIGNEE, scheme=IdScheme.KRA_PIN, id=self.consignee.id),
        )
        return Keys(
            ucr=self.ucr,
            references=tuple(dict.fromkeys(refs)),
            parties=tuple(dict.fromkeys(parties)),
        )


__all__ = ["CustomsRelease", "ReleaseStatus", "Trader"]
