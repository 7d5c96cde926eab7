"""UN/EDIFACT: the syntax and envelope checks, the public samples, CUSCAR/BAPLIE/CUSRES mapping, CONTRL and
APERAK, the bayplan type, and (with the broker) a CUSCAR, a bad CUSCAR and a CUSRES through the real hub."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import codec, edifact
from hub import topology as t
from hub.catalogue import Catalogue, Limits
from hub.config import load_config
from hub.edifact import syntax
from hub.edifact.acks import read_ack
from hub.edifact.messages import RELEASE_CODES, encode_cusres
from hub.errors import ErrorDetail, MessageRejected
from hub.identifiers import XSD_DATETIME_PATTERN
from hub.schemas.base import IdScheme, Party, PartyRole, Reference, RefKind
from hub.schemas.bayplan import Bayplan
from hub.schemas.customs_release import CustomsRelease, ReleaseStatus
from hub.schemas.manifest_sea import SeaManifest
from hub.testing import HubUnderTest, collect
from tests.test_catalogue import XS, _check_type, _named, _xsd

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SAMPLES = ROOT.parent / "shared" / "samples" / "edifact"
FIXTURES = EXAMPLES / "edifact"
LIMITS = Limits()


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue()


def rejected(data: bytes, msg_type: str = "manifest.sea", limits: Limits = LIMITS) -> list[ErrorDetail]:
    with pytest.raises(MessageRejected) as info:
        edifact.decode(data, msg_type, limits)
    return info.value.details


def codes(details: list[ErrorDetail]) -> set[str]:
    return {d.code for d in details}


def sample(name: str) -> bytes:
    path = SAMPLES / name
    if not path.exists():
        if os.environ.get("CI") == "true":  # CI checks out shared/ beside the repository
            pytest.fail(f"shared/ samples missing in CI: {SAMPLES}")
        pytest.skip(f"public samples not found at {SAMPLES}")
    return path.read_bytes()


CUSCAR = (EXAMPLES / "manifest.sea/valid/msc-je608a-kemba.edi").read_bytes()


# ---------------------------------------------------------------- the public samples (shared/samples/edifact)


def test_sample_iftsta_has_a_wrong_unz_reference() -> None:
    """d00b_iftsta.edi: its UNT count (31) is right, but UNZ closes reference 2805570 where UNB opened
    2803570, so the envelope is refused before the message type is looked at."""
    data = sample("d00b_iftsta.edi")
    (detail,) = rejected(data)
    assert (detail.code, detail.path, detail.line) == ("EDIFACT_REFERENCE_MISMATCH", "segment 33 (UNZ)/0020", 33)
    # with the reference mended the interchange is well formed; IFTSTA is not a message the hub reads
    mended = data.replace(b"UNZ+1+2805570'", b"UNZ+1+2803570'")
    assert [m.type for m in syntax.parse(mended).messages] == ["IFTSTA"]
    assert codes(rejected(mended)) == {"EDIFACT_UNSUPPORTED"}


def test_sample_baplie_is_well_formed_but_carries_placeholders() -> None:
    """d04b_baplie.edi: envelopes and counts are right (UNT 19, UNZ 1), all on one line; but its values are
    placeholders: IMONUMBER is no IMO number (IMO_FORMAT), CONTAINER no container number (CONTAINER_FORMAT),
    DEPARTPLACE and PORTOFDISCHARGE no UN/LOCODEs, and it names no carrier (TDT C040), no port of loading
    (LOC 9) and no ISO size-type code (EQD C224 8155 is empty; 2210 is in the description 8154)."""
    data = sample("d04b_baplie.edi")
    interchange = syntax.parse(data)
    assert [(m.type, m.version, len(m.segments) + 2) for m in interchange.messages] == [("BAPLIE", "D:04B", 19)]
    details = rejected(data, "bayplan")
    by_path = {d.path: d.code for d in details}
    assert by_path["UNH+1/TDT[1]/C222/8213"] == "IMO_FORMAT"
    assert by_path["UNH+1/EQD[1]/C237/8260"] == "CONTAINER_FORMAT"
    assert by_path["UNH+1/LOC[1]/C517/3225"] == "EDIFACT_CONTENT"  # LOC 5 DEPARTPLACE
    assert by_path["UNH+1/TDT[1]/C040"] == "EDIFACT_CONTENT"
    assert codes(details) == {"IMO_FORMAT", "CONTAINER_FORMAT", "EDIFACT_CONTENT"}
    assert all(d.line is not None and d.line > 0 for d in details)


def test_sample_coprar_has_no_interchange_and_a_wrong_count() -> None:
    """d95b_coprar.edi: a bare message with no UNB/UNZ (EDIFACT_SYNTAX); put in an interchange, its UNT
    counts 56 segments where the message has 29 (EDIFACT_SEGMENT_COUNT)."""
    data = sample("d95b_coprar.edi")
    (detail,) = rejected(data)
    assert (detail.code, detail.line) == ("EDIFACT_SYNTAX", 1)
    wrapped = b"UNB+UNOA:2+SENDER+RECIPIENT+121121:0841+1'\n" + data + b"UNZ+1+1'"
    (detail,) = rejected(wrapped)
    assert detail.code == "EDIFACT_SEGMENT_COUNT"
    assert "counts 56" in detail.message and "has 29" in detail.message


def test_sample_iftmin_has_an_empty_segment_and_a_wrong_count() -> None:
    """iftmin_bring_BIG14_extracted.edi: UNA with a decimal comma; release characters in ?+ and ?' are read
    as data. ``MEA+WT+G+KGM:1.5''`` ends with two terminators: an empty segment (EDIFACT_SYNTAX at segment
    56). Without it, UNT counts 61 segments where the message has 70 (EDIFACT_SEGMENT_COUNT)."""
    data = sample("iftmin_bring_BIG14_extracted.edi")
    (detail,) = rejected(data)
    assert (detail.code, detail.line) == ("EDIFACT_SYNTAX", 56)
    assert "after segment 55" in detail.message
    mended = data.replace(b"1.5''", b"1.5'")
    (detail,) = rejected(mended)
    assert (detail.code, detail.line) == ("EDIFACT_SEGMENT_COUNT", 72)
    seps, start = syntax.read_una(mended)
    assert seps == syntax.Separators(":", "+", ",", "?", "'") and start == 10
    segments = list(syntax.tokenize(mended[start:].decode("latin-1"), seps, 2))
    values = {s.get(3, 0) for s in segments if s.tag == "NAD"} | {s.get(0, 0) for s in segments if s.tag == "COM"}
    assert "Backer's Corner" in values and "+4723249852" in values


# ---------------------------------------------------------------- syntax and envelopes


def interchange(*body: str, una: str = "", ref: str = "1", count: int | None = None) -> bytes:
    segments = [f"UNB+UNOC:3+SENDER+HUB+260208:0715+{ref}'", "UNH+1+CUSCAR:D:95B:UN'", *body,
                f"UNT+{len(body) + 2 if count is None else count}+1'", f"UNZ+1+{ref}'"]
    return (una + "".join(segments)).encode()


def test_default_separators_and_release_character() -> None:
    data = interchange("FTX+AAA+++O?'Brien?: 2?+2 ??'")
    (msg,) = syntax.parse(data).messages
    assert msg.segments[0].get(3, 0) == "O'Brien: 2+2 ?"


def test_una_changes_every_separator() -> None:
    una = "UNA|*,! ~"
    text = (una + "UNB*UNOC|3*SENDER*HUB*260208|0715*7~UNH*1*CUSCAR|D|95B|UN~FTX*AAA***a!*b!~c!|d!!~UNT*3*1~"
            "UNZ*1*7~")
    parsed = syntax.parse(text.encode())
    assert parsed.separators == syntax.Separators("|", "*", ",", "!", "~")
    assert parsed.messages[0].segments[0].get(3, 0) == "a*b~c|d!"
    assert parsed.messages[0].segments[0].number == 4  # UNA is segment 1


@pytest.mark.parametrize(
    ("data", "code", "line"),
    [
        (b"UNH+1+CUSCAR:D:95B:UN'", "EDIFACT_SYNTAX", 1),
        (b"UNA:+.?", "EDIFACT_UNA", 1),
        (b"UNA1+.? 'UNB+UNOC:3+A+B+1:1+1'", "EDIFACT_UNA", 1),
        (b"UNA:+;? 'UNB+UNOC:3+A+B+1:1+1'", "EDIFACT_UNA", 1),
        (b"UNA:+.? 'UNH+1'", "EDIFACT_SYNTAX", 2),
        (b"UNB+UNOX:3+A+B+1:1+1'", "EDIFACT_CHARSET", 1),
        (b"UNB+UNOC:3+A+B+1:1+1'UNH+1+CUSCAR:D:95B:UN'FTX+AAA+++a\x07b'UNT+3+1'UNZ+1+1'", "EDIFACT_CHARSET", 3),
        (b"UNB+UNOC:3+A+B+1:1+1'UNH+1+CUSCAR:D:95B:UN'BGM+85", "EDIFACT_SYNTAX", 3),
        (b"UNB+UNOC:3+A+B+1:1+1'UNH+1+CUSCAR:D:95B:UN'BGM+85?", "EDIFACT_SYNTAX", 3),
        (b"UNB+UNOC:3+A+B+1:1+1'UNH+1+CUSCAR:D:95B:UN'bgm+85'UNT+3+1'UNZ+1+1'", "EDIFACT_SYNTAX", 3),
        (b"UNB+UNOC:3+A+B+1:1+1'BGM+85'UNZ+0+1'", "EDIFACT_SYNTAX", 2),
        (b"UNB+UNOC:3+A+B+1:1+1'UNH+1+CUSCAR:D:95B:UN'BGM+85'", "EDIFACT_SYNTAX", 3),
        (b"UNB+UNOC:3+A+B+1:1+1'UNH+1+CUSCAR:D:95B:UN'UNT+2+1'", "EDIFACT_SYNTAX", 3),
        (b"UNB+UNOC:3+A+B+1:1+1'UNZ+0+1'", "EDIFACT_SYNTAX", 2),
        (b"UNB+UNOC:3+A+B+1:1+1'UNH+1+CUSCAR:D:95B:UN'UNT+2+1'UNZ+1+1'UNH+2'", "EDIFACT_SYNTAX", 5),
        (b"UNB+UNOC:3+A+B+1:1+1'UNG+CUSCAR+A+B'UNE+1+1'UNZ+1+1'", "EDIFACT_UNSUPPORTED", 2),
        (b"UNB+UNOC:5+A+B+1:1+1'", "EDIFACT_UNSUPPORTED", 1),
        (b"UNB+UNOC:3+A+B+1:1'", "EDIFACT_SYNTAX", 1),
        (b"UNB+UNOC:3+A+B+1:1+1'UNH+1+CUSCAR:D'UNT+2+1'UNZ+1+1'", "EDIFACT_SYNTAX", 2),
    ],
    ids=lambda v: v.decode("latin-1")[:40] if isinstance(v, bytes) else str(v),
)
def test_syntax_errors(data: bytes, code: str, line: int) -> None:
    (detail,) = rejected(data)
    assert (detail.code, detail.line) == (code, line), detail
    assert detail.path and detail.path.startswith("segment ")


def test_count_and_reference_errors_are_reported_together() -> None:
    data = interchange("BGM+85+X+9'", count=9).replace(b"UNZ+1+1'", b"UNZ+3+2'")
    details = rejected(data)
    assert [d.code for d in details] == ["EDIFACT_SEGMENT_COUNT", "EDIFACT_MESSAGE_COUNT", "EDIFACT_REFERENCE_MISMATCH"]
    assert [d.line for d in details] == [4, 5, 5]
    bad_unt_ref = interchange("BGM+85+X+9'").replace(b"UNT+3+1'", b"UNT+3+9'")
    assert [(d.code, d.path) for d in rejected(bad_unt_ref)] == [("EDIFACT_REFERENCE_MISMATCH", "segment 4 (UNT)/0062")]


def test_counts_with_leading_zeros_and_line_breaks_are_accepted() -> None:
    data = b"UNB+UNOC:3+A+B+1:1+00042'\r\nUNH+1+CUSCAR:D:95B:UN'\r\nBGM+85+X+9'\r\nUNT+003+1'\r\nUNZ+0001+00042'\r\n"
    parsed = syntax.parse(data)
    assert parsed.control_ref == "00042" and len(parsed.messages[0].segments) == 1


def test_character_sets_follow_the_syntax_identifier() -> None:
    name = "Société Générale"
    for ident, encoding in (("UNOC", "latin-1"), ("UNOY", "utf-8"), ("UNOW", "utf-8")):
        data = interchange(f"FTX+AAA+++{name}'").replace(b"UNOC", ident.encode()).decode().encode(encoding)
        assert syntax.parse(data).messages[0].segments[0].get(3, 0) == name
    (detail,) = rejected(interchange(f"FTX+AAA+++{name}'").replace(b"UNOC", b"UNOY").decode().encode("latin-1"))
    assert detail.code == "EDIFACT_CHARSET"


def test_size_cap_comes_first() -> None:
    (detail,) = rejected(CUSCAR + b" " * 1024, limits=Limits(max_bytes=1024))
    assert detail.code == "PAYLOAD_TOO_LARGE"


def test_peek_reads_what_it_can() -> None:
    unb, unh = syntax.peek(CUSCAR)
    assert unb is not None and unb.get(4) == "MSC2602080001" and unh is not None and unh.get(1, 0) == "CUSCAR"
    assert syntax.peek(b"garbage") == (None, None)
    unb, unh = syntax.peek(b"UNB+UNOC:3+A+B+1:1+7'UNH+1+CUSCAR:D:95B:UN'BGM+85")
    assert unb is not None and unh is not None


def test_writer_releases_separators_and_drops_trailing_empties() -> None:
    assert syntax.segment_text("FTX", ["AAA", "", "", ["a'b", "c+d:e?", ""], ""]) == "FTX+AAA+++a?'b:c?+d?:e??'"


# ---------------------------------------------------------------- message types and decoding


def test_declared_type_must_match_unh(catalogue: Catalogue) -> None:
    baplie = (EXAMPLES / "bayplan/valid/msc-je608a-kemba.edi").read_bytes()
    (detail,) = rejected(baplie, "manifest.sea")
    assert (detail.code, detail.path) == ("TYPE_MISMATCH", "segment 3 (UNH)/S009/0065")
    (detail,) = rejected(CUSCAR, "bayplan")
    assert detail.code == "TYPE_MISMATCH"
    (detail,) = rejected(CUSCAR, "customs.release")
    assert detail.code == "TYPE_MISMATCH"
    with pytest.raises(MessageRejected) as info:
        catalogue.decode(CUSCAR, codec.EDIFACT_CT, "permit.status")
    assert info.value.code == "CONTENT_TYPE_UNSUPPORTED"


def _edi_files(kind: str) -> list[Path]:
    return sorted(p for p in EXAMPLES.glob(f"*/{kind}/*.edi"))


@pytest.mark.parametrize("path", _edi_files("invalid"), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_invalid_edifact_example_is_rejected_with_its_code(catalogue: Catalogue, path: Path) -> None:
    code = path.name.split("-", 1)[0]
    with pytest.raises(MessageRejected) as info:
        catalogue.decode(path.read_bytes(), codec.EDIFACT_CT, path.parent.parent.name)
    details = info.value.details
    assert codes(details) == {code}, [d.as_dict() for d in details]
    for d in details:
        assert d.message and d.path and isinstance(d.line, int) and d.line > 0, d


@pytest.mark.parametrize("path", _edi_files("valid"), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_valid_edifact_example_equals_its_xml_twin(catalogue: Catalogue, path: Path) -> None:
    msg_type = path.parent.parent.name
    from_edi = catalogue.decode(path.read_bytes(), codec.EDIFACT_CT, msg_type)
    from_xml = catalogue.decode(path.with_suffix(".xml").read_bytes(), codec.XML_CT, msg_type)
    assert from_edi == from_xml
    assert from_edi.keys() == from_xml.keys()


def test_cuscar_maps_bills_parties_and_containers() -> None:
    body = edifact.decode((EXAMPLES / "manifest.sea/valid/mfano-consol-house-607w.edi").read_bytes(), "manifest.sea",
                          LIMITS)
    assert isinstance(body, SeaManifest)
    first = body.consignment[0]
    assert (first.transport_document_id, first.master_transport_document_id) == ("MFCKE2602001", "MAEU254876310")
    assert first.consignor_name == "Shenzhen Lumin Electronics Co., Ltd."  # 36 characters: two C080 components
    assert [te.id for te in first.transport_equipment] == ["MSKU9021144"]
    assert first.transport_equipment[0].seal_id == ("ML-CN7012246",)
    keys = body.keys()
    assert keys.vessel_call == "9505314/607W"
    assert Party(role=PartyRole.CFS, scheme=IdScheme.CFS, id="PWANICFS") in keys.parties


@pytest.mark.parametrize(
    ("old", "new", "code", "path", "segment"),
    [
        (b"9839430:146", b"9839431:146", "IMO_CHECK_DIGIT", "UNH+1/TDT[1]/C222/8213", "TDT"),
        (b"SGP+MEDU7654325", b"SGP+MEDU7654352", "CONTAINER_CHECK_DIGIT", "UNH+1/SGP[2]/C237/8260", "SGP"),
        (b"NAD+CN+P051234568B", b"NAD+CN+P05123456", "KRA_PIN_FORMAT", "UNH+1/NAD[2]/C082/3039", "NAD"),
        (b"RFF+UCN:26KEP0512345680000412", b"RFF+UCN:26kep0512345680000412", "UCR_FORMAT",
         "UNH+1/RFF[1]/C506/1154", "RFF"),
        (b"LOC+11+KEMBA", b"LOC+11+kemba", "EDIFACT_CONTENT", "UNH+1/LOC[1]/C517/3225", "LOC"),
        (b"MEA+AAE+G+KGM:24800.000", b"MEA+AAE+G+LBR:24800.000", "EDIFACT_CONTENT", "UNH+1/MEA[1]/C174", "MEA"),
        (b"GID+1+1240:CT'", b"GID+1+many:CT'", "EDIFACT_CONTENT", "UNH+1/GID[1]/C213/7224", "GID"),
        (b"DTM+132:202602090300:203", b"DTM+132:202602090300:999", "EDIFACT_CONTENT", "UNH+1/DTM[2]/C507/2379", "DTM"),
    ],
)
def test_cuscar_errors_point_at_the_segment(old: bytes, new: bytes, code: str, path: str, segment: str) -> None:
    assert old in CUSCAR
    (detail,) = rejected(CUSCAR.replace(old, new, 1))
    assert (detail.code, detail.path) == (code, path), detail
    line = next(n for n, text in enumerate(CUSCAR.replace(old, new, 1).decode("latin-1").splitlines(), 1)
                if new.decode("latin-1") in text)
    assert detail.line == line
    assert detail.message.startswith(segment)
    if code == "KRA_PIN_FORMAT":
        assert "P05123456" not in detail.message


def test_missing_segments_are_named() -> None:
    no_tdt = re.sub(rb"TDT\+[^']*'\n", b"", CUSCAR).replace(b"UNT+31+1'", b"UNT+30+1'")
    details = rejected(no_tdt)
    assert {d.path for d in details} >= {"UNH+1/TDT"}
    assert all(d.code == "EDIFACT_CONTENT" for d in details)
    assert any("TDT (details of transport" in d.message and d.message.endswith("is missing") for d in details)
    no_goods = re.sub(rb"GID\+1\+60:PK'\n.*?SGP\+MSMU5301127'\n", b"", CUSCAR, flags=re.DOTALL)
    no_goods = no_goods.replace(b"UNT+31+1'", b"UNT+27+1'")
    (detail,) = rejected(no_goods)
    assert detail.path == "UNH+1/CNI[2]" and "GID" in detail.message


def test_bayplan_keys_and_dangerous_goods() -> None:
    body = edifact.decode((EXAMPLES / "bayplan/valid/msc-je608a-kemba.edi").read_bytes(), "bayplan", LIMITS)
    assert isinstance(body, Bayplan)
    assert body.departure_date_time == datetime(2026, 2, 10, 19, 30, tzinfo=UTC)
    assert body.container_slot[2].dangerous_goods[0].un_number == "1263"
    keys = body.keys()
    assert keys.vessel_call == "9839430/JE608A" and keys.ucr is None
    assert keys.parties == (Party(role=PartyRole.CARRIER, scheme=IdScheme.CARRIER, id="MSCU"),)
    assert keys.references[0] == Reference(kind=RefKind.CONTAINER, value="MSCU7788122")


def test_bayplan_refuses_one_container_in_two_slots(catalogue: Catalogue) -> None:
    text = (EXAMPLES / "bayplan/valid/msc-je608a-kemba.json").read_text().replace("TGHU6123458", "MSCU7788122")
    with pytest.raises(MessageRejected) as info:
        catalogue.decode(text.encode(), codec.JSON_CT, "bayplan")
    assert info.value.code == "JSON_SCHEMA" and "more than one container slot" in info.value.details[0].message


def test_bayplan_xsd_follows_the_model(catalogue: Catalogue) -> None:
    spec = catalogue.spec("bayplan")
    xsd = _xsd(spec)
    assert xsd.get("targetNamespace") == "urn:ke:nesws:hub:bayplan:1"
    roots = xsd.findall(f"{XS}element")
    assert [r.get("name") for r in roots] == ["Bayplan"]
    _check_type(xsd, roots[0].get("type", ""), Bayplan, "/Bayplan")
    pattern = _named(xsd, "simpleType", "DateTimeWithZone").find(f"{XS}restriction/{XS}pattern")
    assert pattern is not None and pattern.get("value") == XSD_DATETIME_PATTERN


# ---------------------------------------------------------------- CUSRES


def _releases(catalogue: Catalogue) -> list[CustomsRelease]:
    out = []
    for path in sorted((EXAMPLES / "customs.release/valid").iterdir()):
        ct = codec.JSON_CT if path.suffix == ".json" else codec.XML_CT
        body = catalogue.decode(path.read_bytes(), ct, "customs.release")
        assert isinstance(body, CustomsRelease)
        out.append(body)
    return out


def test_cusres_round_trips_every_release(catalogue: Catalogue) -> None:
    for release in _releases(catalogue):
        data = catalogue.encode(release, codec.EDIFACT_CT, recipient="pwani-cfs", control_ref="REF1")
        parsed = syntax.parse(data)  # envelope counts and references are right
        assert (parsed.sender, parsed.recipient, parsed.control_ref) == (edifact.HUB_ID, "pwani-cfs", "REF1")
        assert parsed.messages[0].type == "CUSRES"
        assert catalogue.decode(data, codec.EDIFACT_CT, "customs.release") == release


def test_cusres_status_codes_and_long_texts(catalogue: Catalogue) -> None:
    release = _releases(catalogue)[0]
    long_text = "Held: " + "documents ".join(str(i) for i in range(120)) + " (see 'notice' +2: ok?)"
    for status in ReleaseStatus:
        changed = release.model_copy(update={"status_code": status, "additional_information": long_text[:512]})
        data = encode_cusres(changed, edifact.HUB_ID, "x", "R")
        assert f"GIS+{RELEASE_CODES[status]}::ZZZ'".encode() in data
        assert edifact.decode(data, "customs.release", LIMITS) == changed
    named = release.model_copy(update={"consignee": release.consignee.model_copy(update={"name": "Zhōngguó * Ltd"})})
    data = encode_cusres(named, edifact.HUB_ID, "x", "R")
    assert b"UNB+UNOY:4" in data and "Zhōngguó ?* Ltd".encode() in data
    assert edifact.decode(data, "customs.release", LIMITS) == named


def test_cusres_fixtures_are_what_the_hub_writes(catalogue: Catalogue) -> None:
    for path in sorted(FIXTURES.glob("cusres-*.edi")):
        xml = EXAMPLES / "customs.release/valid" / f"{path.stem.removeprefix('cusres-')}.xml"
        release = catalogue.decode(xml.read_bytes(), codec.XML_CT, "customs.release")
        assert isinstance(release, CustomsRelease)
        written = encode_cusres(release, edifact.HUB_ID, "pwani-cfs", edifact.control_ref(xml.name),
                                prepared=datetime(2026, 2, 11, 7, 45, tzinfo=UTC))
        assert written == path.read_bytes()


def test_only_customs_release_is_written_as_edifact(catalogue: Catalogue) -> None:
    manifest = catalogue.decode(CUSCAR, codec.EDIFACT_CT, "manifest.sea")
    with pytest.raises(ValueError, match=r"cannot encode manifest\.sea"):
        catalogue.encode(manifest, codec.EDIFACT_CT)
    assert catalogue.delivery_content_type(manifest, codec.EDIFACT_CT) == codec.XML_CT
    release = _releases(catalogue)[0]
    assert catalogue.delivery_content_type(release, codec.EDIFACT_CT) == codec.EDIFACT_CT
    assert catalogue.delivery_content_type(release, codec.JSON_CT) == codec.JSON_CT


# ---------------------------------------------------------------- CONTRL and APERAK

RECEIVED = datetime(2026, 2, 8, 7, 16, 2, tzinfo=UTC)


def test_contrl_reports_the_envelope_error() -> None:
    subject = (EXAMPLES / "manifest.sea/invalid/EDIFACT_SEGMENT_COUNT-unt-one-short.edi").read_bytes()
    data = edifact.encode_ack(str(uuid.uuid4()), "rejected", rejected(subject), RECEIVED, recipient="msc-ke",
                              subject=subject)
    parsed = syntax.parse(data)
    assert (parsed.messages[0].type, parsed.recipient) == ("CONTRL", "msc-ke")
    ack = read_ack(data)
    assert (ack.status, ack.subject_control_ref) == ("rejected", "MSC2602080001")
    assert ack.syntax_errors == [("UCM", "UNT", "29")]
    unz = (EXAMPLES / "manifest.sea/invalid/EDIFACT_MESSAGE_COUNT-unz-counts-two.edi").read_bytes()
    ack = read_ack(edifact.encode_ack("m1", "rejected", rejected(unz), RECEIVED, recipient="msc-ke", subject=unz))
    assert ack.syntax_errors == [("UCI", "UNZ", "29")]


def test_contrl_for_a_payload_that_is_not_edifact() -> None:
    errors = [ErrorDetail("XML_MALFORMED", "not well-formed XML", None, 3)]
    data = edifact.encode_ack("msg-7", "rejected", errors, RECEIVED, recipient="msc-ke", subject=None)
    ack = read_ack(data)
    assert (ack.message_type, ack.status, ack.subject_control_ref) == ("CONTRL", "rejected", "msg-7")
    assert ack.syntax_errors == [("UCI", "", "18")]


def test_aperak_round_trips_the_acknowledgement() -> None:
    correlation = "x" * 100 + "-" + str(uuid.uuid4())  # 137 characters: more than one FTX component
    bad = CUSCAR.replace(b"SGP+MEDU7654325", b"SGP+MEDU7654352")
    errors = rejected(bad)
    data = edifact.encode_ack(correlation[:128], "rejected", errors, RECEIVED, recipient="msc-ke", subject=bad)
    ack = read_ack(data)
    assert (ack.message_type, ack.status, ack.correlation_id) == ("APERAK", "rejected", correlation[:128])
    assert ack.received_at == RECEIVED and ack.subject_control_ref == "MSC2602080001"
    assert ack.errors == errors
    for status in ("accepted", "duplicate"):
        ack = read_ack(edifact.encode_ack("m-1", status, [], RECEIVED, recipient="msc-ke", subject=None))
        assert (ack.message_type, ack.status, ack.errors) == ("APERAK", status, [])


def test_ack_fixtures_are_what_the_hub_writes() -> None:
    invalid = EXAMPLES / "manifest.sea/invalid"
    bad = CUSCAR.replace(b"SGP+MEDU7654325", b"SGP+MEDU7654352").replace(b"EQD+CN+MEDU7654325", b"EQD+CN+MEDU7654352")
    cases = {  # fixture -> (writer, correlation id, status, subject, control reference seed)
        "contrl-rejected-segment-count.edi": (edifact.encode_ack_contrl, "msc-ke-manifest-0208-001", "rejected",
                                              (invalid / "EDIFACT_SEGMENT_COUNT-unt-one-short.edi").read_bytes(), None),
        "contrl-rejected-unreleased-apostrophe.edi": (
            edifact.encode_ack_contrl, "msc-ke-manifest-0208-001", "rejected",
            (invalid / "EDIFACT_SYNTAX-unreleased-apostrophe.edi").read_bytes(), None),
        "aperak-accepted.edi": (edifact.encode_ack_aperak, "msc-ke-manifest-0208-001", "accepted", CUSCAR,
                                "aperak-accepted"),
        "aperak-rejected-container-check-digit.edi": (
            edifact.encode_ack_aperak, "3f2b8c1e-5d4a-4f6b-9c2d-7a1e0b9f4c6d", "rejected", bad, "aperak-rejected"),
    }
    assert sorted(cases) == sorted(p.name for p in FIXTURES.glob("*.edi") if not p.name.startswith("cusres"))
    for name, (writer, correlation, status, subject, seed) in cases.items():
        errors = rejected(subject) if status == "rejected" else []
        written = writer(correlation, status, errors, RECEIVED, sender=edifact.HUB_ID, recipient="msc-ke",
                         control_ref=edifact.control_ref(seed or name), subject=subject)
        assert written == (FIXTURES / name).read_bytes(), name
        ack = read_ack(written)
        assert (ack.message_type, ack.status) == (name.split("-")[0].upper(), status)


def test_aperak_for_an_identifier_error_keeps_code_path_and_line() -> None:
    ack = read_ack((FIXTURES / "aperak-rejected-container-check-digit.edi").read_bytes())
    (err,) = ack.errors
    assert (err.code, err.path, err.line) == ("CONTAINER_CHECK_DIGIT", "UNH+1/SGP[2]/C237/8260", 25)


# ---------------------------------------------------------------- configuration


def test_partners_may_receive_edifact(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "config", tmp_path, dirs_exist_ok=True)
    partners = yaml.safe_load((tmp_path / "partners.yaml").read_text())
    for p in partners["partners"]:
        if p["id"] in ("kpa", "mfano-clearing"):
            p["adapter"] = "canonical"  # their xml / json adapters write only their own format
            p["receive_format"] = "application/edifact"
            p["ack_format"] = "edifact"
    (tmp_path / "partners.yaml").write_text(yaml.safe_dump(partners))
    config = load_config(tmp_path, env={})
    assert config.partner("kpa") is not None and config.partner("kpa").receive_format == "application/edifact"


# ---------------------------------------------------------------- through the real hub


def _edifact_partners() -> list[dict[str, Any]]:
    partners: list[dict[str, Any]] = yaml.safe_load((ROOT / "config/partners.yaml").read_text())["partners"]
    for p in partners:
        if p["id"] == "msc-ke":
            p["ack_format"] = "edifact"
            p["sends"] = sorted({*p.get("sends", []), "manifest.sea", "bayplan"})
        if p["id"] in ("kpa", "mfano-clearing"):
            p["adapter"] = "canonical"  # their xml / json adapters write only their own format
            p["receive_format"] = "application/edifact"
    return partners


@pytest.fixture(scope="module")
def edi_hub(broker: None, tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Any:
    hut = HubUnderTest(tmp_path_factory.mktemp("edifact"), secrets_file=secrets_file, partners=_edifact_partners())
    try:
        hut.provision()
        hut.start()
        yield hut
    finally:
        hut.close()


async def _publish(hut: HubUnderTest, sender: str, data: bytes, msg_type: str, content_type: str) -> str:
    async with hut.partner(sender) as client:
        return await client.publish(data, msg_type, content_type=content_type, message_id=str(uuid.uuid4()))


async def _acks(hut: HubUnderTest, partner: str, expected: int) -> list[Any]:
    async with hut.partner(partner) as client:
        return await collect(client, t.acks_queue(partner), expected, within=30)


async def _inbox(hut: HubUnderTest, partner: str, expected: int) -> list[Any]:
    async with hut.partner(partner) as client:
        return await collect(client, t.inbox(partner), expected, within=30)


@pytest.mark.broker
async def test_cuscar_accepted_routed_and_acknowledged_by_aperak(edi_hub: HubUnderTest) -> None:
    message_id = await _publish(edi_hub, "msc-ke", CUSCAR, "manifest.sea", codec.EDIFACT_CT)
    (ack,) = await _acks(edi_hub, "msc-ke", 1)
    assert (ack.content_type, ack.correlation_id, ack.type) == (codec.EDIFACT_CT, message_id, "ack")
    read = read_ack(ack.body)
    assert (read.message_type, read.status, read.correlation_id) == ("APERAK", "accepted", message_id), (
        edi_hub.tail_log())
    assert read.subject_control_ref == "MSC2602080001"
    # kpa asked for EDIFACT; manifest.sea has no EDIFACT encoding, so it gets XML, and says so
    (kpa,) = await _inbox(edi_hub, "kpa", 1)
    assert (kpa.content_type, kpa.correlation_id) == (codec.XML_CT, message_id)
    assert Catalogue().decode(kpa.body, codec.XML_CT, "manifest.sea") == edifact.decode(CUSCAR, "manifest.sea", LIMITS)
    (cfs,) = await _inbox(edi_hub, "pwani-cfs", 1)  # the CFS the manifest names (NAD WH)
    assert cfs.content_type == codec.XML_CT


@pytest.mark.broker
async def test_bad_cuscars_are_rejected_by_contrl_and_aperak(edi_hub: HubUnderTest) -> None:
    count = (EXAMPLES / "manifest.sea/invalid/EDIFACT_SEGMENT_COUNT-unt-one-short.edi").read_bytes()
    first = await _publish(edi_hub, "msc-ke", count, "manifest.sea", codec.EDIFACT_CT)
    bad_digit = CUSCAR.replace(b"SGP+MEDU7654325", b"SGP+MEDU7654352")
    second = await _publish(edi_hub, "msc-ke", bad_digit, "manifest.sea", codec.EDIFACT_CT)
    not_xml = await _publish(edi_hub, "msc-ke", b"<SeaManifest", "manifest.sea", codec.XML_CT)
    acks = {a.correlation_id: a for a in await _acks(edi_hub, "msc-ke", 3)}
    assert set(acks) == {first, second, not_xml}, edi_hub.tail_log()
    contrl = read_ack(acks[first].body)
    assert (contrl.message_type, contrl.status, contrl.syntax_errors) == ("CONTRL", "rejected", [("UCM", "UNT", "29")])
    aperak = read_ack(acks[second].body)
    assert (aperak.message_type, aperak.status) == ("APERAK", "rejected")
    assert [(e.code, e.path) for e in aperak.errors] == [("CONTAINER_CHECK_DIGIT", "UNH+1/SGP[2]/C237/8260")]
    malformed = read_ack(acks[not_xml].body)
    assert (malformed.message_type, malformed.syntax_errors) == ("CONTRL", [("UCI", "", "18")])
    assert all(a.content_type == codec.EDIFACT_CT for a in acks.values())
    await asyncio.sleep(0.5)
    async with edi_hub.partner("kpa") as client:
        assert await client.inbox(max_count=10, idle=0.5) == []  # nothing rejected was delivered


@pytest.mark.broker
async def test_customs_release_is_delivered_as_cusres(edi_hub: HubUnderTest) -> None:
    xml = (EXAMPLES / "customs.release/valid/released-26mbaim000412871.xml").read_bytes()
    message_id = await _publish(edi_hub, "kra-icms", xml, "customs.release", codec.XML_CT)
    (delivery,) = await _inbox(edi_hub, "mfano-clearing", 1)  # the declarant (CA own), registered for EDIFACT
    assert (delivery.content_type, delivery.correlation_id) == (codec.EDIFACT_CT, message_id)
    parsed = syntax.parse(delivery.body)
    assert (parsed.sender, parsed.recipient) == (edifact.HUB_ID, "mfano-clearing")
    assert parsed.control_ref == edifact.control_ref(delivery.message_id or "")
    release = Catalogue().decode(xml, codec.XML_CT, "customs.release")
    assert edifact.decode(delivery.body, "customs.release", LIMITS) == release
    (json_copy,) = await _inbox(edi_hub, "mfano-imports", 1)  # the consignee still gets its JSON
    assert json_copy.content_type == codec.JSON_CT
    async with edi_hub.partner("kra-icms") as client:
        (ack,) = await client.acks(max_count=1, idle=2)
    assert ack["status"] == "accepted"  # kra-icms keeps JSON acknowledgements


@pytest.mark.broker
async def test_baplie_accepted_through_the_hub(edi_hub: HubUnderTest) -> None:
    baplie = (EXAMPLES / "bayplan/valid/msc-je608a-kemba.edi").read_bytes()
    message_id = await _publish(edi_hub, "msc-ke", baplie, "bayplan", codec.EDIFACT_CT)
    (ack,) = await _acks(edi_hub, "msc-ke", 1)
    assert read_ack(ack.body).status == "accepted" and ack.correlation_id == message_id, edi_hub.tail_log()
    (kpa,) = await _inbox(edi_hub, "kpa", 1)  # KPA: all bayplans
    assert kpa.type == "bayplan" and kpa.content_type == codec.XML_CT


# ---------------------------------------------------------------- robustness


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(CUSCAR) - 1), st.sampled_from(list(b"+:'?UNH0\n\x00\xff.")),
                          st.sampled_from(["set", "insert", "delete"])), min_size=1, max_size=4))
def test_a_damaged_interchange_is_rejected_never_crashes(edits: list[tuple[int, int, str]]) -> None:
    """Whatever bytes arrive, decode answers with a body or a rejection (a crash would be INTERNAL_ERROR)."""
    data = bytearray(CUSCAR)
    for pos, byte, op in edits:
        pos = min(pos, len(data) - 1)
        if op == "set":
            data[pos] = byte
        elif op == "insert":
            data.insert(pos, byte)
        else:
            del data[pos]
    for msg_type in ("manifest.sea", "bayplan"):
        try:
            edifact.decode(bytes(data), msg_type, LIMITS)
        except MessageRejected as exc:
            assert all(d.code and d.message for d in exc.details)
