"""``duty.assessment``: iCMS's assessment of the duties, taxes and fees payable on one customs entry.

Names follow the WCO Data Model (Declaration ID; DutyTaxFee TypeCode, TaxRateNumeric and Payment
TaxAssessedAmount, ReferenceID and DueDateTime; Importer, Declarant). Amounts are in Kenya shillings,
the currency iCMS assesses and KRA collects in. The payment reference is the payment registration number
(PRN) of the KRA e-slip that ``payment.confirmation`` later quotes. XSD: ``xsd/duty.assessment.xsd``
(namespace ``urn:ke:nesws:hub:duty.assessment:1``, root ``DutyAssessment``).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, model_validator

from hub.identifiers import EntryNumber, Reference35, Ucr, XsdDate, XsdDateTime
from hub.schemas.base import Body, IdScheme, Keys, Model, Party, PartyRole, Reference, RefKind
from hub.schemas.customs_release import Trader
from hub.schemas.idf import Amount
from hub.schemas.manifest_sea import at_least_one

ASSESSMENT_CURRENCY = "KES"


def check_kes(value: Amount) -> Amount:
    """iCMS assesses in Kenya shillings (the XSD fixes the currency code the same way)."""
    if value.currency_code != ASSESSMENT_CURRENCY:
        raise ValueError(f"an assessed amount is in {ASSESSMENT_CURRENCY}")
    return value


KesAmount = Annotated[Amount, AfterValidator(check_kes)]
# An ad valorem rate in per cent: 0 to 1000, at most 4 places (xs:decimal with the same facets).
RatePercent = Annotated[Decimal, Field(ge=0, le=1000, max_digits=8, decimal_places=4)]


class TaxTypeCode(StrEnum):
    """The iCMS tax types of an import entry (WCO DM DutyTaxFee TypeCode, national code list)."""

    ID = "ID"  # import duty (EAC Common External Tariff)
    VAT = "VAT"  # value added tax
    EXD = "EXD"  # excise duty
    IDF = "IDF"  # import declaration fee
    RDL = "RDL"  # railway development levy


class DutyTaxFee(Model):
    """One assessed duty, tax or fee: WCO DM DutyTaxFee (UN/EDIFACT TAX with MOA)."""

    type_code: TaxTypeCode
    tax_rate_numeric: RatePercent | None = None
    tax_assessed_amount: KesAmount


class DutyAssessment(Body):
    """A duty assessment on one entry, with the PRN to pay it with and the date it is due."""

    TYPE: ClassVar[str] = "duty.assessment"
    ROOT: ClassVar[str] = "DutyAssessment"

    assessment_id: Reference35
    declaration_id: EntryNumber
    ucr: Ucr
    issue_date_time: XsdDateTime
    duty_tax_fee: Annotated[tuple[DutyTaxFee, ...], AfterValidator(at_least_one)]
    total_tax_assessed_amount: KesAmount
    payment_reference_id: Reference35
    payment_due_date: XsdDate
    importer: Trader
    declarant: Trader

    @model_validator(mode="after")
    def _total_is_the_sum(self) -> DutyAssessment:
        total = sum((line.tax_assessed_amount.amount for line in self.duty_tax_fee), Decimal(0))
        if total != self.total_tax_assessed_amount.amount:
            raise ValueError("TotalTaxAssessedAmount must be the sum of the DutyTaxFee TaxAssessedAmounts")
        return self

    def keys(self) -> Keys:
        """The UCR; the entry number, the PRN and the assessment as references; the importer and the
        declarant (the clearing agent) by KRA PIN as parties."""
        refs = (
            Reference(kind=RefKind.ENTRY, value=self.declaration_id),
            Reference(kind=RefKind.PRN, value=self.payment_reference_id),
            Reference(kind=RefKind.ASSESSMENT, value=self.assessment_id),
        )
        parties = (
            Party(role=PartyRole.IMPORTER, scheme=IdScheme.KRA_PIN, id=self.importer.id),
            Party(role=PartyRole.DECLARANT, scheme=IdScheme.KRA_PIN, id=self.declarant.id),
        )
        return Keys(ucr=self.ucr, references=tuple(dict.fromkeys(refs)), parties=tuple(dict.fromkeys(parties)))


__all__ = ["DutyAssessment", "DutyTaxFee", "TaxTypeCode"]
