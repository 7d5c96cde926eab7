"""``eseal.event``: an event reported by an electronic seal under the Regional Electronic Cargo Tracking
System (RECTS): armed, position, deviation from the route, tamper, low battery, arrived, disarmed.

Names follow the WCO Data Model (TransportEquipment ID and Seal ID, Declaration ID) and UN/EDIFACT
IFTSTA (status event code, DTM event date-time); the position is WGS 84 latitude and longitude in
decimal degrees (ISO 6709). The vendor operating the seal is named by its KRA PIN or, for a
government-operated seal, its agency code. XSD: ``xsd/eseal.event.xsd`` (namespace
``urn:ke:nesws:hub:eseal.event:1``, root ``ESealEvent``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, ValidationInfo, field_validator, model_validator

from hub.identifiers import ContainerNumber, EntryNumber, Name, Reference35, Ucr, XsdDateTime, check_kra_pin
from hub.schemas.base import Body, IdScheme, Keys, Model, Party, PartyRole, Reference, RefKind

# WGS 84 decimal degrees, at most 7 decimal places (about 1 cm): XSD totalDigits 9/10, fractionDigits 7.
Latitude = Annotated[Decimal, Field(ge=-90, le=90, max_digits=9, decimal_places=7)]
Longitude = Annotated[Decimal, Field(ge=-180, le=180, max_digits=10, decimal_places=7)]
_CODE17 = re.compile(r"[A-Z0-9]{2,17}")


class ESealEventCode(StrEnum):
    """What the seal reports (RECTS event types)."""

    ARMED = "ARMED"
    POSITION = "POSITION"
    DEVIATION = "DEVIATION"
    TAMPER = "TAMPER"
    LOW_BATTERY = "LOW_BATTERY"
    ARRIVED = "ARRIVED"
    DISARMED = "DISARMED"


# Events that are about where the seal is, and so must say where.
POSITIONED = frozenset({ESealEventCode.POSITION, ESealEventCode.DEVIATION})


class VendorScheme(StrEnum):
    """The identifier scheme the vendor's id is in (``hub.schemas.base.IdScheme`` values)."""

    KRA_PIN = IdScheme.KRA_PIN.value
    AGENCY = IdScheme.AGENCY.value


class GeoCoordinate(Model):
    """Where the seal was: WCO DM GeoCoordinate (Latitude, Longitude), WGS 84 decimal degrees."""

    latitude: Latitude
    longitude: Longitude


class ESealVendor(Model):
    """The e-seal vendor (or agency) operating the seal, named by an identifier in the stated scheme."""

    scheme_id: VendorScheme
    id: str
    name: Name | None = None

    @field_validator("id")
    @classmethod
    def _id_in_scheme(cls, value: str, info: ValidationInfo) -> str:
        scheme = info.data.get("scheme_id")
        if scheme is VendorScheme.KRA_PIN:
            return check_kra_pin(value)
        if scheme is VendorScheme.AGENCY and not _CODE17.fullmatch(value):
            raise ValueError("an agency code is 2 to 17 upper-case letters and digits")
        return value


class ESealEvent(Body):
    """One event of one electronic seal fitted to a container."""

    TYPE: ClassVar[str] = "eseal.event"
    ROOT: ClassVar[str] = "ESealEvent"

    seal_id: Reference35
    event_code: ESealEventCode
    event_date_time: XsdDateTime
    position: GeoCoordinate | None = None
    transport_equipment_id: ContainerNumber
    ucr: Ucr
    declaration_id: EntryNumber | None = None
    vendor: ESealVendor

    @model_validator(mode="after")
    def _positioned_events_have_a_position(self) -> ESealEvent:
        if self.event_code in POSITIONED and self.position is None:
            raise ValueError(f"a {self.event_code.value} event must carry the seal's Position")
        return self

    def keys(self) -> Keys:
        """The UCR; the seal, the container and the entry as references; the vendor as a party."""
        refs = [
            Reference(kind=RefKind.ESEAL, value=self.seal_id),
            Reference(kind=RefKind.CONTAINER, value=self.transport_equipment_id),
        ]
        if self.declaration_id is not None:
            refs.append(Reference(kind=RefKind.ENTRY, value=self.declaration_id))
        vendor = Party(role=PartyRole.ESEAL_VENDOR, scheme=IdScheme(self.vendor.scheme_id.value), id=self.vendor.id)
        return Keys(ucr=self.ucr, references=tuple(refs), parties=(vendor,))


__all__ = ["ESealEvent", "ESealEventCode", "ESealVendor", "GeoCoordinate", "VendorScheme"]
