"""The message mix of ``hub bench`` (hub.bench): what the example partners really send, per consignment.

Every document is a valid example of ``examples/`` with its identifiers changed so that traffic spreads over
many consignments (the delivery worker keeps one lane per consignment, so one UCR for everything would
serialise the deliveries) and, for manifests, over many vessel calls:

  ucr.issued            kentrade, JSON (~0.5 KB): sent first for every consignment ("priming", with a manifest
                        and a permit), so that the releases and payments find their parties and are routed at
                        once instead of parked, and every message of a kind makes the same deliveries
  manifest.sea XML      msc-ke, ~2.5 KB (the MSC example with one more goods item), its own voyage
  manifest.sea EDIFACT  msc-ke, CUSCAR (~1 KB), its own voyage
  customs.release XML   kra-icms, ~2.5 KB (the release example with 32 more containers)
  permit.status JSON    kebs (~0.5 KB)
  payment.confirmation  mfano-bank, JSON (~0.5 KB)

A group of ten (``GROUP``) is 3 XML manifests, 1 EDIFACT manifest, 3 releases, 1 permit and 2 payments; a run
of N messages is N/10 groups. Large manifests (1 MB, and the size sweep 1 KB to just under 5 MiB) repeat the
MSC manifest's consignment lines with fresh bills of lading and containers (valid ISO 6346 check digits).
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from hub import codec
from hub.identifiers import iso6346_check_digit

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
XML, JSON, EDI = "application/xml", "application/json", "application/edifact"

MANIFEST_XML = EXAMPLES / "manifest.sea" / "valid" / "msc-je608a-kemba.xml"
MANIFEST_EDI = EXAMPLES / "manifest.sea" / "valid" / "msc-je608a-kemba.edi"
RELEASE_XML = EXAMPLES / "customs.release" / "valid" / "released-26mbaim000412871.xml"
UCR_JSON = EXAMPLES / "ucr.issued" / "valid" / "26kep0512345680000412.json"
PERMIT_JSON = EXAMPLES / "permit.status" / "valid" / "kephis-approved-pip.json"
PAYMENT_JSON = EXAMPLES / "payment.confirmation" / "valid" / "duty-2026icms000412871.json"
EXAMPLE_UCR = "26KEP0512345680000412"
EXAMPLE_DECLARATION = "26MBAIM000412871"


@dataclass(frozen=True)
class Kind:
    name: str
    sender: str
    msg_type: str
    content_type: str


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("ucr_issued_json", "kentrade", "ucr.issued", JSON),
    Kind("manifest_xml", "msc-ke", "manifest.sea", XML),
    Kind("manifest_edifact", "msc-ke", "manifest.sea", EDI),
    Kind("release_xml", "kra-icms", "customs.release", XML),
    Kind("permit_json", "kebs", "permit.status", JSON),
    Kind("payment_json", "mfano-bank", "payment.confirmation", JSON),
    Kind("manifest_generated_xml", "msc-ke", "manifest.sea", XML),  # large manifests and the size sweep
)}
GROUP: tuple[str, ...] = ("manifest_xml", "release_xml", "permit_json", "manifest_xml", "payment_json",
                          "release_xml", "manifest_edifact", "manifest_xml", "release_xml", "payment_json")
MIX_KINDS: tuple[str, ...] = tuple(dict.fromkeys(GROUP))
SENDERS: tuple[str, ...] = tuple(dict.fromkeys([KINDS["ucr_issued_json"].sender, *(KINDS[k].sender for k in GROUP)]))


@dataclass(frozen=True)
class Doc:
    kind: str
    body: bytes

    @property
    def sender(self) -> str:
        return KINDS[self.kind].sender

    @property
    def msg_type(self) -> str:
        return KINDS[self.kind].msg_type

    @property
    def content_type(self) -> str:
        return KINDS[self.kind].content_type


def ucr(c: int, series: str = "B") -> str:
    """The UCR of bench consignment ``c`` (EAC form, like the crash test's)."""
    return f"26KEP051234568{series}{c:06d}"


def declaration(c: int) -> str:
    return f"26MBAIM{c:09d}"


def container(serial: int, owner: str = "MSKU") -> str:
    prefix = f"{owner}{serial:06d}"
    return prefix + str(iso6346_check_digit(prefix))


class Mix:
    """Documents of the mix, built once from the examples; ``consignments`` UCRs of one ``series``."""

    def __init__(self, consignments: int, series: str = "B") -> None:
        self.consignments = consignments
        self.series = series
        self._ucr = json.loads(UCR_JSON.read_text(encoding="utf-8"))
        self._permit = json.loads(PERMIT_JSON.read_text(encoding="utf-8"))
        self._payment = json.loads(PAYMENT_JSON.read_text(encoding="utf-8"))
        self._release = self._padded_release()
        self._manifest = self._padded_manifest()
        self._edi = MANIFEST_EDI.read_bytes()

    # ------------------------------------------------------------ templates

    @staticmethod
    def _padded_release() -> bytes:
        """The release example with 32 more containers: about 2.5 KB."""
        text = RELEASE_XML.read_bytes()
        extra = b"".join(b"  <TransportEquipmentId>%s</TransportEquipmentId>\n" % container(900000 + j).encode()
                         for j in range(32))
        return text.replace(b"</CustomsRelease>", extra + b"</CustomsRelease>")

    @staticmethod
    def _padded_manifest() -> bytes:
        """The MSC manifest with one more goods item on its first line: about 2.5 KB."""
        item = (b"    <GoodsItem>\n      <SequenceNumber>2</SequenceNumber>\n"
                b"      <Description>Porcelain skirting tiles, 600 x 80 mm, matching the floor tiles</Description>\n"
                b"      <PackageQuantity>96</PackageQuantity>\n      <PackageTypeCode>CT</PackageTypeCode>\n"
                b"      <GrossMass unitCode=\"KGM\">1920.000</GrossMass>\n    </GoodsItem>\n")
        text = MANIFEST_XML.read_bytes()
        first_end = text.index(b"    <TransportEquipment>")
        return text[:first_end] + item + text[first_end:]

    # ------------------------------------------------------------ documents

    def consignment_of(self, i: int) -> int:
        """Consecutive messages are about different consignments, and each consignment gets every kind in turn
        (message i is of kind GROUP[i mod 10]; its consignment shifts by one every group)."""
        return (i + i // len(GROUP)) % self.consignments

    def ucr_issued(self, c: int) -> Doc:
        doc = dict(self._ucr, ucr=ucr(c, self.series), idfId=f"E26{c:08d}")
        return Doc("ucr_issued_json", json.dumps(doc).encode())

    def doc(self, kind: str, i: int, c: int | None = None) -> Doc:
        """The i-th message of a run for this kind (consignment ``consignment_of(i)`` unless given, voyage and
        document numbers from i)."""
        c = self.consignment_of(i) if c is None else c
        u = ucr(c, self.series).encode()
        if kind == "manifest_xml":
            body = self._manifest.replace(EXAMPLE_UCR.encode(), u).replace(
                b"<JourneyId>JE608A</JourneyId>", b"<JourneyId>B%s%07d</JourneyId>" % (self.series.encode(), i))
        elif kind == "manifest_edifact":
            voyage = b"E%s%06d" % (self.series.encode(), i)
            body = self._edi.replace(EXAMPLE_UCR.encode(), u).replace(b"JE608A", voyage)
        elif kind == "release_xml":
            body = self._release.replace(EXAMPLE_UCR.encode(), u).replace(
                EXAMPLE_DECLARATION.encode(), declaration(c).encode())
        elif kind == "permit_json":
            body = json.dumps(dict(self._permit, ucr=ucr(c, self.series), issuingAuthorityId="KEBS",
                                   permitTypeCode="COC", permitId=f"KEBS/COC/2026/{i:06d}",
                                   applicationId=f"KEBS/APP/2026/{i:06d}")).encode()
        elif kind == "payment_json":
            body = json.dumps(dict(self._payment, ucr=ucr(c, self.series), declarationId=declaration(c),
                                   paymentReferenceId=f"2026ICMS{i:09d}")).encode()
        elif kind == "ucr_issued_json":
            return self.ucr_issued(c)
        else:
            raise ValueError(f"unknown kind {kind!r}")
        return Doc(kind, body)

    def priming(self) -> list[list[Doc]]:
        """What makes every consignment's parties known before a run (sent in this order, each list awaited):
        its ucr.issued (trader, agent, bank, insurer), then a manifest line (consignee, CFS) and a permit
        (agency). From then on, how many deliveries a message makes depends on its kind alone."""
        first = [self.ucr_issued(c) for c in range(self.consignments)]
        then = [self.doc(kind, 20_000_000 + 2 * c + j, c)
                for c in range(self.consignments) for j, kind in enumerate(("manifest_xml", "permit_json"))]
        return [first, then]

    def run(self, n: int, offset: int = 0) -> list[Doc]:
        """n messages of the mix (whole groups first), numbered from ``offset`` so ids never repeat."""
        return [self.doc(GROUP[i % len(GROUP)], offset + i) for i in range(n)]


def sizes_of(docs: list[Doc]) -> dict[str, Any]:
    by_kind: dict[str, list[int]] = {}
    for d in docs:
        by_kind.setdefault(d.kind, []).append(len(d.body))
    return {k: {"count": len(v), "bytes_mean": round(sum(v) / len(v))} for k, v in by_kind.items()}


def generated_manifest(target: int, voyage: str, series: str = "B", c: int = 0) -> bytes:
    """The MSC manifest's consignment lines repeated (fresh bill of lading and containers per line) until the
    document has at least ``target`` bytes; a small target gives one line (about 1.4 KB)."""
    root = codec.parse_xml(MANIFEST_XML.read_bytes())
    ns = etree.QName(root).namespace
    journey = root.find(f"{{{ns}}}JourneyId")
    assert journey is not None
    journey.text = voyage
    lines = root.findall(f"{{{ns}}}Consignment")
    for line in lines:
        root.remove(line)
    template = lines[0]
    ucr_el = template.find(f"{{{ns}}}Ucr")
    assert ucr_el is not None
    ucr_el.text = ucr(c, series)
    head = len(etree.tostring(root))
    serial = 0

    def add(count: int) -> None:
        nonlocal serial
        for _ in range(count):
            new = copy.deepcopy(template)
            serial += 1
            doc_id = new.find(f"{{{ns}}}TransportDocumentId")
            assert doc_id is not None
            doc_id.text = f"MEDUKB{serial:07d}"
            for k, equipment in enumerate(new.findall(f"{{{ns}}}TransportEquipment")):
                cid = equipment.find(f"{{{ns}}}Id")
                assert cid is not None
                cid.text = container(serial * 4 + k, "MSMU")
            root.append(new)

    add(1)
    while (size := len(etree.tostring(root))) < target:
        add(max(1, math.ceil((target - size) / ((size - head) / serial))))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def generated(target: int, voyage: str, series: str = "B", c: int = 0) -> Doc:
    return Doc("manifest_generated_xml", generated_manifest(target, voyage, series, c))
