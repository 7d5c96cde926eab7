"""``idf``: Kenya's Import Declaration Form, lodged through the single window before goods are imported.

Names follow the WCO Data Model (Importer, Agent, Exporter, Origin CountryCode, UnloadingLocation,
TradeTerms ConditionCode, InvoiceAmount, GovernmentAgencyGoodsItem with Commodity Classification and
Description, GoodsMeasure TariffQuantity and CustomsValueAmount). The IDF number and the financing bank have
no WCO DM element: the XSD says why they are there. XSD: ``xsd/idf.xsd`` (namespace
``urn:ke:nesws:hub:idf:1``, root ``ImportDeclarationForm``).

This module also holds the pieces the customs and payment types share (``Amount``, ``CurrencyCode``,
``Bank``, ``Incoterm``): an amount is an element pair, ``Amount`` and ``CurrencyCode`` (the WCO DM
``currencyID`` attribute is an element by the catalogue's convention, as in ``permit.application``).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field

from hub.identifiers import Bic, Name, Reference35, Text, Ucr, XsdDateTime
from hub.schemas.base import Body, IdScheme, Keys, Measure, Model, Party, PartyRole, Reference, RefKind
from hub.schemas.customs_release import Trader
from hub.schemas.manifest_sea import UnLocode, at_least_one
from hub.schemas.permit_application import CountryCode, HsCode, check_amount, check_quantity

# ISO 4217 alphabetic currency codes in use (iso-codes 4.15 plus XCG and ZWG, introduced in 2025 and 2024;
# without HRK, withdrawn in 2023, and XTS and XXX, the codes for testing and for "no currency").
_ISO_4217_TEXT = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP
    BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB
    EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR
    MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB
    RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
    TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG
    XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL
"""
ISO_4217: frozenset[str] = frozenset(_ISO_4217_TEXT.split())


def check_currency(value: str) -> str:
    """An ISO 4217 alphabetic currency code (the XSDs enumerate the same list)."""
    if value not in ISO_4217:
        raise ValueError("expected an ISO 4217 currency code, e.g. KES, USD, EUR")
    return value


CurrencyCode = Annotated[str, AfterValidator(check_currency)]


class Amount(Model):
    """A monetary amount and its currency (UN/EDIFACT MOA: 5004 amount, 6345 currency; the WCO DM
    ``currencyID``): zero or more, at most 16 digits of which 3 after the point."""

    amount: Annotated[Decimal, AfterValidator(check_amount)]
    currency_code: CurrencyCode


class Bank(Model):
    """A bank identified by its ISO 9362 BIC (UN/EDIFACT FII financial institution)."""

    id: Bic
    name: Name | None = None


class Incoterm(StrEnum):
    """ICC Incoterms 2020 (WCO DM TradeTerms ConditionCode; UN/EDIFACT 4053)."""

    EXW = "EXW"
    FCA = "FCA"
    CPT = "CPT"
    CIP = "CIP"
    DAP = "DAP"
    DPU = "DPU"
    DDP = "DDP"
    FAS = "FAS"
    FOB = "FOB"
    CFR = "CFR"
    CIF = "CIF"


class Exporter(Model):
    """The seller abroad: WCO DM Exporter Name and Address CountryCode."""

    name: Name
    country_code: CountryCode


class GoodsItem(Model):
    """One line of goods to be imported: WCO DM GovernmentAgencyGoodsItem."""

    sequence_number: int = Field(ge=1, le=99999)
    classification_id: HsCode
    description: Text
    tariff_quantity: Annotated[Measure, AfterValidator(check_quantity)]
    customs_value_amount: Amount


class ImportDeclarationForm(Body):
    """An Import Declaration Form: the importer's notice of an intended import, before shipment."""

    TYPE: ClassVar[str] = "idf"
    ROOT: ClassVar[str] = "ImportDeclarationForm"

    idf_id: Reference35
    ucr: Ucr
    importer: Trader
    agent: Trader | None = None
    financing_bank: Bank | None = None
    exporter: Exporter
    origin_country_code: CountryCode
    unloading_location_id: UnLocode
    goods_item: Annotated[tuple[GoodsItem, ...], AfterValidator(at_least_one)]
    invoice_amount: Amount
    trade_terms_condition_code: Incoterm
    issue_date_time: XsdDateTime

    def keys(self) -> Keys:
        """The UCR; the IDF number as a reference; the importer and clearing agent (KRA PIN) and the
        financing bank (BIC) as parties, so that the bank gets the IDFs it finances (T-BNK(2))."""
        parties = [Party(role=PartyRole.IMPORTER, scheme=IdScheme.KRA_PIN, id=self.importer.id)]
        if self.agent is not None:
            parties.append(Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id=self.agent.id))
        if self.financing_bank is not None:
            parties.append(Party(role=PartyRole.FINANCING_BANK, scheme=IdScheme.BIC, id=self.financing_bank.id))
        return Keys(
            ucr=self.ucr,
            references=(Reference(kind=RefKind.IDF, value=self.idf_id),),
            parties=tuple(dict.fromkeys(parties)),
        )


__all__ = [
    "ISO_4217",
    "Amount",
    "Bank",
    "CurrencyCode",
    "Exporter",
    "GoodsItem",
    "ImportDeclarationForm",
    "Incoterm",
    "check_currency",
]
