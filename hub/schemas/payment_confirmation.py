"""``payment.confirmation``: a bank's confirmation that a KRA e-slip has been paid (UN/EDIFACT CREADV credit
advice analogue).

Names follow the WCO Data Model (Payment ReferenceID, PaymentAmount, Payer; Declaration ID) and UN/EDIFACT
(FII financial institution, RFF bank reference). The payment reference is the payment registration number
(PRN) of the e-slip: the one ``duty.assessment`` issues for duties, or the one generated for a permit fee or
the UCR fee. A permit fee names the agency it is paid to, so that the hub can route the confirmation to it
(T-PGA(7)). XSD: ``xsd/payment.confirmation.xsd`` (namespace ``urn:ke:nesws:hub:payment.confirmation:1``,
root ``PaymentConfirmation``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import model_validator

from hub.identifiers import Code17, EntryNumber, Reference35, Ucr, XsdDateTime
from hub.schemas.base import Body, IdScheme, Keys, Party, PartyRole, Reference, RefKind
from hub.schemas.customs_release import Trader
from hub.schemas.idf import Amount, Bank


class PaymentTypeCode(StrEnum):
    """What the e-slip pays for."""

    DUTY = "DUTY"  # duties and taxes assessed on a customs entry
    PERMIT_FEE = "PERMIT_FEE"  # a permit-issuing agency's fee (regulation 31)
    UCR_FEE = "UCR_FEE"  # the UCR application fee (Second Schedule)


class PaymentConfirmation(Body):
    """A confirmed payment of one e-slip, sent by the bank that collected it."""

    TYPE: ClassVar[str] = "payment.confirmation"
    ROOT: ClassVar[str] = "PaymentConfirmation"

    payment_reference_id: Reference35
    ucr: Ucr
    declaration_id: EntryNumber | None = None
    payment_type_code: PaymentTypeCode
    agency_id: Code17 | None = None
    payment_amount: Amount
    payment_date_time: XsdDateTime
    paying_bank: Bank
    bank_reference_id: Reference35
    payer: Trader

    @model_validator(mode="after")
    def _agency_for_permit_fees(self) -> PaymentConfirmation:
        if self.payment_type_code is PaymentTypeCode.PERMIT_FEE and self.agency_id is None:
            raise ValueError("a PERMIT_FEE payment must name the agency it is paid to (AgencyId)")
        if self.payment_type_code is not PaymentTypeCode.PERMIT_FEE and self.agency_id is not None:
            raise ValueError("only a PERMIT_FEE payment names an agency (AgencyId)")
        return self

    def keys(self) -> Keys:
        """The UCR; the PRN and the entry number as references; the paying bank (BIC), the payer (KRA PIN)
        and, for a permit fee, the agency (agency code) as parties."""
        refs = [Reference(kind=RefKind.PRN, value=self.payment_reference_id)]
        if self.declaration_id is not None:
            refs.append(Reference(kind=RefKind.ENTRY, value=self.declaration_id))
        parties = [
            Party(role=PartyRole.PAYING_BANK, scheme=IdScheme.BIC, id=self.paying_bank.id),
            Party(role=PartyRole.PAYER, scheme=IdScheme.KRA_PIN, id=self.payer.id),
        ]
        if self.agency_id is not None:
            parties.append(Party(role=PartyRole.ISSUING_AGENCY, scheme=IdScheme.AGENCY, id=self.agency_id))
        return Keys(ucr=self.ucr, references=tuple(dict.fromkeys(refs)), parties=tuple(dict.fromkeys(parties)))


__all__ = ["PaymentConfirmation", "PaymentTypeCode"]
