"""UN/EDIFACT syntax (ISO 9735 versions 1 to 4, batch): service string advice, tokenising with release
characters, the interchange and message envelopes with their control counts, and the writer.

Segments are numbered by their position in the interchange, from 1, counting the UNA service string
advice when there is one (so a file written one segment per line gives the line number). Errors are
``MessageRejected`` with ``ErrorDetail(code, message, "segment N (TAG)", N)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from hub.errors import ErrorDetail, MessageRejected

SYNTAX = "EDIFACT_SYNTAX"
UNA_CODE = "EDIFACT_UNA"
CHARSET = "EDIFACT_CHARSET"
SEGMENT_COUNT = "EDIFACT_SEGMENT_COUNT"
MESSAGE_COUNT = "EDIFACT_MESSAGE_COUNT"
REFERENCE_MISMATCH = "EDIFACT_REFERENCE_MISMATCH"
UNSUPPORTED = "EDIFACT_UNSUPPORTED"

# Syntax identifier (UNB S001 0001) -> Python codec. UNOA and UNOB are subsets of ASCII (their letter
# repertoire is not enforced); UNOC to UNOK are ISO 8859 parts; UNOW and UNOY are UTF-8 (syntax 4).
CODECS: dict[str, str] = {
    "UNOA": "ascii", "UNOB": "ascii", "UNOC": "latin-1", "UNOD": "iso8859-2", "UNOE": "iso8859-5",
    "UNOF": "iso8859-7", "UNOG": "iso8859-3", "UNOH": "iso8859-4", "UNOI": "iso8859-6", "UNOJ": "iso8859-8",
    "UNOK": "iso8859-9", "UNOW": "utf-8", "UNOY": "utf-8",
}  # fmt: skip
_TAG = re.compile(r"[A-Z][A-Z0-9]{2}")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_NEWLINES = "\r\n"


@dataclass(frozen=True)
class Separators:
    """Service characters: ISO 9735 defaults ``:+.? '`` unless a UNA segment says otherwise."""

    component: str = ":"
    data: str = "+"
    decimal: str = "."
    release: str | None = "?"
    terminator: str = "'"

    def una(self) -> str:
        return f"UNA{self.component}{self.data}{self.decimal}{self.release or ' '} {self.terminator}"


DEFAULT = Separators()


@dataclass(frozen=True)
class Segment:
    """One segment: ``elements[i][j]`` is component ``j`` of data element ``i`` (after the tag)."""

    tag: str
    elements: tuple[tuple[str, ...], ...]
    number: int

    def get(self, element: int, component: int = 0) -> str:
        """A component's value, ``""`` when absent."""
        if element >= len(self.elements) or component >= len(self.elements[element]):
            return ""
        return self.elements[element][component]

    def components(self, element: int) -> tuple[str, ...]:
        return self.elements[element] if element < len(self.elements) else ()

    @property
    def where(self) -> str:
        return f"segment {self.number} ({self.tag})"


@dataclass
class Message:
    """A message between UNH and UNT; ``segments`` excludes both."""

    header: Segment
    segments: list[Segment] = field(default_factory=list)
    trailer: Segment | None = None

    @property
    def ref(self) -> str:
        return self.header.get(0)

    @property
    def type(self) -> str:
        return self.header.get(1, 0)

    @property
    def version(self) -> str:
        """Version and release, e.g. ``D:95B``."""
        return f"{self.header.get(1, 1)}:{self.header.get(1, 2)}"

    @property
    def agency(self) -> str:
        return self.header.get(1, 3)


@dataclass
class Interchange:
    separators: Separators
    header: Segment
    messages: list[Message]
    trailer: Segment

    @property
    def syntax(self) -> str:
        return self.header.get(0, 0)

    @property
    def sender(self) -> str:
        return self.header.get(1, 0)

    @property
    def recipient(self) -> str:
        return self.header.get(2, 0)

    @property
    def control_ref(self) -> str:
        return self.header.get(4, 0)


def _fail(code: str, message: str, seg: Segment | None = None, number: int | None = None) -> MessageRejected:
    if seg is not None:
        return MessageRejected.one(code, message, seg.where, seg.number)
    if number is not None:
        return MessageRejected.one(code, message, f"segment {number}", number)
    return MessageRejected.one(code, message)


# ---------------------------------------------------------------- service string advice and character set


