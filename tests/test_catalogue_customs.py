"""The customs, payment and insurance types against their examples: idf, ucr.issued, customs.entry,
duty.assessment, payment.confirmation and insurance.certificate. Decoding, rejection codes, XML/JSON
agreement, round trips through the generic codec, the XSDs following the models, the keys routing needs
and routing of ``own`` cells to the registry's partners (no broker needed)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import pytest
from lxml import etree
from pydantic import BaseModel

from hub import codec
from hub.catalogue import Catalogue, MessageSpec
from hub.config import load_config
from hub.errors import MessageRejected
from hub.identifiers import ISO_3166_ALPHA2, REFERENCE_PATTERN, XSD_DATETIME_PATTERN
from hub.routing import RoutingTable, route
from hub.schemas.base import Body, IdScheme, Keys, Measure, Party, PartyRole, Reference, RefKind
from hub.schemas.customs_entry import CustomsEntry
from hub.schemas.duty_assessment import DutyAssessment
from hub.schemas.idf import ISO_4217, Amount, ImportDeclarationForm
from hub.schemas.insurance_certificate import CoverConditionsCode, InsuranceCertificate
from hub.schemas.payment_confirmation import PaymentConfirmation, PaymentTypeCode
from hub.schemas.ucr_issued import UcrIssued

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CONTENT_TYPES = {".xml": codec.XML_CT, ".json": codec.JSON_CT}
XS = "{http://www.w3.org/2001/XMLSchema}"
TYPES = ("idf", "ucr.issued", "customs.entry", "duty.assessment", "payment.confirmation", "insurance.certificate")
MODELS: dict[str, type[Body]] = {
    "idf": ImportDeclarationForm,
    "ucr.issued": UcrIssued,
    "customs.entry": CustomsEntry,
    "duty.assessment": DutyAssessment,
    "payment.confirmation": PaymentConfirmation,
    "insurance.certificate": InsuranceCertificate,
}

UCR = "26KEP0512345680000412"
AGENT, IMPORTER, INSURER, BANK = "P051234567A", "P051234568B", "P051234569C", "MFNOKENA"


def _files(kind: str) -> list[Path]:
    return sorted(p for t in TYPES for p in (EXAMPLES / t / kind).glob("*") if p.suffix in CONTENT_TYPES)


def _id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.name}"


# Examples are decoded, rejected and round-tripped for every type by tests/test_catalogue.py; this file adds
# the checks specific to its types.
VALID = _files("valid")
INVALID = _files("invalid")
PAIRS = sorted(p.with_suffix("") for p in VALID if p.suffix == ".xml" and p.with_suffix(".json").exists())


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue()


def _decode(catalogue: Catalogue, path: Path) -> Body:
    return catalogue.decode(path.read_bytes(), CONTENT_TYPES[path.suffix], path.parent.parent.name)


def _example(catalogue: Catalogue, relative: str) -> Body:
    return _decode(catalogue, EXAMPLES / relative)


def test_catalogue_has_the_six_types(catalogue: Catalogue) -> None:
    assert set(TYPES) <= set(catalogue.types())
    for t in TYPES:
        spec = catalogue.spec(t)
        assert spec.model is MODELS[t]
        assert catalogue.type_of_root(f"{{urn:ke:nesws:hub:{t}:1}}{spec.root}") == t


@pytest.mark.parametrize("msg_type", TYPES)
def test_each_type_has_enough_examples(msg_type: str) -> None:
    valid = [p for p in VALID if p.parent.parent.name == msg_type]
    invalid = [p for p in INVALID if p.parent.parent.name == msg_type]
    assert sum(p.suffix == ".xml" for p in valid) >= 2
    assert sum(p.suffix == ".json" for p in valid) >= 1
    assert len(invalid) >= 3
    assert {p.suffix for p in invalid} == {".xml", ".json"}
    assert any(stem.parent.parent.name == msg_type for stem in PAIRS)


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_valid_example_decodes(catalogue: Catalogue, path: Path) -> None:
    body = _decode(catalogue, path)
    assert type(body) is MODELS[path.parent.parent.name]
    keys = body.keys()
    assert keys.ucr is not None and keys.vessel_call is None
    assert keys.parties, "every message names at least one party"
    assert keys.references
    assert len(set(keys.parties)) == len(keys.parties) and len(set(keys.references)) == len(keys.references)


def _schema_valid(spec: MessageSpec, xml: bytes) -> None:
    root = etree.fromstring(xml)
    assert spec.schema.validate(root), [e.message for e in spec.schema.error_log]


def test_amount_with_exponent_from_json_encodes_as_valid_xml(catalogue: Catalogue) -> None:
    text = (EXAMPLES / "idf/valid/tiles-e2600412743.json").read_text()
    assert '"amount": 18600.00' in text
    body = catalogue.decode(text.replace('"amount": 18600.00', '"amount": 1.86E4').encode(), codec.JSON_CT, "idf")
    assert isinstance(body, ImportDeclarationForm)
    assert body.invoice_amount == Amount(amount=Decimal(18600), currency_code="USD")
    xml = catalogue.encode(body, codec.XML_CT)
    _schema_valid(catalogue.spec("idf"), xml)
    assert b"<Amount>18600</Amount>" in xml


# ---------------------------------------------------------------- the JSON form is held to what the XSD checks

IDF = "idf/valid/tiles-e2600412743"
DUTY = "duty.assessment/valid/26mbaim000412871"
CERT = "insurance.certificate/valid/mic-2026-00812"
# (what is wrong, example, XML text -> replacement, JSON text -> replacement), each applied once
PARITY = [
    ("amount with 4 places", IDF, (">744.00<", ">744.0001<"), ('"amount": 744.00', '"amount": 744.0001')),
    ("amount with 17 digits", IDF,
     (">744.00<", ">12345678901234567<"), ('"amount": 744.00', '"amount": 12345678901234567')),
    ("negative amount", IDF, (">744.00<", ">-744.00<"), ('"amount": 744.00', '"amount": -744.00')),
    ("XXX is no currency", IDF, (">USD<", ">XXX<"), ('"currencyCode": "USD"', '"currencyCode": "XXX"')),
    ("lower-case currency", IDF, (">USD<", ">usd<"), ('"currencyCode": "USD"', '"currencyCode": "usd"')),
    ("unknown country", IDF, (">CN<", ">XX<"), ('"countryCode": "CN"', '"countryCode": "XX"')),
    ("HS code of 9 digits", IDF, (">69072100<", ">690721001<"), ('"69072100"', '"690721001"')),
    ("zero quantity", IDF, ('"MTK">1785.6<', '"MTK">0<'), ('"value": 1785.6', '"value": 0')),
    ("unit code too long", IDF, ('"MTK"', '"MTKS"'), ('"MTK"', '"MTKS"')),
    ("lower-case incoterm", IDF, (">CFR<", ">cfr<"), ('"CFR"', '"cfr"')),
    ("sequence number 0", IDF,
     ("<SequenceNumber>1<", "<SequenceNumber>0<"), ('"sequenceNumber": 1', '"sequenceNumber": 0')),
    ("IDF number with a space", IDF, (">E2600412743<", ">E26 00412743<"), ('"E2600412743"', '"E26 00412743"')),
    ("name over 70", IDF, (">Mfano Imports Ltd<", ">" + "M" * 71 + "<"), ('"Mfano Imports Ltd"', '"' + "M" * 71 + '"')),
    ("naive date-time", IDF, ("T09:10:00+03:00", "T09:10:00"), ("T09:10:00+03:00", "T09:10:00")),
    ("rate over 1000", DUTY, (">25<", ">1000.5<"), ('"taxRateNumeric": 25', '"taxRateNumeric": 1000.5')),
    ("rate with 5 places", DUTY, (">2.5<", ">2.12345<"), ('"taxRateNumeric": 2.5', '"taxRateNumeric": 2.12345')),
    ("total in USD", DUTY, (
        "<Amount>1191118.50</Amount>\n    <CurrencyCode>KES<", "<Amount>1191118.50</Amount>\n    <CurrencyCode>USD<"),
     ('"amount": 1191118.50,\n    "currencyCode": "KES"', '"amount": 1191118.50,\n    "currencyCode": "USD"')),
    ("lower-case clauses code", CERT, (">ICC_A<", ">icc_a<"), ('"ICC_A"', '"icc_a"')),
    ("locode with digit 1", CERT, (">CNSHK<", ">CNSH1<"), ('"CNSHK"', '"CNSH1"')),
]  # fmt: skip


@pytest.mark.parametrize(("example", "xml_edit", "json_edit"), [p[1:] for p in PARITY], ids=[p[0] for p in PARITY])
def test_both_forms_refuse_the_same_faults(
    catalogue: Catalogue, example: str, xml_edit: tuple[str, str], json_edit: tuple[str, str]
) -> None:
    msg_type = example.split("/", 1)[0]
    for suffix, (old, new), code in ((".xml", xml_edit, "XML_SCHEMA"), (".json", json_edit, "JSON_SCHEMA")):
        text = (EXAMPLES / example).with_suffix(suffix).read_text()
        assert old in text, (suffix, old)
        payload = text.replace(old, new, 1).encode()
        with pytest.raises(MessageRejected) as info:
            catalogue.decode(payload, CONTENT_TYPES[suffix], msg_type)
        assert {d.code for d in info.value.details} == {code}, (suffix, info.value.details)


# ---------------------------------------------------------------- rules the XSDs cannot express


def test_house_waybill_is_not_held_to_the_iata_check(catalogue: Catalogue) -> None:
    text = (EXAMPLES / "customs.entry/valid/26jkaim000218530-air-waybill.xml").read_text()
    text = text.replace(">740<", ">703<").replace(">17612345675<", ">MFC-NBO-26-0091<")
    body = catalogue.decode(text.encode(), codec.XML_CT, "customs.entry")
    assert Reference(kind=RefKind.HOUSE_AWB, value="MFC-NBO-26-0091") in body.keys().references


def test_master_air_waybill_is_held_to_the_iata_check(catalogue: Catalogue) -> None:
    text = (EXAMPLES / "customs.entry/valid/26jkaim000218530-air-waybill.xml").read_text()
    text = text.replace(">740<", ">741<").replace(">17612345675<", ">17612345676<")
    with pytest.raises(MessageRejected) as info:
        catalogue.decode(text.encode(), codec.XML_CT, "customs.entry")
    (detail,) = info.value.details
    assert (detail.code, detail.path) == ("AWB_CHECK_DIGIT", "/CustomsEntry/TransportDocumentId")


@pytest.mark.parametrize("name", ["XML_SCHEMA-total-not-the-sum.xml", "JSON_SCHEMA-total-not-the-sum.json"])
def test_assessment_total_must_be_the_sum_in_both_forms(catalogue: Catalogue, name: str) -> None:
    with pytest.raises(MessageRejected) as info:
        _example(catalogue, f"duty.assessment/invalid/{name}")
    assert "TotalTaxAssessedAmount" in info.value.details[0].message


@pytest.mark.parametrize(
    "name", ["XML_SCHEMA-agency-on-duty-payment.xml", "JSON_SCHEMA-permit-fee-without-agency.json"]
)
def test_agency_goes_with_permit_fees_only_in_both_forms(catalogue: Catalogue, name: str) -> None:
    with pytest.raises(MessageRejected) as info:
        _example(catalogue, f"payment.confirmation/invalid/{name}")
    assert "AgencyId" in info.value.details[0].message


def test_identifier_error_in_xml_points_at_the_element(catalogue: Catalogue) -> None:
    path = EXAMPLES / "customs.entry/invalid/CONTAINER_CHECK_DIGIT-second-container.xml"
    with pytest.raises(MessageRejected) as info:
        _decode(catalogue, path)
    (detail,) = info.value.details
    assert detail.path == "/CustomsEntry/TransportEquipmentId[2]"
    lines = path.read_text().splitlines()
    assert detail.line is not None and "MEDU7654323" in lines[detail.line - 1]


def test_nested_schema_error_in_xml_points_at_the_element(catalogue: Catalogue) -> None:
    with pytest.raises(MessageRejected) as info:
        _example(catalogue, "duty.assessment/invalid/XML_SCHEMA-line-in-usd.xml")
    (detail,) = info.value.details
    assert detail.path == "/DutyAssessment/DutyTaxFee[4]/TaxAssessedAmount/CurrencyCode"


def test_kra_pin_errors_do_not_echo_the_value(catalogue: Catalogue) -> None:
    for path in (p for p in INVALID if p.name.startswith("KRA_PIN_FORMAT")):
        bad = next(
            tok
            for tok in path.read_text().replace("<", " ").replace(">", " ").replace('"', " ").split()
            if tok not in (AGENT, IMPORTER, INSURER) and tok[:1].isalpha() and tok[-2:-1].isdigit() and len(tok) >= 10
        )
        with pytest.raises(MessageRejected) as info:
            _decode(catalogue, path)
        assert all(bad not in d.message for d in info.value.details), path


def test_currency_list() -> None:
    assert {"KES", "USD", "EUR", "UGX", "TZS", "CNY", "INR", "ZAR"} <= ISO_4217
    assert not {"XXX", "XTS", "HRK", "KSH"} & ISO_4217
    assert all(len(c) == 3 and c.isalpha() and c.isupper() for c in ISO_4217)


# ---------------------------------------------------------------- keys for routing and correlation


def test_idf_keys(catalogue: Catalogue) -> None:
    keys = _example(catalogue, "idf/valid/tiles-e2600412743.xml").keys()
    assert keys == Keys(
        ucr=UCR,
        references=(Reference(kind=RefKind.IDF, value="E2600412743"),),
        parties=(
            Party(role=PartyRole.IMPORTER, scheme=IdScheme.KRA_PIN, id=IMPORTER),
            Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id=AGENT),
            Party(role=PartyRole.FINANCING_BANK, scheme=IdScheme.BIC, id=BANK),
        ),
    )
    bare = _example(catalogue, "idf/valid/amoxicillin-kenbo-no-bank.xml").keys()
    assert [p.role for p in bare.parties] == [PartyRole.IMPORTER]


def test_ucr_issued_keys(catalogue: Catalogue) -> None:
    keys = _example(catalogue, "ucr.issued/valid/26kep0512345680000412.json").keys()
    assert keys == Keys(
        ucr=UCR,
        references=(Reference(kind=RefKind.UCR, value=UCR), Reference(kind=RefKind.IDF, value="E2600412743")),
        parties=(
            Party(role=PartyRole.APPLICANT, scheme=IdScheme.KRA_PIN, id=IMPORTER),
            Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id=AGENT),
            Party(role=PartyRole.FINANCING_BANK, scheme=IdScheme.BIC, id=BANK),
            Party(role=PartyRole.INSURER, scheme=IdScheme.KRA_PIN, id=INSURER),
        ),
    )


def test_customs_entry_keys(catalogue: Catalogue) -> None:
    keys = _example(catalogue, "customs.entry/valid/26mbaim000412871.xml").keys()
    assert keys == Keys(
        ucr=UCR,
        references=(
            Reference(kind=RefKind.ENTRY, value="26MBAIM000412871"),
            Reference(kind=RefKind.MASTER_BL, value="MEDUKE261345"),
            Reference(kind=RefKind.CONTAINER, value="MSCU1234566"),
            Reference(kind=RefKind.CONTAINER, value="MEDU7654325"),
        ),
        parties=(
            Party(role=PartyRole.DECLARANT, scheme=IdScheme.KRA_PIN, id=AGENT),
            Party(role=PartyRole.IMPORTER, scheme=IdScheme.KRA_PIN, id=IMPORTER),
            Party(role=PartyRole.CUSTOMS_OFFICE, scheme=IdScheme.CUSTOMS_OFFICE, id="MSA"),
        ),
    )
    air = _example(catalogue, "customs.entry/valid/26jkaim000218530-air-waybill.xml").keys()
    assert Reference(kind=RefKind.AWB, value="17612345675") in air.references


def test_duty_assessment_keys(catalogue: Catalogue) -> None:
    body = _example(catalogue, "duty.assessment/valid/26mbaim000412871.json")
    assert isinstance(body, DutyAssessment)
    assert body.total_tax_assessed_amount.amount == Decimal("1191118.50")
    assert body.keys() == Keys(
        ucr=UCR,
        references=(
            Reference(kind=RefKind.ENTRY, value="26MBAIM000412871"),
            Reference(kind=RefKind.PRN, value="2026ICMS000412871"),
            Reference(kind=RefKind.ASSESSMENT, value="26MSAAS0041287"),
        ),
        parties=(
            Party(role=PartyRole.IMPORTER, scheme=IdScheme.KRA_PIN, id=IMPORTER),
            Party(role=PartyRole.DECLARANT, scheme=IdScheme.KRA_PIN, id=AGENT),
        ),
    )
    specific = _example(catalogue, "duty.assessment/valid/26mbaim000413250-specific-excise.xml")
    assert isinstance(specific, DutyAssessment)
    assert [line.tax_rate_numeric is None for line in specific.duty_tax_fee] == [False, True, False, False, False]


def test_payment_confirmation_keys(catalogue: Catalogue) -> None:
    duty = _example(catalogue, "payment.confirmation/valid/duty-2026icms000412871.xml")
    assert duty.keys() == Keys(
        ucr=UCR,
        references=(
            Reference(kind=RefKind.PRN, value="2026ICMS000412871"),
            Reference(kind=RefKind.ENTRY, value="26MBAIM000412871"),
        ),
        parties=(
            Party(role=PartyRole.PAYING_BANK, scheme=IdScheme.BIC, id=BANK),
            Party(role=PartyRole.PAYER, scheme=IdScheme.KRA_PIN, id=IMPORTER),
        ),
    )
    fee = _example(catalogue, "payment.confirmation/valid/kebs-permit-fee.xml")
    assert isinstance(fee, PaymentConfirmation) and fee.payment_type_code is PaymentTypeCode.PERMIT_FEE
    assert Party(role=PartyRole.ISSUING_AGENCY, scheme=IdScheme.AGENCY, id="KEBS") in fee.keys().parties
    assert fee.keys().references == (Reference(kind=RefKind.PRN, value="2026KEBS00093114"),)


def test_insurance_certificate_keys(catalogue: Catalogue) -> None:
    body = _example(catalogue, "insurance.certificate/valid/mic-2026-00812.json")
    assert isinstance(body, InsuranceCertificate) and body.cover_conditions_code is CoverConditionsCode.ICC_A
    assert body.keys() == Keys(
        ucr=UCR,
        references=(Reference(kind=RefKind.INSURANCE_CERT, value="MIC/2026/00812"),),
        parties=(
            Party(role=PartyRole.INSURER, scheme=IdScheme.KRA_PIN, id=INSURER),
            Party(role=PartyRole.IMPORTER, scheme=IdScheme.KRA_PIN, id=IMPORTER),
            Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id=AGENT),
        ),
    )


def test_models_are_frozen(catalogue: Catalogue) -> None:
    body = _example(catalogue, "duty.assessment/valid/26mbaim000412871.xml")
    with pytest.raises(Exception, match="frozen"):
        body.ucr = "26KEP0512345680000999"  # type: ignore[misc]
    hash(body)


# ---------------------------------------------------------------- own cells reach the registry's partners

# (example, sender, partners that must receive it, partners that must not)
OWN_ROUTES = [
    ("idf/valid/tiles-e2600412743.json", "kentrade", {"mfano-bank", "mfano-clearing", "mfano-imports"}, set()),
    ("idf/valid/amoxicillin-kenbo-no-bank.xml", "kentrade", {"mfano-imports"}, {"mfano-bank", "mfano-clearing"}),
    ("ucr.issued/valid/26kep0512345680000412.xml", "kentrade",
     {"mfano-bank", "mfano-insurance", "mfano-clearing"}, set()),
    ("ucr.issued/valid/26kep0512345680000470-trader-only.xml", "kentrade",
     {"mfano-imports"}, {"mfano-bank", "mfano-insurance"}),
    ("customs.entry/valid/26mbaim000412871.json", "mfano-clearing", {"mfano-imports", "kra-icms"}, set()),
    ("duty.assessment/valid/26mbaim000412871.xml", "kra-icms", {"mfano-imports", "mfano-clearing"}, {"mfano-bank"}),
    ("payment.confirmation/valid/kebs-permit-fee.xml", "mfano-bank", {"kebs", "mfano-clearing"}, {"kephis", "pcpb"}),
    ("payment.confirmation/valid/duty-2026icms000412871.xml", "mfano-bank",
     {"mfano-imports"}, {"kebs", "mfano-clearing"}),
    ("insurance.certificate/valid/mic-2026-00812.xml", "kra-icms",
     {"mfano-insurance", "mfano-imports"}, {"mfano-bank"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def table() -> RoutingTable:
    return RoutingTable.from_config(load_config(ROOT / "config", env={}))


@pytest.mark.parametrize(("example", "sender", "gets", "not_gets"), OWN_ROUTES, ids=[r[0] for r in OWN_ROUTES])
def test_own_cells_reach_the_named_partners(
    catalogue: Catalogue, table: RoutingTable, example: str, sender: str, gets: set[str], not_gets: set[str]
) -> None:
    body = _example(catalogue, example)
    recipients = set(route(body.TYPE, sender, body.keys(), table).recipient_ids())
    assert gets <= recipients, recipients
    assert not (not_gets & recipients), recipients


# ---------------------------------------------------------------- the XSDs follow the models


def _xsd(spec: MessageSpec) -> etree._Element:
    return etree.parse(str(spec.xsd_path)).getroot()


def _named(xsd: etree._Element, kind: str, name: str) -> etree._Element:
    found = xsd.find(f"{XS}{kind}[@name='{name}']")
    assert found is not None, f"{kind} {name} missing"
    return found


def _enum_values(xsd: etree._Element, type_name: str) -> set[str]:
    return {e.get("value", "") for e in _named(xsd, "simpleType", type_name).iter(f"{XS}enumeration")}


def _check_type(xsd: etree._Element, type_name: str, model: type[BaseModel], where: str) -> None:
    elements = _named(xsd, "complexType", type_name).findall(f"{XS}sequence/{XS}element")
    fields = list(model.model_fields.items())
    assert [e.get("name") for e in elements] == [codec._pascal(f.alias or n) for n, f in fields], where
    for el, (_name, field) in zip(elements, fields, strict=True):
        at = f"{where}/{el.get('name')}"
        is_list, nested = codec._field_shape(field.annotation)
        assert (el.get("minOccurs") == "0") == (not field.is_required()), at
        assert (el.get("maxOccurs") == "unbounded") == is_list, at
        assert el.find(f"{XS}annotation/{XS}documentation") is not None or nested is not None, f"{at}: undocumented"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, StrEnum):
            assert _enum_values(xsd, el.get("type", "")) == {m.value for m in ann}, at
        if nested is Measure:
            measure = _named(xsd, "complexType", el.get("type", ""))
            attr = measure.find(f"{XS}simpleContent/{XS}extension/{XS}attribute")
            assert attr is not None and attr.get("name") == "unitCode" and attr.get("use") == "required", at
        elif nested is not None:
            _check_type(xsd, el.get("type", ""), nested, at)
        else:
            assert not el.get("type", "").endswith("Type"), at


@pytest.mark.parametrize("msg_type", TYPES)
def test_xsd_follows_the_model_convention(catalogue: Catalogue, msg_type: str) -> None:
    spec = catalogue.spec(msg_type)
    xsd = _xsd(spec)
    assert xsd.get("targetNamespace") == f"urn:ke:nesws:hub:{msg_type}:1"
    assert xsd.get("elementFormDefault") == "qualified"
    roots = xsd.findall(f"{XS}element")
    assert [r.get("name") for r in roots] == [spec.root]
    _check_type(xsd, roots[0].get("type", ""), spec.model, "/" + spec.root)


@pytest.mark.parametrize("msg_type", TYPES)
def test_xsd_shared_forms_and_code_lists_are_the_models(catalogue: Catalogue, msg_type: str) -> None:
    xsd = _xsd(catalogue.spec(msg_type))
    pattern = _named(xsd, "simpleType", "DateTimeWithZone").find(f"{XS}restriction/{XS}pattern")
    assert pattern is not None and pattern.get("value") == XSD_DATETIME_PATTERN
    for name, regex in (("Reference35", REFERENCE_PATTERN), ("Code17", r"^[A-Z0-9]{2,17}$")):
        found = _named(xsd, "simpleType", name).find(f"{XS}restriction/{XS}pattern")
        assert found is not None and f"^{found.get('value')}$" == regex
    names = {t.get("name") for t in xsd.findall(f"{XS}simpleType")}
    if "CountryCode" in names:
        assert _enum_values(xsd, "CountryCode") == ISO_3166_ALPHA2
    if "CurrencyCode" in names:
        assert _enum_values(xsd, "CurrencyCode") == ISO_4217
    if "KesCurrencyCode" in names:
        assert _enum_values(xsd, "KesCurrencyCode") == {"KES"}
    assert names & {"CurrencyCode", "KesCurrencyCode"}, "every one of these types carries an amount"
