"""Audit trail: a hash-chained, append-only log of every message in and every delivery out.

What is recorded (table ``audit_log``, migration 0002): one ``in`` entry per inbound message the pipeline
processed (outcome ``accepted``, ``duplicate``, ``redelivered``, ``rejected:<codes>`` or
``quarantined:<reason>``) with the SHA-256 of the raw body as received; one ``out`` entry per delivery
published to a recipient (outcome ``published``; ``message_id`` is the inbound id, the delivery's own id
being ``hub.ids.delivery_id(sender, message_id, recipient)``) with the SHA-256 of the bytes sent; and
``op`` entries (sender ``hub``) for the hub's own actions on the trail (body purges, head resets) and for
operators' actions in the console (``record_operator_action``: ``console.<action>`` by ``operator:<name>``).
Never a payload: accepted messages' bodies go to ``message_bodies``, kept for ``audit.body_retention_days`` (the
retention period regulation 33(2)(e) has each service-level agreement set) and then deleted by
``hub audit purge-bodies``; the chain does not cover bodies, so deleting them breaks nothing. The entries
of a batch are appended in one transaction with the batch's other rows, in the order the batch was
received (each message's ``in`` entry followed by its ``out`` entries, recipients in routing order).
Messages whose delivery the broker returned are not recorded in that batch: they are redelivered and
recorded when processed again.

The chain. Entry ``seq`` (1, 2, 3, ... without gaps) has::

    entry_hash = lowercase hex SHA-256 of the UTF-8 bytes of the JSON text
      ["hub.audit/1",seq,at,direction,sender,recipient,message_id,msg_type,payload_sha256,outcome,prev_hash]

written with no whitespace at all; ``seq`` a JSON integer; ``at`` the entry's UTC time as the string
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six fraction digits); a column that is NULL as ``null``; every other
value a JSON string escaped as Python's ``json.dumps(..., ensure_ascii=True)`` does: ``"`` and ``\\`` and the
controls ``\\b \\f \\n \\r \\t`` with a backslash, every other character outside U+0020..U+007E as ``\\uXXXX``
(lowercase hex; UTF-16 surrogate pairs above U+FFFF). ``prev_hash`` is the previous entry's ``entry_hash``,
64 zeros for entry 1. Values are stored clipped to their column widths (sender and recipient 32 characters,
message_id 128, msg_type and outcome 64; NUL becomes U+FFFD, which PostgreSQL text cannot hold) before
hashing, so the stored row is exactly what was hashed. An auditor can recompute an entry with any JSON tool
that can emit compact JSON, e.g. ``printf '%s' '["hub.audit/1",1,"2026-02-07T15:00:00.000000Z","in",
"kra-icms",null,"m-1","customs.release","<64 hex>","accepted","000...0"]' | sha256sum``.

Appends are serialised even with several hub processes on one PostgreSQL store: the appending transaction
takes ``pg_advisory_xact_lock`` before reading the last entry, and numbers its entries itself (not from the
column's sequence, whose values a rolled-back transaction would skip). On SQLite a no-op ``UPDATE`` takes
the database's write lock first, for the same effect.

The external head. After each committed batch the hub writes ``{"schema", "seq", "entry_hash", "at"}`` of
the newest entry to ``audit.head_file`` (tmp file, fsync, rename, fsync of the directory; under an
``flock`` so that concurrent writers never move it backwards). ``hub audit verify`` streams the whole chain
(constant memory), checks seq continuity, every ``prev_hash`` link and every ``entry_hash``, then compares
with the head: a deleted or reordered entry breaks the sequence or a link, an edited one its hash, and a
truncation of the newest entries, which leaves a shorter but consistent chain, is caught because the head
names an entry the log no longer has. The head is read before the chain is streamed, so a hub appending
meanwhile cannot make a consistent store look truncated.

The crash window. A process killed after its commit but before its head write leaves the store one batch
ahead of the head. That is not tampering, so verify accepts a store that *extends* the head: the head's
entry must be present with the same hash and time, and later entries are reported as ``ahead`` (the next
committed batch moves the head over them). The same holds for several hub hosts each writing its own head
file. Entries beyond the head are protected by the chain but not yet against truncation.

Keeping evidence. The hub never advances a head that the store contradicts: before writing a newer head
it checks that the current head's entry is still in the store with the same hash (a truncated store would
otherwise be re-grown past the old head and the evidence overwritten), and it never creates a missing head
file for a chain that existed before the batch. It logs the conflict instead, and verify keeps failing
until an operator who has investigated runs ``hub audit reset-head``, which records an ``op`` entry naming
the head it replaces (its seq in ``message_id``, its hash in ``payload_sha256``) and writes a new head.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub import logs
from hub.errors import StoreUnavailable

if TYPE_CHECKING:
    from hub.store import Store

SCHEME = "hub.audit/1"
HEAD_SCHEMA = "hub.audit-head/1"
GENESIS = "0" * 64
IN, OUT, OP = "in", "out", "op"
HUB = "hub"  # reserved: no partner may have this id (hub.config.RESERVED_IDS)
WIDTHS = {"sender": 32, "recipient": 32, "message_id": 128, "msg_type": 64, "outcome": 64}
_WIDTHS = (WIDTHS["sender"], WIDTHS["outcome"], WIDTHS["recipient"], WIDTHS["message_id"], WIDTHS["msg_type"])
_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))  # as json.dumps(..., same options)
log = logs.get("hub.audit")


def clip(value: str | None, width: int) -> str | None:
    """A value as stored: NUL replaced (PostgreSQL text refuses it), cut to the column width."""
    if value is None:
        return None
    return value.replace("\x00", "\ufffd")[:width]


@dataclass(frozen=True)
class AuditEntry:
    """An entry before it is appended (seq, at and the hashes are assigned by the store)."""

    direction: str
    sender: str
    outcome: str
    recipient: str | None = None
    message_id: str | None = None
    msg_type: str | None = None
    payload_sha256: str | None = None

    def clipped(self) -> AuditEntry:
        values = (self.sender, self.outcome, self.recipient, self.message_id, self.msg_type)
        if all(v is None or (len(v) <= w and "\x00" not in v) for v, w in zip(values, _WIDTHS, strict=True)):
            return self  # the usual case, without the cost of a copy
        return replace(
            self,
            sender=clip(self.sender, WIDTHS["sender"]) or "",
            outcome=clip(self.outcome, WIDTHS["outcome"]) or "",
            recipient=clip(self.recipient, WIDTHS["recipient"]),
            message_id=clip(self.message_id, WIDTHS["message_id"]),
            msg_type=clip(self.msg_type, WIDTHS["msg_type"]),
        )


@dataclass(frozen=True)
class StoredBody:
    """An accepted message's body, for ``message_bodies`` (kept for the retention period)."""

    sender: str
    message_id: str
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Head:
    seq: int
    entry_hash: str
    at: str  # format_at()

    def as_dict(self) -> dict[str, Any]:
        return {"schema": HEAD_SCHEMA, **asdict(self)}


