"""The catalogue's permit application, consignment status request/response, maintenance notice and ack
types against their examples: decoding, rejection codes, XML/JSON agreement, round trips through the
generic codec, the XSDs following the models, each type's own rules and keys, and the ack type against
the ``hub.ack/1`` documents ``hub.acks.ack_document`` writes (no broker needed)."""

from __future__ import annotations

import itertools
import json
import string
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel, to_snake

from hub import codec
from hub.acks import ACK_SCHEMA, AckStatus, ack_document
from hub.catalogue import CONTRACT_TYPES, Catalogue, MessageSpec
from hub.config import PARTNER_ID_RE
from hub.errors import ErrorDetail, MessageRejected
from hub.identifiers import (
    ISO_3166_ALPHA2,
    REFERENCE_PATTERN,
    XSD_DATETIME_PATTERN,
    awb_check_digit,
    iso6346_check_digit,
)
from hub.schemas import permit_application, permit_status
from hub.schemas.ack import Acknowledgement
from hub.schemas.base import Body, IdScheme, Keys, Measure, Party, PartyRole, Reference, RefKind
from hub.schemas.consignment_status_request import ConsignmentReference, ConsignmentStatusRequest
from hub.schemas.consignment_status_response import (
    ConsignmentStatusCode,
    ConsignmentStatusResponse,
    EventMessageType,
    WaitingForCode,
)
from hub.schemas.maintenance_notice import MaintenanceNotice, NoticeTypeCode
from hub.schemas.permit_application import PermitApplication, decimal_fits
from hub.windows import EAT, WindowRefused, parse_eat, plan_window

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CONTENT_TYPES = {".xml": codec.XML_CT, ".json": codec.JSON_CT}
XS = "{http://www.w3.org/2001/XMLSchema}"
MODELS: dict[str, type[Body]] = {
    "permit.application": PermitApplication,
    "consignment.status.request": ConsignmentStatusRequest,
    "consignment.status.response": ConsignmentStatusResponse,
    "maintenance.notice": MaintenanceNotice,
    "ack": Acknowledgement,
}
TYPES = tuple(MODELS)


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


def _example(catalogue: Catalogue, rel: str) -> Body:
    return _decode(catalogue, EXAMPLES / rel)


# ---------------------------------------------------------------- the catalogue holds the five types


@pytest.mark.parametrize("msg_type", TYPES)
def test_type_is_discovered_with_its_root(catalogue: Catalogue, msg_type: str) -> None:
    assert msg_type in CONTRACT_TYPES
    spec = catalogue.spec(msg_type)
    assert spec.model is MODELS[msg_type]
    assert msg_type == spec.model.TYPE
    assert catalogue.type_of_root(f"{{urn:ke:nesws:hub:{msg_type}:1}}{spec.root}") == msg_type
    assert spec.xsd_path.exists()


@pytest.mark.parametrize("msg_type", TYPES)
def test_each_type_has_enough_examples(msg_type: str) -> None:
    valid = [p for p in VALID if p.parent.parent.name == msg_type]
    invalid = [p for p in INVALID if p.parent.parent.name == msg_type]
    assert sum(p.suffix == ".xml" for p in valid) >= 2
    assert sum(p.suffix == ".json" for p in valid) >= 2
    assert len(invalid) >= 3
    assert {p.suffix for p in invalid} == {".xml", ".json"}
    assert any(stem.parent.parent.name == msg_type for stem in PAIRS)


# ---------------------------------------------------------------- examples


@pytest.mark.parametrize("path", VALID, ids=_id)
def test_valid_example_decodes(catalogue: Catalogue, path: Path) -> None:
    body = _decode(catalogue, path)
    assert type(body) is MODELS[path.parent.parent.name]
    keys = body.keys()
    assert isinstance(keys, Keys)
    if isinstance(body, (PermitApplication, ConsignmentStatusRequest, ConsignmentStatusResponse)):
        assert keys.references, "a consignment-level message carries the reference it is about"
    if isinstance(body, PermitApplication):
        assert keys.ucr and keys.parties
    if isinstance(body, (MaintenanceNotice, Acknowledgement)):
        assert keys == Keys()


def _schema_valid(spec: MessageSpec, xml: bytes) -> None:
    root = etree.fromstring(xml)
    assert spec.schema.validate(root), [e.message for e in spec.schema.error_log]


