"""The catalogue's first types against their examples: decoding, rejection codes, XML/JSON agreement,
round trips through the generic codec, and the XSDs following the models (no broker needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import pytest
from lxml import etree
from pydantic import BaseModel

from hub import codec
from hub.catalogue import Catalogue, MessageSpec
from hub.errors import MessageRejected
from hub.identifiers import REFERENCE_PATTERN, XSD_DATETIME_PATTERN, iso6346_check_digit
from hub.schemas.base import Body, IdScheme, Measure, Party, PartyRole, Reference, RefKind
from hub.schemas.customs_release import CustomsRelease, ReleaseStatus
from hub.schemas.manifest_sea import SeaManifest
from hub.schemas.permit_status import PermitStatus, PermitStatusCode

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CONTENT_TYPES = {".xml": codec.XML_CT, ".json": codec.JSON_CT}
XS = "{http://www.w3.org/2001/XMLSchema}"
TYPES = ("manifest.sea", "customs.release", "permit.status")


def _files(kind: str) -> list[Path]:
    return sorted(p for p in EXAMPLES.glob(f"*/{kind}/*") if p.suffix in CONTENT_TYPES)


def _id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.name}"


VALID = _files("valid")
INVALID = _files("invalid")
# examples whose XML and JSON forms carry the same message: same name, both suffixes
PAIRS = sorted(p.with_suffix("") for p in VALID if p.suffix == ".xml" and p.with_suffix(".json").exists())


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue()


def _decode(catalogue: Catalogue, path: Path) -> Body:
    return catalogue.decode(path.read_bytes(), CONTENT_TYPES[path.suffix], path.parent.parent.name)


def test_catalogue_decodes_only_contract_types(catalogue: Catalogue) -> None:
    from hub.catalogue import CONTRACT_TYPES

    assert set(TYPES) <= set(catalogue.types()) <= set(CONTRACT_TYPES)
    for t in catalogue.types():
        spec = catalogue.spec(t)
        assert t == spec.model.TYPE
        assert catalogue.type_of_root(f"{{urn:ke:nesws:hub:{t}:1}}{spec.root}") == t


@pytest.mark.parametrize("msg_type", TYPES)
def test_each_type_has_enough_examples(msg_type: str) -> None:
    valid = [p for p in VALID if p.parent.parent.name == msg_type]
    invalid = [p for p in INVALID if p.parent.parent.name == msg_type]
    assert sum(p.suffix == ".xml" for p in valid) >= 2
    assert sum(p.suffix == ".json" for p in valid) >= 1
    assert len(invalid) >= 3
    assert any(stem.parent.parent.name == msg_type for stem in PAIRS)



PARTYLESS = {"ack", "maintenance.notice", "consignment.status.request", "consignment.status.response"}
REFERENCELESS = {"ack", "maintenance.notice"}

@pytest.mark.parametrize("path", VALID, ids=_id)
def test_valid_example_decodes(catalogue: Catalogue, path: Path) -> None:
    body = _decode(catalogue, path)
    spec = catalogue.spec(path.parent.parent.name)
    assert type(body) is spec.model
    keys = body.keys()
    # consignment messages name their parties and references (routing's `own` cells need them); the hub's
    # own documents and status requests name none by design
    if spec.name not in PARTYLESS:
        assert keys.parties, "every consignment message names at least one party"
    if spec.name not in REFERENCELESS:
        assert keys.references


@pytest.mark.parametrize("path", INVALID, ids=_id)
def test_invalid_example_is_rejected_with_its_code(catalogue: Catalogue, path: Path) -> None:
    code = path.name.split("-", 1)[0]
    with pytest.raises(MessageRejected) as info:
        _decode(catalogue, path)
    details = info.value.details
    assert info.value.code == code, [d.as_dict() for d in details]
    assert {d.code for d in details} == {code}, [d.as_dict() for d in details]
    for d in details:
        assert d.path and d.path.startswith("/"), d
        assert d.message
        if path.suffix == ".xml":
            assert isinstance(d.line, int) and d.line > 0, d


@pytest.mark.parametrize("stem", PAIRS, ids=lambda s: f"{s.parent.parent.name}/{s.name}")
def test_xml_and_json_forms_decode_to_equal_models(catalogue: Catalogue, stem: Path) -> None:
    from_xml = _decode(catalogue, stem.with_suffix(".xml"))
    from_json = _decode(catalogue, stem.with_suffix(".json"))
    assert from_xml == from_json
    assert from_xml.keys() == from_json.keys()


def _schema_valid(spec: MessageSpec, xml: bytes) -> None:
    root = etree.fromstring(xml)
    assert spec.schema.validate(root), [e.message for e in spec.schema.error_log]


# the generic checks below run over every example of every type (the per-group files add type-specific ones)
@pytest.mark.parametrize("path", VALID, ids=_id)
def test_encode_decode_round_trips_in_both_forms(catalogue: Catalogue, path: Path) -> None:
    body = _decode(catalogue, path)
    spec = catalogue.spec(body.TYPE)
    xml = catalogue.encode(body, codec.XML_CT)
    _schema_valid(spec, xml)
    assert catalogue.decode(xml, codec.XML_CT, body.TYPE) == body
    as_json = catalogue.encode(body, codec.JSON_CT)
    assert json.loads(as_json)["messageType"] == body.TYPE
    assert catalogue.decode(as_json, codec.JSON_CT, body.TYPE) == body
    # and the re-encoded forms are stable
    assert catalogue.encode(catalogue.decode(xml, codec.XML_CT, body.TYPE), codec.XML_CT) == xml
    assert catalogue.encode(catalogue.decode(as_json, codec.JSON_CT, body.TYPE), codec.JSON_CT) == as_json


def test_decimal_with_exponent_from_json_encodes_as_valid_xml(catalogue: Catalogue) -> None:
    src = json.loads((EXAMPLES / "manifest.sea/valid/msc-je608a-kemba.json").read_text())
    mass = src["consignment"][0]["goodsItem"][0]["grossMass"]
    text = json.dumps(src).replace(json.dumps(mass), '{"value": 2.48E4, "unitCode": "KGM"}')
    body = catalogue.decode(text.encode(), codec.JSON_CT, "manifest.sea")
    assert isinstance(body, SeaManifest)
    assert body.consignment[0].goods_item[0].gross_mass.value == Decimal(24800)
    xml = catalogue.encode(body, codec.XML_CT)
    _schema_valid(catalogue.spec("manifest.sea"), xml)
    assert b">24800<" in xml


# ---------------------------------------------------------------- the JSON form is held to what the XSD checks

MSC = EXAMPLES / "manifest.sea/valid/msc-je608a-kemba"
# (what is wrong, XML text -> replacement, JSON text -> replacement), each applied once to the MSC pair
PARITY = [
    ("name over 70", ("MSC SHANELLE V<", "M" * 71 + "<"), ('"MSC SHANELLE V"', '"' + "M" * 71 + '"')),
    ("7 fraction digits", (">25600.5<", ">25600.1234567<"), ("25600.5,", "25600.1234567,")),
    ("17 digits", (">25600.5<", ">12345678901234567<"), ("25600.5,", "12345678901234567,")),
    ("zero mass", (">25600.5<", ">0<"), ("25600.5,", "0,")),
    ("unit not a mass", ('unitCode="KGM"', 'unitCode="LBR"'), ('"KGM"', '"LBR"')),
    ("lower-case UN/LOCODE", (">KEMBA<", ">kemba<"), ('"KEMBA"', '"kemba"')),
    ("package type too long", (">PK<", ">PKG<"), ('"PK"', '"PKG"')),
    ("seal with a space", (">ML-CN4471823<", ">ML CN4471823<"), ('"ML-CN4471823"', '"ML CN4471823"')),
    ("sequence number 0", ("<SequenceNumber>1<", "<SequenceNumber>0<"), ('"sequenceNumber": 1', '"sequenceNumber": 0')),
    ("lower-case carrier code", ("<Id>MSCU</Id>", "<Id>mscu</Id>"), ('"id": "MSCU"', '"id": "mscu"')),
]


@pytest.mark.parametrize(("xml_edit", "json_edit"), [p[1:] for p in PARITY], ids=[p[0] for p in PARITY])
def test_both_forms_refuse_the_same_faults(
    catalogue: Catalogue, xml_edit: tuple[str, str], json_edit: tuple[str, str]
) -> None:
    for suffix, (old, new), code in ((".xml", xml_edit, "XML_SCHEMA"), (".json", json_edit, "JSON_SCHEMA")):
        text = MSC.with_suffix(suffix).read_text()
        assert old in text, (suffix, old)
        payload = text.replace(old, new, 1).encode()
        with pytest.raises(MessageRejected) as info:
            catalogue.decode(payload, CONTENT_TYPES[suffix], "manifest.sea")
        assert {d.code for d in info.value.details} == {code}, (suffix, info.value.details)


def test_json_text_that_xml_cannot_carry_is_refused(catalogue: Catalogue) -> None:
    text = MSC.with_suffix(".json").read_text().replace("Tata Steel Ltd", "Tata Steel\\u0007 Ltd")
    with pytest.raises(MessageRejected) as info:
        catalogue.decode(text.encode(), codec.JSON_CT, "manifest.sea")
    (detail,) = info.value.details
    assert (detail.code, detail.path) == ("JSON_SCHEMA", "/consignment/1/consignorName")


@pytest.mark.parametrize("msg_type", TYPES)
def test_xsd_date_time_patterns_are_the_models(catalogue: Catalogue, msg_type: str) -> None:
    xsd = _xsd(catalogue.spec(msg_type))
    pattern = _named(xsd, "simpleType", "DateTimeWithZone").find(f"{XS}restriction/{XS}pattern")
    assert pattern is not None and pattern.get("value") == XSD_DATETIME_PATTERN
    for name, regex in (("Reference35", REFERENCE_PATTERN), ("Code17", r"^[A-Z0-9]{2,17}$")):
        found = _named(xsd, "simpleType", name).find(f"{XS}restriction/{XS}pattern")
        assert found is not None and f"^{found.get('value')}$" == regex


# ---------------------------------------------------------------- where rejections point


def _line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(needle)


def test_identifier_error_in_xml_points_at_the_element(catalogue: Catalogue) -> None:
    path = EXAMPLES / "customs.release/invalid/CONTAINER_CHECK_DIGIT-second-container.xml"
    with pytest.raises(MessageRejected) as info:
        _decode(catalogue, path)
    (detail,) = info.value.details
    assert detail.path == "/CustomsRelease/TransportEquipmentId[2]"
    assert detail.line == _line_of(path, "MEDU7654352")
    assert f"should be {iso6346_check_digit('MEDU765435')}" in detail.message


def test_nested_identifier_error_in_xml_points_at_the_element(catalogue: Catalogue) -> None:
    path = EXAMPLES / "manifest.sea/invalid/CONTAINER_CHECK_DIGIT-flipped.xml"
    with pytest.raises(MessageRejected) as info:
        _decode(catalogue, path)
    (detail,) = info.value.details
    assert detail.path == "/SeaManifest/Consignment[1]/TransportEquipment[1]/Id"
    assert detail.line == _line_of(path, "MSCU1234565")


def test_schema_error_in_xml_has_path_and_line(catalogue: Catalogue) -> None:
    path = EXAMPLES / "customs.release/invalid/XML_SCHEMA-unknown-status.xml"
    with pytest.raises(MessageRejected) as info:
        _decode(catalogue, path)
    detail = info.value.details[0]
    assert detail.path == "/CustomsRelease/StatusCode"
    assert detail.line == _line_of(path, "<StatusCode>")


def test_json_error_path_names_the_keys(catalogue: Catalogue) -> None:
    path = EXAMPLES / "manifest.sea/invalid/KRA_PIN_FORMAT-short-consignee.json"
    with pytest.raises(MessageRejected) as info:
        _decode(catalogue, path)
    (detail,) = info.value.details
    assert detail.path == "/consignment/0/consignee/id"
    assert detail.line is None


@pytest.mark.parametrize("path", [p for p in INVALID if p.name.startswith("KRA_PIN_FORMAT")], ids=_id)
def test_kra_pin_errors_do_not_echo_the_value(catalogue: Catalogue, path: Path) -> None:
    valid_pins = {"P051234567A", "P051234568B"}
    with pytest.raises(MessageRejected) as info:
        _decode(catalogue, path)
    text = path.read_text()
    for detail in info.value.details:
        for token in text.replace("<", " ").replace(">", " ").replace('"', " ").split():
            if len(token) >= 8 and token[:1].isalpha() and token[1:4].isdigit() and token not in valid_pins:
                assert token not in detail.message


def test_approved_permit_needs_a_permit_number_in_both_forms(catalogue: Catalogue) -> None:
    for name in ("XML_SCHEMA-approved-without-permit-number.xml", "JSON_SCHEMA-approved-without-permit-number.json"):
        with pytest.raises(MessageRejected) as info:
            _decode(catalogue, EXAMPLES / "permit.status/invalid" / name)
        assert "PermitId" in info.value.details[0].message


# ---------------------------------------------------------------- keys for routing and correlation


def test_manifest_keys(catalogue: Catalogue) -> None:
    body = _decode(catalogue, EXAMPLES / "manifest.sea/valid/mfano-consol-house-607w.xml")
    keys = body.keys()
    assert keys.ucr is None
    assert keys.vessel_call == "9505314/607W"
    refs = set(keys.references)
    assert Reference(kind=RefKind.MASTER_BL, value="MAEU254876310") in refs
    assert Reference(kind=RefKind.HOUSE_BL, value="MFCKE2602001") in refs
    assert Reference(kind=RefKind.UCR, value="6KE0512345670A10") in refs
    # a container shared by two house bills is listed once
    assert [r.value for r in keys.references].count("MSKU9021144") == 1
    assert keys.parties == (
        Party(role=PartyRole.CARRIER, scheme=IdScheme.CARRIER, id="MAEU"),
        Party(role=PartyRole.CONSIGNEE, scheme=IdScheme.KRA_PIN, id="P051234568B"),
        Party(role=PartyRole.CFS, scheme=IdScheme.CFS, id="PWANICFS"),
        Party(role=PartyRole.CONSIGNEE, scheme=IdScheme.KRA_PIN, id="A012345678Z"),
    )


def test_manifest_transit_consignee_without_pin_is_not_a_party(catalogue: Catalogue) -> None:
    body = _decode(catalogue, EXAMPLES / "manifest.sea/valid/msc-je608a-kemba.xml")
    assert isinstance(body, SeaManifest)
    assert body.consignment[1].consignee.id is None
    keys = body.keys()
    assert keys.vessel_call == "9839430/JE608A"
    assert Reference(kind=RefKind.MASTER_BL, value="MEDUKE261377") in keys.references
    assert [p.id for p in keys.parties] == ["MSCU", "P051234568B", "PWANICFS"]


def test_release_keys(catalogue: Catalogue) -> None:
    body = _decode(catalogue, EXAMPLES / "customs.release/valid/released-26mbaim000412871.xml")
    assert isinstance(body, CustomsRelease)
    assert body.status_code is ReleaseStatus.RELEASED
    assert body.issue_date_time == datetime(2026, 2, 11, 7, 42, 17, tzinfo=UTC)
    keys = body.keys()
    assert keys.ucr == "26KEP0512345680000412"
    assert keys.vessel_call is None
    assert keys.references == (
        Reference(kind=RefKind.ENTRY, value="26MBAIM000412871"),
        Reference(kind=RefKind.CONTAINER, value="MSCU1234566"),
        Reference(kind=RefKind.CONTAINER, value="MEDU7654325"),
    )
    assert keys.parties == (
        Party(role=PartyRole.DECLARANT, scheme=IdScheme.KRA_PIN, id="P051234567A"),
        Party(role=PartyRole.CONSIGNEE, scheme=IdScheme.KRA_PIN, id="P051234568B"),
    )


def test_permit_keys(catalogue: Catalogue) -> None:
    body = _decode(catalogue, EXAMPLES / "permit.status/valid/kephis-approved-pip.xml")
    assert isinstance(body, PermitStatus)
    assert body.status_code is PermitStatusCode.APPROVED
    keys = body.keys()
    assert keys.ucr == "26KEP0512345680000440"
    assert keys.references == (
        Reference(kind=RefKind.PERMIT_APPLICATION, value="KEPHIS/APP/2026/018843"),
        Reference(kind=RefKind.PERMIT, value="KEPHIS/PIP/2026/004127"),
    )
    assert keys.parties == (
        Party(role=PartyRole.ISSUING_AGENCY, scheme=IdScheme.AGENCY, id="KEPHIS"),
        Party(role=PartyRole.DECLARANT, scheme=IdScheme.KRA_PIN, id="P051234568B"),
        Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id="P051234567A"),
    )


def test_models_are_frozen(catalogue: Catalogue) -> None:
    body = _decode(catalogue, EXAMPLES / "permit.status/valid/pcpb-submitted.json")
    with pytest.raises(Exception, match="frozen"):
        body.ucr = "26KEP0512345680000999"  # type: ignore[misc]
    hash(body)


# ---------------------------------------------------------------- the XSDs follow the models


def _xsd(spec: MessageSpec) -> etree._Element:
    return etree.parse(str(spec.xsd_path)).getroot()


def _named(xsd: etree._Element, kind: str, name: str) -> etree._Element:
    found = xsd.find(f"{XS}{kind}[@name='{name}']")
    assert found is not None, f"{kind} {name} missing"
    return found


def _enum_values(xsd: etree._Element, type_name: str) -> set[str]:
    simple = _named(xsd, "simpleType", type_name)
    return {e.get("value", "") for e in simple.iter(f"{XS}enumeration")}


def _check_type(xsd: etree._Element, type_name: str, model: type[BaseModel], where: str) -> None:
    complex_type = _named(xsd, "complexType", type_name)
    elements = complex_type.findall(f"{XS}sequence/{XS}element")
    fields = list(model.model_fields.items())
    expected = [codec._pascal(f.alias or n) for n, f in fields]
    assert [e.get("name") for e in elements] == expected, where
    for el, (_name, field) in zip(elements, fields, strict=True):
        at = f"{where}/{el.get('name')}"
        is_list, nested = codec._field_shape(field.annotation)
        assert (el.get("minOccurs") == "0") == (not field.is_required()), at
        assert (el.get("maxOccurs") == "unbounded") == is_list, at
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


def test_error_lists_are_capped_before_they_are_located(catalogue: Catalogue) -> None:
    """Thousands of bad items yield at most 20 located errors (locating each one walks the tree)."""
    import json as _json

    src = EXAMPLES / "manifest.sea" / "valid" / "msc-je608a-kemba.json"
    doc = _json.loads(src.read_bytes())
    line = doc["consignment"][0]
    line["transportEquipment"] = [dict(line["transportEquipment"][0], id="MSCU1234560")] * 2000  # bad check digit
    with pytest.raises(MessageRejected) as info:
        catalogue.decode(_json.dumps(doc).encode(), "application/json", "manifest.sea")
    details = info.value.details
    assert details and len(details) <= 20
