"""A partner's side of the contract: publish as a partner, wait for its acknowledgement, read its inbox.

Used by ``hub send``, ``hub inbox``, the demo and the tests; also a reference for partners' developers.
Publishes carry the partner's own ``user_id`` (checked by the broker), routing key ``<id>.<type>``,
header ``x-contract: 1``, and ``reply_to = amq.rabbitmq.reply-to`` to get the acknowledgement directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from yarl import URL

from hub import topology as t
from hub.broker import client_context, is_tls
from hub.broker import connect as broker_connect


@dataclass(frozen=True)
class Delivery:
    message_id: str | None
    correlation_id: str | None
    type: str | None
    content_type: str | None
    headers: dict[str, Any]
    body: bytes
    redelivered: bool


def broker_url(base: str, vhost: str, user: str, password: str, heartbeat: int = 10) -> str:
    url = URL(base).with_user(user).with_password(password)
    url = url.with_path("/" + vhost if vhost != "/" else "/")
    return str(url.update_query(heartbeat=heartbeat))


def content_type_for(path_name: str, data: bytes) -> str:
    if path_name.endswith(".json") or data.lstrip()[:1] in (b"{", b"["):
        return "application/json"
    if path_name.endswith((".edi", ".edifact")) or data.lstrip()[:3] in (b"UNA", b"UNB"):
        return "application/edifact"
    return "application/xml"


class PartnerClient:
    def __init__(self, url: str, partner_id: str, *, ca_file: str | Path | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        """``url`` amqps://...:5671/ connects over TLS, trusting ``ca_file`` (the CA the hub's operator gives
        partners; the system's CAs when None) or using ``ssl_context`` as it is (e.g. with a client
        certificate, ``hub.broker.client_context``, which checks the broker's certificate and host name). A
        ``ca_file`` or ``ssl_context`` with an amqp:// url fails at connect rather than sending in clear."""
        self.url = url
        self.partner_id = partner_id
        self.ssl_context = ssl_context or (client_context(ca_file) if ca_file or is_tls(url) else None)
        self.connection: AbstractConnection | None = None
        self.channel: AbstractChannel | None = None
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._answers: dict[str, asyncio.Future[Delivery]] = {}
        self._reply_consumer = False

    async def __aenter__(self) -> PartnerClient:
        self.connection = await broker_connect(self.url, context=self.ssl_context, timeout=10)
        self.channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.connection is not None:
            await self.connection.close()

    async def _ensure_reply_consumer(self) -> None:
        if self._reply_consumer:
            return
        assert self.channel is not None
        queue = await self.channel.get_queue(t.DIRECT_REPLY_TO, ensure=False)

        async def on_reply(msg: AbstractIncomingMessage) -> None:
            if msg.type == "consignment.status.response":  # the answer to ``ask``, after its ack
                answer = self._answers.get(msg.correlation_id or "")
                if answer is not None and not answer.done():
                    answer.set_result(_delivery(msg))
                return
            fut = self._replies.get(msg.correlation_id or "")
            if fut is not None and not fut.done():
                fut.set_result(json.loads(msg.body))

        await queue.consume(on_reply, no_ack=True)
        self._reply_consumer = True

    async def publish(
        self,
        body: bytes,
        msg_type: str,
        *,
        content_type: str,
        message_id: str | None = None,
        ucr: str | None = None,
        user_id: str | None = "",
        routing_key: str | None = None,
        contract: str | None = "1",
        reply: bool = False,
        headers: dict[str, Any] | None = None,
        reply_to: str | None = None,
    ) -> str:
        """Publish one message; returns its message_id. ``user_id=None`` omits it (for tests)."""
        assert self.channel is not None
        if reply:
            await self._ensure_reply_consumer()
        message_id = message_id or str(uuid.uuid4())
        headers = dict(headers or {})
        if contract is not None:
            headers["x-contract"] = contract
        if ucr:
            headers["x-ucr"] = ucr
        exchange = await self.channel.get_exchange(t.INBOUND_EXCHANGE, ensure=False)
        await exchange.publish(
            aio_pika.Message(
                body,
                message_id=message_id,
                type=msg_type,
                content_type=content_type,
                user_id=self.partner_id if user_id == "" else user_id,
                headers=headers,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                reply_to=reply_to or (t.DIRECT_REPLY_TO if reply else None),
            ),
            routing_key=routing_key or f"{self.partner_id}.{msg_type}",
            mandatory=True,
        )
        return message_id

    async def send(
        self, body: bytes, msg_type: str, *, content_type: str, message_id: str | None = None,
        ucr: str | None = None, timeout: float = 10.0,
    ) -> dict[str, Any] | None:
        """Publish and wait for the acknowledgement on direct reply-to; None if none came in time."""
        message_id = message_id or str(uuid.uuid4())
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[message_id] = fut
        try:
            await self.publish(body, msg_type, content_type=content_type, message_id=message_id, ucr=ucr,
                               reply=True)
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return None
        finally:
            self._replies.pop(message_id, None)

    async def ask(self, body: bytes, *, content_type: str, message_id: str | None = None,
                  timeout: float = 10.0) -> tuple[dict[str, Any] | None, Delivery | None]:
        """Send a ``consignment.status.request``; returns its acknowledgement and the hub's answer (the
        ``consignment.status.response``), both taken from direct reply-to; None for what did not come in time."""
        message_id = message_id or str(uuid.uuid4())
        answer: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        self._answers[message_id] = answer
        try:
            ack = await self.send(body, "consignment.status.request", content_type=content_type,
                                  message_id=message_id, timeout=timeout)
            try:
                return ack, await asyncio.wait_for(answer, timeout)
            except TimeoutError:
                return ack, None
        finally:
            self._answers.pop(message_id, None)

    async def drain(self, queue_name: str, max_count: int, idle: float = 1.0) -> list[Delivery]:
        """Consume and acknowledge up to ``max_count`` messages, stopping after ``idle`` quiet seconds."""
        assert self.channel is not None
        queue = await self.channel.get_queue(queue_name, ensure=True)
        out: list[Delivery] = []
        got = asyncio.Queue[AbstractIncomingMessage]()
        await self.channel.set_qos(prefetch_count=min(max(max_count, 1), 1000))
        tag = await queue.consume(got.put, no_ack=False)
        try:
            while len(out) < max_count:
                try:
                    msg = await asyncio.wait_for(got.get(), idle)
                except TimeoutError:
                    break
                out.append(_delivery(msg))
                await msg.ack()
        finally:
            with contextlib.suppress(Exception):
                await queue.cancel(tag)
            while not got.empty():  # prefetched beyond max_count: give back
                with contextlib.suppress(Exception):
                    await got.get_nowait().nack(requeue=True)
        return out

    async def inbox(self, max_count: int = 100, idle: float = 1.0) -> list[Delivery]:
        return await self.drain(t.inbox(self.partner_id), max_count, idle)

    async def acks(self, max_count: int = 100, idle: float = 1.0) -> list[dict[str, Any]]:
        return [json.loads(d.body) for d in await self.drain(t.acks_queue(self.partner_id), max_count, idle)]


def _delivery(msg: AbstractIncomingMessage) -> Delivery:
    headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in (msg.headers or {}).items()}
    return Delivery(msg.message_id, msg.correlation_id, msg.type, msg.content_type, headers, msg.body,
                    msg.redelivered or False)