def _round_trip(catalogue: Catalogue, body: Body) -> None:
    spec = catalogue.spec(body.TYPE)
    xml = catalogue.encode(body, codec.XML_CT)
    _schema_valid(spec, xml)
    assert catalogue.decode(xml, codec.XML_CT, body.TYPE) == body
    as_json = catalogue.encode(body, codec.JSON_CT)
    assert json.loads(as_json)["messageType"] == body.TYPE
    assert catalogue.decode(as_json, codec.JSON_CT, body.TYPE) == body
    assert catalogue.encode(catalogue.decode(xml, codec.XML_CT, body.TYPE), codec.XML_CT) == xml
    assert catalogue.encode(catalogue.decode(as_json, codec.JSON_CT, body.TYPE), codec.JSON_CT) == as_json


# ---------------------------------------------------------------- the XSDs follow the models


def _xsd(spec: MessageSpec) -> etree._Element:
    return etree.parse(str(spec.xsd_path)).getroot()


def _named(xsd: etree._Element, kind: str, name: str) -> etree._Element:
    found = xsd.find(f"{XS}{kind}[@name='{name}']")
    assert found is not None, f"{kind} {name} missing"
    return found


def _enum_values(xsd: etree._Element, type_name: str) -> set[str]:
    return {e.get("value", "") for e in _named(xsd, "simpleType", type_name).iter(f"{XS}enumeration")}


def _content(complex_type: etree._Element) -> tuple[list[etree._Element], set[str]]:
    """The type's elements in document order, and the names of those inside an xs:choice."""
    elements: list[etree._Element] = []
    in_choice: set[str] = set()
    for group in complex_type:
        if group.tag not in (f"{XS}sequence", f"{XS}choice"):
            continue
        for item in group:
            if item.tag == f"{XS}element":
                elements.append(item)
                if group.tag == f"{XS}choice":
                    in_choice.add(item.get("name", ""))
            elif item.tag == f"{XS}choice":
                for el in item.findall(f"{XS}element"):
                    elements.append(el)
                    in_choice.add(el.get("name", ""))
    return elements, in_choice


def _check_type(xsd: etree._Element, type_name: str, model: type[BaseModel], where: str) -> None:
    elements, in_choice = _content(_named(xsd, "complexType", type_name))
    fields = list(model.model_fields.items())
    assert [e.get("name") for e in elements] == [codec._pascal(f.alias or n) for n, f in fields], where
    for el, (_name, field) in zip(elements, fields, strict=True):
        at = f"{where}/{el.get('name')}"
        is_list, nested = codec._field_shape(field.annotation)
        optional = el.get("minOccurs") == "0" or el.get("name") in in_choice
        assert optional == (not field.is_required()), at
        assert (el.get("maxOccurs") == "unbounded") == is_list, at
        ann = field.annotation
        for arg in (ann, *getattr(ann, "__args__", ())):
            if isinstance(arg, type) and issubclass(arg, StrEnum):
                assert _enum_values(xsd, el.get("type", "")) == {m.value for m in arg}, at
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
def test_xsd_shared_patterns_are_the_models(catalogue: Catalogue, msg_type: str) -> None:
    xsd = _xsd(catalogue.spec(msg_type))
    pattern = _named(xsd, "simpleType", "DateTimeWithZone").find(f"{XS}restriction/{XS}pattern")
    assert pattern is not None and pattern.get("value") == XSD_DATETIME_PATTERN
    expected = {
        "Reference35": REFERENCE_PATTERN,
        "Code17": r"^[A-Z0-9]{2,17}$",
        "PartnerId": PARTNER_ID_RE.pattern,
        "HsCode": permit_application.HsCode.__metadata__[0].pattern,
        "UnitCode": permit_application.UNIT_CODE_PATTERN,
    }
    for name, regex in expected.items():
        simple = xsd.find(f"{XS}simpleType[@name='{name}']")
        if simple is not None:
            found = simple.find(f"{XS}restriction/{XS}pattern")
            assert found is not None and f"^{found.get('value')}$" == regex, name


def test_country_code_list_is_iso_3166(catalogue: Catalogue) -> None:
    xsd = _xsd(catalogue.spec("permit.application"))
    assert _enum_values(xsd, "CountryCode") == ISO_3166_ALPHA2


# ---------------------------------------------------------------- the JSON form is held to what the XSD checks

