"""``arrival.iar``: the impending arrival report a shipping agent files for a vessel call, due 48 hours
before the vessel arrives (IMO FAL Form 1 general declaration; UN/EDIFACT BERMAN analogue).

Names follow the WCO Data Model (BorderTransportMeans: IMO number, name, JourneyID; Carrier; Agent)
and UN/EDIFACT BERMAN (LOC 153 place of call, LOC 125 last port of call, DTM 132 estimated arrival,
EQN/MEA cargo figures). The message is about a vessel, not a consignment: it is keyed by the vessel
call ``<IMO>/<voyage>``. A report filed late is still a valid report (the 48 hours are a business
rule, not a schema rule): ``late`` says whether it was. XSD: ``xsd/arrival.iar.xsd`` (namespace
``urn:ke:nesws:hub:arrival.iar:1``, root ``ImpendingArrivalReport``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, StringConstraints

from hub.identifiers import ImoNumber, Name, Reference17, XsdDateTime
from hub.schemas.base import Body, IdScheme, Keys, Measure, Model, Party, PartyRole, Reference, RefKind
from hub.schemas.customs_release import Trader
from hub.schemas.manifest_sea import Carrier, UnLocode, check_mass

NOTICE = timedelta(hours=48)
# ITU radio call sign (ITU Radio Regulations, Article 19): 3 to 7 letters and digits.
CallSign = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3,7}$")]


def _optional_mass(value: Measure | None) -> Measure | None:
    return None if value is None else check_mass(value)


class CargoSummary(Model):
    """What the vessel carries for this port: BERMAN EQN (number of containers) and MEA (bulk mass)."""

    container_quantity: int = Field(ge=0, le=99_999)
    # Annotated around the Optional (not inside it) so that the codec still sees a Measure field.
    bulk_gross_mass: Annotated[Measure | None, AfterValidator(_optional_mass)] = None


class ImpendingArrivalReport(Body):
    """Notice of a vessel's impending arrival at a Kenyan port, filed by its shipping agent."""

    TYPE: ClassVar[str] = "arrival.iar"
    ROOT: ClassVar[str] = "ImpendingArrivalReport"

    vessel_imo_number: ImoNumber
    vessel_name: Name
    vessel_call_sign: CallSign | None = None
    journey_id: Reference17
    carrier: Carrier
    shipping_agent: Trader
    port_of_call_id: UnLocode
    estimated_arrival_date_time: XsdDateTime
    last_port_of_call_id: UnLocode
    cargo_summary: CargoSummary | None = None
    issue_date_time: XsdDateTime

    @property
    def vessel_call(self) -> str:
        return f"{self.vessel_imo_number}/{self.journey_id}"

    @property
    def late(self) -> bool:
        """True when the report was issued less than 48 hours before the estimated arrival."""
        return self.estimated_arrival_date_time - self.issue_date_time < NOTICE

    def keys(self) -> Keys:
        """No UCR: keyed by the vessel call, which is also its one reference; the carrier (carrier code)
        and the shipping agent (KRA PIN) are parties."""
        return Keys(
            ucr=None,
            vessel_call=self.vessel_call,
            references=(Reference(kind=RefKind.VESSEL_CALL, value=self.vessel_call),),
            parties=(
                Party(role=PartyRole.CARRIER, scheme=IdScheme.CARRIER, id=self.carrier.id),
                Party(role=PartyRole.SHIPPING_AGENT, scheme=IdScheme.KRA_PIN, id=self.shipping_agent.id),
            ),
        )


__all__ = ["CargoSummary", "ImpendingArrivalReport"]
