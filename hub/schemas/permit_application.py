"""``permit.application``: an application for a permit, licence or certificate lodged with a permit-issuing
agency (PGA) through the single window (regulation 18(1)(b); WCO DM LPCO application).

Names follow the WCO Data Model (AdditionalDocument IssuingAuthority and TypeCode, Declarant and Agent,
GoodsItem with Commodity Classification, GoodsMeasure and Origin, DutyTaxFee payment amount). The agency
code and the permit type code are the forms ``permit.status`` uses (imported from it, not repeated), so
that an application and the statuses the agency sends about it carry the same codes. XSD:
``xsd/permit.application.xsd`` (namespace ``urn:ke:nesws:hub:permit.application:1``, root
``PermitApplication``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, ClassVar

from pydantic import AfterValidator, StringConstraints

from hub.identifiers import ISO_3166_ALPHA2, Code17, Reference35, Text, Ucr, XsdDateTime
from hub.schemas.base import Body, IdScheme, Keys, Measure, Model, Party, PartyRole, Reference, RefKind
from hub.schemas.manifest_sea import at_least_one
from hub.schemas.permit_status import PermitTypeCode, Trader

# WCO DM Commodity Classification ID: a Harmonized System code, 6 digits, or the 8-digit EAC Common
# External Tariff code Kenya uses (10 with a national suffix). XSD: the same pattern.
HsCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}([0-9]{2}){0,2}$")]
# UN/ECE Recommendation 20 unit code (KGM, TNE, LTR, NAR, ...). XSD: the same pattern.
UNIT_CODE_PATTERN = r"^[A-Z0-9]{2,3}$"
_UNIT_CODE = re.compile(UNIT_CODE_PATTERN)
# ISO 4217 alphabetic currency code (KES, USD, ...). XSD: the same pattern.
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

QUANTITY_TOTAL_DIGITS = 16
QUANTITY_FRACTION_DIGITS = 6
AMOUNT_TOTAL_DIGITS = 16
AMOUNT_FRACTION_DIGITS = 3


def decimal_fits(value: Decimal, total: int, fraction: int) -> bool:
    """Whether a finite decimal meets the xs:decimal ``totalDigits``/``fractionDigits`` facets, which
    count the digits of the value written with as few digits as possible (trailing zeros do not count)."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN or Infinity: the models refuse them before this
        return False
    i = int("".join(map(str, digits)) or "0")
    n = -exponent if exponent < 0 else 0
    if exponent > 0:
        i = i * 10**exponent if exponent <= total else 10**total
    while n > 0 and i % 10 == 0:
        i //= 10
        n -= 1
    return n <= fraction and len(str(i)) <= total


def check_quantity(value: Measure) -> Measure:
    """A goods quantity: positive, at most 16 digits of which 6 after the point, in a Rec. 20 unit."""
    if not _UNIT_CODE.fullmatch(value.unit_code):
        raise ValueError("unitCode must be a UN/ECE Recommendation 20 unit code (2 or 3 upper-case letters/digits)")
    if value.value <= 0:
        raise ValueError("a quantity must be greater than zero")
    if not decimal_fits(value.value, QUANTITY_TOTAL_DIGITS, QUANTITY_FRACTION_DIGITS):
        raise ValueError(
            f"a quantity has at most {QUANTITY_TOTAL_DIGITS} digits, {QUANTITY_FRACTION_DIGITS} after the point"
        )
    return value


def check_amount(value: Decimal) -> Decimal:
    """A fee amount: zero or more, at most 16 digits of which 3 after the point (as the XSD)."""
    if not value.is_finite():
        raise ValueError("an amount must be a finite number")
    if value < 0:
        raise ValueError("an amount cannot be negative")
    if not decimal_fits(value, AMOUNT_TOTAL_DIGITS, AMOUNT_FRACTION_DIGITS):
        raise ValueError(
            f"an amount has at most {AMOUNT_TOTAL_DIGITS} digits, {AMOUNT_FRACTION_DIGITS} after the point"
        )
    return value


def check_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 country code (the XSD enumerates the same list)."""
    if value not in ISO_3166_ALPHA2:
        raise ValueError("expected an ISO 3166-1 alpha-2 country code, e.g. KE, ZA, CN")
    return value


CountryCode = Annotated[str, AfterValidator(check_country)]


class GoodsItem(Model):
    """One line of goods the permit is applied for: WCO DM GoodsItem."""

    classification_id: HsCode
    description: Text
    quantity: Annotated[Measure, AfterValidator(check_quantity)]
    origin_country_code: CountryCode


class Fee(Model):
    """The fee payable for the permit (Second Schedule; regulation 31): WCO DM DutyTaxFee Payment amount
    with its currency (an attribute in the WCO DM, an element here: the catalogue's convention)."""

    amount: Annotated[Decimal, AfterValidator(check_amount)]
    currency_code: CurrencyCode


class PermitApplication(Body):
    """A permit application lodged with a permit-issuing agency, by the importer or exporter or its agent."""

    TYPE: ClassVar[str] = "permit.application"
    ROOT: ClassVar[str] = "PermitApplication"

    application_id: Reference35
    issuing_authority_id: Code17
    permit_type_code: PermitTypeCode
    ucr: Ucr
    applicant: Trader
    agent: Trader | None = None
    goods_item: Annotated[tuple[GoodsItem, ...], AfterValidator(at_least_one)]
    submission_date_time: XsdDateTime
    fee: Fee | None = None

    def keys(self) -> Keys:
        """The UCR; the application reference; the issuing agency (by agency code), the applicant and the
        clearing agent (by KRA PIN) as parties, so that the agency and the trader's side get ``own`` cells."""
        parties = [
            Party(role=PartyRole.ISSUING_AGENCY, scheme=IdScheme.AGENCY, id=self.issuing_authority_id),
            Party(role=PartyRole.APPLICANT, scheme=IdScheme.KRA_PIN, id=self.applicant.id),
        ]
        if self.agent is not None:
            parties.append(Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id=self.agent.id))
        return Keys(
            ucr=self.ucr,
            references=(Reference(kind=RefKind.PERMIT_APPLICATION, value=self.application_id),),
            parties=tuple(dict.fromkeys(parties)),
        )


__all__ = ["Fee", "GoodsItem", "PermitApplication", "decimal_fits"]