PARITY = [
    # (what, type, example stem, XML text -> replacement, JSON text -> replacement)
    ("origin UK", "permit.application", "kephis-pip-seed-maize",
     (">ZA<", ">UK<"), ('"ZA"', '"UK"')),
    ("zero quantity", "permit.application", "kephis-pip-seed-maize",
     (">24000<", ">0<"), ('"value": 24000', '"value": 0')),
    ("7 fraction digits", "permit.application", "kephis-pip-seed-maize",
     (">350.5<", ">350.1234567<"), ("350.5", "350.1234567")),
    ("unit lower case", "permit.application", "kephis-pip-seed-maize",
     ('unitCode="KGM">24000', 'unitCode="kg">24000'),
     ('"value": 24000, "unitCode": "KGM"', '"value": 24000, "unitCode": "kg"')),
    ("fee 4 fraction digits", "permit.application", "kephis-pip-seed-maize",
     (">1500.00<", ">1500.0001<"), ("1500.00", "1500.0001")),
    ("currency lower case", "permit.application", "kephis-pip-seed-maize",
     (">KES<", ">kes<"), ('"KES"', '"kes"')),
    ("HS code 7 digits", "permit.application", "kephis-pip-seed-maize",
     (">10051000<", ">1005100<"), ('"10051000"', '"1005100"')),
    ("permit type lower case", "permit.application", "kephis-pip-seed-maize",
     (">PIP<", ">pip<"), ('"PIP"', '"pip"')),
    ("two references", "consignment.status.request", "by-container-mscu1234566",
     ("<TransportEquipmentId>", "<Ucr>26KEP0512345680000412</Ucr><TransportEquipmentId>"),
     ('{"transportEquipmentId"', '{"ucr": "26KEP0512345680000412", "transportEquipmentId"')),
    ("bill of lading with a space", "consignment.status.request", "by-container-mscu1234566",
     ("<TransportEquipmentId>MSCU1234566</TransportEquipmentId>",
      "<TransportDocumentId>MEDU KE261377</TransportDocumentId>"),
     ('"transportEquipmentId": "MSCU1234566"', '"transportDocumentId": "MEDU KE261377"')),
    ("event type not in the contract", "consignment.status.response", "released-mscu1234566",
     (">customs.entry<", ">customs.declaration<"), ('"customs.entry"', '"customs.declaration"')),
    ("partner id upper case", "consignment.status.response", "released-mscu1234566",
     (">msc-ke<", ">MSC-KE<"), ('"msc-ke"', '"MSC-KE"')),
    ("waiting for text over 512", "consignment.status.response", "released-mscu1234566",
     ("<StatusDateTime>", "<WaitingForText>" + "x" * 513 + "</WaitingForText><StatusDateTime>"),
     ('"statusDateTime"', '"waitingForText": "' + "x" * 513 + '", "statusDateTime"')),
    ("emergency yes", "maintenance.notice", "kra-icms-feb-2026-short-notice",
     ("<EmergencyIndicator>false<", "<EmergencyIndicator>yes<"),
     ('"emergencyIndicator": false', '"emergencyIndicator": "yes"')),
    ("unknown notice type", "maintenance.notice", "kra-icms-feb-2026-short-notice",
     (">SCHEDULED<", ">PLANNED<"), ('"SCHEDULED"', '"PLANNED"')),
    ("target upper case", "maintenance.notice", "kra-icms-feb-2026-short-notice",
     (">kra-icms<", ">KRA<"), ('"kra-icms"', '"KRA"')),
    ("reason over 512", "maintenance.notice", "kra-icms-feb-2026-short-notice",
     ("<Reason>", "<Reason>" + "x" * 512), ('"reason": "', '"reason": "' + "x" * 512)),
    ("correlation id over 255", "ack", "accepted-msc-je608a",
     (">MSC-JE608A", ">" + "M" * 250 + "MSC-JE608A"), ('"MSC-JE608A', '"' + "M" * 250 + "MSC-JE608A")),
    ("status upper case", "ack", "accepted-msc-je608a",
     (">accepted<", ">ACCEPTED<"), ('"accepted"', '"ACCEPTED"')),
    ("received at without zone", "ack", "accepted-msc-je608a",
     ("318211+00:00", "318211"), ("318211+00:00", "318211")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("msg_type", "stem", "xml_edit", "json_edit"), [p[1:] for p in PARITY], ids=[p[0] for p in PARITY]
)
def test_both_forms_refuse_the_same_faults(
    catalogue: Catalogue, msg_type: str, stem: str, xml_edit: tuple[str, str], json_edit: tuple[str, str]
) -> None:
    base = EXAMPLES / msg_type / "valid" / stem
    for suffix, (old, new), code in ((".xml", xml_edit, "XML_SCHEMA"), (".json", json_edit, "JSON_SCHEMA")):
        text = base.with_suffix(suffix).read_text()
        assert old in text, (suffix, old)
        payload = text.replace(old, new, 1).encode()
        with pytest.raises(MessageRejected) as info:
            catalogue.decode(payload, CONTENT_TYPES[suffix], msg_type)
        assert {d.code for d in info.value.details} == {code}, (suffix, info.value.details)


# ---------------------------------------------------------------- permit.application


def test_permit_application_reuses_the_permit_status_code_forms() -> None:
    assert permit_application.PermitTypeCode is permit_status.PermitTypeCode
    assert permit_application.Trader is permit_status.Trader
    fields = PermitApplication.model_fields
    assert (
        fields["issuing_authority_id"].metadata
        == permit_status.PermitStatus.model_fields["issuing_authority_id"].metadata
    )


def test_permit_application_keys(catalogue: Catalogue) -> None:
    body = _example(catalogue, "permit.application/valid/kephis-pip-seed-maize.xml")
    assert isinstance(body, PermitApplication)
    assert body.fee is not None and body.fee.amount == Decimal("1500") and body.fee.currency_code == "KES"
    assert [g.quantity for g in body.goods_item] == [
        Measure(value=Decimal(24000), unit_code="KGM"),
        Measure(value=Decimal("350.5"), unit_code="KGM"),
    ]
    assert body.keys() == Keys(
        ucr="26KEP0512345680000461",
        references=(Reference(kind=RefKind.PERMIT_APPLICATION, value="KEPHIS/APP/2026/019207"),),
        parties=(
            Party(role=PartyRole.ISSUING_AGENCY, scheme=IdScheme.AGENCY, id="KEPHIS"),
            Party(role=PartyRole.APPLICANT, scheme=IdScheme.KRA_PIN, id="P051234568B"),
            Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id="P051234567A"),
        ),
    )


