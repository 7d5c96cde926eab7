"""UN/EDIFACT for the catalogue: CUSCAR, BAPLIE and CUSRES in; CUSRES, CONTRL and APERAK out.

``decode(body, declared_type, limits)`` is what ``Catalogue.decode`` calls for ``application/edifact``:
size cap first, then the interchange (``syntax``: UNA optional, release character, UNB/UNZ and UNH/UNT
counts and references), one message per interchange, the message type against the declared type, the
mapping to the body model (``messages``) and pydantic validation, whose identifier checks keep their
own codes (``IMO_FORMAT``, ``CONTAINER_CHECK_DIGIT``, ...). Error paths are ``segment N (TAG)`` for the
syntax and envelopes and ``UNH+<ref>/<TAG>[n]/<element>`` for content; ``line`` is the segment number
in the interchange (UNA, when present, is segment 1).

Messages (UN/EDIFACT directory D.95B unless said; segment definitions from UNTDID D.95B: CUSCAR
trmd/cuscar_d.htm, BAPLIE trmd/baplie_s.htm, CUSRES trmd/cusres_s.htm, and the segment directory trsd):

=========  ===============  ===========================================================================
UNH S009   hub type          read / written
=========  ===============  ===========================================================================
CUSCAR     manifest.sea      read: D:95B (TDT 20, LOC 11, DTM 132, EQD/SEL, CNI, RFF MB/UCN, NAD CZ/CN/
                             N1/WH, GID, FTX AAA, MEA AAE|WT G, SGP)
BAPLIE     bayplan           read: D:95B and D:04B (TDT, LOC 5, DTM 178/136/133, LOC 147, MEA WT,
                             LOC 9/11, EQD CN, DGS)
CUSRES     customs.release   read and written: D:95B (BGM 962, NAD AE/CN, LOC 22, DTM 137, GIS release
                             status in the hub's code list, FTX AAI, EQD CN, RFF UCN and AAE)
CONTRL     (acknowledgement) written: D:3 (syntax version 3), see ``acks``
APERAK     (acknowledgement) written: D:96A, see ``acks``
=========  ===============  ===========================================================================

Agreements where the standard leaves a choice: date-times (DTM formats 102, 203, 204, 101, 201) are
UTC; identifiers in NAD C082 are given with code list agency 3055 ``ZZZ`` (KRA PIN, CFS code); a name
longer than 35 characters continues in the next C080 component and free text over 70 in the next C108
component (joined without a separator); RFF UCN (unique consignment reference) is a UNCL 1153 code
later than D.95B, used because D.95B has none for the UCR. Segment repetition (syntax 4) and functional
groups (UNG/UNE) are not supported.

Error codes: EDIFACT_SYNTAX (no UNB, empty or unterminated segment, bad tag, segment outside a message,
missing UNT/UNZ, release character at the end), EDIFACT_UNA (service characters that clash or are
letters), EDIFACT_CHARSET (syntax identifier unknown, a byte its character set cannot carry, a control
character), EDIFACT_SEGMENT_COUNT (UNT 0074), EDIFACT_MESSAGE_COUNT (UNZ 0036),
EDIFACT_REFERENCE_MISMATCH (UNT 0062 vs UNH, UNZ 0020 vs UNB), EDIFACT_UNSUPPORTED (message type or
version the hub does not read, functional groups, syntax version), EDIFACT_MULTIPLE_MESSAGES (more than
one message in the interchange), TYPE_MISMATCH (UNH type is another hub type than the declared one),
CONTENT_TYPE_UNSUPPORTED (the declared type has no EDIFACT form), EDIFACT_CONTENT (a segment or value the
mapping needs is missing or malformed: the analogue of XML_SCHEMA), and the identifier codes.

pydifact (0.2.3, evaluated for this module) was not used. It reads UNA and release characters, but:
``Interchange.validate()`` and ``Message.validate()`` are stubs, so UNT/UNZ counts and references are never
checked; errors carry no segment position (``EDISyntaxError`` with text only; an empty segment gives
"Invalid segment name: {name}", an unformatted f-string); segment validation warns once per segment for
every directory it has no XML for; it does not decode by the UNB character set. What the hub needs is
under 500 lines with the writer (``syntax``), so the hub has its own parser.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hub.codec import check_size
from hub.edifact import syntax
from hub.edifact.acks import encode_ack_aperak, encode_ack_contrl, is_syntax_error, read_ack
from hub.edifact.messages import encode_cusres, read_baplie, read_cuscar, read_cusres, validate
from hub.edifact.syntax import Message
from hub.errors import ErrorDetail, MessageRejected
from hub.schemas.base import Body

if TYPE_CHECKING:
    from hub.catalogue import Limits
    from hub.edifact.messages import Source

HUB_ID = "NESWS-HUB"  # the hub's interchange identification (UNB S002/S003), code qualifier ZZZ
MULTIPLE = "EDIFACT_MULTIPLE_MESSAGES"

Reader = Callable[[Message], "tuple[dict[str, Any], Source]"]
# UNH message type -> (hub type, versions read (0052:0054), reader)
MESSAGES: dict[str, tuple[str, frozenset[str], Reader]] = {
    "CUSCAR": ("manifest.sea", frozenset({"D:95B"}), read_cuscar),
    "BAPLIE": ("bayplan", frozenset({"D:95B", "D:04B"}), read_baplie),
    "CUSRES": ("customs.release", frozenset({"D:95B"}), read_cusres),
}
BY_TYPE = {hub_type: unh for unh, (hub_type, _v, _r) in MESSAGES.items()}
ENCODABLE = frozenset({"customs.release"})  # hub types the hub writes as EDIFACT


def decode(body: bytes, declared_type: str, limits: Limits) -> Body:
    """Validate an EDIFACT interchange carrying one message of ``declared_type``; raise MessageRejected."""
    from hub.catalogue import body_models

    check_size(body, limits.max_bytes)
    if declared_type not in BY_TYPE:
        raise MessageRejected.one(
            "CONTENT_TYPE_UNSUPPORTED", f"{declared_type} has no EDIFACT form (the hub reads "
            f"{', '.join(f'{unh} as {t}' for t, unh in sorted(BY_TYPE.items()))})")
    interchange = syntax.parse(body)
    if len(interchange.messages) > 1:
        second = interchange.messages[1].header
        raise MessageRejected.one(
            MULTIPLE, f"the interchange carries {len(interchange.messages)} messages; send one message "
            "per interchange", second.where, second.number)
    msg = interchange.messages[0]
    entry = MESSAGES.get(msg.type)
    unh = msg.header
    if entry is None or msg.agency != "UN":
        raise MessageRejected.one(
            syntax.UNSUPPORTED, f"message type {msg.type}:{msg.version}:{msg.agency} is not one the hub reads "
            f"(expected {BY_TYPE[declared_type]} for {declared_type})", f"{unh.where}/S009", unh.number)
    hub_type, versions, reader = entry
    if hub_type != declared_type:
        raise MessageRejected.one(
            "TYPE_MISMATCH", f"declared type {declared_type} but UNH names {msg.type} ({hub_type}); expected "
            f"{BY_TYPE[declared_type]}", f"{unh.where}/S009/0065", unh.number)
    if msg.version not in versions:
        raise MessageRejected.one(
            syntax.UNSUPPORTED, f"{msg.type} version {msg.version} is not supported (the hub reads "
            f"{', '.join(sorted(versions))})", f"{unh.where}/S009/0052", unh.number)
    data, src = reader(msg)
    return validate(body_models()[hub_type], data, src)


def control_ref(seed: str) -> str:
    """A 14-character interchange control reference derived from ``seed`` (e.g. a delivery id), so that
    the same delivery repeated after a crash carries the same reference."""
    return hashlib.sha256(seed.encode()).hexdigest()[:14].upper()


def encode(body: Body, recipient: str, control: str) -> bytes:
    """A body the hub writes as EDIFACT (``ENCODABLE``), addressed from the hub to ``recipient``."""
    from hub.schemas.customs_release import CustomsRelease

    if isinstance(body, CustomsRelease):
        return encode_cusres(body, HUB_ID, recipient, control)
    raise ValueError(f"cannot encode {body.TYPE} as application/edifact")


__all__ = [
    "BY_TYPE", "ENCODABLE", "HUB_ID", "MESSAGES", "control_ref", "decode", "encode", "encode_ack", "encode_ack_aperak",
    "encode_ack_contrl", "encode_cusres", "is_syntax_error", "read_ack",
]  # fmt: skip


def encode_ack(correlation_id: str | None, status: object, errors: Sequence[ErrorDetail], received_at: datetime,
               *, recipient: str, subject: bytes | None = None) -> bytes:
    """The acknowledgement for a partner registered with ``ack_format: edifact``: CONTRL for a rejection at
    the syntax level (``acks.SYNTAX_ERRORS``), APERAK for everything else. ``subject`` is the partner's
    payload when it was EDIFACT (to name its interchange and message). The control reference is derived
    from (partner, message id, status), so a repeated acknowledgement is the same interchange."""
    state = str(getattr(status, "value", status))
    contrl = state == "rejected" and is_syntax_error(errors)
    writer = encode_ack_contrl if contrl else encode_ack_aperak
    ref = control_ref(f"{recipient}/{correlation_id}/{state}/{'CONTRL' if contrl else 'APERAK'}")
    return writer(correlation_id, state, errors, received_at, sender=HUB_ID, recipient=recipient,
                  control_ref=ref, subject=subject)
