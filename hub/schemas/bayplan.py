"""``bayplan``: where each container on a vessel is stowed as it leaves a port (UN/EDIFACT BAPLIE analogue).

Names follow the WCO Data Model (BorderTransportMeans: IMO number, name, JourneyID; Carrier;
TransportEquipment ID; LoadingLocation, UnloadingLocation) and UN/EDIFACT BAPLIE D.95B: TDT (voyage,
carrier, vessel), LOC 5 (place of departure: the port of call the plan is made at), DTM 178 (actual
arrival) and 136/133 (actual/estimated departure); per stowage location (segment group 2) LOC 147
(ISO 9711-1 bay-row-tier), MEA WT (gross mass), LOC 9 and 11 (ports of loading and discharge), EQD
(container number, ISO 6346 size-type code) and DGS (IMDG class, UN number). The message is about a
vessel, not a consignment: it is keyed by the vessel call ``<IMO>/<voyage>``. XSD: ``xsd/bayplan.xsd``
(namespace ``urn:ke:nesws:hub:bayplan:1``, root ``Bayplan``).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AfterValidator, StringConstraints, model_validator

from hub.identifiers import ContainerNumber, ImoNumber, Name, Reference17, XsdDateTime
from hub.schemas.base import Body, IdScheme, Keys, Measure, Model, Party, PartyRole, Reference, RefKind
from hub.schemas.manifest_sea import Carrier, SizeTypeCode, UnLocode, at_least_one, check_mass

# ISO 9711-1 stowage location: bay (3 digits), row (2), tier (2), e.g. 0120482 = bay 12, row 4, tier 82.
StowagePosition = Annotated[str, StringConstraints(pattern=r"^[0-9]{7}$")]
# UN number of a dangerous substance (UN Recommendations on the Transport of Dangerous Goods): 4 digits.
UnNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
# IMDG Code class or division, with the compatibility group letter for class 1 (e.g. 1.4S, 2.1, 3, 5.1).
IMDG_CLASS_PATTERN = r"^(1\.[1-6][A-HJKLNS]?|2\.[1-3]|3|4\.[1-3]|5\.[12]|6\.[12]|7|8|9)$"
ImdgClass = Annotated[str, StringConstraints(pattern=IMDG_CLASS_PATTERN)]


class DangerousGoods(Model):
    """Dangerous goods in a container: BAPLIE DGS (C234 7124 UN number, C205 8351 IMDG class)."""

    un_number: UnNumber
    imdg_class: ImdgClass


class ContainerSlot(Model):
    """One stowage location and the container in it (BAPLIE segment groups 2 to 4)."""

    stowage_position: StowagePosition
    transport_equipment_id: ContainerNumber
    size_type_code: SizeTypeCode
    gross_mass: Annotated[Measure, AfterValidator(check_mass)]
    loading_location_id: UnLocode
    unloading_location_id: UnLocode
    dangerous_goods: tuple[DangerousGoods, ...] = ()


class Bayplan(Body):
    """A vessel's bay plan at one port of call: every occupied slot (BAPLIE analogue)."""

    TYPE: ClassVar[str] = "bayplan"
    ROOT: ClassVar[str] = "Bayplan"

    vessel_imo_number: ImoNumber
    vessel_name: Name | None = None
    journey_id: Reference17
    carrier: Carrier
    port_of_call_id: UnLocode
    arrival_date_time: XsdDateTime | None = None
    departure_date_time: XsdDateTime
    container_slot: Annotated[tuple[ContainerSlot, ...], AfterValidator(at_least_one)]

    @model_validator(mode="after")
    def _one_container_per_slot(self) -> Bayplan:
        """A stowage position holds one container and a container is in one position (the XSD's
        ``xs:unique`` constraints say the same)."""
        positions = [s.stowage_position for s in self.container_slot]
        containers = [s.transport_equipment_id for s in self.container_slot]
        for kind, values in (("stowage position", positions), ("container", containers)):
            seen: set[str] = set()
            for value in values:
                if value in seen:
                    raise ValueError(f"{kind} {value} appears in more than one container slot")
                seen.add(value)
        return self

    @property
    def vessel_call(self) -> str:
        return f"{self.vessel_imo_number}/{self.journey_id}"

    def keys(self) -> Keys:
        """Keyed by the vessel call; the containers on board are references; the carrier is the party."""
        refs = tuple(Reference(kind=RefKind.CONTAINER, value=s.transport_equipment_id) for s in self.container_slot)
        return Keys(
            ucr=None,
            vessel_call=self.vessel_call,
            references=refs,
            parties=(Party(role=PartyRole.CARRIER, scheme=IdScheme.CARRIER, id=self.carrier.id),),
        )


__all__ = ["Bayplan", "ContainerSlot", "DangerousGoods"]