def test_permit_application_without_agent_names_agency_and_applicant(catalogue: Catalogue) -> None:
    keys = _example(catalogue, "permit.application/valid/pcpb-import-permit-insecticide.json").keys()
    assert [(p.role, p.scheme, p.id) for p in keys.parties] == [
        (PartyRole.ISSUING_AGENCY, IdScheme.AGENCY, "PCPB"),
        (PartyRole.APPLICANT, IdScheme.KRA_PIN, "P051234568B"),
    ]


@pytest.mark.parametrize(
    ("value", "total", "fraction", "fits"),
    [
        ("1500.00", 16, 3, True),
        ("1500.0001", 16, 3, False),
        ("1.5E+3", 16, 0, True),
        ("1E+16", 16, 0, False),
        ("9999999999999999", 16, 0, True),
        ("0.000000", 16, 6, True),
        ("0.0000001", 16, 6, False),
        ("1E+40", 16, 6, False),
    ],
)
def test_decimal_fits_counts_like_the_xsd(value: str, total: int, fraction: int, fits: bool) -> None:
    assert decimal_fits(Decimal(value), total, fraction) is fits


def test_fee_amount_from_json_with_exponent_encodes_as_valid_xml(catalogue: Catalogue) -> None:
    text = (EXAMPLES / "permit.application/valid/kephis-pip-seed-maize.json").read_text()
    body = catalogue.decode(text.replace("1500.00", "1.5E3").encode(), codec.JSON_CT, "permit.application")
    assert isinstance(body, PermitApplication) and body.fee is not None
    xml = catalogue.encode(body, codec.XML_CT)
    _schema_valid(catalogue.spec("permit.application"), xml)
    assert b"<Amount>1500</Amount>" in xml


# ---------------------------------------------------------------- consignment.status.request / response

_CONTAINER = "MSCU123456" + str(iso6346_check_digit("MSCU123456"))
_AWB = "7064123456" + str(awb_check_digit("4123456"))
REFERENCE_KINDS = [
    ("ucr", "26KEP0512345680000412", (RefKind.UCR,)),
    ("declaration_id", "26MBAIM000412871", (RefKind.ENTRY,)),
    ("idf_id", "E2600418832", (RefKind.IDF,)),
    ("transport_document_id", "MEDUKE261377", (RefKind.MASTER_BL, RefKind.HOUSE_BL, RefKind.HOUSE_AWB)),
    ("air_waybill_id", _AWB, (RefKind.AWB, RefKind.MASTER_AWB)),
    ("transport_equipment_id", _CONTAINER, (RefKind.CONTAINER,)),
    ("permit_id", "KEPHIS/PIP/2026/004127", (RefKind.PERMIT,)),
    ("payment_reference_id", "2026KRA00041287", (RefKind.PRN,)),
]
ASKED = datetime(2026, 2, 11, 9, 5, 12, tzinfo=timezone(timedelta(hours=3)))


def test_every_model_field_of_the_reference_is_a_kind() -> None:
    assert [k[0] for k in REFERENCE_KINDS] == list(ConsignmentReference.model_fields)