def read_una(data: bytes) -> tuple[Separators, int]:
    """The separators and the offset where UNB starts. Refuses a UNA whose service characters clash."""
    if not data.startswith(b"UNA"):
        if not data.startswith(b"UNB"):
            raise _fail(SYNTAX, "an interchange starts with UNA or UNB", number=1)
        return DEFAULT, 0
    if len(data) < 9:
        raise _fail(UNA_CODE, "UNA is followed by exactly six service characters", number=1)
    chars = data[3:9].decode("latin-1")
    component, sep, decimal, release, terminator = chars[0], chars[1], chars[2], chars[3], chars[5]
    used = [component, sep, terminator] + ([] if release == " " else [release])
    if len(set(used)) != len(used):
        raise _fail(UNA_CODE, f"UNA service characters must differ from each other: {chars!r}", number=1)
    if any(c.isalnum() or c in " \r\n" for c in (component, sep, terminator)):
        raise _fail(UNA_CODE, "UNA separators cannot be letters, digits, spaces or line breaks", number=1)
    if decimal not in ".,":
        raise _fail(UNA_CODE, f"the UNA decimal mark must be '.' or ',', not {decimal!r}", number=1)
    if release.isalnum():
        raise _fail(UNA_CODE, "the UNA release character cannot be a letter or digit", number=1)
    seps = Separators(component, sep, decimal, None if release == " " else release, terminator)
    rest = 9
    while rest < len(data) and data[rest : rest + 1] in (b"\r", b"\n"):
        rest += 1
    if not data.startswith(b"UNB", rest):
        raise _fail(SYNTAX, "UNA is followed by UNB", number=2)
    return seps, rest


def decode_text(data: bytes, seps: Separators, start: int) -> str:
    """Decode the interchange (from UNB on) in the character set UNB S001 names."""
    head = data[start : start + 512].decode("latin-1")
    syntax_id = head[4:8] if len(head) >= 8 and head[3] == seps.data else ""
    number = 2 if start else 1
    codec = CODECS.get(syntax_id)
    if codec is None:
        raise _fail(CHARSET, f"syntax identifier {syntax_id or '(none)'!r} is not supported "
                    f"(use one of {', '.join(sorted(CODECS))})", number=number)
    try:
        return data[start:].decode(codec)
    except UnicodeDecodeError as exc:
        before = data[start : start + exc.start].count(seps.terminator.encode("latin-1"))
        raise _fail(CHARSET, f"byte {start + exc.start + 1} is not valid in {syntax_id} ({codec})",
                    number=number + before) from exc


# ---------------------------------------------------------------- tokenising


def tokenize(text: str, seps: Separators, first_number: int = 1) -> Iterator[Segment]:
    """Split into segments, honouring the release character. Line breaks are allowed between segments."""
    release = seps.release
    if not release or release not in text:  # nothing released: plain splitting gives the same segments
        yield from _split(text, seps, first_number)
        return
    specials = re.escape(seps.component + seps.data + seps.terminator + release)
    token = re.compile(f"{re.escape(release)}(.)|([{specials}])|([^{specials}]+)", re.DOTALL)
    number = first_number
    elements: list[tuple[str, ...]] = []
    components: list[str] = []
    buf: list[str] = []
    raw = False  # the current segment has content (so an empty segment is detected)
    pos = 0
    for match in token.finditer(text):
        pos = match.end()
        released, sep, chunk = match.groups()
        if released is not None:
            buf.append(released)
            raw = True
        elif chunk is not None:
            if not raw and not elements and not components and chunk.strip(_NEWLINES) == "":
                continue  # line breaks between segments
            if not raw and not elements and not components:
                chunk = chunk.lstrip(_NEWLINES)
            buf.append(chunk)
            raw = True
        elif sep == seps.component:
            components.append("".join(buf))
            buf = []
            raw = True
        elif sep == seps.data:
            components.append("".join(buf))
            elements.append(tuple(components))
            components, buf = [], []
            raw = True
        elif sep == seps.terminator:
            components.append("".join(buf))
            elements.append(tuple(components))
            yield _segment(elements, number, raw)
            number += 1
            elements, components, buf, raw = [], [], [], False
        else:  # the release character as the last character
            raise _fail(SYNTAX, "the release character ends the interchange (it must precede a character)",
                        number=number)
    if raw or pos < len(text):
        raise _fail(SYNTAX, "the last segment has no segment terminator", number=number)


def _split(text: str, seps: Separators, number: int) -> Iterator[Segment]:
    parts = text.split(seps.terminator)
    tail = parts.pop()
    for offset, part in enumerate(parts):
        part = part.lstrip(_NEWLINES)
        elements = [tuple(el.split(seps.component)) for el in part.split(seps.data)] if part else []
        yield _segment(elements, number + offset, bool(part))
    if tail.strip(_NEWLINES):
        raise _fail(SYNTAX, "the last segment has no segment terminator", number=number + len(parts))


