"""Base classes of the canonical model: frozen, strict pydantic models shared by XML and JSON forms."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Model(BaseModel):
    """A frozen canonical model: unknown keys, ``NaN``/``Infinity`` and input echoed in errors refused."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        hide_input_in_errors=True,
        alias_generator=to_camel,
        populate_by_name=True,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
    )


class Measure(Model):
    """A quantity with its UN/ECE Recommendation 20 unit code (``KGM``, ``MTQ``, ...): WCO DM measure type."""

    value: Decimal
    unit_code: str


class RefKind(StrEnum):
    """Kinds of references a message carries, each linkable to a UCR (WCO DM document type names)."""

    UCR = "ucr"
    MASTER_BL = "master_bl"
    HOUSE_BL = "house_bl"
    AWB = "awb"
    CONTAINER = "container"
    ENTRY = "entry"
    IDF = "idf"
    PERMIT = "permit"
    PRN = "prn"
    INSURANCE_CERT = "insurance_cert"
    ESEAL = "eseal"
    VESSEL_CALL = "vessel_call"
    MANIFEST = "manifest"
    MASTER_AWB = "master_awb"
    HOUSE_AWB = "house_awb"
    PERMIT_APPLICATION = "permit_application"
    MRN = "mrn"
    DELIVERY_ORDER = "delivery_order"
    GATE_PASS = "gate_pass"  # noqa: S105 - a document kind, not a password
    FLIGHT = "flight"
    ASSESSMENT = "assessment"


class PartyRole(StrEnum):
    """Roles of the parties named in a message (WCO DM party roles)."""

    CONSIGNEE = "consignee"
    CONSIGNOR = "consignor"
    DECLARANT = "declarant"
    CLEARING_AGENT = "clearing_agent"
    FINANCING_BANK = "financing_bank"
    INSURER = "insurer"
    CARRIER = "carrier"
    SHIPPING_AGENT = "shipping_agent"
    CARGO_HANDLER = "cargo_handler"
    CFS = "cfs"
    ISSUING_AGENCY = "issuing_agency"
    CUSTOMS_OFFICE = "customs_office"
    APPLICANT = "applicant"
    NOTIFY_PARTY = "notify_party"
    GROUND_HANDLER = "ground_handler"
    TERMINAL_OPERATOR = "terminal_operator"
    ESEAL_VENDOR = "eseal_vendor"
    PAYER = "payer"
    EXPORTER = "exporter"
    IMPORTER = "importer"
    PAYING_BANK = "paying_bank"  # the bank that collected a payment (not the bank financing the import)


class IdScheme(StrEnum):
    """Identifier schemes a registry entry can be named by in messages."""

    KRA_PIN = "kra_pin"
    BIC = "bic"
    AGENCY = "agency"
    CFS = "cfs"
    TERMINAL = "terminal"
    CARRIER = "carrier"
    IATA = "iata"
    CUSTOMS_OFFICE = "customs_office"


def normalise_id(scheme: IdScheme, value: str) -> str:
    """How routing compares identifiers: case and spaces ignored; a BIC names the same bank with or
    without its branch code (``MFNOKENA`` = ``MFNOKENAXXX``)."""
    value = value.strip().upper()
    return value[:8] if scheme is IdScheme.BIC else value


class Reference(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: RefKind
    value: str


class Party(BaseModel):
    """A party named in a message: its role and the identifier the registry can match to a partner."""

    model_config = ConfigDict(frozen=True)
    role: PartyRole
    scheme: IdScheme
    id: str


class Keys(BaseModel):
    """What routing and correlation need from a message body, extracted by each type's ``keys()``."""

    model_config = ConfigDict(frozen=True)
    ucr: str | None = None
    vessel_call: str | None = None
    references: tuple[Reference, ...] = ()
    parties: tuple[Party, ...] = ()


class Body(Model):
    """Base of every message type's body. ``TYPE`` and ``ROOT`` name it in the catalogue."""

    TYPE: ClassVar[str]
    ROOT: ClassVar[str]

    def keys(self) -> Keys:
        """Called once per message after validation; returns the UCR, references and parties."""
        raise NotImplementedError
