"""``permit.status``: a permit-issuing agency's status update on a permit application.

Names follow the WCO Data Model (AdditionalDocument: ID, TypeCode, IssuingAuthority, ExpirationDate;
Declarant and Agent) and UN/EDIFACT STS (status code, date-time and reason). XSD:
``xsd/permit.status.xsd`` (namespace ``urn:ke:nesws:hub:permit.status:1``, root ``PermitStatus``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import StringConstraints, model_validator

from hub.identifiers import Code17, KraPin, Name, Reference35, Text, Ucr, XsdDate, XsdDateTime
from hub.schemas.base import Body, IdScheme, Keys, Model, Party, PartyRole, Reference, RefKind

# The issuing agency's own permit type code (each PGA keeps its code list), e.g. KEPHIS "PIP".
PermitTypeCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_\-]{0,34}$")]


class PermitStatusCode(StrEnum):
    """Where a permit application stands."""

    SUBMITTED = "SUBMITTED"
    UNDER_REVIEW = "UNDER_REVIEW"
    CLARIFICATION_REQUESTED = "CLARIFICATION_REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


class Trader(Model):
    """A party identified by its KRA PIN: WCO DM Declarant / Agent (ID, Name)."""

    id: KraPin
    name: Name | None = None


class PermitStatus(Body):
    """The status of one permit application, sent by the issuing agency."""

    TYPE: ClassVar[str] = "permit.status"
    ROOT: ClassVar[str] = "PermitStatus"

    application_id: Reference35
    permit_id: Reference35 | None = None
    issuing_authority_id: Code17
    permit_type_code: PermitTypeCode
    status_code: PermitStatusCode
    status_date_time: XsdDateTime
    ucr: Ucr
    applicant: Trader
    agent: Trader | None = None
    expiration_date: XsdDate | None = None
    status_reason: Text | None = None

    @model_validator(mode="after")
    def _approved_has_permit(self) -> PermitStatus:
        if self.status_code is PermitStatusCode.APPROVED and self.permit_id is None:
            raise ValueError("an APPROVED permit status must carry the permit number (PermitId)")
        return self

    def keys(self) -> Keys:
        """The UCR; the application and permit numbers as references; the issuing agency, the applicant
        (role declarant: the party lodging the application) and the clearing agent as parties."""
        refs = [Reference(kind=RefKind.PERMIT_APPLICATION, value=self.application_id)]
        if self.permit_id is not None:
            refs.append(Reference(kind=RefKind.PERMIT, value=self.permit_id))
        parties = [
            Party(role=PartyRole.ISSUING_AGENCY, scheme=IdScheme.AGENCY, id=self.issuing_authority_id),
            Party(role=PartyRole.DECLARANT, scheme=IdScheme.KRA_PIN, id=self.applicant.id),
        ]
        if self.agent is not None:
            parties.append(Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id=self.agent.id))
        return Keys(
            ucr=self.ucr,
            references=tuple(dict.fromkeys(refs)),
            parties=tuple(dict.fromkeys(parties)),
        )


__all__ = ["PermitStatus", "PermitStatusCode", "Trader"]
