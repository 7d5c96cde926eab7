"""``manifest.sea``: a sea cargo manifest for one vessel call, master or house (UN/EDIFACT CUSCAR analogue).

Names follow the WCO Data Model (cargo report: Carrier, BorderTransportMeans, Consignment, GoodsItem,
TransportEquipment). One message covers one vessel call (IMO number and voyage) and lists its bills of
lading; a house bill of lading names the master bill it is consolidated under. XSD:
``xsd/manifest.sea.xsd`` (namespace ``urn:ke:nesws:hub:manifest.sea:1``, root ``SeaManifest``).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field, StringConstraints

from hub.identifiers import (
    Code17,
    ContainerNumber,
    ImoNumber,
    KraPin,
    Name,
    Reference17,
    Reference35,
    Text,
    Ucr,
    XsdDateTime,
)
from hub.schemas.base import Body, IdScheme, Keys, Measure, Model, Party, PartyRole, Reference, RefKind

UnLocode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$")]
PackageTypeCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{2}$")]  # UN/ECE Rec. 21
SizeTypeCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{4}$")]  # ISO 6346 size and type

MASS_UNITS = frozenset({"KGM", "TNE"})  # UN/ECE Rec. 20: kilogram, tonne
MASS_TOTAL_DIGITS = 16
MASS_FRACTION_DIGITS = 6


def check_mass(value: Measure) -> Measure:
    """Gross mass: positive, at most 16 digits of which 6 after the point, in KGM or TNE (as the XSD)."""
    if value.unit_code not in MASS_UNITS:
        raise ValueError(f"unitCode must be one of {', '.join(sorted(MASS_UNITS))}")
    if value.value <= 0:
        raise ValueError("a gross mass must be greater than zero")
    # xs:decimal facets work on the value i * 10**-n with n as small as possible (trailing zeros do not
    # count); Decimal.normalize() would round past 28 digits, so count on the exact digits instead.
    _sign, digits, exponent = value.value.as_tuple()
    assert isinstance(exponent, int)  # finite: Measure refuses NaN and Infinity
    i = int("".join(map(str, digits)))
    n = -exponent if exponent < 0 else 0
    if exponent > 0:
        i = i * 10**exponent if exponent <= MASS_TOTAL_DIGITS else 10**MASS_TOTAL_DIGITS
    while n > 0 and i % 10 == 0:
        i //= 10
        n -= 1
    if n > MASS_FRACTION_DIGITS or len(str(i)) > MASS_TOTAL_DIGITS:
        limits = f"{MASS_TOTAL_DIGITS} digits, {MASS_FRACTION_DIGITS} after the point"
        raise ValueError(f"a gross mass has at most {limits}")
    return value


def at_least_one(value: tuple[Any, ...]) -> tuple[Any, ...]:
    """A required repeated element (``minOccurs=1``). Not ``Field(min_length=1)``: on a tuple, pydantic
    then also reports "at least 1 item after validation, not 0" whenever any item is invalid."""
    if not value:
        raise ValueError("at least one is required")
    return value


class Carrier(Model):
    """The carrier (shipping line) responsible for the vessel call: WCO DM Carrier."""

    id: Code17
    name: Name | None = None


class ConsignmentParty(Model):
    """Consignee or notify party of a bill of lading: WCO DM Consignee / NotifyParty (ID, Name)."""

    id: KraPin | None = None
    name: Name


class GoodsItem(Model):
    """One line of goods on a bill of lading: WCO DM GoodsItem (CUSCAR GID/FTX/MEA)."""

    sequence_number: int = Field(ge=1, le=99999)
    description: Text
    package_quantity: int = Field(ge=1, le=99_999_999)
    package_type_code: PackageTypeCode | None = None
    gross_mass: Annotated[Measure, AfterValidator(check_mass)]


class TransportEquipment(Model):
    """A container on a bill of lading and its seals: WCO DM TransportEquipment (CUSCAR EQD/SEL)."""

    id: ContainerNumber
    size_type_code: SizeTypeCode | None = None
    seal_id: tuple[Reference35, ...] = ()


class Consignment(Model):
    """A bill of lading line: WCO DM Consignment with its transport contract document."""

    transport_document_id: Reference35
    master_transport_document_id: Reference35 | None = None
    ucr: Ucr | None = None
    consignor_name: Name
    consignee: ConsignmentParty
    notify_party: ConsignmentParty | None = None
    warehouse_id: Code17 | None = None
    goods_item: Annotated[tuple[GoodsItem, ...], AfterValidator(at_least_one)]
    transport_equipment: tuple[TransportEquipment, ...] = ()


class SeaManifest(Body):
    """A sea cargo manifest: one vessel call and its bills of lading (CUSCAR analogue)."""

    TYPE: ClassVar[str] = "manifest.sea"
    ROOT: ClassVar[str] = "SeaManifest"

    carrier: Carrier
    vessel_imo_number: ImoNumber
    vessel_name: Name
    journey_id: Reference17
    unloading_location_id: UnLocode
    arrival_date_time: XsdDateTime
    consignment: Annotated[tuple[Consignment, ...], AfterValidator(at_least_one)]

    @property
    def vessel_call(self) -> str:
        return f"{self.vessel_imo_number}/{self.journey_id}"

    def keys(self) -> Keys:
        """No message-level UCR (a manifest covers many consignments): each line's UCR, bills of lading
        and containers are references; the carrier, consignees and nominated CFSs are parties."""
        refs: list[Reference] = []
        parties: list[Party] = [Party(role=PartyRole.CARRIER, scheme=IdScheme.CARRIER, id=self.carrier.id)]
        for line in self.consignment:
            if line.ucr is not None:
                refs.append(Reference(kind=RefKind.UCR, value=line.ucr))
            if line.master_transport_document_id is not None:
                refs.append(Reference(kind=RefKind.MASTER_BL, value=line.master_transport_document_id))
                refs.append(Reference(kind=RefKind.HOUSE_BL, value=line.transport_document_id))
            else:
                refs.append(Reference(kind=RefKind.MASTER_BL, value=line.transport_document_id))
            refs.extend(Reference(kind=RefKind.CONTAINER, value=te.id) for te in line.transport_equipment)
            if line.consignee.id is not None:
                parties.append(Party(role=PartyRole.CONSIGNEE, scheme=IdScheme.KRA_PIN, id=line.consignee.id))
            if line.warehouse_id is not None:
                parties.append(Party(role=PartyRole.CFS, scheme=IdScheme.CFS, id=line.warehouse_id))
        return Keys(
            ucr=None,
            vessel_call=self.vessel_call,
            references=tuple(dict.fromkeys(refs)),
            parties=tuple(dict.fromkeys(parties)),
        )


__all__ = ["Carrier", "Consignment", "ConsignmentParty", "GoodsItem", "SeaManifest", "TransportEquipment"]