@pytest.mark.parametrize(("field", "value", "kinds"), REFERENCE_KINDS, ids=[k[0] for k in REFERENCE_KINDS])
def test_each_reference_kind_round_trips_and_keys(
    catalogue: Catalogue, field: str, value: str, kinds: tuple[RefKind, ...]
) -> None:
    request = ConsignmentStatusRequest(reference=ConsignmentReference(**{field: value}), issue_date_time=ASKED)
    _round_trip(catalogue, request)
    keys = request.keys()
    assert keys.references == tuple(Reference(kind=k, value=value) for k in kinds)
    assert keys.ucr == (value if field == "ucr" else None)
    assert keys.parties == ()
    xml = catalogue.encode(request, codec.XML_CT)
    assert xml.count(b"<Reference>") == 1 and f"<{codec._pascal(to_camel(field))}>".encode() in xml


def test_exactly_one_reference(catalogue: Catalogue) -> None:
    with pytest.raises(ValidationError, match="exactly one reference is required, not 0"):
        ConsignmentReference()
    for (f1, v1, _), (f2, v2, _) in itertools.pairwise(REFERENCE_KINDS):
        with pytest.raises(ValidationError, match="not 2"):
            ConsignmentReference(**{f1: v1, f2: v2})


def test_status_response_keys(catalogue: Catalogue) -> None:
    body = _example(catalogue, "consignment.status.response/valid/released-mscu1234566.xml")
    assert isinstance(body, ConsignmentStatusResponse)
    assert body.status_code is ConsignmentStatusCode.RELEASED
    assert body.status_date_time == datetime(2026, 2, 11, 7, 42, 17, tzinfo=UTC)
    assert [e.message_type for e in body.status_event][-1] is EventMessageType.CUSTOMS_RELEASE
    assert body.keys() == Keys(
        ucr="26KEP0512345680000412",
        references=(
            Reference(kind=RefKind.CONTAINER, value="MSCU1234566"),
            Reference(kind=RefKind.UCR, value="26KEP0512345680000412"),
        ),
    )
    unknown = _example(catalogue, "consignment.status.response/valid/unknown-awb-70641234561.json")
    assert unknown.keys() == Keys(
        references=(
            Reference(kind=RefKind.AWB, value="70641234561"),
            Reference(kind=RefKind.MASTER_AWB, value="70641234561"),
        )
    )


def test_status_response_rules() -> None:
    ref = ConsignmentReference(ucr="26KEP0512345680000473")
    ok = ConsignmentStatusResponse(
        reference=ref,
        status_code=ConsignmentStatusCode.PERMIT_PENDING,
        waiting_for_code=WaitingForCode.AGENCY_APPROVAL,
        status_date_time=ASKED,
    )
    assert ok.keys().ucr == "26KEP0512345680000473"
    with pytest.raises(ValidationError, match="carries the StatusDateTime"):
        ConsignmentStatusResponse(reference=ref, status_code=ConsignmentStatusCode.DUTY_PAID)
    with pytest.raises(ValidationError, match="UNKNOWN status carries no"):
        ConsignmentStatusResponse(reference=ref, status_code=ConsignmentStatusCode.UNKNOWN, status_date_time=ASKED)
    with pytest.raises(ValidationError, match="differs from the UCR"):
        ConsignmentStatusResponse(
            reference=ref,
            ucr="26KEP0512345680000474",
            status_code=ConsignmentStatusCode.RELEASED,
            status_date_time=ASKED,
        )


def test_status_codes_are_the_agreed_list() -> None:
    assert [c.value for c in ConsignmentStatusCode] == [
        "UCR_ISSUED", "MANIFESTED", "IDF_LODGED", "ENTRY_LODGED", "DUTY_ASSESSED", "DUTY_PAID",
        "PERMIT_PENDING", "PERMIT_APPROVED", "HELD_FOR_EXAMINATION", "RELEASED", "DELIVERY_ORDER_ISSUED",
        "GATED_OUT", "UNKNOWN",
    ]  # fmt: skip


def test_event_message_types_are_contract_types_about_consignments() -> None:
    values = {t.value for t in EventMessageType}
    assert values <= set(CONTRACT_TYPES)
    assert not values & {"maintenance.notice", "consignment.status.request", "consignment.status.response", "ack"}


def test_partner_ids_of_the_registry_are_valid_sources() -> None:
    import yaml

    registry = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/partners.yaml").read_text())
    for partner in registry["partners"]:
        event = {
            "messageType": "customs.release",
            "statusCode": "RELEASED",
            "eventDateTime": "2026-02-11T07:42:17Z",
            "sourcePartnerId": partner["id"],
        }
        response = {
            "reference": {"ucr": "26KEP0512345680000412"},
            "statusCode": "RELEASED",
            "statusDateTime": "2026-02-11T07:42:17Z",
            "statusEvent": [event],
        }
        ConsignmentStatusResponse.model_validate(response)


# ---------------------------------------------------------------- maintenance.notice (regulation 32)


