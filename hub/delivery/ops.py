"""What the ``hub windows``, ``hub dlq`` and ``hub status`` commands do, apart from printing.

The commands act on the store and, to make a running hub move a lane again, queue drain orders in the
partition queues with the hub's own broker credentials (``hub broker provision`` wrote them). They work
whether or not a hub runs: a drain order waits in its queue until one does.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika

from hub import topology as t
from hub.broker import connect as broker_connect
from hub.client import broker_url
from hub.clock import Clock
from hub.config import HubConfig, PartnerStatus
from hub.delivery.records import DEAD, DeliveryRecords, HeldDelivery, WindowRow
from hub.delivery.status import PartnerView, partner_view
from hub.delivery.worker import publish_drain
from hub.errors import BrokerUnavailable
from hub.windows import HUB_TARGET, Window, affected_partners, plan_window

FRESH = 15.0  # seconds: a hub's snapshot older than this is not trusted for the live state


async def hub_connection(config: HubConfig, password: str, purpose: str) -> Any:
    """A command's own connection as the hub's broker user; ``BrokerUnavailable`` naming ``purpose`` if the
    broker cannot be reached."""
    b = config.settings.broker
    try:
        return await broker_connect(broker_url(b.url, b.vhost, b.user, password), b, timeout=10)
    except (aio_pika.exceptions.AMQPError, OSError) as exc:
        raise BrokerUnavailable(f"cannot reach the broker{purpose}: {type(exc).__name__}") from exc


async def order_drains(config: HubConfig, password: str, lanes: list[tuple[str, str, int]]) -> None:
    if not lanes:
        return
    conn = await hub_connection(config, password, " to queue drain orders")
    try:
        ch = await conn.channel(publisher_confirms=True, on_return_raises=True)
        await asyncio.gather(*(publish_drain(ch, pid, lane, k) for pid, lane, k in lanes))
    finally:
        await conn.close()


def add_window(config: HubConfig, records: DeliveryRecords, clock: Clock, target: str, start: datetime,
               end: datetime, *, emergency: bool, reason: str | None) -> tuple[int, Window, list[str]]:
    """Check the window against regulation 32 (raises WindowRefused) and record it; the running hub sends the
    notices. Returns its id, the window and the partners it will notify."""
    now = clock.now()
    window = plan_window(target, start, end, now=now, known_targets={p.id for p in config.partners},
                         emergency=emergency, reason=reason)
    from pydantic import ValidationError

    from hub.schemas.maintenance_notice import MaintenanceNotice
    from hub.windows import WindowRefused

    try:  # the notice must be valid before the window is recorded: the running hub sends it
        MaintenanceNotice.from_window(window)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'notice'}: {e['msg']}" for e in exc.errors())
        raise WindowRefused(f"the maintenance notice would be invalid: {problems}",
                            code="WINDOW_REASON_INVALID") from exc
    wid = records.add_window(target, window.start, window.end, emergency=window.emergency,
                             short_notice=window.short_notice, reason=reason, announced_at=now)
    gone = {p.id for p in config.partners if p.status is PartnerStatus.DEREGISTERED}
    recipients = sorted(({p.id for p in config.partners} if target == HUB_TARGET else
                         affected_partners(target, config)) - gone)
    return wid, window, recipients


def window_dict(w: WindowRow, now: datetime) -> dict[str, Any]:
    from hub.windows import to_eat

    state = ("cancelled" if w.cancelled_at else "over" if w.end <= now else "active" if w.start <= now
             else "scheduled")
    return {
        "id": w.id, "target": w.target, "state": state, "start": to_eat(w.start), "end": to_eat(w.end),
        "start_utc": w.start.isoformat(), "end_utc": w.end.isoformat(), "hours": round(
            (w.end - w.start).total_seconds() / 3600, 2), "emergency": w.emergency, "short_notice": w.short_notice,
        "reason": w.reason, "announced": to_eat(w.announced_at),
        "notice_sent": w.notice_sent_at is not None, "reminder_sent": w.reminder_sent_at is not None,
        "cancel_sent": w.cancel_sent_at is not None,
    }


def dead_letter_dict(d: HeldDelivery, body: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": d.id, "partner": d.partner, "message_id": d.message_id, "type": d.msg_type, "sender": d.sender,
        "correlation_id": d.correlation_id, "lane": d.lane, "attempts": d.attempts, "reason": d.reason,
        "last_error": d.last_error, "dead_at": d.at.isoformat() if d.at else None,
        "queued_at": d.queued_at.isoformat() if d.queued_at else None, "content_type": d.content_type,
        "bytes": len(d.body),
    }
    if body:
        out["headers"] = d.headers
        out["body"] = d.body.decode("utf-8", "replace")
    return out


@dataclass(frozen=True)
class QueueFigures:
    messages: int  # ready + unacknowledged in the partner's hub.out queues
    inbox: int | None
    inbox_consumers: int | None


def _queues(config: HubConfig, columns: str) -> list[dict[str, Any]] | None:
    """The vhost's queues with these columns, from the management API (admin credentials; figures lag up to
    its 5-second interval), or None if it cannot be reached."""
    from hub.errors import ProvisionError
    from hub.provision import management_for

    try:
        mgmt = management_for(config)
        try:
            queues: list[dict[str, Any]] = mgmt.get(f"/queues/{mgmt.v}?columns={columns}")
        finally:
            mgmt.close()
    except ProvisionError:
        return None
    return queues


def queue_figures(config: HubConfig) -> dict[str, QueueFigures] | None:
    """From the management API (admin credentials), or None if it cannot be reached."""
    queues = _queues(config, "name,messages,consumers")
    if queues is None:
        return None
    by_name = {q["name"]: q for q in queues}
    out: dict[str, QueueFigures] = {}
    for p in config.partners:
        held = sum(int(by_name.get(t.out_queue(p.id, k), {}).get("messages", 0) or 0)
                   for k in range(config.settings.delivery.partitions))
        inbox = by_name.get(t.inbox(p.id))
        out[p.id] = QueueFigures(held, int(inbox.get("messages", 0) or 0) if inbox else None,
                                 int(inbox.get("consumers", 0) or 0) if inbox else None)
    return out


def status(config: HubConfig, records: DeliveryRecords, clock: Clock) -> tuple[list[PartnerView], list[str]]:
    """Every partner's view, and the processes whose fresh snapshots it used."""
    now = clock.now()
    snaps = records.snapshots()
    capacities = records.capacities()
    stored = records.held_counts()
    oldest_stored = records.oldest_held()
    windows = [w for w in records.windows(False, now) if w.active(now)]
    figures = queue_figures(config)
    wall = datetime.now(UTC)
    fresh = [s for s in snaps if (wall - s.updated_at).total_seconds() <= FRESH]
    kind_of = {p.id: p.transport.kind for p in config.partners}
    best: dict[str, float] = {}
    for snap in fresh:
        if snap.rate and snap.partner in kind_of:
            best[kind_of[snap.partner]] = max(best.get(kind_of[snap.partner], 0.0), snap.rate)
    views = []
    for p in config.partners:
        mine = [s for s in fresh if s.partner == p.id]
        kinds = stored.get(p.id, {})
        in_store = sum(n for kind, n in kinds.items() if kind != DEAD)
        if mine:  # the running hubs' own figures (read at most SNAPSHOT_EVERY ago; management stats lag
            # by their 5-second interval): every hub reads all the partner's queues, each holds its own
            held = max(s.queued for s in mine) + sum(s.in_memory for s in mine) + in_store
            inbox = next((s.inbox_depth for s in mine if s.inbox_depth is not None), None)
        elif figures is not None:  # no hub reports: the management API's figures
            held = figures[p.id].messages + in_store
            inbox = figures[p.id].inbox
        else:
            held, inbox = in_store, None
        stamps = [s.oldest_at for s in mine if s.oldest_at is not None]
        if p.id in oldest_stored:
            stamps.append(oldest_stored[p.id])
        reasons: tuple[str, ...] | None = None
        if mine:
            reasons = tuple(sorted({r for s in mine for r in s.reasons}))
        # each delivering hub reports its own rate (they add up); with none, the capacity last measured
        rates = [s.rate for s in mine if s.rate]
        if not rates and p.id in capacities:
            rates = [capacities[p.id]]
        until = max((w.end for w in windows if w.target == p.id), default=None)
        views.append(partner_view(p, reasons=reasons, inbox_depth=inbox, held=held, dead=kinds.get(DEAD, 0),
                                  oldest_at=min(stamps) if stamps else None,
                                  observed_rate=sum(rates) if rates else None, window_until=until, now=now,
                                  fallback_rate=best.get(p.transport.kind),
                                  window_end_delay=config.settings.delivery.monitor_interval / 2))
    return views, sorted({s.process for s in fresh})


