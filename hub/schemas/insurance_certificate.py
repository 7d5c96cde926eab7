"""``insurance.certificate``: a marine cargo insurance certificate for one import (Kenya requires imports
to be insured with a local insurer).

Names follow the WCO Data Model where it has them (Importer, Agent, LoadingLocation and UnloadingLocation
ID, BorderTransportMeans ID, Commodity Description); the certificate's own terms (certificate and policy
numbers, sum insured, Institute Cargo Clauses) have no WCO DM element, and the XSD says why each is there.
XSD: ``xsd/insurance.certificate.xsd`` (namespace ``urn:ke:nesws:hub:insurance.certificate:1``, root
``InsuranceCertificate``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from hub.identifiers import ImoNumber, Reference35, Text, Ucr, XsdDate
from hub.schemas.base import Body, IdScheme, Keys, Party, PartyRole, Reference, RefKind
from hub.schemas.customs_release import Trader
from hub.schemas.idf import Amount
from hub.schemas.manifest_sea import UnLocode


class CoverConditionsCode(StrEnum):
    """The Institute Cargo Clauses (2009) the goods are insured on: A (all risks), B or C (named perils)."""

    ICC_A = "ICC_A"
    ICC_B = "ICC_B"
    ICC_C = "ICC_C"


class InsuranceCertificate(Body):
    """A marine cargo insurance certificate issued by the insurer for one consignment."""

    TYPE: ClassVar[str] = "insurance.certificate"
    ROOT: ClassVar[str] = "InsuranceCertificate"

    certificate_id: Reference35
    ucr: Ucr
    policy_id: Reference35
    insurer: Trader
    importer: Trader
    agent: Trader | None = None
    sum_insured_amount: Amount
    goods_description: Text
    loading_location_id: UnLocode
    unloading_location_id: UnLocode
    vessel_imo_number: ImoNumber | None = None
    issue_date: XsdDate
    cover_conditions_code: CoverConditionsCode

    def keys(self) -> Keys:
        """The UCR; the certificate number as a reference; the insurer, the importer (the insured) and
        the clearing agent by KRA PIN as parties, so that the insurer gets what it insures (T-INS(3))."""
        parties = [
            Party(role=PartyRole.INSURER, scheme=IdScheme.KRA_PIN, id=self.insurer.id),
            Party(role=PartyRole.IMPORTER, scheme=IdScheme.KRA_PIN, id=self.importer.id),
        ]
        if self.agent is not None:
            parties.append(Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id=self.agent.id))
        return Keys(
            ucr=self.ucr,
            references=(Reference(kind=RefKind.INSURANCE_CERT, value=self.certificate_id),),
            parties=tuple(dict.fromkeys(parties)),
        )


__all__ = ["CoverConditionsCode", "InsuranceCertificate"]