def _notice(**changes: Any) -> MaintenanceNotice:
    fields: dict[str, Any] = {
        "target_id": "hub",
        "type_code": NoticeTypeCode.SCHEDULED,
        "start_date_time": datetime(2026, 3, 14, 22, 0, tzinfo=EAT),
        "end_date_time": datetime(2026, 3, 15, 2, 0, tzinfo=EAT),
        "emergency_indicator": False,
        "short_notice_indicator": False,
        "issue_date_time": datetime(2026, 3, 12, 22, 0, tzinfo=EAT),  # exactly 48 hours before
    }
    fields.update(changes)
    return MaintenanceNotice(**fields)


def test_the_february_2026_icms_notice_is_flagged_short(catalogue: Catalogue) -> None:
    body = _example(catalogue, "maintenance.notice/valid/kra-icms-feb-2026-short-notice.xml")
    assert isinstance(body, MaintenanceNotice)
    assert body.short_notice_indicator and not body.emergency_indicator
    assert body.notice_given == timedelta(hours=24, minutes=30)
    assert body.end_date_time - body.start_date_time == timedelta(hours=36)
    assert body.start_date_time.astimezone(UTC) == datetime(2026, 2, 7, 15, 0, tzinfo=UTC)


def test_hub_notice_of_exactly_48_hours_is_not_short() -> None:
    assert _notice().notice_given == timedelta(hours=48)
    with pytest.raises(ValidationError, match="issued 48 hours before"):
        _notice(short_notice_indicator=True)


def test_hub_scheduled_maintenance_needs_48_hours_notice_unless_emergency() -> None:
    late = datetime(2026, 3, 12, 22, 0, 1, tzinfo=EAT)
    with pytest.raises(ValidationError, match=r"regulation 32\(2\)"):
        _notice(issue_date_time=late, short_notice_indicator=True)
    assert _notice(issue_date_time=late, short_notice_indicator=True, emergency_indicator=True).emergency_indicator
    # another partner's system: recorded whatever notice it came with, flagged
    assert _notice(target_id="kra-icms", issue_date_time=late, short_notice_indicator=True).short_notice_indicator


def test_emergency_window_that_has_begun_is_short_notice() -> None:
    begun = _notice(
        issue_date_time=datetime(2026, 3, 14, 22, 10, tzinfo=EAT), short_notice_indicator=True, emergency_indicator=True
    )
    assert begun.notice_given < timedelta(0)


def test_reminders_and_cancellations_repeat_the_first_notice_flag() -> None:
    for kind in (NoticeTypeCode.REMINDER, NoticeTypeCode.CANCELLED):
        late = datetime(2026, 3, 14, 12, 0, tzinfo=EAT)
        assert not _notice(type_code=kind, issue_date_time=late).short_notice_indicator


def test_window_must_end_after_it_starts() -> None:
    with pytest.raises(ValidationError, match="EndDateTime must be after StartDateTime"):
        _notice(end_date_time=datetime(2026, 3, 14, 22, 0, tzinfo=EAT))


def test_notice_of_a_planned_window_is_the_example(catalogue: Catalogue) -> None:
    example = _example(catalogue, "maintenance.notice/valid/kra-icms-feb-2026-short-notice.xml")
    assert isinstance(example, MaintenanceNotice)
    window = plan_window(
        "kra-icms",
        parse_eat("2026-02-07 18:00"),
        parse_eat("2026-02-09 06:00"),
        now=parse_eat("2026-02-06 17:30"),
        known_targets={"kra-icms"},
        reason=example.reason,
    )
    notice = MaintenanceNotice.from_window(window)
    assert notice == example
    assert catalogue.encode(notice, codec.XML_CT) == catalogue.encode(example, codec.XML_CT)
    assert b"2026-02-07T18:00:00+03:00" in catalogue.encode(notice, codec.JSON_CT)
    reminder = MaintenanceNotice.from_window(window, NoticeTypeCode.REMINDER, parse_eat("2026-02-07 12:00"))
    assert reminder.short_notice_indicator and reminder.issue_date_time == datetime(2026, 2, 7, 12, tzinfo=EAT)


@settings(max_examples=200, deadline=None)
@given(
    target=st.sampled_from(["hub", "kra-icms"]),
    lead=st.timedeltas(min_value=timedelta(hours=-2), max_value=timedelta(days=10)),
    length=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=3)),
    emergency=st.booleans(),
)
def test_every_window_the_rules_accept_makes_a_valid_notice(
    target: str, lead: timedelta, length: timedelta, emergency: bool
) -> None:
    now = datetime(2026, 2, 6, 14, 30, 0, 123456, tzinfo=UTC)
    try:
        window = plan_window(
            target, now + lead, now + lead + length, now=now, known_targets={"kra-icms"}, emergency=emergency
        )
    except WindowRefused:
        return
    notice = MaintenanceNotice.from_window(window)
    assert notice.short_notice_indicator is window.short_notice
    _round_trip(Catalogue(), notice)
    for kind in (NoticeTypeCode.REMINDER, NoticeTypeCode.CANCELLED):
        MaintenanceNotice.from_window(window, kind, now + timedelta(hours=1))


