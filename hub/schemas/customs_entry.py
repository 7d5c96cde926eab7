"""``customs.entry``: the customs declaration (entry) lodged in KRA's iCMS (UN/EDIFACT CUSDEC analogue).

Names follow the WCO Data Model (Declaration ID, GovernmentProcedure CurrentCode, DeclarationOffice ID,
Declarant, Importer, TransportContractDocument ID and TypeCode, TransportEquipment ID,
GovernmentAgencyGoodsItem with Commodity Classification and Description, CustomsValueAmount and Origin
CountryCode, IssueDateTime). XSD: ``xsd/customs.entry.xsd`` (namespace ``urn:ke:nesws:hub:customs.entry:1``,
root ``CustomsEntry``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo, field_validator

from hub.identifiers import Code17, ContainerNumber, EntryNumber, Reference35, Text, Ucr, XsdDateTime, check_awb
from hub.schemas.base import Body, IdScheme, Keys, Model, Party, PartyRole, Reference, RefKind
from hub.schemas.customs_release import Trader
from hub.schemas.idf import Amount
from hub.schemas.manifest_sea import at_least_one
from hub.schemas.permit_application import CountryCode, HsCode

# EAC customs procedure code (CPC), 4 characters, e.g. 4000 (home use), 7100 (warehousing), 8100 (transit).
ProcedureCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{4}$")]


class TransportDocumentTypeCode(StrEnum):
    """UN/EDIFACT 1001 document name codes of the transport documents an entry is lodged against."""

    HOUSE_WAYBILL = "703"
    MASTER_BILL_OF_LADING = "704"
    BILL_OF_LADING = "705"
    HOUSE_BILL_OF_LADING = "714"
    AIR_WAYBILL = "740"
    MASTER_AIR_WAYBILL = "741"


# The reference kind each transport document correlates as (a bill of lading that is not a house bill is
# what the sea manifest calls a master bill).
_DOCUMENT_KINDS = {
    TransportDocumentTypeCode.HOUSE_WAYBILL: RefKind.HOUSE_AWB,
    TransportDocumentTypeCode.MASTER_BILL_OF_LADING: RefKind.MASTER_BL,
    TransportDocumentTypeCode.BILL_OF_LADING: RefKind.MASTER_BL,
    TransportDocumentTypeCode.HOUSE_BILL_OF_LADING: RefKind.HOUSE_BL,
    TransportDocumentTypeCode.AIR_WAYBILL: RefKind.AWB,
    TransportDocumentTypeCode.MASTER_AIR_WAYBILL: RefKind.MASTER_AWB,
}
# IATA air waybills carry a mod-7 check digit; house waybills are numbered by the forwarder.
_IATA_AWB = frozenset({TransportDocumentTypeCode.AIR_WAYBILL, TransportDocumentTypeCode.MASTER_AIR_WAYBILL})


class GoodsItem(Model):
    """One line of goods declared: WCO DM GovernmentAgencyGoodsItem."""

    sequence_number: int = Field(ge=1, le=99999)
    classification_id: HsCode
    description: Text
    customs_value_amount: Amount
    origin_country_code: CountryCode


class CustomsEntry(Body):
    """A customs declaration for one consignment, lodged by the clearing agent for the importer."""

    TYPE: ClassVar[str] = "customs.entry"
    ROOT: ClassVar[str] = "CustomsEntry"

    declaration_id: EntryNumber
    ucr: Ucr
    customs_procedure_code: ProcedureCode
    declarant: Trader
    importer: Trader
    declaration_office_id: Code17
    transport_document_type_code: TransportDocumentTypeCode
    transport_document_id: Reference35
    transport_equipment_id: tuple[ContainerNumber, ...] = ()
    goods_item: Annotated[tuple[GoodsItem, ...], AfterValidator(at_least_one)]
    issue_date_time: XsdDateTime

    @field_validator("transport_document_id")
    @classmethod
    def _air_waybill_checks(cls, value: str, info: ValidationInfo) -> str:
        """An IATA air waybill number gets its own check (AWB_FORMAT, AWB_CHECK_DIGIT)."""
        if info.data.get("transport_document_type_code") in _IATA_AWB:
            check_awb(value)
        return value

    def keys(self) -> Keys:
        """The UCR; the entry number, the transport document (as the kind the manifests use) and the
        containers as references; the declarant (the clearing agent) and importer by KRA PIN and the
        customs office by its code as parties."""
        refs = [
            Reference(kind=RefKind.ENTRY, value=self.declaration_id),
            Reference(kind=_DOCUMENT_KINDS[self.transport_document_type_code], value=self.transport_document_id),
        ]
        refs.extend(Reference(kind=RefKind.CONTAINER, value=c) for c in self.transport_equipment_id)
        parties = (
            Party(role=PartyRole.DECLARANT, scheme=IdScheme.KRA_PIN, id=self.declarant.id),
            Party(role=PartyRole.IMPORTER, scheme=IdScheme.KRA_PIN, id=self.importer.id),
            Party(role=PartyRole.CUSTOMS_OFFICE, scheme=IdScheme.CUSTOMS_OFFICE, id=self.declaration_office_id),
        )
        return Keys(ucr=self.ucr, references=tuple(dict.fromkeys(refs)), parties=tuple(dict.fromkeys(parties)))


__all__ = ["CustomsEntry", "GoodsItem", "TransportDocumentTypeCode"]
