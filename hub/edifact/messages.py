"""Mapping UN/EDIFACT messages to the canonical body models, and customs.release to CUSRES.

Each ``read_*`` turns a parsed message into the dict its body model validates (camelCase keys) and
records, for every field, the segment and data element it came from, so that a pydantic error (an
identifier check such as ``IMO_FORMAT``, or a pattern) points at ``UNH+<ref>/<TAG>[n]/<element>`` with
the segment's number as its line. A segment the mapping needs but cannot find is reported the same way.
Segments the mapping does not use are ignored (the standard allows many more than the hub needs).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from hub.edifact.syntax import Message, Segment, Writer
from hub.errors import ErrorDetail, MessageRejected
from hub.schemas.base import Body
from hub.schemas.customs_release import CustomsRelease, ReleaseStatus

CONTENT = "EDIFACT_CONTENT"
TEXT_CAP = 4096  # characters of FTX text gathered into one field; every model field is shorter
_HUB_CODE = re.compile(r"^[A-Z][A-Z0-9_]+$")
_SEGMENT_REF = re.compile(r"^[A-Z]{3}(\+|$)")

# DTM C507 2379 (date/time/period format qualifier) -> strptime form and length.
DATE_FORMATS: dict[str, tuple[str, int]] = {
    "101": ("%y%m%d", 6), "102": ("%Y%m%d", 8), "201": ("%y%m%d%H%M", 10), "203": ("%Y%m%d%H%M", 12),
    "204": ("%Y%m%d%H%M%S", 14),
}  # fmt: skip
_BY_LENGTH = {length: code for code, (_fmt, length) in DATE_FORMATS.items()}

# customs.release status <-> CUSRES GIS C529 7365 (processing indicator) in the hub's agreed code list
# (3055 ZZZ, mutually defined): UNCL 7365 has no values for these release decisions.
RELEASE_CODES: dict[ReleaseStatus, str] = {
    ReleaseStatus.RELEASED: "RLS", ReleaseStatus.PARTIALLY_RELEASED: "PRL", ReleaseStatus.HELD: "HLD",
    ReleaseStatus.EXAMINATION: "EXM", ReleaseStatus.DOCUMENTS_REQUIRED: "DOC", ReleaseStatus.CANCELLED: "CAN",
}  # fmt: skip
RELEASE_BY_CODE = {code: status for status, code in RELEASE_CODES.items()}


@dataclass
class Source:
    """Where each model field came from in one message, and the problems found while mapping."""

    message: Message
    where: dict[tuple[Any, ...], tuple[Segment | None, str, str]] = field(default_factory=dict)
    issues: list[ErrorDetail] = field(default_factory=list)
    _occurrence: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        counts: dict[str, int] = {}
        for seg in self.message.segments:
            counts[seg.tag] = counts.get(seg.tag, 0) + 1
            self._occurrence[seg.number] = counts[seg.tag]

    def path(self, seg: Segment | None, element: str) -> str:
        """``UNH+<ref>/<TAG>[n]/<element>``; an ``element`` naming a segment (``LOC+9``) is one expected
        after ``seg`` and not found, so the path stops at ``seg``."""
        base = f"UNH+{self.message.ref}"
        if seg is None:
            return f"{base}/{element}"
        here = f"{base}/{seg.tag}[{self._occurrence.get(seg.number, 1)}]"
        return here if _SEGMENT_REF.match(element) else f"{here}/{element}"

    def at(self, loc: tuple[Any, ...], seg: Segment | None, element: str, what: str) -> None:
        """Record that model field ``loc`` comes from ``element`` of ``seg`` (None: the segment is absent,
        and ``element`` names the segment expected)."""
        self.where[loc] = (seg, element, what)

    def issue(self, message: str, seg: Segment | None, element: str) -> None:
        self.issues.append(ErrorDetail(CONTENT, message, self.path(seg, element), seg.number if seg else None))

    def locate(self, loc: tuple[Any, ...]) -> tuple[str, int | None, str]:
        for end in range(len(loc), 0, -1):
            found = self.where.get(tuple(loc[:end]))
            if found is not None:
                seg, element, what = found
                return self.path(seg, element), seg.number if seg else None, what
        return f"UNH+{self.message.ref}", self.message.header.number, f"{self.message.type} message"

    def details(self, exc: ValidationError) -> list[ErrorDetail]:
        """Pydantic errors as error details: identifier validators keep their codes, the rest is
        ``EDIFACT_CONTENT`` (the EDIFACT analogue of ``XML_SCHEMA``)."""
        out: list[ErrorDetail] = []
        for err in exc.errors(include_input=False, include_url=False)[:20]:  # as hub.codec.MAX_ERRORS
            code = err["type"] if _HUB_CODE.match(err["type"]) else CONTENT
            path, line, what = self.locate(tuple(err["loc"]))
            message = f"{what} is missing" if err["type"] == "missing" else f"{what}: {err['msg']}"
            out.append(ErrorDetail(code, message, path, line))
        return out


def validate(model: type[Body], data: dict[str, Any], src: Source) -> Body:
    if src.issues:
        raise MessageRejected(src.issues)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MessageRejected(src.details(exc)) from exc


# ---------------------------------------------------------------- shared element readers


def number(value: str) -> str:
    """A numeric data element: either decimal mark (ISO 9735 allows both), no exponent."""
    return value.replace(",", ".")


def date_time(seg: Segment, src: Source) -> datetime | None:
    """DTM C507 as an aware UTC datetime (the hub's EDIFACT agreement: date-times are in UTC)."""
    value, fmt = seg.get(0, 1), seg.get(0, 2)
    fmt = fmt or _BY_LENGTH.get(len(value), "")
    spec = DATE_FORMATS.get(fmt)
    if spec is None:
        src.issue(f"DTM {seg.get(0)}: format qualifier {fmt or '(none)'!r} is not supported (use "
                  f"{', '.join(sorted(DATE_FORMATS))})", seg, "C507/2379")
        return None
    pattern, length = spec
    try:
        if len(value) != length or not value.isdigit():
            raise ValueError(value)
        return datetime.strptime(value, pattern).replace(tzinfo=UTC)
    except ValueError:
        src.issue(f"DTM {seg.get(0)}: {value!r} is not a date/time in format {fmt} ({pattern})", seg, "C507/2380")
        return None


def joined(components: tuple[str, ...]) -> str | None:
    """Text continued over several components (a name longer than 35 characters, free text over 70)."""
    text = "".join(components)
    return text or None


def party_name(seg: Segment) -> str | None:
    """NAD party name: C080 (3036, structured) or else the first line of C058 (unstructured)."""
    return joined(seg.components(3)[:5]) or (seg.get(2, 0) or None)


def measure(seg: Segment) -> dict[str, str]:
    return {"value": number(seg.get(2, 1)), "unitCode": seg.get(2, 0)}


def chunks(text: str, size: int, parts: int = 5) -> list[str]:
    out = [text[i : i + size] for i in range(0, len(text), size)]
    return out[:parts] if len(out) > parts else out


# ---------------------------------------------------------------- CUSCAR -> manifest.sea


def read_cuscar(msg: Message) -> tuple[dict[str, Any], Source]:
    """CUSCAR D.95B: TDT stage 20 (voyage, carrier, vessel), LOC 11 and DTM 132 in the transport group,
    EQD/SEL (containers and seals), then per CNI (bill of lading): RFF MB (master bill), RFF UCN (UCR),
    NAD CZ/CN/N1/WH (consignor, consignee, notify party, CFS), GID/FTX AAA/MEA/SGP (goods items)."""
    src = Source(msg)
    data: dict[str, Any] = {}
    segs = msg.segments
    tdt = next((s for s in segs if s.tag == "TDT" and s.get(0) == "20"), None)
    _transport(tdt, data, src)
    equipment: dict[str, dict[str, Any]] = {}
    consignments: list[dict[str, Any]] = []
    links: list[list[tuple[str, Segment]]] = []
    in_transport = False
    eq: dict[str, Any] | None = None
    cons: dict[str, Any] | None = None
    goods: dict[str, Any] | None = None
    for seg in segs:
        tag, qual = seg.tag, seg.get(0)
        if tag == "TDT":
            in_transport, eq = seg is tdt, None
        elif tag == "EQD" and qual == "CN":
            in_transport = False
            eq = {"id": seg.get(1), "sizeTypeCode": seg.get(2) or None, "sealId": []}
            equipment.setdefault(seg.get(1), eq)
        elif tag == "SEL" and eq is not None and cons is None:
            eq["sealId"].append(seg.get(0))
        elif tag == "CNI":
            in_transport, eq, goods = False, None, None
            i = len(consignments)
            cons = {"transportDocumentId": seg.get(1), "goodsItem": []}
            src.at(("consignment", i), seg, "C503", f"CNI {seg.get(0) or i + 1} (bill of lading)")
            src.at(("consignment", i, "transportDocumentId"), seg, "C503/1004", "CNI bill of lading number")
            src.at(("consignment", i, "consignorName"), None, "NAD+CZ", "NAD CZ (consignor) name")
            src.at(("consignment", i, "consignee"), None, "NAD+CN", "NAD CN (consignee)")
            src.at(("consignment", i, "goodsItem"), seg, "GID", "GID (goods item)")
            consignments.append(cons)
            links.append([])
        elif in_transport and cons is None and tag == "LOC" and qual == "11":
            data["unloadingLocationId"] = seg.get(1)
            src.at(("unloadingLocationId",), seg, "C517/3225", "LOC 11 (port of discharge)")
        elif in_transport and cons is None and tag == "DTM" and seg.get(0, 0) in ("132", "178"):
            if seg.get(0, 0) == "132" or "arrivalDateTime" not in data:
                when = date_time(seg, src)
                if when is not None:
                    data["arrivalDateTime"] = when
                src.at(("arrivalDateTime",), seg, "C507/2380", "DTM 132 (estimated arrival)")
        elif cons is not None:
            goods = _consignment_segment(seg, cons, goods, links[-1], len(consignments) - 1, src)
    if "unloadingLocationId" not in data:
        src.at(("unloadingLocationId",), tdt, "LOC+11", "LOC 11 (port of discharge) after TDT")
    if "arrivalDateTime" not in data:
        src.at(("arrivalDateTime",), tdt, "DTM+132", "DTM 132 (estimated arrival) after TDT")
    if not consignments:
        src.at(("consignment",), None, "CNI", "CNI (consignment)")
    for i, (cons, used) in enumerate(zip(consignments, links, strict=True)):
        seen: list[str] = []
        seen_set: set[str] = set()  # membership in O(1): thousands of SGP segments must stay linear
        for container, seg in used:
            if container in seen_set:
                continue
            k = len(seen)
            seen.append(container)
            seen_set.add(container)
            details = equipment.get(container, {"id": container, "sizeTypeCode": None, "sealId": []})
            cons.setdefault("transportEquipment", []).append(
                {key: value for key, value in details.items() if value not in (None, [])})
            src.at(("consignment", i, "transportEquipment", k), seg, "C237/8260", "SGP container number")
    data["consignment"] = consignments
    return data, src


def _transport(tdt: Segment | None, data: dict[str, Any], src: Source) -> None:
    """TDT: 8028 voyage, C040 carrier (3127, 3128), C222 vessel (8213 with code list 146: IMO number; 8212)."""
    fields = (("journeyId", "8028", "TDT 8028 (voyage number)"), ("carrier", "C040", "TDT C040 (carrier)"),
              ("vesselImoNumber", "C222/8213", "TDT C222 8213 (vessel IMO number)"),
              ("vesselName", "C222/8212", "TDT C222 8212 (vessel name)"))
    for key, label, what in fields:
        if tdt is None:
            src.at((key,), None, "TDT", "TDT (details of transport, stage 20)")
        else:
            src.at((key,), tdt, label, what)
    if tdt is None:
        return
    if tdt.get(1):
        data["journeyId"] = tdt.get(1)
    if tdt.get(4, 0):
        data["carrier"] = {"id": tdt.get(4, 0), **({"name": tdt.get(4, 3)} if tdt.get(4, 3) else {})}
        src.at(("carrier", "id"), tdt, "C040/3127", "TDT C040 3127 (carrier code)")
        src.at(("carrier", "name"), tdt, "C040/3128", "TDT C040 3128 (carrier name)")
    if tdt.get(7, 0) and tdt.get(7, 1) in ("", "146"):
        data["vesselImoNumber"] = tdt.get(7, 0)
    elif tdt.get(7, 0):
        src.at(("vesselImoNumber",), tdt, "C222/1131", "TDT C222 8213 with code list 146 (IMO number)")
    if tdt.get(7, 3):
        data["vesselName"] = tdt.get(7, 3)


def _consignment_segment(seg: Segment, cons: dict[str, Any], goods: dict[str, Any] | None,
                         links: list[tuple[str, Segment]], i: int, src: Source) -> dict[str, Any] | None:
    tag, qual = seg.tag, seg.get(0)
    loc: tuple[Any, ...] = ("consignment", i)
    if tag == "RFF" and qual == "MB":
        cons["masterTransportDocumentId"] = seg.get(0, 1)
        src.at((*loc, "masterTransportDocumentId"), seg, "C506/1154", "RFF MB (master bill of lading)")
    elif tag == "RFF" and qual == "UCN":
        cons["ucr"] = seg.get(0, 1)
        src.at((*loc, "ucr"), seg, "C506/1154", "RFF UCN (unique consignment reference)")
    elif tag == "NAD" and qual == "CZ":
        if (name := party_name(seg)) is not None:
            cons["consignorName"] = name
        src.at((*loc, "consignorName"), seg, "C080/3036", "NAD CZ (consignor) name")
    elif tag == "NAD" and qual in ("CN", "N1"):
        key = "consignee" if qual == "CN" else "notifyParty"
        party: dict[str, Any] = {}
        if seg.get(1, 0):
            party["id"] = seg.get(1, 0)
        if (name := party_name(seg)) is not None:
            party["name"] = name
        cons[key] = party
        src.at((*loc, key), seg, "C080/3036", f"NAD {qual} name")
        src.at((*loc, key, "id"), seg, "C082/3039", f"NAD {qual} C082 3039 (KRA PIN)")
    elif tag == "NAD" and qual == "WH":
        cons["warehouseId"] = seg.get(1, 0)
        src.at((*loc, "warehouseId"), seg, "C082/3039", "NAD WH C082 3039 (CFS code)")
    elif tag == "GID":
        k = len(cons["goodsItem"])
        goods = {"sequenceNumber": seg.get(0), "packageQuantity": seg.get(1, 0)}
        if seg.get(1, 1):
            goods["packageTypeCode"] = seg.get(1, 1)
        cons["goodsItem"].append(goods)
        g = (*loc, "goodsItem", k)
        src.at(g, seg, "1496", f"GID {seg.get(0)}")
        src.at((*g, "sequenceNumber"), seg, "1496", "GID 1496 (goods item number)")
        src.at((*g, "packageQuantity"), seg, "C213/7224", "GID C213 7224 (number of packages)")
        src.at((*g, "packageTypeCode"), seg, "C213/7065", "GID C213 7065 (package type)")
        src.at((*g, "description"), seg, "FTX+AAA", "FTX AAA (goods description) after GID")
        src.at((*g, "grossMass"), seg, "MEA+AAE+G", "MEA gross weight after GID")
    elif goods is not None:
        k = len(cons["goodsItem"]) - 1
        g = (*loc, "goodsItem", k)
        if tag == "FTX" and qual == "AAA":
            so_far = goods.get("description") or ""
            if len(so_far) <= TEXT_CAP:  # stop growing past any field's limit (the model refuses it anyway)
                goods["description"] = so_far + (joined(seg.components(3)) or "")
            src.at((*g, "description"), seg, "C108/4440", "FTX AAA (goods description)")
        elif tag == "MEA" and qual in ("AAE", "WT") and seg.get(1, 0) in ("G", "") and "grossMass" not in goods:
            goods["grossMass"] = measure(seg)
            src.at((*g, "grossMass"), seg, "C174", "MEA gross weight (C174)")
        elif tag == "SGP":
            links.append((seg.get(0, 0), seg))
    return goods


# ---------------------------------------------------------------- BAPLIE -> bayplan


def read_baplie(msg: Message) -> tuple[dict[str, Any], Source]:
    """BAPLIE D.95B (and D.04B, the same for what the hub reads): segment group 1 TDT with LOC 5 and DTM
    178/136/133; per stowage location (segment group 2) LOC 147, MEA WT, LOC 9/11, EQD CN, DGS."""
    src = Source(msg)
    data: dict[str, Any] = {}
    segs = msg.segments
    tdt = next((s for s in segs if s.tag == "TDT"), None)
    _transport(tdt, data, src)
    slots: list[dict[str, Any]] = []
    slot: dict[str, Any] | None = None
    departures: dict[str, datetime] = {}
    for seg in segs:
        tag, qual = seg.tag, seg.get(0)
        if tag == "LOC" and qual == "147":
            slot = {"stowagePosition": seg.get(1, 0), "dangerousGoods": []}
            s = ("containerSlot", len(slots))
            slots.append(slot)
            src.at(s, seg, "C517/3225", f"stowage location {seg.get(1, 0)}")
            src.at((*s, "stowagePosition"), seg, "C517/3225", "LOC 147 C517 3225 (stowage position)")
            for key, where, what in (("grossMass", "MEA+WT", "MEA WT (gross mass)"),
                                     ("loadingLocationId", "LOC+9", "LOC 9 (port of loading)"),
                                     ("unloadingLocationId", "LOC+11", "LOC 11 (port of discharge)"),
                                     ("transportEquipmentId", "EQD+CN", "EQD CN (container)"),
                                     ("sizeTypeCode", "EQD+CN", "EQD C224 8155 (ISO 6346 size-type code)")):
                src.at((*s, key), seg, where, f"{what} after LOC 147")
        elif slot is None:
            if tag == "LOC" and qual == "5":
                data["portOfCallId"] = seg.get(1, 0)
                src.at(("portOfCallId",), seg, "C517/3225", "LOC 5 (place of departure: the port of call)")
            elif tag == "DTM" and seg.get(0, 0) in ("178", "136", "133"):
                when = date_time(seg, src)
                if when is not None:
                    departures[seg.get(0, 0)] = when
                src.at(("arrivalDateTime" if seg.get(0, 0) == "178" else "departureDateTime",), seg,
                       "C507/2380", f"DTM {seg.get(0, 0)}")
        else:
            _slot_segment(seg, slot, ("containerSlot", len(slots) - 1), src)
    if "portOfCallId" not in data:
        src.at(("portOfCallId",), tdt, "LOC+5", "LOC 5 (port of call) after TDT")
    if "178" in departures:
        data["arrivalDateTime"] = departures["178"]
    if "136" in departures or "133" in departures:
        data["departureDateTime"] = departures.get("136") or departures["133"]
    elif ("departureDateTime",) not in src.where:
        src.at(("departureDateTime",), tdt, "DTM+136", "DTM 136 or 133 (departure) after TDT")
    if not slots:
        src.at(("containerSlot",), None, "LOC+147", "LOC 147 (stowage location)")
    data["containerSlot"] = slots
    return data, src


def _slot_segment(seg: Segment, slot: dict[str, Any], s: tuple[Any, ...], src: Source) -> None:
    tag, qual = seg.tag, seg.get(0)
    if tag == "MEA" and qual in ("WT", "AAE") and seg.get(1, 0) in ("", "G") and "grossMass" not in slot:
        slot["grossMass"] = measure(seg)
        src.at((*s, "grossMass"), seg, "C174", "MEA WT C174 (gross mass)")
    elif tag == "LOC" and qual == "9":
        slot["loadingLocationId"] = seg.get(1, 0)
        src.at((*s, "loadingLocationId"), seg, "C517/3225", "LOC 9 (port of loading)")
    elif tag == "LOC" and (qual == "11" or (qual == "12" and "unloadingLocationId" not in slot)):
        slot["unloadingLocationId"] = seg.get(1, 0)
        src.at((*s, "unloadingLocationId"), seg, "C517/3225", f"LOC {qual} (port of discharge)")
    elif tag == "EQD" and qual == "CN" and "transportEquipmentId" not in slot:
        slot["transportEquipmentId"] = seg.get(1, 0)
        src.at((*s, "transportEquipmentId"), seg, "C237/8260", "EQD C237 8260 (container number)")
        if seg.get(2, 0):
            slot["sizeTypeCode"] = seg.get(2, 0)
        src.at((*s, "sizeTypeCode"), seg, "C224/8155", "EQD C224 8155 (ISO 6346 size-type code)")
    elif tag == "DGS":
        k = len(slot["dangerousGoods"])
        slot["dangerousGoods"].append({"unNumber": seg.get(2, 0), "imdgClass": seg.get(1, 0)})
        src.at((*s, "dangerousGoods", k, "unNumber"), seg, "C234/7124", "DGS C234 7124 (UN number)")
        src.at((*s, "dangerousGoods", k, "imdgClass"), seg, "C205/8351", "DGS C205 8351 (IMDG class)")


# ---------------------------------------------------------------- CUSRES <-> customs.release


def read_cusres(msg: Message) -> tuple[dict[str, Any], Source]:
    """CUSRES D.95B as the hub writes it (``encode_cusres``)."""
    src = Source(msg)
    data: dict[str, Any] = {}

    def bgm(seg: Segment) -> None:
        data.setdefault("declarationId", seg.get(1))
        src.at(("declarationId",), seg, "1004", "BGM 1004 (declaration number)")

    def rff(seg: Segment) -> None:
        key = {"UCN": "ucr", "AAE": "declarationId"}.get(seg.get(0, 0))
        if key:
            data[key] = seg.get(0, 1)
            src.at((key,), seg, "C506/1154", f"RFF {seg.get(0, 0)}")

    def gis(seg: Segment) -> None:
        status = RELEASE_BY_CODE.get(seg.get(0, 0))
        src.at(("statusCode",), seg, "C529/7365", "GIS C529 7365 (release status)")
        if status is None:
            src.issue(f"GIS release status {seg.get(0, 0)!r} is not one of {', '.join(RELEASE_BY_CODE)}",
                      seg, "C529/7365")
        else:
            data["statusCode"] = status.value

    def dtm(seg: Segment) -> None:
        if seg.get(0, 0) == "137":
            when = date_time(seg, src)
            if when is not None:
                data["issueDateTime"] = when
            src.at(("issueDateTime",), seg, "C507/2380", "DTM 137 (decision date/time)")

    def loc(seg: Segment) -> None:
        if seg.get(0) == "22":
            data["declarationOfficeId"] = seg.get(1, 0)
            src.at(("declarationOfficeId",), seg, "C517/3225", "LOC 22 (customs office)")

    def nad(seg: Segment) -> None:
        key = {"AE": "declarant", "CN": "consignee"}.get(seg.get(0))
        if key:
            data[key] = {"id": seg.get(1, 0), **({"name": n} if (n := party_name(seg)) else {})}
            src.at((key,), seg, "C082/3039", f"NAD {seg.get(0)}")

    def eqd(seg: Segment) -> None:
        ids = data.setdefault("transportEquipmentId", [])
        src.at(("transportEquipmentId", len(ids)), seg, "C237/8260", "EQD C237 8260 (container number)")
        ids.append(seg.get(1, 0))

    def ftx(seg: Segment) -> None:
        if seg.get(0) == "AAI" and len(data.get("additionalInformation") or "") <= TEXT_CAP:
            data["additionalInformation"] = (data.get("additionalInformation") or "") + (
                joined(seg.components(3)) or "")
            src.at(("additionalInformation",), seg, "C108/4440", "FTX AAI (additional information)")

    handlers: dict[str, Callable[[Segment], None]] = {
        "BGM": bgm, "RFF": rff, "GIS": gis, "DTM": dtm, "LOC": loc, "NAD": nad, "EQD": eqd, "FTX": ftx}
    for key, what in (("ucr", "RFF+UCN"), ("statusCode", "GIS"), ("issueDateTime", "DTM+137"),
                      ("declarationOfficeId", "LOC+22"), ("declarant", "NAD+AE"), ("consignee", "NAD+CN"),
                      ("declarationId", "BGM")):
        src.at((key,), None, what, what.replace("+", " "))
    for seg in msg.segments:
        handler = handlers.get(seg.tag)
        if handler is not None:
            handler(seg)
    return data, src


def encode_cusres(release: CustomsRelease, sender: str, recipient: str, control_ref: str,
                  prepared: datetime | None = None) -> bytes:
    """customs.release as one CUSRES D.95B message in its interchange (UNOC, or UNOY when the text needs
    it). ``control_ref`` is the interchange control reference (0020, at most 14 characters)."""
    when = (prepared or datetime.now(UTC)).astimezone(UTC)
    w = Writer(sender, recipient, control_ref[:14], (f"{when:%y%m%d}", f"{when:%H%M}"), "1",
               ("CUSRES", "D", "95B", "UN"))
    w.add("BGM", "962", release.declaration_id, "9")
    for qual, trader in (("AE", release.declarant), ("CN", release.consignee)):
        w.add("NAD", qual, [trader.id, "", "ZZZ"], "", chunks(trader.name or "", 35))
    w.add("LOC", "22", [release.declaration_office_id, "", "ZZZ"])
    w.add("DTM", ["137", f"{release.issue_date_time.astimezone(UTC):%Y%m%d%H%M%S}", "204"])
    w.add("GIS", [RELEASE_CODES[release.status_code], "", "ZZZ"])
    info = release.additional_information or ""
    for start in range(0, len(info), 350):
        w.add("FTX", "AAI", "", "", chunks(info[start : start + 350], 70))
    for container in release.transport_equipment_id:
        w.add("EQD", "CN", container)
    w.add("RFF", ["UCN", release.ucr])
    w.add("RFF", ["AAE", release.declaration_id])
    return w.render()
