"""Acknowledgements for partners that ask for EDIFACT (registry ``ack_format: edifact``).

CONTRL (syntax and service report, ``CONTRL:D:3:UN``, ISO 9735-4 / UN/EDIFACT syntax version 3) answers a
payload rejected at the syntax level; APERAK (application error and acknowledgement, ``APERAK:D:96A:UN``)
answers everything else: accepted, duplicate, and rejections found in the content. Both carry the same
information as the JSON ``hub.ack/1`` document, so ``read_ack`` gives it back.

CONTRL: UCI (subject interchange: its 0020 control reference, S002 sender, S003 recipient; 0083 action:
4 rejected, 7 acknowledged, 8 received; 0085 syntax error; 0013 the service segment in error), UCM (the
subject message: 0062, S009, 0083, 0085, 0013), UCS (0096 position of the segment in error within the
message, 0085). CONTRL has no free text: the hub's error code maps to a syntax error code 0085 (below).

APERAK: BGM 1001 = 23 (status information), 1004 = this acknowledgement's reference, 1225 = 9 (original),
4343 = AP (accepted), RE (rejected) or AB (acknowledged: duplicate, pending, ...); DTM 137 = when the hub
received the message; FTX AAI = the hub's status and the correlation id (the AMQP message id, up to 128
characters, so in 70-character parts); segment group 1 RFF ACW = the subject interchange's control
reference when it was EDIFACT; per error, segment group 3: ERC (9321 ``ZZZ``: the error follows as free
text) with FTX AAO = the hub's error code and message, and segment group 4: RFF ZZZ = the line (segment
number) and FTX AAO = the path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hub.edifact import syntax
from hub.edifact.messages import chunks
from hub.edifact.syntax import Segment, Writer
from hub.errors import ErrorDetail

# Hub error code -> (level, ISO 9735 service code 0085 syntax error). "I": interchange (UCI),
# "M": message (UCM), "S": a segment within the message (UCS), decided by the error's position.
SYNTAX_ERRORS: dict[str, tuple[str, str]] = {
    syntax.SYNTAX: ("S", "18"),  # unspecified error
    syntax.UNA_CODE: ("I", "22"),  # invalid service character(s)
    syntax.CHARSET: ("S", "21"),  # invalid character(s)
    syntax.SEGMENT_COUNT: ("M", "29"),  # control count does not match number of instances received
    syntax.MESSAGE_COUNT: ("I", "29"),
    syntax.REFERENCE_MISMATCH: ("S", "28"),  # references do not match
    syntax.UNSUPPORTED: ("M", "17"),  # no agreement
    "EDIFACT_MULTIPLE_MESSAGES": ("I", "17"),
    "XML_MALFORMED": ("I", "18"),
    "JSON_MALFORMED": ("I", "18"),
}
ACTION = {"rejected": "4", "accepted": "7", "duplicate": "7"}  # 0083; anything else: 8 (received)
RESPONSE = {"accepted": "AP", "rejected": "RE"}  # BGM 4343; anything else: AB
_TAG_IN_PATH = re.compile(r"\(([A-Z][A-Z0-9]{2})\)")


def is_syntax_error(errors: Sequence[ErrorDetail]) -> bool:
    """A rejection CONTRL answers: any error found before the content could be read."""
    return any(e.code in SYNTAX_ERRORS for e in errors)


def _stamp(when: datetime) -> tuple[str, str]:
    when = when.astimezone(UTC)
    return f"{when:%y%m%d}", f"{when:%H%M}"


def _subject(payload: bytes | None) -> tuple[Segment | None, Segment | None]:
    return syntax.peek(payload) if payload else (None, None)


def _status(status: object) -> str:
    return str(getattr(status, "value", status))


def encode_ack_contrl(correlation_id: str | None, status: object, errors: Sequence[ErrorDetail],
                      received_at: datetime, *, sender: str, recipient: str, control_ref: str,
                      subject: bytes | None = None, prepared: datetime | None = None) -> bytes:
    """A CONTRL interchange from ``sender`` (the hub) to ``recipient`` (the partner) about the partner's
    payload ``subject``; its UNB and first UNH are identified when they can be read."""
    unb, unh = _subject(subject)
    action = ACTION.get(_status(status), "8")
    w = Writer(sender, recipient, control_ref[:14], _stamp(prepared or received_at), "1", ("CONTRL", "D", "3", "UN"))
    uci_error: tuple[str, str] = ("", "")
    ucm_error: tuple[str, str] = ("", "")
    ucs: list[tuple[str, str]] = []
    for err in errors:
        level, code = SYNTAX_ERRORS.get(err.code, ("I", "18"))
        found = _TAG_IN_PATH.search(err.path or "")
        tag = found.group(1) if found else ""
        in_message = unh is not None and err.line is not None and err.line > unh.number
        if level == "S":
            level = "I" if tag in ("UNA", "UNB", "UNZ") or not in_message else ("M" if tag == "UNT" else "S")
        if level == "M" and unh is None:
            level = "I"
        if level == "I" and not uci_error[0]:
            uci_error = (code, tag if tag in ("UNA", "UNB", "UNZ") else "")
        elif level == "M" and not ucm_error[0]:
            ucm_error = (code, tag if tag in ("UNH", "UNT") else "")
        elif level == "S" and unh is not None and err.line is not None:
            ucs.append((str(err.line - unh.number + 1), code))
    subject_ref = unb.get(4) if unb is not None else (correlation_id or "")[:14]
    subject_from = list(unb.components(1)) if unb is not None else [recipient, "ZZZ"]
    subject_to = list(unb.components(2)) if unb is not None else [sender, "ZZZ"]
    w.add("UCI", subject_ref, subject_from, subject_to, action, *uci_error)
    if unh is not None:
        rejected = action == "4" and (ucm_error[0] or ucs or not uci_error[0])
        w.add("UCM", unh.get(0), list(unh.components(1)), "4" if rejected else action, *ucm_error)
        for position, code in ucs:
            w.add("UCS", position, code)
    return w.render()


def encode_ack_aperak(correlation_id: str | None, status: object, errors: Sequence[ErrorDetail],
                      received_at: datetime, *, sender: str, recipient: str, control_ref: str,
                      subject: bytes | None = None, prepared: datetime | None = None) -> bytes:
    """An APERAK interchange carrying the hub's acknowledgement (status, errors with code, message,
    path and line) for the message ``correlation_id``."""
    unb, _unh = _subject(subject)
    state = _status(status)
    w = Writer(sender, recipient, control_ref[:14], _stamp(prepared or received_at), "1", ("APERAK", "D", "96A", "UN"))
    w.add("BGM", "23", control_ref[:35], "9", RESPONSE.get(state, "AB"))
    w.add("DTM", ["137", f"{received_at.astimezone(UTC):%Y%m%d%H%M%S}", "204"])
    w.add("FTX", "AAI", "", "", [state, *chunks(correlation_id or "", 70, 4)])
    if unb is not None and unb.get(4):
        w.add("RFF", ["ACW", unb.get(4)])
    for err in errors:
        w.add("ERC", "ZZZ")
        w.add("FTX", "AAO", "", "", [err.code, *chunks(err.message, 70, 4)])
        if err.path or err.line is not None:
            w.add("RFF", ["ZZZ", "" if err.line is None else str(err.line)])
            if err.path:
                w.add("FTX", "AAO", "", "", chunks(err.path, 70))
    return w.render()


@dataclass
class AckRead:
    """An acknowledgement read back from CONTRL or APERAK."""

    message_type: str
    status: str
    correlation_id: str | None = None
    subject_control_ref: str | None = None
    received_at: datetime | None = None
    errors: list[ErrorDetail] = field(default_factory=list)
    syntax_errors: list[tuple[str, str, str]] = field(default_factory=list)  # (segment tag, position, 0085)


def read_ack(data: bytes) -> AckRead:
    """Parse a CONTRL or APERAK interchange (envelope checks included) back into the hub's terms."""
    interchange = syntax.parse(data)
    msg = interchange.messages[0]
    if msg.type == "CONTRL":
        return _read_contrl(msg)
    if msg.type == "APERAK":
        return _read_aperak(msg)
    raise ValueError(f"not an acknowledgement: {msg.type}")