# ------------------------------------------------------------------ held for a partner's registry status
# (hub partners held | pending | settle)


def partition_counts(config: HubConfig, partner_id: str) -> dict[int, int] | None:
    """Messages in each of the partner's ``hub.out`` queues (ready + taken but unacknowledged, drain orders
    included) from the management API (admin credentials; figures lag up to its 5-second interval), or None
    if it cannot be reached. Which consignments they belong to cannot be known without consuming them."""
    queues = _queues(config, "name,messages")
    if queues is None:
        return None
    by_name = {q["name"]: int(q.get("messages", 0) or 0) for q in queues}
    return {k: by_name.get(t.out_queue(partner_id, k), 0) for k in range(config.settings.delivery.partitions)}


def held_report(config: HubConfig, records: DeliveryRecords, partner_id: str, now: datetime) -> dict[str, Any]:
    """What the hub holds for a partner, from every source there is, each counted for what it is: the store's
    deliveries per consignment lane (exact), the ``hub.out`` queues per partition (management API), the
    running hubs' last snapshots (what they took from the queues and the oldest queued time they saw), the
    dead letters. Also when its status hold ends deliveries, and the operator's latest decision."""
    from hub import registry

    partner = config.partner(partner_id)
    assert partner is not None
    status = registry.statuses(records.store).get(partner_id, partner.status)
    hold = registry.holds(records.store).get(partner_id)
    since = hold.since if hold is not None and status is not PartnerStatus.ACTIVE else None
    limit = config.settings.delivery.suspended_hold_hours
    lanes = records.held_by_lane(partner_id)
    dead = len(records.dead_letters(partner_id))
    counts = partition_counts(config, partner_id)
    wall = datetime.now(UTC)
    mine = [s for s in records.snapshots()
            if s.partner == partner_id and (wall - s.updated_at).total_seconds() <= FRESH]
    oldest = [x.oldest_queued_at for x in lanes if x.oldest_queued_at] + [s.oldest_at for s in mine if s.oldest_at]
    decision = None
    if status is not PartnerStatus.ACTIVE and hold is not None and hold.decision and hold.decision_at:
        decision = {"decision": hold.decision, "recorded_at": hold.decision_at.isoformat()}
    return {
        "partner": partner_id, "status": status.value, "status_since": since.isoformat() if since else None,
        "hold_limit_hours": limit,
        "dead_letter_from": (since + timedelta(hours=limit)).isoformat() if since else None,
        "decision": decision,
        "store": {
            "deliveries": sum(x.retry + x.parked for x in lanes),
            "lanes": [{"lane": x.lane, "partition": x.partition, "state": x.state, "retry": x.retry,
                       "parked": x.parked,
                       "oldest_queued_at": x.oldest_queued_at.isoformat() if x.oldest_queued_at else None}
                      for x in lanes]},
        "queues": None if counts is None else {"messages": sum(counts.values()),
                                               "partitions": {str(k): n for k, n in counts.items()}},
        "running_hubs": None if not mine else {
            "processes": sorted(s.process for s in mine), "queued": max(s.queued for s in mine),
            "taken": sum(s.in_memory for s in mine), "reasons": sorted({r for s in mine for r in s.reasons})},
        "oldest_queued_at": min(oldest).isoformat() if oldest else None,
        "dead_letters": dead,
        "now": now.isoformat(),
    }


