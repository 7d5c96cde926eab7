"""AMQP inbox transport: publish a delivery into ``partner.<id>.inbox`` with a publisher confirm.

The message carries the contract's delivery properties (DESIGN.md section 3): the derived ``message_id``,
``correlation_id`` = the inbound message id, ``type``, ``content_type`` and the headers ``x-contract``,
``x-source-partner`` and ``x-ucr`` (with ``x-vessel-call`` when known). A returned publish (no such
inbox) or a nack is a transient failure of this delivery; a closed channel or connection is not this
delivery's fault and propagates, so the worker's session restarts without spending an attempt.
"""

from __future__ import annotations

from typing import Any

import aio_pika

from hub import topology as t
from hub.adapters.transport import OutboundDelivery, TransientDeliveryError


class AmqpInboxTransport:
    def __init__(self, channel: Any, partner_id: str) -> None:
        self.channel = channel  # opened with publisher_confirms=True, on_return_raises=True
        self.partner_id = partner_id
        self.queue = t.inbox(partner_id)

    def __repr__(self) -> str:
        return f"AmqpInboxTransport(queue={self.queue!r})"

    async def send(self, delivery: OutboundDelivery) -> None:
        message = aio_pika.Message(
            delivery.body,
            message_id=delivery.message_id,
            correlation_id=delivery.correlation_id,
            type=delivery.msg_type,
            content_type=delivery.content_type,
            headers=dict(delivery.headers),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            timestamp=delivery.queued_at,
        )
        try:
            await self.channel.default_exchange.publish(message, routing_key=self.queue, mandatory=True)
        except aio_pika.exceptions.DeliveryError as exc:  # returned (PublishError) or nacked
            raise TransientDeliveryError(f"{self.queue} refused the delivery: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        return None