@pytest.mark.parametrize(("text", "value"), [("true", True), ("false", False), ("1", True), ("0", False)])
def test_xml_boolean_forms_are_read(catalogue: Catalogue, text: str, value: bool) -> None:
    xml = (EXAMPLES / "maintenance.notice/valid/hub-scheduled-march-2026.xml").read_text()
    body = catalogue.decode(
        xml.replace("<EmergencyIndicator>false<", f"<EmergencyIndicator>{text}<").encode(),
        codec.XML_CT,
        "maintenance.notice",
    )
    assert isinstance(body, MaintenanceNotice) and body.emergency_indicator is value
    assert f"<EmergencyIndicator>{str(value).lower()}</EmergencyIndicator>".encode() in catalogue.encode(
        body, codec.XML_CT
    )


@pytest.mark.parametrize("bad", [1, 0, "yes", "True", None, [], {}])
def test_json_booleans_are_strict(catalogue: Catalogue, bad: object) -> None:
    doc = json.loads((EXAMPLES / "maintenance.notice/valid/hub-emergency-march-2026.json").read_text())
    doc["emergencyIndicator"] = bad
    with pytest.raises(MessageRejected) as info:
        catalogue.decode(json.dumps(doc).encode(), codec.JSON_CT, "maintenance.notice")
    assert [(d.code, d.path) for d in info.value.details] == [("JSON_SCHEMA", "/emergencyIndicator")]


# ---------------------------------------------------------------- ack and the hub.ack/1 document


def _real_error_details(catalogue: Catalogue) -> list[ErrorDetail]:
    """What the hub puts in rejections: the details of every invalid example in the repository."""
    found: list[ErrorDetail] = []
    for msg_type in (*TYPES, "manifest.sea", "customs.release", "permit.status"):
        for path in sorted((EXAMPLES / msg_type / "invalid").glob("*")):
            if path.suffix not in CONTENT_TYPES:
                continue
            try:
                _decode(catalogue, path)
            except MessageRejected as exc:
                found.extend(exc.details)
    return found


ENVELOPE_ERRORS = [
    ErrorDetail("PARTNER_SUSPENDED", "partner mfano-clearing is suspended"),
    ErrorDetail("MESSAGE_ID_INVALID", "message_id is required, at most 128 characters"),
    ErrorDetail("CONTRACT_VERSION", "header x-contract must be 1"),
    ErrorDetail("TYPE_MISMATCH", "property type 'manifest.sea' differs from routing key type 'manifest.air'"),
    ErrorDetail("TYPE_NOT_ALLOWED", "kebs is not registered to send manifest.sea"),
    ErrorDetail("DUPLICATE_ID_CONFLICT", "this message_id was already accepted with a different payload; use a new id"),
    ErrorDetail("UCR_MISMATCH", "header x-ucr differs from the UCR in the document", None),
    ErrorDetail("PAYLOAD_TOO_LARGE", "payload is 5242881 bytes; the limit is 5242880"),
    ErrorDetail("XML_MALFORMED", "not well-formed XML: Opening and ending tag mismatch: Ucr line 3 and Id", None, 3),
    ErrorDetail("JSON_DUPLICATE_KEY", "duplicate key 'ucr'"),
    ErrorDetail("INTERNAL_ERROR", "the hub could not process this message; a copy was kept for operators, "
                "please contact them"),
]  # fmt: skip
CORRELATION_IDS = [None, "", "MSC-JE608A-MANIFEST-0001", "x" * 128, "ü" * 255, "id with spaces\tand tab"]
TIMES = [
    datetime(2026, 2, 10, 6, 12, 44, 318211, tzinfo=UTC),
    datetime(2026, 2, 10, 9, 12, 44, tzinfo=EAT),
    datetime(2026, 2, 10, 6, 12, 44, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
]


def _assert_lossless(catalogue: Catalogue, doc_bytes: bytes) -> None:
    doc = json.loads(doc_bytes)
    ack = Acknowledgement.from_ack_document(doc)
    assert ack.to_ack_document() == doc
    assert json.dumps(ack.to_ack_document(), separators=(",", ":")).encode() == doc_bytes
    for content_type in (codec.XML_CT, codec.JSON_CT):  # and through the catalogue's own forms
        encoded = catalogue.encode(ack, content_type)
        if content_type == codec.XML_CT:
            _schema_valid(catalogue.spec("ack"), encoded)
        again = catalogue.decode(encoded, content_type, "ack")
        assert isinstance(again, Acknowledgement) and again.to_ack_document() == doc


@pytest.mark.parametrize("status", list(AckStatus))
def test_every_ack_document_converts_losslessly(catalogue: Catalogue, status: AckStatus) -> None:
    real = _real_error_details(catalogue)
    assert len(real) >= 30
    error_sets: list[list[ErrorDetail]] = [[], real[:1], real, ENVELOPE_ERRORS, [ErrorDetail("X1", "m", "", None)]]
    for correlation_id in CORRELATION_IDS:
        for errors in error_sets:
            for received_at in TIMES:
                for held_until in (None, received_at + timedelta(hours=6, microseconds=1)):
                    _assert_lossless(catalogue, ack_document(correlation_id, status, received_at, errors, held_until))


_XML_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff").filter(
        lambda c: c >= " " or c in "\t\n\r"
    ),
    max_size=80,
)
_CODES = st.text(alphabet=string.ascii_uppercase + string.digits + "_", min_size=1, max_size=63).map(lambda s: "E" + s)