def _segment(elements: list[tuple[str, ...]], number: int, raw: bool) -> Segment:
    if not raw:
        raise _fail(SYNTAX, f"empty segment after segment {number - 1} (two segment terminators in a row)",
                    number=number)
    tag_el = elements[0]
    tag = tag_el[0]
    if len(tag_el) != 1 or not _TAG.fullmatch(tag):
        raise _fail(SYNTAX, f"a segment tag is three upper-case letters or digits, not {tag[:10]!r}",
                    number=number)
    rest = tuple(elements[1:])
    for el in rest:
        for comp in el:
            bad = _CONTROL.search(comp)
            if bad is not None:
                raise MessageRejected.one(
                    CHARSET, f"control character {ord(bad.group()):#04x} inside segment {tag}",
                    f"segment {number} ({tag})", number,
                )
    return Segment(tag, rest, number)


# ---------------------------------------------------------------- envelopes


def parse(data: bytes) -> Interchange:
    """Parse an interchange and check its envelopes: UNB/UNZ and every UNH/UNT pair, counts and
    references. Count and reference errors are collected and raised together; a syntax error at once."""
    seps, start = read_una(data)
    text = decode_text(data, seps, start)
    segments = list(tokenize(text, seps, first_number=2 if start else 1))
    header = segments[0]
    _check_unb(header)
    messages: list[Message] = []
    current: Message | None = None
    trailer: Segment | None = None
    for seg in segments[1:]:
        if trailer is not None:
            raise _fail(SYNTAX, f"segment {seg.tag} after UNZ", seg)
        if seg.tag in ("UNG", "UNE"):
            raise _fail(UNSUPPORTED, "functional groups (UNG/UNE) are not supported", seg)
        if seg.tag == "UNH":
            if current is not None:
                raise _fail(SYNTAX, f"UNH before the UNT of message {current.ref!r}", seg)
            _check_unh(seg)
            current = Message(seg)
        elif seg.tag == "UNT":
            if current is None:
                raise _fail(SYNTAX, "UNT without UNH", seg)
            current.trailer = seg
            messages.append(current)
            current = None
        elif seg.tag == "UNZ":
            if current is not None:
                raise _fail(SYNTAX, f"UNZ before the UNT of message {current.ref!r}", seg)
            trailer = seg
        elif seg.tag in ("UNA", "UNB"):
            raise _fail(SYNTAX, f"{seg.tag} may only start an interchange", seg)
        elif current is None:
            raise _fail(SYNTAX, f"segment {seg.tag} outside a message (between UNT and UNH)", seg)
        else:
            current.segments.append(seg)
    last = segments[-1]
    if current is not None:
        raise _fail(SYNTAX, f"message {current.ref!r} has no UNT", last)
    if trailer is None:
        raise _fail(SYNTAX, "the interchange has no UNZ", last)
    interchange = Interchange(seps, header, messages, trailer)
    problems = check_counts(interchange)
    if problems:
        raise MessageRejected(problems)
    if not messages:
        raise _fail(SYNTAX, "the interchange carries no message", trailer)
    return interchange


def _check_unb(seg: Segment) -> None:
    if seg.tag != "UNB":
        raise _fail(SYNTAX, f"an interchange starts with UNB, not {seg.tag}", seg)
    version = seg.get(0, 1)
    if version not in ("1", "2", "3", "4"):
        raise _fail(UNSUPPORTED, f"syntax version {version or '(none)'!r} is not 1 to 4", seg)
    for element, name in ((1, "S002 interchange sender"), (2, "S003 interchange recipient"),
                          (3, "S004 date and time"), (4, "0020 control reference")):
        if not seg.get(element, 0):
            raise MessageRejected.one(SYNTAX, f"UNB has no {name}", f"{seg.where}/{name.split()[0]}", seg.number)
    if len(seg.get(4)) > 14:
        raise _fail(SYNTAX, "the interchange control reference (0020) has at most 14 characters", seg)


def _check_unh(seg: Segment) -> None:
    if not seg.get(0):
        raise _fail(SYNTAX, "UNH has no message reference number (0062)", seg)
    for component, name in ((0, "0065 message type"), (1, "0052 version"), (2, "0054 release"),
                            (3, "0051 controlling agency")):
        if not seg.get(1, component):
            raise MessageRejected.one(SYNTAX, f"UNH S009 has no {name}", f"{seg.where}/S009", seg.number)