def _read_contrl(msg: syntax.Message) -> AckRead:
    status = {v: k for k, v in ACTION.items() if k != "duplicate"}
    out = AckRead("CONTRL", "received")
    for seg in msg.segments:
        if seg.tag == "UCI":
            out.status = status.get(seg.get(3), "received")
            out.subject_control_ref = seg.get(0)
            if seg.get(4):
                out.syntax_errors.append(("UCI", seg.get(5), seg.get(4)))
        elif seg.tag == "UCM":
            if seg.get(2) == "4":
                out.status = "rejected"
            if seg.get(3):
                out.syntax_errors.append(("UCM", seg.get(4), seg.get(3)))
        elif seg.tag == "UCS":
            out.syntax_errors.append(("UCS", seg.get(0), seg.get(1)))
    return out


def _read_aperak(msg: syntax.Message) -> AckRead:
    out = AckRead("APERAK", "")
    current: dict[str, object] | None = None
    pending: list[dict[str, object]] = []
    for seg in msg.segments:
        if seg.tag == "DTM" and seg.get(0, 0) == "137":
            out.received_at = datetime.strptime(seg.get(0, 1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        elif seg.tag == "FTX" and seg.get(0) == "AAI" and current is None:
            parts = seg.components(3)
            out.status = parts[0] if parts else ""
            out.correlation_id = "".join(parts[1:]) or None
        elif seg.tag == "RFF" and seg.get(0, 0) == "ACW":
            out.subject_control_ref = seg.get(0, 1)
        elif seg.tag == "ERC":
            current = {"line": None, "path": None}
            pending.append(current)
        elif current is not None and seg.tag == "FTX" and "code" not in current:
            parts = seg.components(3)
            current["code"], current["message"] = parts[0], "".join(parts[1:])
        elif current is not None and seg.tag == "RFF" and seg.get(0, 0) == "ZZZ":
            current["line"] = int(seg.get(0, 1)) if seg.get(0, 1) else None
        elif current is not None and seg.tag == "FTX":
            current["path"] = "".join(seg.components(3))
    for item in pending:
        line = item["line"]
        out.errors.append(ErrorDetail(str(item.get("code", "")), str(item.get("message", "")),
                                      item["path"] if isinstance(item["path"], str) else None,
                                      line if isinstance(line, int) else None))
    return out
