"""The delivery worker run by ``hub run``: from the hub's partition queues to each partner, in order.

The pipeline publishes each delivery to ``hub.out.<partner>.<k>`` (k from the consignment's UCR, else its
vessel call), a quorum queue with single active consumer: of all running hubs one consumes a partition at a
time, in queue order. Here each partition's messages are split into consignment lanes (header
``x-hub-lane``); lanes run side by side, and within a lane one delivery at a time:

1. lane not blocked: wait for the partner's gate (hub.delivery.gate: windows, circuit, suspension, inbox
   depth: waiting spends no attempt), send, ack. On its first failure the delivery is moved to the store
   as the lane's head (``retry``), the lane is blocked and a drain order (a control message with header
   ``x-hub-control: drain``) is queued behind it in the same partition; then it is acked.
2. lane blocked or dead: the delivery is parked in the store behind the head, then acked.
3. drain order: deliver the lane's stored deliveries in order, retrying the head with exponential backoff
   and jitter; each one delivered is deleted. When none is left the lane is unblocked. If the head spends
   its attempts (or the partner refuses it for good), it becomes a dead letter, the lane is dead (later
   deliveries keep parking) and the original sender receives a ``delivery_failed`` acknowledgement.
   ``hub dlq replay`` turns dead letters back into heads and queues a drain order; ``purge`` deletes them
   and drains what was parked behind them.

A suspended or deregistered recipient's deliveries wait at its gate (in hub.out, where the partner is
paused after ``pause_after``) until its status hold ends them (hub.delivery.gate.StatusHold): one held
past ``delivery.suspended_hold_hours`` is dead-lettered as in 3 (``PARTNER_SUSPENDED`` /
``PARTNER_DEREGISTERED``, no attempt spent, the sender's ``delivery_failed``), its lane's later ones
park behind it; an operator's release lets those queued before it through; a cancel (or a deregistered
partner's settle-reject) dead-letters every held one, those parked in its lanes included. The monitor
resumes a paused partner when a decision is recorded or a hold may have ended, and lets it pause again
once the work is done.

Every store change is committed before the message that caused it is acked, and every step can be
repeated: a hub killed at any point redelivers (the partner sees a repeat with the same message_id), never
loses, and never lets a lane's deliveries overtake each other. A drain order is acked only when its drain
ends, so a drain cut short is resumed by whichever hub consumes the partition next; blocked lanes without a
drain order (a crash between the two) get a new one at start-up and every minute (hub.delivery.monitor).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from hub import logs, metrics
from hub import topology as t
from hub.acks import AckStatus, ack_document
from hub.adapters.amqp_inbox import AmqpInboxTransport
from hub.adapters.http_webhook import HttpWebhookTransport
from hub.adapters.transport import OutboundDelivery, PermanentDeliveryError, TransientDeliveryError, Transport
from hub.broker import connect as broker_connect
from hub.catalogue import Catalogue
from hub.clock import Clock
from hub.codec import EDIFACT_CT
from hub.config import HubConfig, Partner, PartnerStatus
from hub.delivery.gate import Circuit, HoldEnded, LaneYield, PartnerGate, RateLimit, StatusHold
from hub.delivery.monitor import Monitor
from hub.delivery.records import BLOCKED, DEAD, DeliveryRecords, HeldDelivery
from hub.delivery.status import BusyRate
from hub.errors import BrokerUnavailable, ErrorDetail, StoreUnavailable, TransientError
from hub.ids import ack_id
from hub.sessions import keep_running

log = logs.get("hub.delivery")

CONTROL = "x-hub-control"
LANE = "x-hub-lane"
DRAIN = "drain"
DRAIN_CHUNK = 100  # stored deliveries loaded at a time by a drain
WORK_MIN = 5.0  # seconds a partner resumed for its status hold's work stays unpaused at least (or pause_after)
# what a partner's delivery carries of the hub.out message's headers (the contract's; not the hub's own
# x-hub-* nor anything the broker adds, such as x-delivery-count)
DELIVERY_HEADERS = ("x-contract", "x-source-partner", "x-ucr", "x-vessel-call")


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempt: int, base: float, cap: float) -> float:
    """Full-jitter exponential backoff: uniform in [base/2, min(cap, base * 2^(attempt-1))]."""
    top = min(cap, base * 2 ** max(attempt - 1, 0))
    return random.uniform(min(base / 2, top), top)


@dataclass
class Runtime:
    """One partner's delivery state in this process; it outlives broker sessions."""

    partner: Partner
    gate: PartnerGate
    rate: RateLimit
    max_attempts: int
    transport: Transport | None = None
    waiting: dict[str, datetime | None] = field(default_factory=dict)  # taken from a queue, not yet acked
    taken: dict[int, int] = field(default_factory=dict)  # partition -> how many of ``waiting`` came from it
    delivered: int = 0
    inbox_ready: int | None = None
    inbox_consumers: int | None = None
    sent_since_poll: int = 0
    in_flight: int = 0  # sends under way (reserved places in the inbox)
    idle_since: float | None = None
    queued: int = 0  # ready in the partition queues at the last poll
    rate_seen: float | None = None  # deliveries/s over snapshot intervals with a backlog (monitor)
    busy: BusyRate = field(default_factory=lambda: BusyRate(100))  # capacity: deliveries/s while consumers are full
    open_since: float | None = None  # monotonic time since which the gate has been open (monitor)
    consumers: list[tuple[Any, str, int]] = field(default_factory=list)  # (queue, consumer tag, partition)
    given_back_oldest: datetime | None = None  # oldest queue timestamp given back when paused (hub status)
    drains_queued: int = 0  # drain orders this hub queued and has not taken back yet (not deliveries)

    def take(self, message_id: str, stamp: datetime | None, partition: int) -> None:
        if message_id not in self.waiting:
            self.taken[partition] = self.taken.get(partition, 0) + 1
        self.waiting[message_id] = stamp

    def untake(self, message_id: str, partition: int) -> None:
        if message_id in self.waiting:
            del self.waiting[message_id]
            self.taken[partition] = max(self.taken.get(partition, 0) - 1, 0)