def check_counts(interchange: Interchange) -> list[ErrorDetail]:
    """UNT segment counts and references, UNZ message count and reference."""
    problems: list[ErrorDetail] = []
    for msg in interchange.messages:
        unt = msg.trailer
        assert unt is not None
        actual = len(msg.segments) + 2
        declared = unt.get(0)
        if declared != str(actual) and not (declared.isdigit() and int(declared) == actual):
            problems.append(ErrorDetail(
                SEGMENT_COUNT, f"UNT of message {msg.ref!r} counts {declared or '(nothing)'} segments; the "
                f"message has {actual} (UNH to UNT inclusive)", f"{unt.where}/0074", unt.number))
        if unt.get(1) != msg.ref:
            problems.append(ErrorDetail(
                REFERENCE_MISMATCH, f"UNT message reference {unt.get(1)!r} differs from UNH {msg.ref!r}",
                f"{unt.where}/0062", unt.number))
    unz = interchange.trailer
    declared = unz.get(0)
    count = len(interchange.messages)
    if declared != str(count) and not (declared.isdigit() and int(declared) == count):
        problems.append(ErrorDetail(
            MESSAGE_COUNT, f"UNZ counts {declared or '(nothing)'} messages; the interchange has {count}",
            f"{unz.where}/0036", unz.number))
    if unz.get(1) != interchange.control_ref:
        problems.append(ErrorDetail(
            REFERENCE_MISMATCH, f"UNZ control reference {unz.get(1)!r} differs from UNB "
            f"{interchange.control_ref!r}", f"{unz.where}/0020", unz.number))
    return problems


def peek(data: bytes) -> tuple[Segment | None, Segment | None]:
    """UNB and the first UNH of a payload, as far as they can be read (to acknowledge a rejected
    interchange): never raises."""
    unb: Segment | None = None
    try:
        seps, start = read_una(data)
        for seg in tokenize(data[start:].decode("latin-1"), seps, 2 if start else 1):
            if seg.tag == "UNB":
                unb = seg
            elif seg.tag == "UNH":
                return unb, seg
            if seg.number > 4:
                break
    except MessageRejected:
        pass
    return unb, None


# ---------------------------------------------------------------- writing


def escape(value: str, seps: Separators = DEFAULT, repetition: str = "") -> str:
    release = seps.release or "?"
    specials = {seps.component, seps.data, seps.terminator, release, *repetition}
    return "".join(release + ch if ch in specials else ch for ch in value)


Element = str | Sequence[str]


def segment_text(tag: str, elements: Iterable[Element], seps: Separators = DEFAULT, repetition: str = "") -> str:
    """One segment with trailing empty elements and components dropped."""
    out: list[str] = []
    for el in elements:
        comps = [el] if isinstance(el, str) else list(el)
        while comps and not comps[-1]:
            comps.pop()
        out.append(seps.component.join(escape(c, seps, repetition) for c in comps))
    while out and not out[-1]:
        out.pop()
    return seps.data.join([tag, *out]) + seps.terminator


@dataclass
class Writer:
    """Builds one interchange with one message: UNA, UNB, UNH, the body, UNT and UNZ with their counts.

    The character set is UNOC (ISO 8859-1, syntax version 3) when every character fits, else UNOY
    (UTF-8, syntax version 4, whose UNA names ``*`` as the repetition separator, released in data)."""

    sender: str
    recipient: str
    control_ref: str
    prepared: tuple[str, str]  # (YYMMDD, HHMM)
    message_ref: str
    message_type: tuple[str, str, str, str]  # (type, version, release, agency)
    body: list[tuple[str, tuple[Element, ...]]] = field(default_factory=list)

    def add(self, tag: str, *elements: Element) -> None:
        self.body.append((tag, elements))

    def render(self, newline: bool = True) -> bytes:
        text = self._render(("UNOC", "3"), "", newline)
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            return self._render(("UNOY", "4"), "*", newline).encode("utf-8")

    def _render(self, syntax: tuple[str, str], repetition: str, newline: bool) -> str:
        def seg(tag: str, elements: Iterable[Element]) -> str:
            return segment_text(tag, elements, DEFAULT, repetition)

        una = DEFAULT.una()
        if repetition:
            una = una[:7] + repetition + una[8:]
        lines = [
            una,
            seg("UNB", [syntax, [self.sender, "ZZZ"], [self.recipient, "ZZZ"], self.prepared, self.control_ref]),
            seg("UNH", [self.message_ref, self.message_type]),
            *(seg(tag, elements) for tag, elements in self.body),
            seg("UNT", [str(len(self.body) + 2), self.message_ref]),
            seg("UNZ", ["1", self.control_ref]),
        ]
        sep = "\n" if newline else ""
        return sep.join(lines) + sep
