"""The ingest pipeline run by ``hub run``: one broker session at a time, batch by batch.

Per batch (DESIGN.md section 2): authenticate by the broker-validated ``user_id``; check type agreement;
decode and validate; canonicalise; de-duplicate on (sender, message_id) against the store; route; publish
every delivery, acknowledgement and quarantine copy with publisher confirms (``mandatory``, returns
raised) and await them together; commit the batch's store rows in one transaction; only then ack the
inbound messages (one ``multiple`` ack). A crash anywhere before the commit redelivers the batch, and
the derived delivery ids make the repeats recognisable; a crash after the commit is recognised by the
``redelivered`` flag and answered with the same ``accepted`` acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel

from hub import edifact, logs, metrics, parking, queries, registry, status_answer, timeline
from hub import topology as t
from hub.acks import AckStatus, ack_document
from hub.adapters import registry as adapter_registry
from hub.adapters.base import Adapter, EncodeContext
from hub.audit import IN, OUT, AuditBatch, AuditEntry, HeadKeeper, StoredBody
from hub.broker import connect as broker_connect
from hub.catalogue import Catalogue, Limits
from hub.clock import Clock, SystemClock
from hub.codec import EDIFACT_CT
from hub.config import HubConfig, Partner, PartnerStatus
from hub.errors import BrokerUnavailable, ErrorDetail, MessageRejected, StoreUnavailable, TransientError
from hub.ids import ack_id, delivery_id, payload_hash
from hub.routing import RoutingTable, route
from hub.schemas.base import Body, Keys
from hub.schemas.consignment_status_request import ConsignmentStatusRequest
from hub.sessions import keep_running
from hub.store import EXPIRED, REJECTED, RELEASED, AcceptedRow, ParkedRow, QuarantineRow, Store

CONTRACT = "1"
STATUS_REQUEST = "consignment.status.request"  # answered on direct reply-to (hub.status_answer)
MAX_MESSAGE_ID = 128
LANE_HEADER = "x-hub-lane"  # internal: stripped before the partner sees the delivery (hub.delivery)
RETURNED_BACKOFF_MAX = 30.0  # seconds; with the inbound delivery limit (50) about 25 minutes in all
log = logs.get("hub.pipeline")
_T = TypeVar("_T")


@dataclass
class Inbound:
    """One message taken from ``hub.in.<queue_partner>`` (or from ``hub.acks.dropped``)."""

    msg: AbstractIncomingMessage
    queue_partner: str | None  # None: a dropped-acknowledgement notice


@dataclass
class Prepared:
    inbound: Inbound
    sender: str | None = None
    message_id: str | None = None
    msg_type: str | None = None
    quarantine: str | None = None
    rejection: list[ErrorDetail] | None = None
    body: Body | None = None
    keys: Keys | None = None
    sha: str = ""
    internal_error: bool = False  # an unexpected failure: rejected and also copied to quarantine
    obs: timeline.Observation | None = None  # what it records (hub.timeline), computed before routing


@dataclass
class Publish:
    routing_key: str
    message: aio_pika.Message
    mandatory: bool = True
    owner: Prepared | None = None  # the inbound message this publish belongs to


@dataclass
class BatchResult:
    publishes: list[Publish] = field(default_factory=list)
    accepted: list[tuple[Prepared, AcceptedRow]] = field(default_factory=list)
    quarantined: list[QuarantineRow] = field(default_factory=list)
    ack_drops: dict[str, int] = field(default_factory=dict)
    outcomes: list[tuple[Prepared, str]] = field(default_factory=list)
    observed: list[tuple[Prepared, timeline.Observation]] = field(default_factory=list)  # hub.timeline
    parked: list[tuple[Prepared, ParkedRow]] = field(default_factory=list)  # hub.parking
    closed: list[tuple[Prepared, int, str]] = field(default_factory=list)  # parked ids released or expired


@dataclass
class StoredMessage:
    """A parked message taken back from the store, standing in for the broker message it arrived as."""

    body: bytes
    content_type: str
    message_id: str
    type: str
    user_id: str
    routing_key: str
    reply_to: None = None
    redelivered: bool = False
    headers: dict[str, Any] = field(default_factory=dict)


def _header(msg: AbstractIncomingMessage, name: str) -> str | None:
    value = (msg.headers or {}).get(name)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None if value is None else str(value)


class Pipeline:
    def __init__(self, config: HubConfig, store: Store, password: str, catalogue: Catalogue | None = None,
                 clock: Clock | None = None):
        self.config = config
        self.clock: Clock = clock or SystemClock()
        self.store = store
        self.password = password
        self.catalogue = catalogue or Catalogue(config.schema_types)
        self.table = RoutingTable.from_config(config)
        self.party_sources = parking.sources_of(config.schema_types)
        self.partners: dict[str, Partner] = config.partner_index()
        self.adapters: dict[str, Adapter] = {p.id: adapter_registry.get(p.adapter) for p in config.partners}
        self.settings = config.settings
        self.audit_head = HeadKeeper(config.audit_head_path(), store)  # written after each committed batch
        self.ready = asyncio.Event()
        # when the recipients' active maintenance windows end (hub.delivery): the acks' held_until
        self.held_until: Callable[[tuple[str, ...]], datetime | None] = lambda _recipients: None
        self.queued: Callable[[str, datetime], None] = lambda _partner, _at: None  # hub.delivery.note_queued
        self._stop = asyncio.Event()
        self._reply_conn: Any = None  # direct reply-to acknowledgements go out on their own connection
        self._reply_ch: Any = None
        # inbound messages whose delivery was returned, held unacked until their backoff ends
        self._held_back: set[asyncio.Task[None]] = set()
        self.parked_waiting = 0  # messages parked for correlation (hub.parking), refreshed by each sweep

    # ------------------------------------------------------------ life cycle

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Run sessions until stopped, reconnecting with capped exponential backoff after failures."""
        await keep_running(self._session, self._stop, log=log, name="broker", bug_label="session",
                           on_end=self.ready.clear)

    def _url(self) -> str:
        b = self.settings.broker
        from yarl import URL

        url = URL(b.url).with_user(b.user).with_password(self.password)
        url = url.with_path("/" + b.vhost if b.vhost != "/" else "/")
        return str(url.update_query(heartbeat=b.heartbeat))

    async def _session(self) -> None:
        b = self.settings.broker
        conn = await broker_connect(
            self._url(), self.settings.broker, timeout=10, client_properties={"connection_name": "hub-ingest"}
        )
        closed = asyncio.Event()
        conn.close_callbacks.add(lambda *_: closed.set())
        try:
            consume_ch = await conn.channel()
            # per-consumer prefetch bounds each sender's share (quorum queues refuse a global qos)
            await consume_ch.set_qos(prefetch_count=b.prefetch_per_sender)
            pub_ch = await conn.channel(publisher_confirms=True, on_return_raises=True)
            for ch in (consume_ch, pub_ch):  # a channel the broker closed alone ends the session too
                ch.close_callbacks.add(lambda *_: closed.set())
            inq: asyncio.Queue[Inbound] = asyncio.Queue()
            for pid in self.partners:
                queue = await consume_ch.get_queue(t.inbound_queue(pid), ensure=True)
                await queue.consume(self._enqueue(inq, pid), no_ack=False)
            drops = await consume_ch.get_queue(t.ACKS_DROPPED_QUEUE, ensure=True)
            await drops.consume(self._enqueue(inq, None), no_ack=False)
            self.ready.set()
            log.info("consuming", senders=len(self.partners), vhost=b.vhost)
            await self._loop(inq, pub_ch, closed)
        finally:
            self.ready.clear()
            for task in list(self._held_back):  # the broker requeues them when the channel closes
                task.cancel()
            if self._reply_conn is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._reply_conn.close(), 2)
                self._reply_conn = self._reply_ch = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

    @staticmethod
    def _enqueue(inq: asyncio.Queue[Inbound], pid: str | None) -> Any:
        async def on_message(msg: AbstractIncomingMessage) -> None:
            inq.put_nowait(Inbound(msg, pid))

        return on_message

    async def _loop(
        self, inq: asyncio.Queue[Inbound], pub_ch: AbstractRobustChannel | Any, closed: asyncio.Event
    ) -> None:
        size = self.settings.broker.batch_size
        max_bytes = self.settings.broker.batch_bytes
        next_sweep = time.monotonic()  # parked messages: at once (a restart may have left some), then regularly
        next_registry = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() >= next_registry:
                await self._refresh_registry()
                next_registry = time.monotonic() + registry.REFRESH_EVERY
            if time.monotonic() >= next_sweep:
                await self._sweep(pub_ch)
                next_sweep = time.monotonic() + self.settings.correlation.check_interval
            getter = asyncio.ensure_future(inq.get())
            waiters = {getter, asyncio.ensure_future(closed.wait()), asyncio.ensure_future(self._stop.wait())}
            done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED,
                                               timeout=max(min(next_sweep, next_registry) - time.monotonic(), 0.01))
            for fut in pending:
                fut.cancel()
            if not done:
                continue
            if getter not in done:
                if closed.is_set():
                    raise BrokerUnavailable("connection closed")
                return
            batch = [getter.result()]
            # a batch is capped by count and by payload bytes: a decoded message costs ~15x its size in
            # memory, so 100 near-cap (5 MiB) messages in one batch would need gigabytes
            payload = len(batch[0].msg.body)
            while len(batch) < size and payload < max_bytes and not inq.empty():
                batch.append(inq.get_nowait())
                payload += len(batch[-1].msg.body)
            await self.process_batch(batch, pub_ch)

    # ------------------------------------------------------------ one batch

    async def process_batch(self, batch: list[Inbound], pub_ch: Any) -> None:
        started = time.perf_counter()
        metrics.BATCH_SIZE.observe(len(batch))
        try:
            result = await self._build(batch)
            failed, audit, observed = await self._publish_and_commit(pub_ch, result)
            if result.ack_drops:
                await asyncio.to_thread(self.store.add_ack_drops, result.ack_drops)
        except (TransientError, aio_pika.exceptions.AMQPError, OSError) as exc:
            log.warning("batch failed; will be redelivered", size=len(batch), error=type(exc).__name__)
            await self._nack(batch)
            raise BrokerUnavailable(f"batch failed: {type(exc).__name__}") from exc
        if not failed and not self._held_back:
            await batch[-1].msg.ack(multiple=True)
        else:
            # Some deliveries were returned by the broker (e.g. an inbox deleted): their inbound messages
            # are held unacked and requeued after a backoff (an immediate requeue would spin through the
            # delivery limit in seconds); everything else is acked one by one, never `multiple`, which
            # would ack the held ones too.
            failed_items = {id(prep.inbound) for prep, _row in result.accepted if id(prep) in failed}
            for item in batch:
                if id(item) in failed_items:
                    self._hold_back(item.msg)
                else:
                    await item.msg.ack()
            result.outcomes = [(p, "retry" if id(p) in failed else o) for p, o in result.outcomes]
        if audit.head is not None:  # committed: move the external head (hub.audit) over this batch
            await asyncio.to_thread(self.audit_head.advance, audit.head, audit.first_seq)
        self._account(result)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        if observed and self.parked_waiting > 0:
            await self._release_linked(pub_ch, observed)

    async def _publish_and_commit(
        self, pub_ch: Any, result: BatchResult
    ) -> tuple[set[int], AuditBatch, list[timeline.Observation]]:
        """Publish a batch's deliveries and acknowledgements with confirms, then commit its rows in one
        transaction. Returns the messages whose deliveries were returned, the audit batch and what was recorded."""
        failed = await self._publish_all(pub_ch, result.publishes)
        accepted = [row for prep, row in result.accepted if id(prep) not in failed]
        audit = _audit_batch(result, failed)
        observed = [obs for prep, obs in result.observed if id(prep) not in failed]
        parked = [row for _prep, row in result.parked]
        closed = [(pid, state) for prep, pid, state in result.closed if id(prep) not in failed]
        tries = [0]

        def commit() -> None:
            # a retry after a failure reported by the commit itself: if the rows are there, it went through
            if tries[0] and accepted and len(self.store.seen([(r.sender, r.message_id) for r in accepted])) \
                    == len(accepted):
                return
            tries[0] += 1
            self.store.commit_batch(accepted, result.quarantined, audit=audit, correlation=observed,
                                    parked=parked, closed=closed)

        await self._with_store(commit)
        self.parked_waiting += len(parked) - len(closed)
        return failed, audit, observed

    async def _refresh_registry(self) -> None:
        """Apply the statuses operators set (hub.registry): a suspended sender is refused from now on, and
        routing sees deregistered partners as such. A store outage keeps the last statuses known."""
        try:
            overrides = await asyncio.to_thread(registry.statuses, self.store)
        except StoreUnavailable:
            return
        partners = registry.apply(self.config.partners, overrides)
        if [p.status for p in partners] != [p.status for p in self.partners.values()]:
            for p in partners:
                if self.partners[p.id].status is not p.status:
                    log.info("registry status changed", partner=p.id, status=p.status.value)
            self.partners = {p.id: p for p in partners}
            self.table = RoutingTable(partners, self.config.routes, self.config.access)

    # ------------------------------------------------------------ parked messages (hub.parking)

    async def _release_linked(self, pub_ch: Any, observed: list[timeline.Observation], depth: int = 0) -> None:
        """Release the parked messages that a just-committed batch linked to a known consignment."""
        refs = parking.wanted_keys(observed)
        ucrs = {link.ucr for obs in observed for link in obs.links if link.ucr}

        def find() -> list[ParkedRow]:
            resolved = set(self.store.known_refs(refs).values())
            return self.store.parked(refs=refs | {(parking.UCR_KIND, u) for u in ucrs | resolved})

        await self._release(pub_ch, await self._with_store(find), depth)

    async def _release(self, pub_ch: Any, rows: list[ParkedRow], depth: int = 0) -> set[int]:
        """Route the parked messages whose consignment is now known, in the order they were parked; commit
        each as accepted (its sender gets the final ``accepted``). Returns the ids released."""
        restored = [(prep, row) for row in rows if (prep := self._restore(row)) is not None]
        if not restored:
            return set()
        ctx = await self._with_store(lambda: parking.load_context(self.store, [p.obs for p, _row in restored]))
        now = self.clock.now()
        result = BatchResult()
        for prep, row in restored:
            if self._accept(prep, now, result, ctx, outcome="released"):
                result.closed.append((prep, row.id, RELEASED))
            elif prep.internal_error:  # a recipient's adapter failed to encode it: rejected, a copy quarantined
                result.closed.append((prep, row.id, REJECTED))
        if not result.closed:
            return set()
        failed, audit, observed = await self._publish_and_commit(pub_ch, result)
        if audit.head is not None:
            await asyncio.to_thread(self.audit_head.advance, audit.head, audit.first_seq)
        self._account(result)
        released = {pid for prep, pid, _state in result.closed if id(prep) not in failed}
        log.info("parked messages released", released=len(released), waiting=max(self.parked_waiting, 0))
        if observed and depth < 3 and self.parked_waiting > 0:  # a released message may link others
            await self._release_linked(pub_ch, observed, depth + 1)
        return released

    def _restore(self, row: ParkedRow) -> Prepared | None:
        """A parked message as the pipeline prepared it, decoded again from its stored payload."""
        prep = _stored_prep(row)
        try:
            prep.body = self.catalogue.decode(row.body, row.content_type, row.msg_type,
                                              Limits(len(row.body) + 1, self.settings.limits.max_depth))
            prep.keys = prep.body.keys()
        except Exception as exc:  # noqa: BLE001 -- valid when parked: only a changed schema gets here; it expires in time
            log.error("a parked message no longer decodes; it stays parked", sender=row.sender,
                      message_id=row.message_id, type=row.msg_type, error=type(exc).__name__)
            return None
        prep.obs = self._observe(prep, row.parked_at)
        return prep

    async def _sweep(self, pub_ch: Any) -> None:
        """Every ``correlation.check_interval``: release what can be, reject what waited too long."""
        rows = await self._with_store(lambda: self.store.parked(every=True))
        self.parked_waiting = len(rows)
        if not rows:
            return
        released = await self._release(pub_ch, rows)
        now = self.clock.now()
        due = [r for r in rows if r.id not in released and r.expires_at <= now]
        if due:
            await self._expire(pub_ch, due, now)
        metrics.CORRELATION_PARKED.set(max(self.parked_waiting, 0))

    async def _expire(self, pub_ch: Any, rows: list[ParkedRow], now: datetime) -> None:
        hours = self.settings.correlation.park_timeout_hours
        result = BatchResult()
        for row in rows:
            prep = _stored_prep(row)
            what = f"consignment {row.ucr}" if row.ucr else "a message linking " + ", ".join(
                f"{k} {v}" for k, v in row.lookup[:3])
            prep.rejection = [ErrorDetail(
                "UCR_UNRESOLVED",
                f"held for correlation for {hours:g} hours waiting for {what}; the hub never learned who the "
                "parties of this consignment are, so nothing was delivered: send it again once they are known")]
            self._ack(prep, AckStatus.REJECTED, now, result, prep.rejection)
            result.outcomes.append((prep, "rejected"))
            result.closed.append((prep, row.id, EXPIRED))
            log.warning("parked message expired", sender=row.sender, message_id=row.message_id, type=row.msg_type,
                        reason=row.reason, parked_at=row.parked_at.isoformat())
        _failed, audit, _observed = await self._publish_and_commit(pub_ch, result)
        if audit.head is not None:
            await asyncio.to_thread(self.audit_head.advance, audit.head, audit.first_seq)
        self._account(result)

    async def _with_store(self, call: Callable[[], _T]) -> _T:
        """Run a store call in a thread; while the store is unavailable, retry it here (0.5 s doubling to
        30 s) with the batch kept unacknowledged. Giving the batch back instead would spend the inbound
        queues' delivery limit (50) in minutes and send the senders' messages to quarantine. Ends (raising)
        only if the hub stops; a connection lost meanwhile ends the session when the batch is acked."""
        delay = 0.5
        while True:
            try:
                return await asyncio.to_thread(call)
            except StoreUnavailable as exc:
                if self._stop.is_set():
                    raise
                metrics.INTERNAL_ERRORS.labels("ingest_store").inc()
                log.warning("store unavailable; batch kept, retrying", error=str(exc)[:200], retry_in=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                delay = min(delay * 2, 30.0)

    def _hold_back(self, msg: AbstractIncomingMessage) -> None:
        count = (msg.headers or {}).get("x-delivery-count")  # set by quorum queues on redelivery
        attempts = count if isinstance(count, int) else 0
        delay = min(0.5 * 2**attempts, RETURNED_BACKOFF_MAX)

        async def later() -> None:
            await asyncio.sleep(delay)
            with contextlib.suppress(Exception):  # the channel may be gone: the broker requeued it then
                await msg.nack(requeue=True)

        task = asyncio.ensure_future(later())
        self._held_back.add(task)
        task.add_done_callback(self._held_back.discard)

    async def _nack(self, batch: list[Inbound]) -> None:
        with contextlib.suppress(Exception):
            await batch[-1].msg.nack(multiple=True, requeue=True)

    def _account(self, result: BatchResult) -> None:
        for prep, outcome in result.outcomes:
            known_type = prep.msg_type if prep.msg_type in self.catalogue.types() else "unknown"
            metrics.MESSAGES.labels(prep.sender or "-", known_type, outcome.split(":", 1)[0]).inc()
            event: dict[str, Any] = {
                "message_id": prep.message_id,
                "type": prep.msg_type,
                "sender": prep.sender,
                "ucr": prep.keys.ucr if prep.keys else None,
                "outcome": outcome,
            }
            if prep.rejection:
                event["errors"] = [d.code for d in prep.rejection]
            if prep.quarantine:
                event["claimed_user"] = prep.inbound.msg.user_id
                event["routing_key"] = prep.inbound.msg.routing_key
            if outcome in ("accepted", "duplicate", "redelivered"):
                log.info("message", **event)
            else:
                log.warning("message", **event)
        for partner, n in result.ack_drops.items():
            metrics.ACK_DROPS.labels(partner).inc(n)
        for row in result.quarantined:
            metrics.QUARANTINED.labels(row.reason).inc()

    async def _build(self, batch: list[Inbound]) -> BatchResult:
        result = BatchResult()
        prepared: list[Prepared] = []
        for item in batch:
            if item.queue_partner is None:
                partner = _dropped_ack_partner(item.msg)
                result.ack_drops[partner] = result.ack_drops.get(partner, 0) + 1
                continue
            prepared.append(self.prepare(item))
        candidates = [p for p in prepared if p.body is not None]
        seen: dict[tuple[str, str], str] = {}
        parked: dict[tuple[str, str], str] = {}
        now = self.clock.now()
        for prep in candidates:
            prep.obs = self._observe(prep, now)
        ctx = parking.Context()
        if candidates:
            keys = [(p.sender or "", p.message_id or "") for p in candidates]
            seen, parked, ctx = await self._with_store(lambda: (
                self.store.seen(keys), self.store.parked_keys(keys) if self.parked_waiting else {},
                parking.load_context(self.store, [p.obs for p in candidates])))
        questions = [p for p in candidates if p.msg_type == STATUS_REQUEST]
        views = await self._with_store(lambda: {id(p): self._view(p) for p in questions}) if questions else {}
        in_batch: dict[tuple[str, str], str] = {}
        for prep in prepared:
            if prep.quarantine:
                self._quarantine(prep, result)
                continue
            if prep.rejection:
                self._ack(prep, AckStatus.REJECTED, now, result, prep.rejection)
                result.outcomes.append((prep, "rejected"))
                if prep.internal_error:
                    self._quarantine_copy(prep, "INTERNAL_ERROR", result)
                continue
            key = (prep.sender or "", prep.message_id or "")
            previous = in_batch.get(key) or seen.get(key)
            if previous is None and parked.get(key) == prep.sha:  # parked earlier and sent again: still waiting
                self._ack(prep, AckStatus.PENDING, now, result)
                result.outcomes.append((prep, "pending"))
                in_batch[key] = prep.sha
                continue
            previous = previous or parked.get(key)
            if previous is None:
                if self._accept(prep, now, result, ctx) and id(prep) in views:
                    self._answer(prep, views[id(prep)], now, result)
                in_batch[key] = prep.sha
            elif previous != prep.sha:
                prep.rejection = [
                    ErrorDetail(
                        "DUPLICATE_ID_CONFLICT",
                        "this message_id was already accepted with a different payload; use a new id",
                    )
                ]
                self._ack(prep, AckStatus.REJECTED, now, result, prep.rejection)
                result.outcomes.append((prep, "rejected"))
            elif prep.inbound.msg.redelivered and key in seen:
                # committed before a crash, not yet acked: answer as the first time did
                assert prep.body is not None and prep.keys is not None and prep.sender
                recipients = route(prep.body.TYPE, prep.sender, prep.keys, self.table).recipient_ids()
                self._ack(prep, AckStatus.ACCEPTED, now, result, held_until=self.held_until(tuple(recipients)))
                result.outcomes.append((prep, "redelivered"))
            else:
                self._ack(prep, AckStatus.DUPLICATE, now, result)
                result.outcomes.append((prep, "duplicate"))
        return result

    def prepare(self, item: Inbound) -> Prepared:
        """Authenticate, check the envelope, decode and validate one message (no I/O)."""
        msg = item.msg
        prep = Prepared(item, message_id=msg.message_id, msg_type=msg.type)
        user = msg.user_id
        if not user:
            prep.quarantine = "NO_USER_ID"
            return prep
        partner = self.partners.get(user)
        if partner is None:
            prep.quarantine = "UNKNOWN_USER"
            return prep
        if user != item.queue_partner:
            prep.quarantine = "SENDER_MISMATCH"
            return prep
        prep.sender = user
        try:
            self._check_envelope(msg, partner)
            assert msg.type is not None
            if msg.type == STATUS_REQUEST and not (msg.reply_to or "").startswith(t.DIRECT_REPLY_TO):
                raise MessageRejected.one(
                    "REPLY_TO_REQUIRED", f"a {STATUS_REQUEST} is answered only through direct reply-to: set "
                    f"reply_to to {t.DIRECT_REPLY_TO} and consume it (no other queue receives answers)")
            limits = Limits(partner.max_bytes or self.settings.limits.max_bytes, self.settings.limits.max_depth)
            body = self._decode(partner, msg.body, msg.content_type or "", msg.type, limits)
            keys = body.keys()
            header_ucr = _header(msg, "x-ucr")
            if header_ucr and keys.ucr and header_ucr != keys.ucr:
                raise MessageRejected.one(
                    "UCR_MISMATCH", "header x-ucr differs from the UCR in the document", None
                )
        except MessageRejected as exc:
            prep.rejection = exc.details
            return prep
        except Exception as exc:  # a decoder bug must cost one message, not the hub: logged and counted
            metrics.INTERNAL_ERRORS.labels("decode").inc()
            log.exception("unexpected error decoding a message", message_id=prep.message_id,
                          type=prep.msg_type, sender=prep.sender, error=type(exc).__name__)
            prep.rejection = [ErrorDetail("INTERNAL_ERROR", "the hub could not process this message; "
                                          "a copy was kept for operators, please contact them")]
            prep.internal_error = True
            return prep
        prep.body = body
        prep.keys = keys
        prep.sha = payload_hash(msg.body)
        return prep

    def _decode(self, partner: Partner, payload: bytes, content_type: str, msg_type: str, limits: Limits) -> Body:
        """The sender's adapter decodes (hub.adapters): only the formats it declares, with its options."""
        return adapter_registry.decode_from(partner, self.adapters[partner.id], self.catalogue, payload,
                                            content_type, msg_type, limits)

    def _check_envelope(self, msg: AbstractIncomingMessage, partner: Partner) -> None:
        if partner.status is not PartnerStatus.ACTIVE:
            raise MessageRejected.one("PARTNER_SUSPENDED", f"partner {partner.id} is {partner.status}")
        if not msg.message_id or len(msg.message_id) > MAX_MESSAGE_ID or not msg.message_id.isprintable():
            raise MessageRejected.one(
                "MESSAGE_ID_INVALID", "message_id is required: at most 128 printable characters, no control characters"
            )
        if _header(msg, "x-contract") != CONTRACT:
            raise MessageRejected.one("CONTRACT_VERSION", "header x-contract must be 1")
        rk_type = (msg.routing_key or "")[len(partner.id) + 1 :]
        if not msg.type or msg.type != rk_type:
            raise MessageRejected.one(
                "TYPE_MISMATCH", f"property type {msg.type!r} differs from routing key type {rk_type!r}"
            )
        self.catalogue.spec(msg.type)  # TYPE_UNKNOWN
        if msg.type not in partner.sends:
            raise MessageRejected.one("TYPE_NOT_ALLOWED", f"{partner.id} is not registered to send {msg.type}")

    # ------------------------------------------------------------ building publishes

    def _view(self, prep: Prepared) -> dict[str, Any]:
        """A status request's consignment as its sender may see it (hub.queries; runs in a worker thread)."""
        assert isinstance(prep.body, ConsignmentStatusRequest)
        return queries.consignment_view(self.store, self.config, status_answer.asked(prep.body), prep.sender)

    def _answer(self, prep: Prepared, view: dict[str, Any], now: datetime, result: BatchResult) -> None:
        """The ``consignment.status.response``, on the asker's direct reply-to after its acknowledgement."""
        assert isinstance(prep.body, ConsignmentStatusRequest) and prep.sender and prep.message_id
        response = status_answer.response_for(prep.body, view)
        ctype = self.catalogue.delivery_content_type(response, self.partners[prep.sender].receive_format)
        if ctype == EDIFACT_CT:  # no EDIFACT message carries it: the XML profile instead
            ctype = "application/xml"
        result.publishes.append(Publish(
            prep.inbound.msg.reply_to or "",
            aio_pika.Message(self.catalogue.encode(response, ctype), content_type=ctype, type=response.TYPE,
                             message_id=delivery_id(prep.sender, prep.message_id, "status-response"),
                             correlation_id=prep.message_id, headers={"x-contract": CONTRACT}, timestamp=now),
            mandatory=False))

    def _park(self, prep: Prepared, verdict: parking.Verdict, now: datetime, result: BatchResult) -> None:
        assert prep.body is not None and prep.sender and prep.message_id and verdict.park
        msg = prep.inbound.msg
        expires = now + timedelta(hours=self.settings.correlation.park_timeout_hours)
        row = ParkedRow(prep.sender, prep.message_id, prep.sha, prep.body.TYPE, msg.content_type or "", msg.body,
                        verdict.ucrs[0] if verdict.ucrs else None, verdict.lookup, verdict.park, now, expires)
        result.parked.append((prep, row))
        self._ack(prep, AckStatus.PENDING, now, result)
        result.outcomes.append((prep, "parked"))

    def _accept(self, prep: Prepared, now: datetime, result: BatchResult, ctx: parking.Context,
                outcome: str = "accepted") -> bool:
        """Route and deliver a new message, or park it until its consignment is known (False)."""
        assert prep.body is not None and prep.keys is not None and prep.sender and prep.message_id
        verdict = parking.decide(prep.body.TYPE, prep.keys, prep.obs, self.table, ctx, self.party_sources)
        if verdict.park is not None:
            if outcome == "accepted":
                self._park(prep, verdict, now, result)
            return False
        ctx.learn(prep.obs, verdict.ucrs)
        decision = route(prep.body.TYPE, prep.sender, prep.keys, self.table, verdict.parties)
        msg = prep.inbound.msg
        # the sender's own bytes go on as they are to recipients of its content type, if its adapter sends the
        # canonical profile (a vendor's native JSON is re-encoded)
        encoded: dict[str, bytes] = {msg.content_type or "": msg.body} if self.adapters[prep.sender].passthrough else {}
        headers: dict[str, Any] = {"x-contract": CONTRACT, "x-source-partner": prep.sender}
        if prep.keys.ucr:
            headers["x-ucr"] = prep.keys.ucr
        if prep.keys.vessel_call:
            headers["x-vessel-call"] = prep.keys.vessel_call
        # the consignment lane: deliveries with the same UCR (else vessel call) to one partner keep their order
        if prep.keys.ucr:
            lane = "ucr:" + prep.keys.ucr
        elif prep.keys.vessel_call:
            lane = "call:" + prep.keys.vessel_call
        else:
            lane = "msg:" + prep.sender + ":" + prep.message_id
        partition = t.partition_of(lane, self.settings.delivery.partitions)
        headers[LANE_HEADER] = lane
        outs: list[tuple[str, str, str, bytes]] = []
        for rcpt in decision.recipients:
            mid = delivery_id(prep.sender, prep.message_id, rcpt.id)
            try:
                ctype, body = self._encode(prep.body, rcpt.id, rcpt.content_type, mid, encoded)
            except Exception as exc:  # noqa: BLE001  # an adapter's bug costs this message, not the batch
                self._encode_failed(prep, rcpt.id, exc, now, result)
                return False
            outs.append((rcpt.id, mid, ctype, body))
        for rcpt_id, mid, ctype, body in outs:
            result.publishes.append(
                Publish(
                    t.out_queue(rcpt_id, partition),
                    aio_pika.Message(
                        body,
                        message_id=mid,
                        correlation_id=prep.message_id,
                        type=prep.body.TYPE,
                        content_type=ctype,
                        headers=headers,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        timestamp=now,
                    ),
                    owner=prep,
                )
            )
        row = AcceptedRow(
            prep.sender, prep.message_id, prep.sha, prep.body.TYPE, prep.keys.ucr, tuple(decision.recipient_ids())
        )
        result.accepted.append((prep, row))
        if prep.obs is not None:
            result.observed.append((prep, prep.obs))
        self._ack(prep, AckStatus.ACCEPTED, now, result, held_until=self.held_until(row.recipients))
        result.outcomes.append((prep, outcome))
        return True

    def _encode_failed(self, prep: Prepared, rcpt: str, exc: Exception, now: datetime, result: BatchResult) -> None:
        """A recipient's adapter could not encode the message: rejected with INTERNAL_ERROR, a copy kept in
        hub.quarantine for operators (to resend once the adapter is fixed), logged and counted."""
        metrics.INTERNAL_ERRORS.labels("encode").inc()
        log.error("a recipient's adapter failed to encode a message", message_id=prep.message_id,
                  type=prep.msg_type, sender=prep.sender, recipient=rcpt,
                  adapter=self.partners[rcpt].adapter, error=type(exc).__name__)
        prep.rejection = [ErrorDetail("INTERNAL_ERROR", f"the hub could not write this message for recipient "
                                      f"{rcpt}; a copy was kept for operators, please contact them")]
        prep.internal_error = True
        self._ack(prep, AckStatus.REJECTED, now, result, prep.rejection)
        result.outcomes.append((prep, "rejected"))
        self._quarantine_copy(prep, "INTERNAL_ERROR", result)

    def _encode(self, body: Body, rcpt: str, wanted: str, mid: str, shared: dict[str, bytes]) -> tuple[str, bytes]:
        """The recipient's adapter encodes (hub.adapters); bytes a codec marks shareable (same content type,
        no recipient named inside) are written once per message, or are the sender's own bytes."""
        adapter = self.adapters[rcpt]
        ctx = EncodeContext(self.catalogue, rcpt, wanted, mid, self.partners[rcpt].adapter_options)
        key = adapter.codec.shared_key(body, ctx)
        if key is not None and key in shared:
            return key, shared[key]
        out = adapter.codec.encode(body, ctx)
        if key is not None:
            shared[key] = out.body
        return out.content_type, out.body

    def _observe(self, prep: Prepared, now: datetime) -> timeline.Observation | None:
        """The message's references, parties and event (hub.timeline), committed with the batch if accepted.
        A failure here costs the message its timeline entry (and correlation), never its delivery: logged."""
        assert prep.body is not None and prep.keys is not None and prep.sender and prep.message_id
        try:
            return timeline.observe(prep.body, prep.keys, prep.sender, prep.message_id, now, self.table.partner_of)
        except Exception as exc:
            metrics.INTERNAL_ERRORS.labels("correlation").inc()
            log.exception("unexpected error recording a message's timeline event", message_id=prep.message_id,
                          type=prep.msg_type, sender=prep.sender, error=type(exc).__name__)
            return None

    def _ack(
        self,
        prep: Prepared,
        status: AckStatus,
        now: datetime,
        result: BatchResult,
        errors: list[ErrorDetail] | None = None,
        held_until: datetime | None = None,
    ) -> None:
        assert prep.sender is not None
        body = ack_document(prep.message_id, status, now, errors or (), held_until)
        content_type = "application/json"
        partner = self.partners.get(prep.sender)
        if partner is not None and partner.ack_format == "edifact":  # CONTRL or APERAK instead
            msg = prep.inbound.msg
            subject = msg.body if msg.content_type == EDIFACT_CT else None
            body = edifact.encode_ack(prep.message_id, status, errors or (), now, recipient=prep.sender,
                                      subject=subject)
            content_type = EDIFACT_CT
        props = {
            "message_id": ack_id(prep.sender, prep.message_id or "", status.value, prep.sha or payload_hash(
                prep.inbound.msg.body)),
            "correlation_id": prep.message_id,
            "type": "ack",
            "content_type": content_type,
            "headers": {"x-contract": CONTRACT},
        }
        result.publishes.append(
            Publish(
                t.acks_queue(prep.sender),
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, **props),  # type: ignore[arg-type]
            )
        )
        reply_to = prep.inbound.msg.reply_to
        if reply_to and reply_to.startswith(t.DIRECT_REPLY_TO):
            result.publishes.append(Publish(reply_to, aio_pika.Message(body, **props), mandatory=False))  # type: ignore[arg-type]

    def _quarantine(self, prep: Prepared, result: BatchResult) -> None:
        assert prep.quarantine is not None
        self._quarantine_copy(prep, prep.quarantine, result)
        result.outcomes.append((prep, f"quarantined:{prep.quarantine}"))

    def _quarantine_copy(self, prep: Prepared, reason: str, result: BatchResult) -> None:
        msg = prep.inbound.msg
        # The partner's headers are kept nested, never at the top level: RabbitMQ routes a republished
        # message to every queue a top-level CC/BCC header names (a forged copy into any inbox).
        headers: dict[str, Any] = {
            "x-quarantine-reason": reason,
            "x-original-routing-key": msg.routing_key or "",
            "x-original-user-id": msg.user_id or "",
            "x-original-headers": dict(msg.headers or {}),
        }
        result.publishes.append(
            Publish(
                t.QUARANTINE_QUEUE,
                aio_pika.Message(
                    msg.body,
                    message_id=msg.message_id,
                    type=msg.type,
                    content_type=msg.content_type,
                    headers=headers,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
            )
        )
        result.quarantined.append(QuarantineRow(reason, msg.routing_key or "", msg.user_id, msg.message_id))

    async def _publish_all(self, pub_ch: Any, publishes: list[Publish]) -> set[int]:
        """Publish all and await every confirm; returns ids of owners whose deliveries were returned.

        A return (no such queue) concerns one message; anything else (a nack, a closed channel or
        connection) fails the whole batch.
        """
        replies = [p for p in publishes if p.routing_key.startswith(t.DIRECT_REPLY_TO)]
        publishes = [p for p in publishes if not p.routing_key.startswith(t.DIRECT_REPLY_TO)]
        exchange = pub_ch.default_exchange
        futures: list[Awaitable[Any]] = [
            exchange.publish(p.message, routing_key=p.routing_key, mandatory=p.mandatory) for p in publishes
        ]
        results = await asyncio.gather(*futures, return_exceptions=True)
        failed: set[int] = set()
        for pub, res in zip(publishes, results, strict=True):
            if not isinstance(res, BaseException):
                continue
            returned = isinstance(res, aio_pika.exceptions.PublishError)
            if not returned or pub.owner is None:
                raise BrokerUnavailable(f"publish to {pub.routing_key} not confirmed: {type(res).__name__}") from res
            log.error("delivery returned by the broker", routing_key=pub.routing_key,
                      message_id=pub.owner.message_id, sender=pub.owner.sender)
            failed.add(id(pub.owner))
        for p in publishes:
            queued = p.owner is not None and id(p.owner) not in failed
            if queued and p.routing_key.startswith(t.OUT_PREFIX):
                recipient = t.out_recipient(p.routing_key)
                metrics.QUEUED.labels(recipient, p.message.type or "-").inc()
                if p.message.timestamp is not None:
                    self.queued(recipient, p.message.timestamp)
        if replies:
            await self._send_replies(replies)
        return failed

    async def _send_replies(self, replies: list[Publish]) -> None:
        """Best effort, on a connection of their own: a partner-chosen reply_to the broker cannot decode
        closes the connection it is published on (541), which must never be the ingest connection."""
        for p in replies:
            for attempt in (1, 2):  # a confirm tells whether the connection survived; retry once on a fresh one
                try:
                    if self._reply_conn is None or self._reply_conn.is_closed:
                        self._reply_conn = await broker_connect(
                            self._url(), self.settings.broker, timeout=5,
                            client_properties={"connection_name": "hub-replies"}
                        )
                        self._reply_ch = await self._reply_conn.channel(publisher_confirms=True)
                    assert self._reply_ch is not None
                    await asyncio.wait_for(
                        self._reply_ch.default_exchange.publish(p.message, routing_key=p.routing_key), 5
                    )
                    break
                except (aio_pika.exceptions.AMQPError, OSError, TimeoutError, RuntimeError) as exc:  # best effort
                    conn, self._reply_conn, self._reply_ch = self._reply_conn, None, None
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(conn.close(), 2)
                    if attempt == 2:
                        metrics.INTERNAL_ERRORS.labels("reply_to").inc()
                        log.warning("reply_to acknowledgement not sent", error=type(exc).__name__,
                                    correlation_id=p.message.correlation_id)


def _stored_prep(row: ParkedRow) -> Prepared:
    """A parked message as an inbound one, before decoding (hub.parking): for its release or its rejection."""
    msg = StoredMessage(row.body, row.content_type, row.message_id, row.msg_type, row.sender,
                        f"{row.sender}.{row.msg_type}")
    return Prepared(Inbound(msg, row.sender), sender=row.sender,  # type: ignore[arg-type]
                    message_id=row.message_id, msg_type=row.msg_type, sha=row.sha256)


def _audit_batch(result: BatchResult, failed: set[int]) -> AuditBatch:
    """The batch's audit entries in batch order: each message's ``in`` entry, then its deliveries (``out``).

    Messages whose delivery was returned (``failed``) are left out: they are redelivered and recorded then.
    """
    deliveries: dict[int, list[Publish]] = {}
    for pub in result.publishes:
        if pub.owner is not None:
            deliveries.setdefault(id(pub.owner), []).append(pub)
    hashes: dict[int, str] = {}  # one encoding is often sent to several recipients

    def out(prep: Prepared, pub: Publish) -> AuditEntry:
        recipient = t.out_recipient(pub.routing_key)
        body = pub.message.body
        sha = hashes.get(id(body)) or hashes.setdefault(id(body), payload_hash(body))
        return AuditEntry(OUT, prep.sender or "", "published", recipient=recipient, message_id=prep.message_id,
                          msg_type=pub.message.type, payload_sha256=sha)

    batch = AuditBatch()
    recorded: set[int] = set()
    for prep, outcome in result.outcomes:
        if id(prep) in failed:
            continue
        msg = prep.inbound.msg
        if outcome == "rejected" and prep.rejection:
            outcome = "rejected:" + ",".join(d.code for d in prep.rejection)
        batch.entries.append(AuditEntry(IN, prep.sender or msg.user_id or "", outcome, message_id=prep.message_id,
                                        msg_type=prep.msg_type, payload_sha256=prep.sha or payload_hash(msg.body)))
        batch.entries.extend(out(prep, pub) for pub in deliveries.get(id(prep), ()))
        recorded.add(id(prep))
    for pub in result.publishes:  # deliveries of messages processed earlier (none in this pipeline yet)
        if pub.owner is not None and id(pub.owner) not in recorded and id(pub.owner) not in failed:
            batch.entries.append(out(pub.owner, pub))
    for prep, row in result.accepted:
        if id(prep) not in failed:
            msg = prep.inbound.msg
            batch.bodies.append(StoredBody(row.sender, row.message_id, msg.content_type or "", msg.body))
    return batch


def _dropped_ack_partner(msg: AbstractIncomingMessage) -> str:
    """Partner id of an acknowledgement dead-lettered by its full ``partner.<id>.acks`` queue."""
    key = msg.routing_key or ""
    if key.startswith("partner.") and key.endswith(".acks"):
        return key[len("partner.") : -len(".acks")]
    return "unknown"