def pending_report(config: HubConfig, records: DeliveryRecords, partner_id: str, now: datetime) -> dict[str, Any]:
    """A partner's pending transactions (regulation 15(3)(b)): the messages it sent that wait for correlation
    (parked, not yet routed to anyone), the deliveries held for it, its dead letters."""
    from hub.store import PARKED

    parked = records.store.parked_from(partner_id, (PARKED,))
    return {
        "parked": [{"id": r.id, "message_id": r.message_id, "type": r.msg_type, "reason": r.reason, "ucr": r.ucr,
                    "parked_at": r.parked_at.isoformat(), "expires_at": r.expires_at.isoformat()} for r in parked],
        "held": held_report(config, records, partner_id, now),
        "dead_letters": [dead_letter_dict(d) for d in records.dead_letters(partner_id)],
    }


@dataclass(frozen=True)
class Settled:
    decision: str  # reject | cancel | complete
    parked: int  # messages it sent that waited for correlation
    settled: int  # of which rejected, cancelled or routed now
    deliveries: int  # complete: deliveries queued for their recipients


async def settle_parked(config: HubConfig, store: Any, password: str, clock: Clock, partner_id: str,
                        decision: str) -> Settled:
    """Regulation 15(3)(b) for the messages a deregistered partner sent that wait for correlation.

    Done here, at once, with the pipeline's own code (hub.pipeline) on a connection of this command, so
    that acknowledgements, deliveries, the store's rows and the audit trail are what a running hub would
    make of them; a running hub needs to do nothing (its next sweep sees them closed).

    - ``reject``: each gets a ``rejected`` acknowledgement with ``PARTNER_DEREGISTERED`` and is closed
      ``rejected``; delivered to nobody.
    - ``cancel``: closed ``cancelled``, no acknowledgement (hub.ack/1 has no such status); delivered to nobody.
    - ``complete``: routed now, with the parties known now (those the message names and those recorded for
      its consignment: the pipeline's release with the type counted as naming its own parties), acknowledged
      ``accepted`` and closed ``released``. A recipient whose ``own`` cell needs it to be a party and who is
      not known as one gets nothing, as routing always does. One that no longer decodes stays parked.

    Acknowledgements and deliveries are published (with confirms) before the rows are committed: a failure
    in between leaves them parked, and running the command again sends the same message ids again.
    """
    from hub.acks import AckStatus
    from hub.errors import ErrorDetail
    from hub.pipeline import BatchResult, Pipeline, _stored_prep
    from hub.store import CANCELLED, PARKED, REJECTED

    rows = store.parked_from(partner_id, (PARKED,))
    if not rows:
        return Settled(decision, 0, 0, 0)
    pipeline = Pipeline(config, store, password, clock=clock)
    pipeline.stop()  # a store failure raises here instead of being retried for ever (this is a command)
    await pipeline._refresh_registry()
    conn = await hub_connection(config, password, "")
    try:
        ch = await conn.channel(publisher_confirms=True, on_return_raises=True)
        if decision == "complete":
            pipeline.party_sources = pipeline.party_sources | {r.msg_type for r in rows}
            pipeline.parked_waiting = 0  # nothing else of the store's parked messages is this command's business
            released = await pipeline._release(ch, rows)
            ids = [x.message_id for x in rows if x.id in released]
            queued = sum(len(json.loads(r)) for r in await asyncio.to_thread(_recipients, store, partner_id, ids))
            return Settled(decision, len(rows), len(released), queued)
        result = BatchResult()
        now = clock.now()
        for row in rows:
            prep = _stored_prep(row)
            if decision == "reject":
                prep.rejection = [ErrorDetail(
                    "PARTNER_DEREGISTERED",
                    "you are deregistered (regulation 15); this message was held for correlation and the Agency "
                    "decided to reject it (regulation 15(3)(b)): it was delivered to nobody")]
                pipeline._ack(prep, AckStatus.REJECTED, now, result, prep.rejection)
                result.outcomes.append((prep, "rejected"))
                result.closed.append((prep, row.id, REJECTED))
            else:
                result.outcomes.append((prep, "cancelled"))
                result.closed.append((prep, row.id, CANCELLED))
        _failed, audit, _observed = await pipeline._publish_and_commit(ch, result)
        if audit.head is not None:
            await asyncio.to_thread(pipeline.audit_head.advance, audit.head, audit.first_seq)
        return Settled(decision, len(rows), len(rows), 0)
    finally:
        await conn.close()


def _recipients(store: Any, sender: str, message_ids: list[str]) -> list[str]:
    """The ``recipients`` column (JSON) of these accepted messages."""
    import sqlalchemy as sa

    from hub.store import inbound

    if not message_ids:
        return []
    with store._tx() as conn:
        return [str(r) for (r,) in conn.execute(sa.select(inbound.c.recipients).where(
            inbound.c.sender == sender, inbound.c.message_id.in_(message_ids)))]
