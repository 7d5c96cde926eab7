"""What the ``hub windows``, ``hub dlq`` and ``hub status`` commands do, apart from printing.

The commands act on the store and, to make a running hub move a lane again, queue drain orders in the
partition queues with the hub's own broker credentials (``hub broker provision`` wrote them). They work
whether or not a hub runs: a drain order waits in its queue until one does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika

from hub import topology as t
from hub.client import broker_url
from hub.clock import Clock
from hub.config import HubConfig, PartnerStatus
from hub.delivery.records import DEAD, DeliveryRecords, HeldDelivery, WindowRow
from hub.delivery.status import PartnerView, partner_view
from hub.delivery.worker import publish_drain
from hub.errors import BrokerUnavailable
from hub.windows import HUB_TARGET, Window, affected_partners, plan_window

FRESH = 15.0  # seconds: a hub's snapshot older than this is not trusted for the live state


async def order_drains(config: HubConfig, password: str, lanes: list[tuple[str, str, int]]) -> None:
    if not lanes:
        return
    b = config.settings.broker
    try:
        conn = await aio_pika.connect(broker_url(b.url, b.vhost, b.user, password), timeout=10)
    except (aio_pika.exceptions.AMQPError, OSError) as exc:
        raise BrokerUnavailable(f"cannot reach the broker to queue drain orders: {type(exc).__name__}") from exc
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


def queue_figures(config: HubConfig) -> dict[str, QueueFigures] | None:
    """From the management API (admin credentials), or None if it cannot be reached."""
    from hub.errors import ProvisionError
    from hub.provision import management_for

    try:
        mgmt = management_for(config)
        try:
            queues = mgmt.get(f"/queues/{mgmt.v}?columns=name,messages,consumers")
        finally:
            mgmt.close()
    except ProvisionError:
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
        rates = [s.rate for s in mine if s.rate]
        until = max((w.end for w in windows if w.target == p.id), default=None)
        views.append(partner_view(p, reasons=reasons, inbox_depth=inbox, held=held, dead=kinds.get(DEAD, 0),
                                  oldest_at=min(stamps) if stamps else None,
                                  observed_rate=sum(rates) if rates else None, window_until=until, now=now,
                                  fallback_rate=best.get(p.transport.kind)))
    return views, sorted({s.process for s in fresh})