@settings(max_examples=300, deadline=None)
@given(
    correlation_id=st.one_of(st.none(), _XML_TEXT),
    status=st.sampled_from(list(AckStatus)),
    errors=st.lists(
        st.builds(
            ErrorDetail,
            _CODES,
            _XML_TEXT.filter(bool),
            st.one_of(st.none(), _XML_TEXT),
            st.one_of(st.none(), st.integers(min_value=1, max_value=10**9)),
        ),
        max_size=4,
    ),
    received_at=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from([UTC, EAT, timezone(timedelta(hours=-9, minutes=-30))]),
    ),
    held_for=st.one_of(st.none(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))),
)
def test_generated_ack_documents_convert_losslessly(
    correlation_id: str | None,
    status: AckStatus,
    errors: list[ErrorDetail],
    received_at: datetime,
    held_for: timedelta | None,
) -> None:
    held_until = received_at + held_for if held_for is not None else None
    _assert_lossless(Catalogue(), ack_document(correlation_id, status, received_at, errors, held_until))


def test_ack_catalogue_forms_name_the_same_fields() -> None:
    doc = json.loads(ack_document("m-1", AckStatus.REJECTED, TIMES[0], ENVELOPE_ERRORS[:2],
                                  TIMES[0] + timedelta(hours=1)))  # fmt: skip
    catalogue_json = json.loads(codec.model_to_json(Acknowledgement.from_ack_document(doc)))
    assert catalogue_json.pop("messageType") == "ack"
    assert set(catalogue_json) == {"correlationId", "status", "error", "heldUntil", "receivedAt"}
    assert set(doc) - {"schema", "errors"} == {to_snake(k) for k in catalogue_json} - {"error"}


def test_ack_conversion_refuses_what_is_not_an_ack_document() -> None:
    doc = json.loads(ack_document("m-1", AckStatus.ACCEPTED, TIMES[0]))
    with pytest.raises(ValueError, match=r"not a hub\.ack/1 document"):
        Acknowledgement.from_ack_document({**doc, "schema": "hub.ack/2"})
    with pytest.raises(ValueError, match="errors must be a list"):
        Acknowledgement.from_ack_document({**doc, "errors": None})
    with pytest.raises(ValidationError):
        Acknowledgement.from_ack_document({**doc, "status": "ok"})
    with pytest.raises(ValidationError):
        Acknowledgement.from_ack_document({**doc, "extra": 1})
    assert doc["schema"] == ACK_SCHEMA


def test_ack_of_a_json_error_path_with_a_control_character_is_refused(catalogue: Catalogue) -> None:
    """Known limit: an unknown JSON key is quoted in the error path as it was sent; XML 1.0 cannot carry a
    control character, so such an ack has no catalogue form (the hub.ack/1 JSON document still has)."""
    text = (EXAMPLES / "permit.application/valid/pcpb-import-permit-insecticide.json").read_text()
    with pytest.raises(MessageRejected) as info:
        catalogue.decode(text.replace('"ucr"', '"\\u0007": 1, "ucr"').encode(), codec.JSON_CT, "permit.application")
    doc = json.loads(ack_document("m-1", AckStatus.REJECTED, TIMES[0], info.value.details))
    assert doc["errors"][0]["path"] == "/\x07"
    with pytest.raises(ValidationError):
        Acknowledgement.from_ack_document(doc)