@dataclass
class Lane:
    key: str
    partition: int
    items: deque[AbstractIncomingMessage] = field(default_factory=deque)
    state: str | None = None
    task: asyncio.Task[None] | None = None


class DeliveryService:
    def __init__(
        self,
        config: HubConfig,
        records: DeliveryRecords,
        password: str,
        clock: Clock,
        secret_of: Callable[[str], str | None],
        catalogue: Catalogue | None = None,
    ) -> None:
        self.config = config
        self.records = records
        self.password = password
        self.clock = clock
        self.settings = config.settings.delivery
        self.hold_limit = timedelta(hours=self.settings.suspended_hold_hours)
        self.work_span = max(self.settings.pause_after, WORK_MIN)
        self.catalogue = catalogue or Catalogue(config.schema_types)
        self.process = process_name()
        self.window_ends: dict[str, datetime] = {}  # partner -> end of its active window (acks' held_until)
        self.monitor: Monitor | None = None
        self._lookups = LaneLookups(records)
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._pub: Any = None
        self._lanes: dict[tuple[str, int], dict[str, Lane]] = {}
        self.runtimes: dict[str, Runtime] = {}
        for p in config.partners:
            circuit = Circuit(self.settings.circuit_failures, self.settings.circuit_probe_after)
            gate = PartnerGate(p.id, circuit)
            if p.status is not PartnerStatus.ACTIVE:
                gate.status_reason = p.status.value
                gate.status_hold = StatusHold(p.status.value, None, self.hold_limit)  # the monitor adds the record's
            rt = Runtime(p, gate, RateLimit(p.drain_rate), p.max_attempts or self.settings.max_attempts,
                         # half the prefetch: a full consumer dips below its prefetch between an ack and
                         # the broker's next delivery; a flow that ingest bounds keeps a few
                         busy=BusyRate(max(self.settings.prefetch // 2, 1)))
            if p.transport.kind == "http":
                from hub.provision import webhook_secret_name

                secret = secret_of(webhook_secret_name(p.id))
                if not secret:
                    log.error("no webhook secret for an HTTP partner: run `hub broker provision`", partner=p.id)
                    gate.status_reason = "no_secret"
                else:
                    rt.transport = HttpWebhookTransport(
                        p.transport.url, secret.encode(), timeout=p.transport.timeout or self.settings.http_timeout,
                        connect_timeout=self.settings.http_connect_timeout)
            self.runtimes[p.id] = rt

    def stop(self) -> None:
        self._stop.set()

    def note_queued(self, partner_id: str, at: datetime) -> None:
        """The pipeline queued a delivery for this partner: the oldest waiting one while it is paused."""
        rt = self.runtimes.get(partner_id)
        if rt is not None and rt.gate.paused and rt.given_back_oldest is None:
            rt.given_back_oldest = at

    def held_until(self, recipients: list[str] | tuple[str, ...]) -> datetime | None:
        """For a sender's acknowledgement: when the last of these recipients' active windows ends."""
        ends = [self.window_ends[r] for r in recipients if r in self.window_ends]
        return max(ends) if ends else None

    # ------------------------------------------------------------ sessions

    async def run(self, url: str) -> None:
        await keep_running(lambda: self._session(url), self._stop, log=log, name="delivery", bug_label="delivery",
                           on_end=self.ready.clear)
        for rt in self.runtimes.values():
            if isinstance(rt.transport, HttpWebhookTransport):
                await rt.transport.aclose()

    async def _session(self, url: str) -> None:
        conn = await broker_connect(url, self.config.settings.broker, timeout=10,
                                    client_properties={"connection_name": "hub-delivery"})
        closed = asyncio.Event()
        conn.close_callbacks.add(lambda *_: closed.set())
        tasks: list[asyncio.Task[Any]] = []
        try:
            self._pub = await conn.channel(publisher_confirms=True, on_return_raises=True)
            sub = await conn.channel()
            # a channel closed by the broker alone (e.g. its consumer_timeout, 30 min by default, reached by a
            # delivery held unacked through a long window) ends the session like a lost connection: the held
            # deliveries return to their queue in order and a new session takes them again
            for ch in (self._pub, sub):
                ch.close_callbacks.add(lambda *_: closed.set())
            await sub.set_qos(prefetch_count=self.settings.prefetch)
            for pid, rt in self.runtimes.items():
                rt.gate.circuit.probing = False  # a probe cut short by the last session's end
                rt.waiting.clear()
                rt.taken.clear()
                if rt.partner.transport.kind == "amqp":
                    rt.transport = AmqpInboxTransport(self._pub, pid)
                rt.consumers.clear()
                rt.gate.paused = False
                for k in range(self.settings.partitions):
                    self._lanes[(pid, k)] = {}
                    queue = await sub.get_queue(t.out_queue(pid, k), ensure=True)
                    tag = await queue.consume(self._on_message(pid, k), no_ack=False)
                    rt.consumers.append((queue, tag, k))
            self.monitor = Monitor(self, conn)
            tasks.append(asyncio.create_task(self.monitor.run()))
            await self.reissue_drains()
            self.ready.set()
            log.info("delivering", partners=len(self.runtimes), partitions=self.settings.partitions)
            stop = asyncio.ensure_future(self._stop.wait())
            gone = asyncio.ensure_future(closed.wait())
            done, _ = await asyncio.wait({stop, gone, *tasks}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            gone.cancel()
            for task in tasks:
                if task in done:  # the monitor ended: its connection is gone (aiormq cancels pending calls)
                    if task.cancelled():
                        raise BrokerUnavailable("delivery connection lost")
                    if task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
            if closed.is_set() and not self._stop.is_set():
                raise BrokerUnavailable("delivery connection closed")
        finally:
            self.ready.clear()
            for lanes in self._lanes.values():
                for lane in lanes.values():
                    if lane.task is not None:
                        lane.task.cancel()
            for task in tasks:
                task.cancel()
            self._lanes.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)
            self._pub = None

    def _on_message(self, pid: str, k: int) -> Callable[[AbstractIncomingMessage], Any]:
        async def on_message(msg: AbstractIncomingMessage) -> None:
            lanes = self._lanes.get((pid, k))
            if lanes is None:
                return  # session ending: the broker requeues it
            key = _header(msg, LANE) or msg.message_id or uuid.uuid4().hex
            rt = self.runtimes[pid]
            if _header(msg, CONTROL) is None:
                rt.take(msg.message_id or "", msg.timestamp, k)
            elif not msg.redelivered:
                rt.drains_queued = max(rt.drains_queued - 1, 0)
            lane = lanes.get(key)
            if lane is not None and _header(msg, CONTROL) == DRAIN and any(
                _header(m, CONTROL) == DRAIN for m in list(lane.items)[1:]
            ):
                # a drain of this lane already waits here (not the one running, which may have read the lane's
                # state before a replay changed it): a third would find nothing to do and hold a prefetch slot
                with contextlib.suppress(aio_pika.exceptions.AMQPError):
                    await msg.ack()
                return
            if lane is None:
                lane = lanes[key] = Lane(key, k)
                lane.items.append(msg)
                lane.task = asyncio.create_task(self._run_lane(pid, lanes, lane))
            else:
                lane.items.append(msg)

        return on_message

    # ------------------------------------------------------------ lanes

    async def _run_lane(self, pid: str, lanes: dict[str, Lane], lane: Lane) -> None:
        rt = self.runtimes[pid]
        try:
            first = True
            while lane.items:
                msg = lane.items[0]
                await self._step(rt, lane, msg, first)
                first = False
                await msg.ack()
                rt.untake(msg.message_id or "", lane.partition)
                lane.items.popleft()
        except asyncio.CancelledError:
            raise
        except LaneYield:
            await self._give_back(rt, lane)
        except (TransientError, aio_pika.exceptions.AMQPError, OSError, ConnectionError) as exc:
            # the store or the broker failed under this lane: its messages stay unacked and come back
            log.warning("lane stopped; its deliveries will be redelivered", partner=pid, error=type(exc).__name__)
            await self._abandon(lane)
        except Exception as exc:
            metrics.INTERNAL_ERRORS.labels("lane").inc()
            log.exception("unexpected error in a delivery lane", partner=pid, error=type(exc).__name__)
            await self._abandon(lane)
        finally:
            if lanes.get(lane.key) is lane and not lane.items:
                del lanes[lane.key]

    async def _step(self, rt: Runtime, lane: Lane, msg: AbstractIncomingMessage, first: bool) -> None:
        """One message of the lane. While the store is unavailable the step is retried here, with backoff up
        to 30 s, the message kept unacked: giving it back to the broker would spend the queue's delivery
        limit (hub-out policy) on an outage of the store. Every step can be repeated safely."""
        delay = 0.5
        while True:
            try:
                if first:
                    lane.state = await self._lookups.state(rt.partner.id, lane.key)
                if _header(msg, CONTROL) == DRAIN:
                    await self._drain(rt, lane)
                else:
                    await self._from_queue(rt, lane, msg)
                return
            except StoreUnavailable as exc:
                metrics.INTERNAL_ERRORS.labels("delivery_store").inc()
                log.warning("store unavailable in a delivery lane; retrying", partner=rt.partner.id,
                            error=str(exc)[:200], retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                first = True  # read the lane's state again: the step may have got half way

    async def _give_back(self, rt: Runtime, lane: Lane) -> None:
        """The partner is paused: return the lane's messages to their queue, in lane order (nothing was sent
        nor stored for them since they were taken; a drain order resumes from the store when it returns).
        Until the lane is empty: a message the consumer received while these were given back (until the
        broker confirms its cancellation) joins this lane, whose task ends here, and would stay taken."""
        while lane.items:
            items = list(lane.items)
            lane.items.clear()
            stamps = [m.timestamp for m in items if m.timestamp is not None and _header(m, CONTROL) is None]
            if stamps:
                oldest = min(stamps)
                rt.given_back_oldest = min(rt.given_back_oldest or oldest, oldest)
            for msg in items:
                rt.untake(msg.message_id or "", lane.partition)
                with contextlib.suppress(aio_pika.exceptions.AMQPError):
                    await msg.nack(requeue=True)

    async def pause(self, rt: Runtime) -> None:
        """Stop taking the partner's deliveries while it stays held: a delivery kept unacknowledged for the
        broker's consumer_timeout (30 min by default) would close the channel, and with it every partner's
        deliveries in flight. Lanes waiting at the gate give theirs back (``LaneYield``)."""
        # resumed when the first status hold of those given back ends (those waiting at the gate now; the rest
        # of their queues were queued later), or that of a delivery queued from now on at the soonest
        rt.gate.on_pause(self.clock.now() + self.hold_limit)
        # the consumers first, then the lanes give back: what they return then stays in the queues, in order.
        # The other way round, a message given back to a consumer still active came straight back into a lane
        # being given back or a new one: it stayed taken with that lane's task gone (the consignment stalled
        # until a restart), or returned after later ones (out of order; tests/test_pause_giveback.py)
        for queue, tag, _k in rt.consumers:
            with contextlib.suppress(aio_pika.exceptions.AMQPError):
                await queue.cancel(tag)
        rt.gate.paused = True
        rt.gate.notify()
        log.info("deliveries paused while the partner is held", partner=rt.partner.id,
                 reasons=rt.gate.reasons())

    async def resume(self, rt: Runtime) -> None:
        rt.gate.paused = False
        rt.gate.next_expiry, rt.gate.release_pending = None, False
        rt.given_back_oldest = None
        consumers = []
        for queue, _tag, k in rt.consumers:
            tag = await queue.consume(self._on_message(rt.partner.id, k), no_ack=False)
            consumers.append((queue, tag, k))
        rt.consumers = consumers
        rt.gate.notify()
        log.info("deliveries resumed", partner=rt.partner.id)

    async def _abandon(self, lane: Lane) -> None:
        """Give the lane's messages back to the broker (they return in order, before later ones), after a
        pause so that a failing store is not hammered."""
        await asyncio.sleep(1.0)
        while lane.items:  # those that joined the lane meanwhile too (its task ends here)
            items = list(lane.items)
            lane.items.clear()
            for msg in items:
                with contextlib.suppress(Exception):
                    await msg.nack(requeue=True)

    async def _from_queue(self, rt: Runtime, lane: Lane, msg: AbstractIncomingMessage) -> None:
        held = _held(rt.partner.id, lane, msg)
        now = self.clock.now()
        if lane.state == DEAD and (ended := rt.gate.decided(held.queued_at)) is not None:
            held.reason, held.last_error = ended  # an operator cancelled what is held: this one too, in order
            await self._dead(rt, lane, held)
            return
        if lane.state is not None:  # blocked or dead: park behind the head
            await asyncio.to_thread(self.records.park, held, now)
            metrics.PARKED.labels(rt.partner.id).inc()
            return
        outcome = await self._attempt(rt, held, persisted=False)
        if outcome == "delivered":
            return
        if outcome == "dead":
            await self._dead(rt, lane, held)
            return
        await asyncio.to_thread(self.records.block, held, now)
        lane.state = BLOCKED
        await self.order_drain(rt.partner.id, lane.key, lane.partition)

    async def _drain(self, rt: Runtime, lane: Lane) -> None:
        pid = rt.partner.id
        states = await asyncio.to_thread(self.records.lane_states, pid, [lane.key])
        lane.state = states.get(lane.key)
        if lane.state == DEAD:
            await self._dead_followers(rt, lane)
        while lane.state == BLOCKED:
            rows = await asyncio.to_thread(self.records.lane_rows, pid, lane.key, DRAIN_CHUNK)
            if not rows:
                if await asyncio.to_thread(self.records.unblock_if_empty, pid, lane.key):
                    lane.state = None
                    log.info("lane unblocked", partner=pid, lane=_safe_lane(lane.key))
                continue
            for held in rows:
                if held.kind == DEAD:
                    lane.state = DEAD
                    break
                outcome = await self._attempt(rt, held, persisted=True)
                if outcome == "delivered":
                    assert held.id is not None
                    await asyncio.to_thread(self.records.delivered, held.id)
                    continue
                await self._dead(rt, lane, held)
                await self._dead_followers(rt, lane)
                break

    async def _dead_followers(self, rt: Runtime, lane: Lane) -> None:
        """A dead lane's parked deliveries that an operator's cancel (or settle-reject) decision covers become
        dead letters too, in lane order, each with its sender's ``delivery_failed``; the first one it does not
        cover (queued after it) and those behind it stay parked. Nothing happens without such a decision."""
        if rt.gate.decided(None) is None:
            return
        for held in await asyncio.to_thread(self.records.lane_rows, rt.partner.id, lane.key):
            if held.kind == DEAD:
                continue
            ended = rt.gate.decided(held.queued_at)
            if ended is None:
                return
            held.reason, held.last_error = ended
            await self._dead(rt, lane, held)

    async def _attempt(self, rt: Runtime, held: HeldDelivery, *, persisted: bool) -> str:
        """Send until delivered ("delivered"), dead ("dead") or, for a delivery not yet in the store, its
        first failure ("failed": the caller moves it to the store and blocks the lane)."""
        assert rt.transport is not None
        delivery = _outbound(held)
        while True:
            try:
                probe = await rt.gate.wait(queued_at=held.queued_at, now=self.clock.now)
            except HoldEnded as exc:  # held for the recipient's registry status too long, or cancelled
                held.reason, held.last_error = exc.reason, exc.detail
                return "dead"
            if not self._reserve(rt):
                continue  # the inbox reached its agreed depth while this one waited
            try:
                try:
                    await rt.rate.take()
                    await rt.transport.send(delivery)
                finally:
                    rt.in_flight -= 1
            except (TransientDeliveryError, PermanentDeliveryError) as exc:
                permanent = isinstance(exc, PermanentDeliveryError)
                metrics.DELIVERY_ATTEMPTS.labels(rt.partner.id, "permanent" if permanent else "transient").inc()
                if rt.gate.circuit.failure(str(exc)):
                    log.warning("circuit opened", partner=rt.partner.id, error=str(exc)[:200])
                rt.gate.notify()
                if not probe or permanent:  # a half-open probe of a partner known to be down costs nothing
                    held.attempts += 1
                held.last_error = str(exc)[:2000]
                if permanent or held.attempts >= rt.max_attempts:
                    held.reason = "refused_by_partner" if permanent else "attempts_exhausted"
                    return "dead"
                if not persisted:
                    return "failed"
                assert held.id is not None
                await asyncio.to_thread(self.records.attempt_failed, held.id, held.attempts, held.last_error)
                await asyncio.sleep(backoff(held.attempts, self.settings.retry_base, self.settings.retry_max))
                continue
            if rt.gate.circuit.success():
                log.info("circuit closed", partner=rt.partner.id)
                rt.gate.notify()
            metrics.DELIVERY_ATTEMPTS.labels(rt.partner.id, "delivered").inc()
            metrics.DELIVERIES.labels(rt.partner.id, held.msg_type).inc()
            rt.delivered += 1
            rt.busy.delivered(rt.taken.get(held.partition, 0), time.monotonic())
            if rt.partner.transport.kind == "amqp":
                rt.sent_since_poll += 1
            if rt.gate.status_reason:  # an operator released it: keep the partner unpaused while they go
                rt.gate.work_until = time.monotonic() + self.work_span
            return "delivered"

    @staticmethod
    def _reserve(rt: Runtime) -> bool:
        """Take a place in the partner's AMQP inbox (its depth at the last poll, plus what was sent since and
        what is being sent): over the agreed depth the gate closes until the monitor sees room again. No await
        between the check and the count, so concurrent lanes never overshoot the depth."""
        if rt.partner.transport.kind == "amqp" and rt.inbox_ready is not None and (
            rt.inbox_ready + rt.sent_since_poll + rt.in_flight >= rt.partner.inbox_depth
        ):
            rt.gate.inbox_full = True
            return False
        rt.in_flight += 1
        return True

    async def _dead(self, rt: Runtime, lane: Lane, held: HeldDelivery) -> None:
        # the sender's acknowledgement first, then the dead letter: a crash in between repeats the
        # acknowledgement (same message_id) rather than losing it
        await self._delivery_failed(held)
        await asyncio.to_thread(self.records.dead_head, held, self.clock.now())
        lane.state = DEAD
        if rt.gate.status_applies():  # ended by its status hold: keep the partner unpaused while others end
            rt.gate.work_until = time.monotonic() + self.work_span
        metrics.DEAD_LETTERED.labels(rt.partner.id, held.reason or "-").inc()
        log.error("delivery dead-lettered", partner=rt.partner.id, message_id=held.message_id,
                  type=held.msg_type, sender=held.sender, attempts=held.attempts, reason=held.reason,
                  last_error=(held.last_error or "")[:200])

    async def _delivery_failed(self, held: HeldDelivery) -> None:
        """Tell the original sender (a partner; the hub's own notices have none) on its acks queue."""
        sender = self.config.partner(held.sender)
        if sender is None or held.correlation_id is None:
            return
        detail = ErrorDetail(
            "DELIVERY_FAILED",
            f"delivery {held.message_id} to {held.partner} was dead-lettered after {held.attempts} attempt(s) "
            f"({held.reason}): {(held.last_error or '')[:200]}; operators can replay it",
        )
        now = self.clock.now()
        body = ack_document(held.correlation_id, AckStatus.DELIVERY_FAILED, now, [detail])
        content_type = "application/json"
        if sender.ack_format == "edifact":  # CONTRL/APERAK, as for its other acknowledgements
            from hub import edifact

            body = edifact.encode_ack(held.correlation_id, AckStatus.DELIVERY_FAILED, [detail], now,
                                      recipient=held.sender)
            content_type = EDIFACT_CT
        msg = aio_pika.Message(
            body, message_id=ack_id(held.sender, held.correlation_id, "delivery_failed", held.partner),
            correlation_id=held.correlation_id, type="ack", content_type=content_type,
            headers={"x-contract": "1"}, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self._pub.default_exchange.publish(msg, routing_key=t.acks_queue(held.sender), mandatory=False)

    async def order_drain(self, pid: str, lane: str, partition: int) -> None:
        await publish_drain(self._pub, pid, lane, partition)
        self.runtimes[pid].drains_queued += 1

    async def reissue_drains(self) -> None:
        for pid, lane, k in await asyncio.to_thread(self.records.blocked_lanes):
            if pid in self.runtimes and k < self.settings.partitions:
                await self.order_drain(pid, lane, k)


class LaneLookups:
    """The blocked-or-dead state of lanes as they start, read from the store in batches: every lane that
    starts in one turn of the event loop shares one query (a flood of consignments starts thousands)."""

    def __init__(self, records: DeliveryRecords) -> None:
        self.records = records
        self._pending: dict[str, dict[str, list[asyncio.Future[str | None]]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def state(self, partner: str, lane: str) -> str | None:
        fut: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(partner, {}).setdefault(lane, []).append(fut)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())
        return await fut

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the lanes started in this turn join the batch
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                found = await asyncio.to_thread(self.records.lane_states_many,
                                                {p: list(lanes) for p, lanes in batch.items()})
            except Exception as exc:  # noqa: BLE001 - handed to every waiting lane, which logs or retries it
                for lanes in batch.values():
                    for futs in lanes.values():
                        for fut in futs:
                            if not fut.done():
                                fut.set_exception(exc)
                continue
            for partner, lanes in batch.items():
                for lane, futs in lanes.items():
                    for fut in futs:
                        if not fut.done():
                            fut.set_result(found.get(partner, {}).get(lane))


async def publish_drain(channel: Any, pid: str, lane: str, partition: int) -> None:
    """Queue a drain order for a blocked lane behind whatever its partition queue already holds."""
    msg = aio_pika.Message(b"", message_id=f"drain-{uuid.uuid4()}", type="hub.control",
                           headers={CONTROL: DRAIN, LANE: lane}, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
    await channel.default_exchange.publish(msg, routing_key=t.out_queue(pid, partition), mandatory=True)


def _header(msg: AbstractIncomingMessage, name: str) -> str | None:
    value = (msg.headers or {}).get(name)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None if value is None else str(value)


def _safe_lane(key: str) -> str:
    return key[:64]


def _held(pid: str, lane: Lane, msg: AbstractIncomingMessage) -> HeldDelivery:
    headers = {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
               for k, v in (msg.headers or {}).items() if k in DELIVERY_HEADERS}
    return HeldDelivery(
        partner=pid, lane=lane.key, partition=lane.partition, message_id=msg.message_id or "",
        sender=str(headers.get("x-source-partner", "")), correlation_id=msg.correlation_id,
        msg_type=msg.type or "", content_type=msg.content_type or "", body=msg.body, headers=headers,
        queued_at=msg.timestamp,
    )


def _outbound(held: HeldDelivery) -> OutboundDelivery:
    ucr = held.headers.get("x-ucr")
    return OutboundDelivery(
        message_id=held.message_id, correlation_id=held.correlation_id or "", msg_type=held.msg_type,
        content_type=held.content_type, body=held.body, source_partner=held.sender,
        ucr=str(ucr) if ucr else None, headers={k: str(v) for k, v in held.headers.items()},
        queued_at=held.queued_at,
    )
