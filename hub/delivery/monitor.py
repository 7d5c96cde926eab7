"""The delivery worker's watch loop: windows, inboxes, notices, snapshots, re-issued drain orders.

Every ``delivery.monitor_interval`` seconds: apply the active maintenance windows (by the injectable clock)
to the partners' gates; read each AMQP inbox's depth and consumer count (a passive declare, which needs no
permission on the queue) to hold deliveries over the agreed depth and to open the circuit of a partner
whose inbox has had messages and no consumer for ``idle_consumer_timeout``; send due maintenance notices
(hub.delivery.notices). Every ``SNAPSHOT_EVERY`` seconds: write what this hub sees per partner to the store
for ``hub status``, and update the Prometheus gauges with the same figures.

Registry statuses and the operators' decisions on held deliveries (hub.registry) are read every round too:
a new decision resumes a paused partner and orders a drain of each of its lanes with stored deliveries, so
that running hubs apply it within seconds; a paused partner is also resumed when a delivery it holds for
its status may have reached ``delivery.suspended_hold_hours``, and pauses again once nothing moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aio_pika

from hub import credentials, logs, metrics, registry
from hub import topology as t
from hub.config import PartnerStatus
from hub.delivery.gate import StatusHold
from hub.delivery.notices import send_due_notices
from hub.delivery.records import DEAD, Snapshot, WindowRow
from hub.delivery.status import PartnerView, partner_view, rate_estimate
from hub.errors import BrokerUnavailable, StoreUnavailable

if TYPE_CHECKING:
    from hub.delivery.worker import DeliveryService, Runtime

log = logs.get("hub.delivery")
SNAPSHOT_EVERY = 2.0
REISSUE_EVERY = 60.0  # seconds between re-issued drain orders for blocked lanes (hub.delivery.worker)


class Monitor:
    def __init__(self, service: DeliveryService, conn: Any) -> None:
        self.service = service
        self.conn = conn
        self._ch: Any = None
        self._last_snapshot = 0.0
        self._last_reissue = time.monotonic()
        self._last: dict[str, tuple[float, int, int]] = {}  # partner -> (when, delivered, held) at a snapshot
        self._capacity: dict[str, float] = {}  # transport kind -> best deliveries/s seen in all
        self._capacity_saved: dict[str, float] | None = None  # partner -> capacity in the store (None: not read)
        self.views: dict[str, PartnerView] = {}
        # expired broker credentials revoked at start and once a minute, in a task of its own (hub.credentials)
        self._credentials = credentials.Sweeper(service.config, service.records.store)

    async def run(self) -> None:
        interval = self.service.settings.monitor_interval
        while True:
            await self.tick()
            await asyncio.sleep(interval)

    async def tick(self) -> None:
        """One round. The store being unavailable skips what needs it (the last known windows stay in force)
        and never ends the session: ending it would give every held delivery back to its queue."""
        s = self.service
        now = s.clock.now()
        windows: list[WindowRow] | None = None
        try:
            windows = await asyncio.to_thread(s.records.windows, False, now)
        except StoreUnavailable as exc:
            self._store_down("windows", exc)
        if windows is not None:
            self._apply_windows(windows, now)
        try:
            self._apply_registry(await asyncio.to_thread(registry.statuses, s.records.store))
            await self._apply_holds(await asyncio.to_thread(registry.holds, s.records.store))
        except StoreUnavailable as exc:
            self._store_down("registry", exc)
        self._credentials.due()
        for rt in s.runtimes.values():
            if rt.partner.transport.kind == "amqp":
                await self._poll_inbox(rt)
        mono_now = time.monotonic()
        for rt in s.runtimes.values():
            gate = rt.gate
            if gate.held():  # since when each gate has been open (rate measurements) or held (pausing)
                rt.open_since = None
                rt.busy.paused()
                gate.held_since = gate.held_since or mono_now
            else:
                rt.open_since = rt.open_since or mono_now
                gate.held_since = None
            if gate.paused and not gate.pausable():
                await s.resume(rt)
            elif gate.paused and gate.status_work_due(now):  # a status hold may have ended, or a release go
                await s.resume(rt)
                gate.work_until = mono_now + s.work_span
            elif (not gate.paused and gate.pausable() and gate.held_since is not None
                  and mono_now - gate.held_since >= s.settings.pause_after and not gate.working(mono_now)):
                await s.pause(rt)
        mono = time.monotonic()
        try:
            if windows is not None:
                await send_due_notices(s, windows, now)
            if mono - self._last_snapshot >= SNAPSHOT_EVERY:
                self._last_snapshot = mono
                await self._snapshot(now)
            if mono - self._last_reissue >= REISSUE_EVERY:
                self._last_reissue = mono
                await s.reissue_drains()
        except StoreUnavailable as exc:
            self._store_down("monitor", exc)

    @staticmethod
    def _store_down(step: str, exc: Exception) -> None:
        metrics.INTERNAL_ERRORS.labels("delivery_store").inc()
        log.warning("store unavailable to the delivery monitor; carrying on", step=step, error=str(exc)[:200])

    def _apply_registry(self, overrides: dict[str, PartnerStatus]) -> None:
        """Statuses operators set (hub.registry): a suspended or deregistered partner's gate closes (its
        deliveries are held in order), a reinstated one's opens again."""
        for pid, rt in self.service.runtimes.items():
            status = overrides.get(pid, rt.partner.status)
            if status is rt.partner.status:
                continue
            log.info("registry status changed: deliveries " + ("released" if status is PartnerStatus.ACTIVE
                                                                 else "held"), partner=pid, status=status.value)
            rt.partner = rt.partner.model_copy(update={"status": status})
            if rt.gate.status_reason != "no_secret":
                rt.gate.status_reason = None if status is PartnerStatus.ACTIVE else status.value
            rt.gate.notify()

    async def _apply_holds(self, holds: dict[str, registry.Hold]) -> None:
        """Since when a suspended or deregistered partner's status holds its deliveries, and the operator's
        latest decision on them (hub.registry.holds). A decision this process has not applied yet resumes the
        partner if it is paused and orders a drain of each of its lanes with stored deliveries (a cancel
        reaches those parked behind a dead letter that way)."""
        s = self.service
        for pid, rt in s.runtimes.items():
            status = rt.partner.status
            if status is PartnerStatus.ACTIVE:
                rt.gate.status_hold = None
                continue
            h = holds.get(pid) or registry.Hold(None)
            hold = StatusHold(status.value, h.since, s.hold_limit, h.decision, h.decision_at)
            old = rt.gate.status_hold
            if hold == old:
                continue
            rt.gate.status_hold = hold
            rt.gate.notify()
            if hold.decision is None or hold.decision_at is None or (
                    old is not None and (old.decision, old.decision_at) == (hold.decision, hold.decision_at)):
                continue
            log.info("operator's decision on held deliveries applied", partner=pid, decision=hold.decision,
                     recorded_at=hold.decision_at.isoformat())
            try:
                rt.gate.work_until = time.monotonic() + s.work_span
                if rt.gate.paused:
                    await s.resume(rt)
                for lane, k in await asyncio.to_thread(s.records.waiting_lanes, pid):
                    if k < s.settings.partitions:
                        await s.order_drain(pid, lane, k)
            except BaseException:
                rt.gate.status_hold = old  # applied again next round (or next session)
                raise

    def _apply_windows(self, windows: list[WindowRow], now: datetime) -> None:
        ends: dict[str, datetime] = {}
        for w in windows:
            if w.active(now) and w.target in self.service.runtimes:
                ends[w.target] = max(ends.get(w.target, w.end), w.end)
        self.service.window_ends = ends
        for pid, rt in self.service.runtimes.items():
            until = ends.get(pid)
            if until != rt.gate.window_until:
                if until is not None:
                    log.info("maintenance window: holding deliveries", partner=pid, until=until.isoformat())
                else:
                    log.info("maintenance window over: delivering", partner=pid)
                rt.gate.window_until = until
                rt.gate.notify()

    async def _declare(self, name: str) -> tuple[int, int] | None:
        """(ready messages, consumers) of a queue, or None if it cannot be read (channel reopened next time)."""
        try:
            if self._ch is None or self._ch.is_closed:
                self._ch = await self.conn.channel()
            q = await self._ch.declare_queue(name, passive=True)
            res = q.declaration_result
            return int(res.message_count or 0), int(res.consumer_count or 0)
        except (TimeoutError, aio_pika.exceptions.AMQPError, RuntimeError) as exc:
            log.warning("cannot read queue", queue=name, error=type(exc).__name__)
            self._ch = None
            return None
        except asyncio.CancelledError:
            if self.conn.is_closed:  # aiormq cancels the pending call of a dead connection
                raise BrokerUnavailable("delivery connection lost") from None
            raise

    async def _poll_inbox(self, rt: Runtime) -> None:
        before = rt.sent_since_poll
        got = await self._declare(t.inbox(rt.partner.id))
        if got is None:
            return
        ready, consumers = got
        # deliveries confirmed while the declare was under way may be in ``ready`` and are still counted as
        # sent: counted twice until the next poll, so the estimate errs on the full side, never over the depth
        rt.inbox_ready, rt.inbox_consumers = ready, consumers
        rt.sent_since_poll -= before
        full = ready + rt.sent_since_poll + rt.in_flight >= rt.partner.inbox_depth
        if full != rt.gate.inbox_full:
            log.info("inbox over its agreed depth: holding" if full else "inbox below its agreed depth",
                     partner=rt.partner.id, depth=ready, agreed=rt.partner.inbox_depth)
            rt.gate.inbox_full = full
            rt.gate.notify()
        circuit = rt.gate.circuit
        if consumers == 0 and ready > 0:
            rt.idle_since = rt.idle_since or time.monotonic()
            idle = time.monotonic() - rt.idle_since
            if idle >= self.service.settings.idle_consumer_timeout and not circuit.idle_open:
                circuit.idle_open = True
                log.warning("circuit opened: nobody consumes the inbox", partner=rt.partner.id, depth=ready,
                            idle_seconds=round(idle))
                rt.gate.notify()
        else:
            rt.idle_since = None
            if circuit.idle_open:
                circuit.idle_open = False
                log.info("circuit closed: the inbox has a consumer again", partner=rt.partner.id)
                rt.gate.notify()

    async def _snapshot(self, now: datetime) -> None:
        s = self.service
        await self._keep_capacities(now)
        stored = await asyncio.to_thread(s.records.held_counts)
        oldest_stored = await asyncio.to_thread(s.records.oldest_held)
        snaps: list[Snapshot] = []
        held: dict[str, int] = {}
        for pid, rt in s.runtimes.items():
            queued = 0
            for k in range(s.settings.partitions):
                got = await self._declare(t.out_queue(pid, k))
                queued += got[0] if got else 0
            rt.queued = max(queued - rt.drains_queued, 0)  # deliveries only, not this hub's drain orders
            held[pid] = rt.queued + len(rt.waiting) + sum(n for kind, n in stored.get(pid, {}).items() if kind != DEAD)
        self._observe_rates(time.monotonic(), held)
        busiest: dict[str, float] = {}  # transport kind -> the best capacity measured for any of its partners
        for rt in s.runtimes.values():
            if rt.busy.rate is not None:
                kind = rt.partner.transport.kind
                busiest[kind] = max(busiest.get(kind, 0.0), rt.busy.rate)
        for pid, rt in s.runtimes.items():
            kinds = stored.get(pid, {})
            stamps = [v for v in rt.waiting.values() if v is not None]
            if rt.given_back_oldest is not None and held[pid]:
                stamps.append(rt.given_back_oldest)
            if pid in oldest_stored:
                stamps.append(oldest_stored[pid])
            oldest = min(stamps) if stamps else None
            reasons = tuple(rt.gate.reasons())
            kind = rt.partner.transport.kind
            estimate = rate_estimate(rt.busy.rate, busiest.get(kind), rt.rate_seen, self._capacity.get(kind))
            view = partner_view(rt.partner, reasons=reasons, inbox_depth=rt.inbox_ready, held=held[pid],
                                dead=kinds.get(DEAD, 0), oldest_at=oldest, observed_rate=estimate,
                                window_until=rt.gate.window_until, now=now,
                                window_end_delay=s.settings.monitor_interval / 2)
            self.views[pid] = view
            _gauges(view)
            snaps.append(Snapshot(pid, s.process, view.state, reasons, len(rt.waiting), rt.queued, rt.inbox_ready,
                                  oldest, estimate if rt.delivered else None, rt.delivered,
                                  datetime.now(UTC)))  # freshness: wall time
        with contextlib.suppress(Exception):  # the store being down must not stop deliveries
            await asyncio.to_thread(s.records.put_snapshots, snaps)

    async def _keep_capacities(self, now: datetime) -> None:
        """Delivery capacities survive a restart: read from the store once (for the partners this process has
        measured nothing for yet), written back when a new measurement differs."""
        s = self.service
        try:
            if self._capacity_saved is None:
                self._capacity_saved = await asyncio.to_thread(s.records.capacities)
                for pid, rt in s.runtimes.items():
                    if rt.busy.rate is None and pid in self._capacity_saved:
                        rt.busy.rate = self._capacity_saved[pid]
            changed = {pid: rt.busy.rate for pid, rt in s.runtimes.items()
                       if rt.busy.rate is not None and rt.busy.rate != self._capacity_saved.get(pid)}
            if changed:
                await asyncio.to_thread(s.records.put_capacities, changed, now)
                self._capacity_saved.update(changed)
        except StoreUnavailable as exc:
            self._store_down("capacity", exc)

    def _observe_rates(self, mono: float, held: dict[str, int]) -> None:
        """Deliveries per second, measured over snapshot intervals in which a partner had a backlog from start
        to end and its gate stayed open, for the drain ETA when no capacity was measured (``BusyRate``): a
        lower bound, since deliveries may have come no faster than the ingest side made them. Per
        partner (EWMA), and in all per transport (the hub's delivery capacity, the best seen: the fallback
        for a partner with no measurement of its own, such as one that has just come out of a window)."""
        total: dict[str, tuple[int, float]] = {}
        for pid, rt in self.service.runtimes.items():
            last = self._last.get(pid)
            was_open = rt.open_since is not None and last is not None and rt.open_since <= last[0]
            self._last[pid] = (mono, rt.delivered, held[pid])
            if last is None or not was_open or rt.gate.held():
                continue
            dt, dn = mono - last[0], rt.delivered - last[1]
            if dt <= 0 or dn <= 0 or held[pid] == 0 or last[2] == 0:
                continue
            observed = dn / dt
            rt.rate_seen = observed if rt.rate_seen is None else 0.3 * rt.rate_seen + 0.7 * observed
            n, span = total.get(rt.partner.transport.kind, (0, dt))
            total[rt.partner.transport.kind] = (n + dn, max(span, dt))
        for kind, (n, span) in total.items():
            self._capacity[kind] = max(self._capacity.get(kind, 0.0), n / span)


def _gauges(view: PartnerView) -> None:
    pid = view.partner
    metrics.HELD.labels(pid).set(view.held)
    metrics.DEAD.labels(pid).set(view.dead_letters)
    metrics.INBOX_DEPTH.labels(pid).set(view.inbox_depth if view.inbox_depth is not None else float("nan"))
    metrics.OLDEST_WAITING.labels(pid).set(view.oldest_waiting_seconds or 0.0)
    metrics.DRAIN_ETA.labels(pid).set(view.drain_eta_seconds if view.drain_eta_seconds is not None else float("nan"))
    metrics.PARTNER_UP.labels(pid).set(1 if view.state == "up" else 0)