@dataclass
class AuditBatch:
    """A batch's entries and bodies, handed to ``Store.commit_batch(..., audit=)``.

    The store sets ``head`` and ``first_seq`` while appending; they describe committed entries only once
    ``commit_batch`` has returned.
    """

    entries: list[AuditEntry] = field(default_factory=list)
    bodies: list[StoredBody] = field(default_factory=list)
    head: Head | None = None
    first_seq: int | None = None


def format_at(at: datetime) -> str:
    """UTC, microseconds, ``Z``; a naive value (SQLite gives those back) is taken as UTC."""
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(
    seq: int,
    at: str,
    direction: str,
    sender: str,
    recipient: str | None,
    message_id: str | None,
    msg_type: str | None,
    payload_sha256: str | None,
    outcome: str,
    prev_hash: str,
) -> bytes:
    """The bytes an entry's hash is taken over (see the module docstring)."""
    fields = [SCHEME, seq, at, direction, sender, recipient, message_id, msg_type, payload_sha256, outcome,
              prev_hash]
    return _ENCODER.encode(fields).encode("ascii")


def entry_hash(seq: int, at: str, entry: AuditEntry, prev_hash: str) -> str:
    return hashlib.sha256(
        canonical(seq, at, entry.direction, entry.sender, entry.recipient, entry.message_id, entry.msg_type,
                  entry.payload_sha256, entry.outcome, prev_hash)
    ).hexdigest()


# ---------------------------------------------------------------- the external head


def read_head(path: Path) -> Head | None:
    """The head file's content; None if there is no file; ValueError if it is not a head."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        doc = json.loads(raw)
        if not isinstance(doc, dict) or doc.get("schema") != HEAD_SCHEMA:
            raise ValueError("not a hub.audit-head/1 document")
        seq, digest, at = doc["seq"], doc["entry_hash"], doc["at"]
        if not (isinstance(seq, int) and seq >= 1 and isinstance(digest, str) and isinstance(at, str)):
            raise ValueError("seq, entry_hash or at has the wrong type")
        return Head(seq, digest, at)
    except (KeyError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable head file: {type(exc).__name__}") from exc


def write_head(path: Path, head: Head) -> None:
    """Replace the head file atomically: a reader sees the old head or the new one, never a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    data = json.dumps(head.as_dict(), separators=(",", ":")).encode() + b"\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


