"""Maintenance notices (regulation 32): sent by the running hub for the windows in the store.

For each window not yet over: a ``SCHEDULED`` notice once it is recorded, a ``REMINDER`` once it has
started, a ``CANCELLED`` notice if it is cancelled after its first notice went out. Recipients are the
partners ACCESS.md's ``aff`` cell names (``hub.windows.affected_partners``: every partner for a window of
the hub, else those with a route to or from the target), each in its own format. Notices go through the
recipients' partition queues like any delivery (held while a recipient is itself held), in one lane per
window so that a reminder never overtakes its notice. Each notice is published (confirmed) before the
window is marked: a hub killed in between sends it again with the same message_id.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

import aio_pika

from hub import logs, metrics
from hub import topology as t
from hub.codec import EDIFACT_CT
from hub.config import PartnerStatus
from hub.delivery.records import WindowRow
from hub.ids import delivery_id
from hub.schemas.maintenance_notice import MaintenanceNotice, NoticeTypeCode
from hub.windows import HUB_TARGET, Window, affected_partners

if TYPE_CHECKING:
    from hub.delivery.worker import DeliveryService

log = logs.get("hub.delivery")
SENDER = HUB_TARGET  # the hub itself is the sender of its notices (x-source-partner: hub)


def due(w: WindowRow, now: datetime) -> list[tuple[NoticeTypeCode, str]]:
    """The notices this window still needs, each with the store column that records it."""
    if w.end <= now:
        return []
    if w.cancelled_at is not None:
        return [(NoticeTypeCode.CANCELLED, "cancel_sent_at")] if w.notice_sent_at and not w.cancel_sent_at else []
    out = []
    if w.notice_sent_at is None:
        out.append((NoticeTypeCode.SCHEDULED, "notice_sent_at"))
    if w.start <= now and w.reminder_sent_at is None:
        out.append((NoticeTypeCode.REMINDER, "reminder_sent_at"))
    return out


def lane_of(window_id: int) -> str:
    return f"maintenance:{window_id}"


async def send_due_notices(service: DeliveryService, windows: list[WindowRow], now: datetime) -> None:
    if service._pub is None:
        return
    for w in windows:
        for code, column in due(w, now):
            try:
                recipients = await send_notice(service, w, code, now)
            except (ValueError, KeyError) as exc:  # a notice that cannot be built must not stop deliveries
                metrics.INTERNAL_ERRORS.labels("notice").inc()
                log.error("maintenance notice not sent", window=w.id, target=w.target, notice=code.value,
                          error=type(exc).__name__, detail=str(exc)[:300])
                break
            await asyncio.to_thread(service.records.mark_window, w.id, column, now)
            log.info("maintenance notice sent", window=w.id, target=w.target, notice=code.value,
                     recipients=len(recipients))


async def send_notice(service: DeliveryService, w: WindowRow, code: NoticeTypeCode, now: datetime) -> list[str]:
    window = Window(w.target, w.start, w.end, w.emergency, w.short_notice, w.reason, w.announced_at)
    notice = MaintenanceNotice.from_window(window, code, issued_at=None if code is NoticeTypeCode.SCHEDULED else now)
    config = service.config
    gone = {p.id for p in config.partners if p.status is PartnerStatus.DEREGISTERED}  # never read again
    recipients = sorted((affected_partners(w.target, config) if w.target != HUB_TARGET else
                         {p.id for p in config.partners}) - gone)
    inbound_id = f"maintenance-{w.id}-{code.value.lower()}"
    lane = lane_of(w.id)
    partition = t.partition_of(lane, service.settings.partitions)
    publishes = []
    for rid in recipients:
        partner = config.partner(rid)
        assert partner is not None
        ctype = service.catalogue.delivery_content_type(notice, partner.receive_format)
        if ctype == EDIFACT_CT:  # no EDIFACT form of a notice: delivered as XML (catalogue rule)
            ctype = "application/xml"
        msg = aio_pika.Message(
            service.catalogue.encode(notice, ctype), message_id=delivery_id(SENDER, inbound_id, rid),
            correlation_id=inbound_id, type=MaintenanceNotice.TYPE, content_type=ctype,
            headers={"x-contract": "1", "x-source-partner": SENDER, "x-hub-lane": lane},
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT, timestamp=now,
        )
        publishes.append(service._pub.default_exchange.publish(
            msg, routing_key=t.out_queue(rid, partition), mandatory=True))
    await asyncio.gather(*publishes)
    return recipients
