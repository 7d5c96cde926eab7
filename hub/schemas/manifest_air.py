"""``manifest.air``: an air cargo manifest for one master air waybill on one flight, with its house waybills.

Names follow the WCO Data Model (cargo report: Carrier, BorderTransportMeans JourneyID, LoadingLocation,
UnloadingLocation, Consignment, Consignee, Warehouse) and IATA Cargo-XML XFFM/XFZB (MasterConsignment,
IncludedHouseConsignment, TotalPieceQuantity, GrossWeightMeasure); Cargo-IMP FFM/FHL are the EDIFACT-era
equivalents. The carrier is named by its 3-digit IATA airline prefix (e.g. 706, Kenya Airways), the master
by its air waybill number (mod-7 check digit), the ground handling agent by its KRA PIN. XSD:
``xsd/manifest.air.xsd`` (namespace ``urn:ke:nesws:hub:manifest.air:1``, root ``AirManifest``).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, StringConstraints

from hub.identifiers import AwbNumber, Code17, Name, Reference35, Text, Ucr, XsdDateTime
from hub.schemas.base import Body, IdScheme, Keys, Measure, Model, Party, PartyRole, Reference, RefKind
from hub.schemas.customs_release import Trader
from hub.schemas.manifest_sea import ConsignmentParty, UnLocode, check_mass

# IATA airline prefix (accounting code): 3 digits, the first part of every air waybill number.
AirlinePrefix = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
# IATA flight designator: 2-character airline designator, 1 to 4 digits, optional operational suffix.
FlightNumber = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}[0-9]{1,4}[A-Z]?$")]
PieceQuantity = Annotated[int, Field(ge=1, le=99_999_999)]
GrossMass = Annotated[Measure, AfterValidator(check_mass)]


class AirCarrier(Model):
    """The airline operating the flight: WCO DM Carrier, identified by its IATA airline prefix."""

    id: AirlinePrefix
    name: Name | None = None


class HouseConsignment(Model):
    """A house air waybill consolidated under the master: XFZB / Cargo-IMP FHL, WCO DM Consignment."""

    transport_document_id: Reference35
    ucr: Ucr | None = None
    consignee: ConsignmentParty
    description: Text
    package_quantity: PieceQuantity
    gross_mass: GrossMass
    warehouse_id: Code17 | None = None


class MasterConsignment(Model):
    """The master air waybill on this flight: XFFM MasterConsignment (Cargo-IMP FFM consignment line)."""

    transport_document_id: AwbNumber
    description: Text
    package_quantity: PieceQuantity
    gross_mass: GrossMass
    house_consignment: tuple[HouseConsignment, ...] = ()


class AirManifest(Body):
    """An air cargo manifest: one flight arriving (or departing), one master AWB and its house AWBs."""

    TYPE: ClassVar[str] = "manifest.air"
    ROOT: ClassVar[str] = "AirManifest"

    carrier: AirCarrier
    journey_id: FlightNumber
    loading_location_id: UnLocode
    unloading_location_id: UnLocode
    arrival_date_time: XsdDateTime
    ground_handler: Trader
    master_consignment: MasterConsignment

    def keys(self) -> Keys:
        """No message-level UCR (a consolidation covers many consignments): the master AWB, each house
        AWB and each house line's UCR are references; the carrier (IATA prefix), the ground handling
        agent, the CFSs named on house lines and the consignees with a KRA PIN are parties."""
        master = self.master_consignment
        refs: list[Reference] = [Reference(kind=RefKind.MASTER_AWB, value=master.transport_document_id)]
        parties: list[Party] = [
            Party(role=PartyRole.CARRIER, scheme=IdScheme.IATA, id=self.carrier.id),
            Party(role=PartyRole.GROUND_HANDLER, scheme=IdScheme.KRA_PIN, id=self.ground_handler.id),
        ]
        for house in master.house_consignment:
            refs.append(Reference(kind=RefKind.HOUSE_AWB, value=house.transport_document_id))
            if house.ucr is not None:
                refs.append(Reference(kind=RefKind.UCR, value=house.ucr))
            if house.consignee.id is not None:
                parties.append(Party(role=PartyRole.CONSIGNEE, scheme=IdScheme.KRA_PIN, id=house.consignee.id))
            if house.warehouse_id is not None:
                parties.append(Party(role=PartyRole.CFS, scheme=IdScheme.CFS, id=house.warehouse_id))
        return Keys(
            ucr=None,
            references=tuple(dict.fromkeys(refs)),
            parties=tuple(dict.fromkeys(parties)),
        )


__all__ = ["AirCarrier", "AirManifest", "HouseConsignment", "MasterConsignment"]
