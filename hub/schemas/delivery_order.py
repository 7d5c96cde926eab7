"""``delivery.order``: the shipping line's order releasing a consignment's cargo to the consignee or its
clearing agent (NESWS regulation 23: the logistics platform handles cargo delivery orders).

Names follow the WCO Data Model (AdditionalDocument ID and ExpirationDate, TransportContractDocument,
Carrier, Consignee, Agent, GoodsLocation, TransportEquipment ID). The goods location names where the
cargo is held, a container freight station or a port terminal, so that the hub can route the order to
it. XSD: ``xsd/delivery.order.xsd`` (namespace ``urn:ke:nesws:hub:delivery.order:1``, root
``DeliveryOrder``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import model_validator

from hub.identifiers import Code17, ContainerNumber, Name, Reference35, Ucr, XsdDate, XsdDateTime
from hub.schemas.base import Body, IdScheme, Keys, Model, Party, PartyRole, Reference, RefKind
from hub.schemas.customs_release import Trader
from hub.schemas.manifest_sea import Carrier


class LocationTypeCode(StrEnum):
    """Kind of facility holding the goods: decides the identifier scheme the location's code is in."""

    CFS = "CFS"
    TERMINAL = "TERMINAL"


class GoodsLocation(Model):
    """Where the goods are: WCO DM GoodsLocation (ID, TypeCode, Name); the ID is a CFS or terminal code."""

    id: Code17
    type_code: LocationTypeCode
    name: Name | None = None

    def party(self) -> Party:
        """The facility as a party: a CFS by its CFS code, a terminal (its operator) by its terminal code."""
        if self.type_code is LocationTypeCode.CFS:
            return Party(role=PartyRole.CFS, scheme=IdScheme.CFS, id=self.id)
        return Party(role=PartyRole.TERMINAL_OPERATOR, scheme=IdScheme.TERMINAL, id=self.id)


class DeliveryOrder(Body):
    """A delivery order for one bill of lading, issued by the carrier (or its agent)."""

    TYPE: ClassVar[str] = "delivery.order"
    ROOT: ClassVar[str] = "DeliveryOrder"

    delivery_order_id: Reference35
    ucr: Ucr
    transport_document_id: Reference35
    master_transport_document_id: Reference35 | None = None
    carrier: Carrier
    consignee: Trader
    agent: Trader
    goods_location: GoodsLocation
    transport_equipment_id: tuple[ContainerNumber, ...] = ()
    issue_date_time: XsdDateTime
    expiration_date: XsdDate

    @model_validator(mode="after")
    def _expires_after_issue(self) -> DeliveryOrder:
        if self.expiration_date < self.issue_date_time.date():
            raise ValueError("a delivery order cannot expire (ExpirationDate) before it is issued (IssueDateTime)")
        return self

    def keys(self) -> Keys:
        """The UCR; the delivery order, the bill(s) of lading and the containers as references; the
        consignee and clearing agent (KRA PIN), the CFS or terminal holding the cargo and the carrier as
        parties."""
        refs = [Reference(kind=RefKind.DELIVERY_ORDER, value=self.delivery_order_id)]
        if self.master_transport_document_id is not None:
            refs.append(Reference(kind=RefKind.MASTER_BL, value=self.master_transport_document_id))
            refs.append(Reference(kind=RefKind.HOUSE_BL, value=self.transport_document_id))
        else:
            refs.append(Reference(kind=RefKind.MASTER_BL, value=self.transport_document_id))
        refs.extend(Reference(kind=RefKind.CONTAINER, value=c) for c in self.transport_equipment_id)
        parties = (
            Party(role=PartyRole.CONSIGNEE, scheme=IdScheme.KRA_PIN, id=self.consignee.id),
            Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id=self.agent.id),
            self.goods_location.party(),
            Party(role=PartyRole.CARRIER, scheme=IdScheme.CARRIER, id=self.carrier.id),
        )
        return Keys(
            ucr=self.ucr,
            references=tuple(dict.fromkeys(refs)),
            parties=tuple(dict.fromkeys(parties)),
        )


__all__ = ["DeliveryOrder", "GoodsLocation", "LocationTypeCode"]
