"""The transport and logistics types (manifest.air, arrival.iar, delivery.order, gate.event, eseal.event)
against their examples: decoding, rejection codes, XML/JSON agreement, round trips through the generic
codec valid against the XSD, the XSDs following the models, model rules in both forms, and the keys
routing and correlation rely on (no broker needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import pytest
import yaml
from lxml import etree
from pydantic import BaseModel
from pydantic_core import PydanticCustomError

from hub import codec
from hub.catalogue import Catalogue, MessageSpec
from hub.errors import MessageRejected
from hub.identifiers import (
    REFERENCE_PATTERN,
    XSD_DATETIME_PATTERN,
    awb_check_digit,
    check_kra_pin,
    imo_check_digit,
)
from hub.schemas.arrival_iar import ImpendingArrivalReport
from hub.schemas.base import Body, IdScheme, Measure, Party, PartyRole, Reference, RefKind
from hub.schemas.delivery_order import DeliveryOrder
from hub.schemas.eseal_event import ESealEvent, ESealEventCode
from hub.schemas.gate_event import FullEmptyIndicator, GateEvent, GateEventCode
from hub.schemas.manifest_air import AirManifest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CONTENT_TYPES = {".xml": codec.XML_CT, ".json": codec.JSON_CT}
XS = "{http://www.w3.org/2001/XMLSchema}"
TYPES = ("manifest.air", "arrival.iar", "delivery.order", "gate.event", "eseal.event")
ROOTS = {
    "manifest.air": AirManifest,
    "arrival.iar": ImpendingArrivalReport,
    "delivery.order": DeliveryOrder,
    "gate.event": GateEvent,
    "eseal.event": ESealEvent,
}


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


def _ex(name: str) -> Path:
    return EXAMPLES / name


# ---------------------------------------------------------------- the catalogue and the examples


@pytest.mark.parametrize("msg_type", TYPES)
def test_type_is_discovered(catalogue: Catalogue, msg_type: str) -> None:
    assert msg_type in catalogue.types()
    spec = catalogue.spec(msg_type)
    assert spec.model is ROOTS[msg_type]
    assert catalogue.type_of_root(f"{{urn:ke:nesws:hub:{msg_type}:1}}{spec.root}") == msg_type
    assert spec.xsd_path.name == f"{msg_type}.xsd"


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
    assert type(body) is ROOTS[path.parent.parent.name]
    keys = body.keys()
    assert keys.parties, "every message names at least one party"
    assert keys.references
    assert len(set(keys.parties)) == len(keys.parties)
    assert len(set(keys.references)) == len(keys.references)


def _schema_valid(spec: MessageSpec, xml: bytes) -> None:
    root = etree.fromstring(xml)
    assert spec.schema.validate(root), [e.message for e in spec.schema.error_log]


# ---------------------------------------------------------------- both forms refuse the same faults

# (example stem, what is wrong, XML text -> replacement, JSON text -> replacement): each edit applied once.
PARITY = [
    ("manifest.air/valid/kq117-ams-nbo-70651234562", "flight number lower-case",
     (">KQ117<", ">kq117<"), ('"KQ117"', '"kq117"')),
    ("manifest.air/valid/kq117-ams-nbo-70651234562", "airline prefix of 2 digits",
     ("<Id>706</Id>", "<Id>70</Id>"), ('"id": "706"', '"id": "70"')),
    ("manifest.air/valid/kq117-ams-nbo-70651234562", "zero mass",
     (">145.5<", ">0<"), ("145.5", "0")),
    ("manifest.air/valid/kq117-ams-nbo-70651234562", "airport not a UN/LOCODE",
     (">NLAMS<", ">AMS<"), ('"NLAMS"', '"AMS"')),
    ("arrival.iar/valid/msc-shanelle-v-je608a-kemba", "call sign too long",
     (">D5VB4<", ">D5VB4XYZ<"), ('"D5VB4"', '"D5VB4XYZ"')),
    ("arrival.iar/valid/msc-shanelle-v-je608a-kemba", "issue date without zone",
     (">2026-02-06T09:15:00+03:00<", ">2026-02-06T09:15:00<"),
     ('"2026-02-06T09:15:00+03:00"', '"2026-02-06T09:15:00"')),
    ("arrival.iar/valid/msc-shanelle-v-je608a-kemba", "voyage over 17",
     (">JE608A<", ">JE608AJE608AJE608A<"), ('"JE608A"', '"JE608AJE608AJE608A"')),
    ("delivery.order/valid/msc-do-meduke261345-pwani", "expires before issue",
     (">2026-02-24<", ">2026-02-09<"), ('"2026-02-24"', '"2026-02-09"')),
    ("delivery.order/valid/msc-do-meduke261345-pwani", "lower-case CFS code",
     ("<Id>PWANICFS</Id>", "<Id>pwanicfs</Id>"), ('"id": "PWANICFS"', '"id": "pwanicfs"')),
    ("delivery.order/valid/msc-do-meduke261345-pwani", "order number with a space",
     (">MSC/DO/MBA/2026/004812<", ">MSC DO 004812<"), ('"MSC/DO/MBA/2026/004812"', '"MSC DO 004812"')),
    ("gate.event/valid/pwani-gate-out-full-mscu1234566", "full container without UCR",
     ("<Ucr>26KEP0512345680000412</Ucr>", ""), ('"ucr": "26KEP0512345680000412",', "")),
    ("gate.event/valid/pwani-gate-out-full-mscu1234566", "unknown full/empty indicator",
     (">FULL<", ">LADEN<"), ('"FULL"', '"LADEN"')),
    ("gate.event/valid/pwani-gate-out-full-mscu1234566", "location type lower-case",
     (">CFS<", ">cfs<"), ('"CFS"', '"cfs"')),
    ("eseal.event/valid/rects-position-msmu5301127-mariakani", "eight decimal places",
     (">39.4731<", ">39.47310001<"), ("39.4731", "39.47310001")),
    ("eseal.event/valid/rects-position-msmu5301127-mariakani", "latitude over 90",
     (">-3.8628<", ">93.8628<"), ("-3.8628", "93.8628")),
    ("eseal.event/valid/rects-position-msmu5301127-mariakani", "longitude just over 180",
     (">39.4731<", ">180.0000001<"), ("39.4731", "180.0000001")),
    ("eseal.event/valid/rects-position-msmu5301127-mariakani", "lower-case event code",
     (">POSITION<", ">position<"), ('"POSITION"', '"position"')),
]  # fmt: skip


@pytest.mark.parametrize(
    ("stem", "xml_edit", "json_edit"), [(p[0], *p[2:]) for p in PARITY], ids=[p[1] for p in PARITY]
)
def test_both_forms_refuse_the_same_faults(
    catalogue: Catalogue, stem: str, xml_edit: tuple[str, str], json_edit: tuple[str, str]
) -> None:
    msg_type = stem.split("/", 1)[0]
    for suffix, (old, new), code in ((".xml", xml_edit, "XML_SCHEMA"), (".json", json_edit, "JSON_SCHEMA")):
        text = _ex(stem).with_suffix(suffix).read_text()
        assert old in text, (suffix, old)
        payload = text.replace(old, new, 1).encode()
        with pytest.raises(MessageRejected) as info:
            catalogue.decode(payload, CONTENT_TYPES[suffix], msg_type)
        assert {d.code for d in info.value.details} == {code}, (suffix, info.value.details)


@pytest.mark.parametrize("event", ["POSITION", "DEVIATION"])
def test_positioned_eseal_events_need_a_position_in_both_forms(catalogue: Catalogue, event: str) -> None:
    stem = _ex("eseal.event/valid/rects-position-msmu5301127-mariakani")
    xml = stem.with_suffix(".xml").read_text().replace(">POSITION<", f">{event}<")
    start, end = xml.index("  <Position>"), xml.index("</Position>\n") + len("</Position>\n")
    data = json.loads(stem.with_suffix(".json").read_text())
    data["eventCode"] = event
    del data["position"]
    for payload, ct, code in (
        ((xml[:start] + xml[end:]).encode(), codec.XML_CT, "XML_SCHEMA"),
        (json.dumps(data).encode(), codec.JSON_CT, "JSON_SCHEMA"),
    ):
        with pytest.raises(MessageRejected) as info:
            catalogue.decode(payload, ct, "eseal.event")
        (detail,) = info.value.details
        assert detail.code == code
        assert event in detail.message and "Position" in detail.message


@pytest.mark.parametrize("event", ["ARMED", "TAMPER", "LOW_BATTERY", "ARRIVED", "DISARMED"])
def test_other_eseal_events_may_omit_the_position(catalogue: Catalogue, event: str) -> None:
    data = json.loads(_ex("eseal.event/valid/rects-position-msmu5301127-mariakani.json").read_text())
    data["eventCode"] = event
    del data["position"]
    body = catalogue.decode(json.dumps(data).encode(), codec.JSON_CT, "eseal.event")
    assert isinstance(body, ESealEvent)
    assert body.event_code is ESealEventCode(event)
    assert body.position is None


def test_eseal_vendor_agency_code_is_checked_as_a_code(catalogue: Catalogue) -> None:
    path = _ex("eseal.event/valid/rects-armed-msmu5301127-mct.xml")
    text = path.read_text().replace("<Id>KRA</Id>", "<Id>kra</Id>")
    with pytest.raises(MessageRejected) as info:
        catalogue.decode(text.encode(), codec.XML_CT, "eseal.event")
    (detail,) = info.value.details
    assert (detail.code, detail.path) == ("XML_SCHEMA", "/ESealEvent/Vendor/Id")
    payload = path.read_bytes().replace(b"<Id>KRA</Id>", b"<Id>RECTS2</Id>")
    body = catalogue.decode(payload, codec.XML_CT, "eseal.event")
    assert isinstance(body, ESealEvent)
    assert body.keys().parties == (Party(role=PartyRole.ESEAL_VENDOR, scheme=IdScheme.AGENCY, id="RECTS2"),)


def test_empty_container_needs_no_ucr_but_full_one_does(catalogue: Catalogue) -> None:
    path = _ex("gate.event/valid/mct-gate-in-empty-maeu6148029.xml")
    body = _decode(catalogue, path)
    assert isinstance(body, GateEvent)
    assert body.full_empty_indicator is FullEmptyIndicator.EMPTY and body.ucr is None
    full = path.read_text().replace(">EMPTY<", ">FULL<")
    with pytest.raises(MessageRejected) as info:
        catalogue.decode(full.encode(), codec.XML_CT, "gate.event")
    (detail,) = info.value.details
    assert detail.code == "XML_SCHEMA" and "UCR" in detail.message
    assert detail.path == "/GateEvent"


def test_delivery_order_may_expire_on_its_issue_day(catalogue: Catalogue) -> None:
    body = _decode(catalogue, _ex("delivery.order/valid/maersk-do-maeu254880172-mct.xml"))
    assert isinstance(body, DeliveryOrder)
    assert body.expiration_date == body.issue_date_time.date()


# ---------------------------------------------------------------- where rejections point


def _line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(needle)


def test_awb_check_digit_error_points_at_the_master_and_gives_the_digit(catalogue: Catalogue) -> None:
    path = _ex("manifest.air/invalid/AWB_CHECK_DIGIT-master.xml")
    with pytest.raises(MessageRejected) as info:
        _decode(catalogue, path)
    (detail,) = info.value.details
    assert detail.path == "/AirManifest/MasterConsignment/TransportDocumentId"
    assert detail.line == _line_of(path, "70651234563")
    assert f"should be {awb_check_digit('5123456')}" in detail.message


def test_imo_check_digit_error_points_at_the_vessel(catalogue: Catalogue) -> None:
    path = _ex("arrival.iar/invalid/IMO_CHECK_DIGIT-vessel.xml")
    with pytest.raises(MessageRejected) as info:
        _decode(catalogue, path)
    (detail,) = info.value.details
    assert detail.path == "/ImpendingArrivalReport/VesselImoNumber"
    assert detail.line == _line_of(path, "9839431")
    assert f"should be {imo_check_digit('983943')}" in detail.message


def test_nested_identifier_error_in_json_names_the_keys(catalogue: Catalogue) -> None:
    with pytest.raises(MessageRejected) as info:
        _decode(catalogue, _ex("manifest.air/invalid/UCR_FORMAT-house-lowercase.json"))
    (detail,) = info.value.details
    assert detail.path == "/masterConsignment/houseConsignment/0/ucr"
    assert detail.line is None


def test_vendor_kra_pin_error_points_at_the_vendor_id(catalogue: Catalogue) -> None:
    path = _ex("eseal.event/invalid/KRA_PIN_FORMAT-vendor.xml")
    with pytest.raises(MessageRejected) as info:
        _decode(catalogue, path)
    (detail,) = info.value.details
    assert detail.path == "/ESealEvent/Vendor/Id"
    assert detail.line == _line_of(path, "P0512345737")


@pytest.mark.parametrize("path", [p for p in INVALID if p.name.startswith("KRA_PIN_FORMAT")], ids=_id)
def test_kra_pin_errors_do_not_echo_the_value(catalogue: Catalogue, path: Path) -> None:
    with pytest.raises(MessageRejected) as info:
        _decode(catalogue, path)
    tokens = path.read_text().replace("<", " ").replace(">", " ").replace('"', " ").split()
    bad_pins = [t for t in tokens if 8 <= len(t) <= 13 and t.isalnum() and t[:1].isalpha() and _pinlike(t)]
    assert bad_pins
    for detail in info.value.details:
        for token in bad_pins:
            assert token not in detail.message


def _pinlike(value: str) -> bool:
    """Looks like an attempt at a KRA PIN (mostly digits) but is not a valid one."""
    if sum(c.isdigit() for c in value) < 6:
        return False
    try:
        check_kra_pin(value)
    except PydanticCustomError:
        return True
    return False


# ---------------------------------------------------------------- keys for routing and correlation


def test_air_manifest_keys(catalogue: Catalogue) -> None:
    body = _decode(catalogue, _ex("manifest.air/valid/kq117-ams-nbo-70651234562.xml"))
    assert isinstance(body, AirManifest)
    assert body.master_consignment.gross_mass == Measure(value=Decimal("1250.5"), unit_code="KGM")
    keys = body.keys()
    assert keys.ucr is None and keys.vessel_call is None
    assert keys.references == (
        Reference(kind=RefKind.MASTER_AWB, value="70651234562"),
        Reference(kind=RefKind.HOUSE_AWB, value="MFA2602AMS0117"),
        Reference(kind=RefKind.UCR, value="26KEP0512345680000451"),
        Reference(kind=RefKind.HOUSE_AWB, value="MFA2602AMS0118"),
    )
    assert keys.parties == (
        Party(role=PartyRole.CARRIER, scheme=IdScheme.IATA, id="706"),
        Party(role=PartyRole.GROUND_HANDLER, scheme=IdScheme.KRA_PIN, id="P051234572F"),
        Party(role=PartyRole.CONSIGNEE, scheme=IdScheme.KRA_PIN, id="P051234568B"),
        Party(role=PartyRole.CFS, scheme=IdScheme.CFS, id="PWANICFS"),
    )


def test_direct_air_shipment_has_only_the_master(catalogue: Catalogue) -> None:
    body = _decode(catalogue, _ex("manifest.air/valid/kq887-can-nbo-direct-70633441015.xml"))
    assert isinstance(body, AirManifest)
    assert body.master_consignment.house_consignment == ()
    keys = body.keys()
    assert keys.references == (Reference(kind=RefKind.MASTER_AWB, value="70633441015"),)
    assert [p.role for p in keys.parties] == [PartyRole.CARRIER, PartyRole.GROUND_HANDLER]


def test_iar_keys_and_notice(catalogue: Catalogue) -> None:
    body = _decode(catalogue, _ex("arrival.iar/valid/msc-shanelle-v-je608a-kemba.xml"))
    assert isinstance(body, ImpendingArrivalReport)
    assert body.estimated_arrival_date_time == datetime(2026, 2, 9, 3, 0, tzinfo=UTC)
    assert not body.late
    keys = body.keys()
    assert keys.ucr is None
    assert keys.vessel_call == "9839430/JE608A"
    assert keys.references == (Reference(kind=RefKind.VESSEL_CALL, value="9839430/JE608A"),)
    assert keys.parties == (
        Party(role=PartyRole.CARRIER, scheme=IdScheme.CARRIER, id="MSCU"),
        Party(role=PartyRole.SHIPPING_AGENT, scheme=IdScheme.KRA_PIN, id="P051100001M"),
    )
    late = _decode(catalogue, _ex("arrival.iar/valid/maersk-cape-town-607w-late.xml"))
    assert isinstance(late, ImpendingArrivalReport) and late.late
    assert late.cargo_summary is not None
    assert late.cargo_summary.bulk_gross_mass == Measure(value=Decimal("53.72"), unit_code="TNE")


def test_iar_bulk_mass_is_held_to_the_mass_rules(catalogue: Catalogue) -> None:
    text = _ex("arrival.iar/valid/mv-mfano-star-bulk-lamu.json").read_text().replace('"TNE"', '"LBR"')
    with pytest.raises(MessageRejected) as info:
        catalogue.decode(text.encode(), codec.JSON_CT, "arrival.iar")
    (detail,) = info.value.details
    assert (detail.code, detail.path) == ("JSON_SCHEMA", "/cargoSummary/bulkGrossMass")


def test_delivery_order_keys(catalogue: Catalogue) -> None:
    body = _decode(catalogue, _ex("delivery.order/valid/msc-do-meduke261345-pwani.xml"))
    keys = body.keys()
    assert keys.ucr == "26KEP0512345680000412"
    assert keys.references == (
        Reference(kind=RefKind.DELIVERY_ORDER, value="MSC/DO/MBA/2026/004812"),
        Reference(kind=RefKind.MASTER_BL, value="MEDUKE261345"),
        Reference(kind=RefKind.CONTAINER, value="MSCU1234566"),
        Reference(kind=RefKind.CONTAINER, value="MEDU7654325"),
    )
    assert keys.parties == (
        Party(role=PartyRole.CONSIGNEE, scheme=IdScheme.KRA_PIN, id="P051234568B"),
        Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id="P051234567A"),
        Party(role=PartyRole.CFS, scheme=IdScheme.CFS, id="PWANICFS"),
        Party(role=PartyRole.CARRIER, scheme=IdScheme.CARRIER, id="MSCU"),
    )


def test_house_delivery_order_names_both_bills_and_a_terminal_one_its_terminal(catalogue: Catalogue) -> None:
    house = _decode(catalogue, _ex("delivery.order/valid/mfano-consol-do-mfcke2602001-house.json")).keys()
    assert Reference(kind=RefKind.MASTER_BL, value="MAEU254876310") in house.references
    assert Reference(kind=RefKind.HOUSE_BL, value="MFCKE2602001") in house.references
    terminal = _decode(catalogue, _ex("delivery.order/valid/maersk-do-maeu254880172-mct.xml")).keys()
    assert Party(role=PartyRole.TERMINAL_OPERATOR, scheme=IdScheme.TERMINAL, id="MCT") in terminal.parties


def test_gate_event_keys(catalogue: Catalogue) -> None:
    body = _decode(catalogue, _ex("gate.event/valid/pwani-gate-out-full-mscu1234566.xml"))
    assert isinstance(body, GateEvent)
    assert body.event_code is GateEventCode.GATE_OUT
    keys = body.keys()
    assert keys.ucr == "26KEP0512345680000412"
    assert keys.references == (
        Reference(kind=RefKind.CONTAINER, value="MSCU1234566"),
        Reference(kind=RefKind.ENTRY, value="26MBAIM000412871"),
    )
    assert keys.parties == (
        Party(role=PartyRole.CFS, scheme=IdScheme.CFS, id="PWANICFS"),
        Party(role=PartyRole.CONSIGNEE, scheme=IdScheme.KRA_PIN, id="P051234568B"),
        Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id="P051234567A"),
    )


def test_eseal_event_keys(catalogue: Catalogue) -> None:
    body = _decode(catalogue, _ex("eseal.event/valid/rects-position-msmu5301127-mariakani.xml"))
    assert isinstance(body, ESealEvent)
    assert body.position is not None
    assert (body.position.latitude, body.position.longitude) == (Decimal("-3.8628"), Decimal("39.4731"))
    keys = body.keys()
    assert keys.ucr == "26KEP0512345670000415"
    assert keys.references == (
        Reference(kind=RefKind.ESEAL, value="MES-0049127"),
        Reference(kind=RefKind.CONTAINER, value="MSMU5301127"),
        Reference(kind=RefKind.ENTRY, value="26MBATR000413002"),
    )
    assert keys.parties == (Party(role=PartyRole.ESEAL_VENDOR, scheme=IdScheme.KRA_PIN, id="P051234573G"),)


# The registry partners each example names (config/partners.yaml); more may be added there later.
NAMED_PARTNERS = {
    "manifest.air/valid/kq117-ams-nbo-70651234562.xml": {"mfano-imports", "pwani-cfs"},
    "arrival.iar/valid/msc-shanelle-v-je608a-kemba.xml": {"msc-ke"},
    "arrival.iar/valid/maersk-cape-town-607w-late.xml": {"maersk-ke"},
    "delivery.order/valid/msc-do-meduke261345-pwani.xml": {"mfano-imports", "mfano-clearing", "pwani-cfs", "msc-ke"},
    "delivery.order/valid/maersk-do-maeu254880172-mct.xml": {"mfano-imports", "mfano-clearing", "kpa", "maersk-ke"},
    "gate.event/valid/pwani-gate-out-full-mscu1234566.xml": {"pwani-cfs", "mfano-imports", "mfano-clearing"},
    "gate.event/valid/mct-gate-in-empty-maeu6148029.xml": {"kpa"},
}


@pytest.mark.parametrize(("name", "partners"), sorted(NAMED_PARTNERS.items()))
def test_parties_map_to_registered_partners(catalogue: Catalogue, name: str, partners: set[str]) -> None:
    """Read the registry's identifiers straight from the YAML (as ``RoutingTable`` indexes them), so that
    this test checks the examples against the registry, not the config loader."""
    registry = yaml.safe_load((ROOT / "config" / "partners.yaml").read_text())["partners"]
    by_identifier = {
        (scheme, value): p["id"] for p in registry for scheme, values in p["identifiers"].items() for value in values
    }
    named = {
        by_identifier.get((party.scheme.value, party.id)) for party in _decode(catalogue, _ex(name)).keys().parties
    }
    assert partners <= named


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
def test_xsd_shared_forms_are_the_models(catalogue: Catalogue, msg_type: str) -> None:
    xsd = _xsd(catalogue.spec(msg_type))
    pattern = _named(xsd, "simpleType", "DateTimeWithZone").find(f"{XS}restriction/{XS}pattern")
    assert pattern is not None and pattern.get("value") == XSD_DATETIME_PATTERN
    for name, regex in (("Reference35", REFERENCE_PATTERN), ("Code17", r"^[A-Z0-9]{2,17}$")):
        found = _named(xsd, "simpleType", name).find(f"{XS}restriction/{XS}pattern")
        assert found is not None and f"^{found.get('value')}$" == regex


def test_xsd_coordinate_bounds_are_the_models(catalogue: Catalogue) -> None:
    from hub.schemas.eseal_event import GeoCoordinate

    xsd = _xsd(catalogue.spec("eseal.event"))
    for name in ("Latitude", "Longitude"):
        facets = {
            etree.QName(f).localname: f.get("value") for f in _named(xsd, "simpleType", name).find(f"{XS}restriction")
        }
        meta = {type(m).__name__: m for m in GeoCoordinate.model_fields[name.lower()].metadata}
        assert Decimal(facets["minInclusive"]) == meta["Ge"].ge
        assert Decimal(facets["maxInclusive"]) == meta["Le"].le
        assert int(facets["fractionDigits"]) == 7
