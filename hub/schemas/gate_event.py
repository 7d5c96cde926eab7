"""``gate.event``: a container passing the gate of a port terminal or CFS, in or out (UN/EDIFACT CODECO
analogue: BGM 34 gate-in report / 36 gate-out report, EQD full/empty indicator, TDT the truck, DTM 7).

Names follow the WCO Data Model (GoodsLocation, TransportEquipment ID, Declaration ID, Consignee,
Agent, TransportMeans ID). The truck's registration number is vehicle data, not personal data. An
empty container moves without a consignment, so the UCR is required only for a full one. XSD:
``xsd/gate.event.xsd`` (namespace ``urn:ke:nesws:hub:gate.event:1``, root ``GateEvent``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import model_validator

from hub.identifiers import Code17, ContainerNumber, EntryNumber, Ucr, XsdDateTime
from hub.schemas.base import Body, IdScheme, Keys, Party, PartyRole, Reference, RefKind
from hub.schemas.customs_release import Trader
from hub.schemas.delivery_order import GoodsLocation


class GateEventCode(StrEnum):
    """Which way the container passed the gate (CODECO BGM 1001: 34 gate-in, 36 gate-out)."""

    GATE_IN = "GATE_IN"
    GATE_OUT = "GATE_OUT"


class FullEmptyIndicator(StrEnum):
    """Whether the container is laden (UN/EDIFACT 8169 code 5, full) or empty (code 4)."""

    FULL = "FULL"
    EMPTY = "EMPTY"


class GateEvent(Body):
    """One container through one gate, reported by the terminal or the CFS operating it."""

    TYPE: ClassVar[str] = "gate.event"
    ROOT: ClassVar[str] = "GateEvent"

    event_code: GateEventCode
    event_date_time: XsdDateTime
    goods_location: GoodsLocation
    transport_equipment_id: ContainerNumber
    full_empty_indicator: FullEmptyIndicator
    ucr: Ucr | None = None
    transport_means_id: Code17
    declaration_id: EntryNumber | None = None
    consignee: Trader | None = None
    agent: Trader | None = None

    @model_validator(mode="after")
    def _full_has_ucr(self) -> GateEvent:
        if self.full_empty_indicator is FullEmptyIndicator.FULL and self.ucr is None:
            raise ValueError("a FULL container's gate event must carry the consignment's UCR (Ucr)")
        return self

    def keys(self) -> Keys:
        """The UCR (absent for an empty container); the container and the entry as references; the
        terminal or CFS, the consignee and the clearing agent as parties."""
        refs = [Reference(kind=RefKind.CONTAINER, value=self.transport_equipment_id)]
        if self.declaration_id is not None:
            refs.append(Reference(kind=RefKind.ENTRY, value=self.declaration_id))
        parties = [self.goods_location.party()]
        if self.consignee is not None:
            parties.append(Party(role=PartyRole.CONSIGNEE, scheme=IdScheme.KRA_PIN, id=self.consignee.id))
        if self.agent is not None:
            parties.append(Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id=self.agent.id))
        return Keys(
            ucr=self.ucr,
            references=tuple(refs),
            parties=tuple(dict.fromkeys(parties)),
        )


__all__ = ["FullEmptyIndicator", "GateEvent", "GateEventCode"]