_thread_lock = threading.Lock()


@contextlib.contextmanager
def _head_lock(path: Path) -> Iterator[None]:
    """Serialise head writers: threads of this process, and other processes through ``flock``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _thread_lock, open(path.with_name(path.name + ".lock"), "a") as lock_file:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


class HeadKeeper:
    """Moves the external head forward after each committed batch; never past a contradiction.

    ``advance`` returns ``written``, ``stale`` (a newer head is already there), ``missing`` (no head file
    though the chain existed before this batch), ``conflict`` (the store no longer has the head's entry as
    the head records it) or ``unreadable``; the last three are logged once per process and left for an
    operator (``hub audit verify``, then ``hub audit reset-head``). An I/O error is logged and returns
    ``error``: the next batch tries again.
    """

    def __init__(self, path: Path, store: Store) -> None:
        self.path = path
        self.store = store
        self._warned: set[str] = set()

    def advance(self, head: Head, first_seq: int | None) -> str:
        try:
            with _head_lock(self.path):
                status = self._decide(head, first_seq)
                if status == "written":
                    write_head(self.path, head)
        except OSError as exc:
            log.error("audit head not written", path=str(self.path), error=type(exc).__name__, detail=str(exc))
            return "error"
        except StoreUnavailable as exc:
            log.error("audit head not checked: store unavailable", error=str(exc))
            return "error"
        if status not in ("written", "stale") and status not in self._warned:
            self._warned.add(status)
            log.error("audit head not advanced: run `hub audit verify`", status=status, path=str(self.path),
                      seq=head.seq)
        return status

    def _decide(self, head: Head, first_seq: int | None) -> str:
        try:
            current = read_head(self.path)
        except ValueError:
            return "unreadable"
        if current is None:
            return "written" if first_seq == 1 else "missing"
        if current.seq >= head.seq:
            return "stale"
        found = self.store.audit_entry(current.seq)
        if found is None or found != (current.entry_hash, current.at):
            return "conflict"
        return "written"


# ---------------------------------------------------------------- verification


@dataclass
class Report:
    ok: bool
    entries: int = 0
    last_seq: int | None = None
    last_hash: str | None = None
    head: Head | None = None
    head_file: str | None = None
    ahead: int = 0  # entries after the external head (the crash window, or another host's head)
    first_bad: int | None = None
    reason: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["head"] = self.head.as_dict() if self.head else None
        return out


def verify(store: Store, head_path: Path | None, *, yield_per: int = 10_000) -> Report:
    """Recompute the whole chain and compare its end with the external head (None: the chain alone)."""
    started = time.perf_counter()
    head: Head | None = None
    head_problem: str | None = None
    if head_path is not None:  # read before streaming: the store may only be ahead of it, never behind
        try:
            head = read_head(head_path)
        except ValueError as exc:
            head_problem = f"the external head {head_path} is unreadable ({exc})"
        except OSError as exc:
            head_problem = f"the external head {head_path} cannot be read ({type(exc).__name__})"
    report = Report(ok=False, head=head, head_file=str(head_path) if head_path else None)
    expected, prev = 1, GENESIS
    at_head: tuple[str, str] | None = None
    sha256 = hashlib.sha256
    rows = store.audit_rows(yield_per=yield_per)
    try:
        for seq, at_dt, direction, sender, recipient, message_id, msg_type, payload, outcome, prev_hash, digest in rows:
            bad = None
            at = format_at(at_dt)
            if seq != expected:
                report.first_bad = expected
                bad = f"entry {expected} is missing (the next entry is {seq})"
            elif prev_hash != prev:
                bad = (f"prev_hash does not match entry {seq - 1}'s hash: entry {seq - 1} was rewritten, or "
                       f"this entry was edited or moved" if seq > 1 else "entry 1 does not start from the genesis")
            elif sha256(canonical(seq, at, direction, sender, recipient, message_id, msg_type, payload,
                                  outcome, prev_hash)).hexdigest() != digest:
                bad = "entry_hash does not match the entry's contents: the entry was edited"
            if bad is not None:
                report.first_bad = report.first_bad or seq
                report.reason = bad
                report.entries = expected - 1
                return _done(report, started)
            if head is not None and seq == head.seq:
                at_head = (digest, at)
            prev = digest
            expected += 1
    finally:
        rows.close()
    report.entries = expected - 1
    report.last_seq = report.entries or None
    report.last_hash = prev if report.entries else None
    if head_path is None:
        report.ok = True
    elif head_problem is not None:
        report.reason = head_problem
    elif head is None:
        report.ok = report.entries == 0
        if not report.ok:
            report.reason = (f"the external head {head_path} is missing although the log has {report.entries} "
                             f"entries: it was deleted, or never written (`hub audit reset-head` after checking)")
    elif head.seq > report.entries:
        report.first_bad = report.entries + 1
        report.reason = (f"entries {report.entries + 1}..{head.seq} are missing: the external head records entry "
                         f"{head.seq} ({head.entry_hash[:16]}..., {head.at}) but the log ends at "
                         f"{report.entries or 'nothing'} (truncated)")
    elif at_head != (head.entry_hash, head.at):
        report.first_bad = head.seq
        report.reason = (f"entry {head.seq} differs from the external head (hash or time): the head file was "
                         f"edited, or the log rewritten from entry {head.seq} or earlier")
    else:
        report.ok = True
        report.ahead = report.entries - head.seq
    return _done(report, started)


def _done(report: Report, started: float) -> Report:
    report.seconds = round(time.perf_counter() - started, 3)
    return report


# ---------------------------------------------------------------- operator actions and retention


def record_op(store: Store, keeper: HeadKeeper | None, entry: AuditEntry) -> Head | None:
    """Append one ``op`` entry in its own transaction and advance the head."""
    batch = AuditBatch([entry])
    store.commit_batch([], [], audit=batch)
    if keeper is not None and batch.head is not None:
        keeper.advance(batch.head, batch.first_seq)
    return batch.head


def record_operator_action(store: Store, keeper: HeadKeeper | None, operator: str, action: str, outcome: str, *,
                           target: str | None = None, detail: Any = None) -> Head | None:
    """An operator's action in the console (hub.console): one ``op`` entry, sender ``hub``, ``msg_type``
    ``console.<action>`` (``login``, ``window-add``, ``window-cancel``, ``dlq-replay``, ``dlq-purge``),
    ``message_id`` ``operator:<name>``, ``recipient`` the partner (or ``hub``) acted on, ``outcome`` what was
    done (e.g. ``window:12``, ``replayed:3 ids:17,18,19``; clipped to 64 characters) and ``payload_sha256`` the
    SHA-256 of ``detail`` as compact sorted JSON (every id acted on; the console logs it in full)."""
    digest = None
    if detail is not None:
        digest = hashlib.sha256(json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)
                                .encode()).hexdigest()
    entry = AuditEntry(OP, HUB, outcome, recipient=target, message_id=f"operator:{operator}",
                       msg_type=f"console.{action}", payload_sha256=digest)
    return record_op(store, keeper, entry.clipped())


def retention_cutoff(days: int, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=days)


def purge_bodies(store: Store, before: datetime, keeper: HeadKeeper | None) -> int:
    """Delete bodies received before ``before``; record the purge as an ``op`` entry (if any were deleted).

    ``audit_log`` is never touched except for that appended entry, so the chain stays intact.
    """
    deleted = store.purge_bodies(before)
    if deleted:
        record_op(store, keeper, AuditEntry(
            OP, HUB, f"purged:{deleted}", message_id=f"before:{format_at(before)}", msg_type="audit.purge-bodies"))
        log.info("message bodies purged", count=deleted, before=format_at(before))
    return deleted


def reset_head(store: Store, path: Path) -> tuple[Report, Head | None]:
    """Accept the store's chain after an investigation: verify it alone, record the reset, write a new head.

    Refused (head None) if the chain itself is broken: a reset cannot paper over an edited entry.
    """
    report = verify(store, None)
    if not report.ok:
        return report, None
    try:
        old = read_head(path)
    except ValueError:
        old = None
    entry = AuditEntry(OP, HUB, "head-reset", message_id=f"from:{old.seq if old else 'none'}",
                       msg_type="audit.reset-head", payload_sha256=old.entry_hash if old else None)
    batch = AuditBatch([entry])
    store.commit_batch([], [], audit=batch)
    assert batch.head is not None
    with _head_lock(path):
        write_head(path, batch.head)
    return report, batch.head


async def purge_periodically(store: Store, keeper: HeadKeeper, days: int, every: float) -> None:
    """``hub run``: apply the retention at start-up and then every ``every`` seconds (until cancelled)."""
    while True:
        try:
            await asyncio.to_thread(purge_bodies, store, retention_cutoff(days), keeper)
        except StoreUnavailable as exc:
            log.warning("message body purge failed; will retry", error=str(exc))
        await asyncio.sleep(every)
