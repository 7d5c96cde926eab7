"""The broker side of ``hub bench`` (hub.bench): counting from the broker's own figures, and the baselines.

``QueueTotals`` counts the messages that reached a set of queues from the broker's answers alone: the depth
each queue reports to a passive ``queue.declare`` (``declare-ok`` message count: real time, unlike the
management API's statistics, which are collected every few seconds) plus what was purged from it (``purge-ok``
message count). Queues nobody consumes (partner inboxes and acknowledgement queues during a run, the baselines'
destinations) are purged past a threshold so that long runs do not fill the broker; the totals stay exact.

``forward`` is the baseline: a bare aio-pika forwarder on quorum queues, consuming a queue pre-filled with the
mix's bytes and publishing, per inbound message, as many persistent copies with publisher confirms as the hub
made publishes per inbound message, then acknowledging. ``batch=1``: one message at a time, as the forwarder of
DESIGN.md section 6 and benchmarks/drain_eta.py: a consumer callback per message (aio-pika runs each as a task,
so up to ``prefetch`` = 100 are in hand), which publishes the message's copies one after the other, each confirm
awaited, then acks that message alone. ``batch=100``: up to 100 messages taken together, all their copies
published at once and their confirms awaited together, one ``multiple`` ack (prefetch 200, so that the next
batch is in hand meanwhile).

``publish_stats`` reads the management API's per-queue and per-vhost ``message_stats.publish`` counters;
``settled_stats`` waits until they stop moving (they lag by the statistics interval, 5 s by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from hub.provision import Management

QUORUM: dict[str, Any] = {"x-queue-type": "quorum"}


class QueueTotals:
    """Messages that reached each queue: its depth now plus everything purged from it so far."""

    def __init__(self, channel: AbstractChannel, names: Iterable[str], purge_over: int = 5000) -> None:
        self.channel = channel
        self.names = list(dict.fromkeys(names))
        self.purge_over = purge_over
        self.purged: dict[str, int] = dict.fromkeys(self.names, 0)
        self.depth: dict[str, int] = dict.fromkeys(self.names, 0)
        self.polls = 0

    def totals(self) -> dict[str, int]:
        return {n: self.purged[n] + self.depth[n] for n in self.names}

    def total(self, names: Iterable[str] | None = None) -> int:
        t = self.totals()
        return sum(t[n] for n in (self.names if names is None else names))

    async def poll(self) -> int:
        queues = await asyncio.gather(*(self.channel.declare_queue(n, passive=True) for n in self.names))
        for name, q in zip(self.names, queues, strict=True):
            result = q.declaration_result
            self.depth[name] = int(result.message_count or 0)
        for name in self.names:
            if self.depth[name] > self.purge_over:
                await self.purge(name)
        self.polls += 1
        return self.total()

    async def purge(self, name: str) -> None:
        q = await self.channel.get_queue(name, ensure=False)
        ok = await q.purge()
        self.purged[name] += int(getattr(ok, "message_count", 0) or 0)
        self.depth[name] = 0

    def removed(self, name: str, count: int) -> None:
        """Messages taken from the queue by a consumer of the bench itself (counted as purged)."""
        self.purged[name] += count

    async def purge_all(self) -> None:
        await self.poll()
        for name in self.names:
            await self.purge(name)

    async def wait_for(self, done: Callable[[], bool], timeout: float, interval: float = 0.1) -> float | None:
        """Poll until ``done()``; the monotonic time it was first seen true, or None after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            await self.poll()
            if done():
                return time.monotonic()
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(interval)


# ------------------------------------------------------------------ the management API's counters


def publish_stats(mgmt: Management) -> dict[str, Any]:
    """The broker's publish counters: the vhost's total and each queue's (messages routed into it)."""
    vhost = mgmt.get(f"/vhosts/{mgmt.v}")
    queues = mgmt.get(f"/queues/{mgmt.v}?columns=name,message_stats")
    per_queue = {q["name"]: int((q.get("message_stats") or {}).get("publish", 0)) for q in queues}
    stats = vhost.get("message_stats") or {}
    return {"vhost_publish": int(stats.get("publish", 0)), "vhost_confirm": int(stats.get("confirm", 0)),
            "queues": per_queue}


def settled_stats(mgmt: Management, quiet: float = 6.0, timeout: float = 40.0,
                  expect: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """``publish_stats`` once ``expect`` holds (if given) and the counters did not move for ``quiet`` seconds
    (longer than the broker's statistics interval), or after ``timeout``; ``settled`` says which."""
    deadline = time.monotonic() + timeout
    last = publish_stats(mgmt)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = publish_stats(mgmt)
        if now != last:
            last, since = now, time.monotonic()
            continue
        if time.monotonic() - since >= quiet and (expect is None or expect(now)):
            return {**now, "settled": True}
    return {**last, "settled": False}


def delta(after: dict[str, Any], before: dict[str, Any], match: Callable[[str], bool]) -> int:
    """Publishes into the queues ``match`` selects between two ``publish_stats``."""
    return sum(v - before["queues"].get(n, 0) for n, v in after["queues"].items() if match(n))


# ------------------------------------------------------------------ the baselines


def copies_plan(n: int, per_message: float) -> list[int]:
    """Copies for each of n messages so that message i's cumulative total is floor((i+1) * per_message)."""
    return [math.floor((i + 1) * per_message + 1e-9) - math.floor(i * per_message + 1e-9) for i in range(n)]


@dataclass
class ForwardResult:
    name: str
    messages: int
    copies: int
    seconds: float
    destinations: int
    prefill_seconds: float
    broker_publishes: int = 0  # counted back from the destination queues (depth + purged)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, per_message: float) -> dict[str, Any]:
        return {
            "msgs_per_s": round(self.messages / self.seconds, 1) if self.seconds > 0 else None,
            "publishes_per_s": round(self.copies / self.seconds, 1) if self.seconds > 0 else None,
            "messages": self.messages, "seconds": round(self.seconds, 3),
            "publishes_per_msg": round(self.broker_publishes / self.messages, 3) if self.messages else None,
            "publishes_per_msg_target": round(per_message, 3),
            "broker_publishes": self.broker_publishes, "copies_made": self.copies,
            "destination_queues": self.destinations, "prefill_seconds": round(self.prefill_seconds, 2),
            **self.extra,
        }


async def forward(url: str, bodies: list[bytes], per_message: float, *, batch: int, name: str,
                  destinations: int = 4, prefetch: int = 100, timeout: float = 1800.0) -> ForwardResult:
    """Run one baseline forwarder over ``bodies`` (pre-filled into its own quorum source queue) on the vhost
    of ``url``; its queues are deleted afterwards."""
    conn = await aio_pika.connect(url, timeout=15)
    src_name = f"bench.{name}.src"
    dst_names = [f"bench.{name}.dst.{k}" for k in range(destinations)]
    try:
        setup = await conn.channel(publisher_confirms=True)
        for q in (src_name, *dst_names):
            await setup.declare_queue(q, durable=True, arguments=QUORUM)
        t0 = time.monotonic()
        for i in range(0, len(bodies), 500):
            await asyncio.gather(*(setup.default_exchange.publish(
                aio_pika.Message(b, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=src_name)
                for b in bodies[i:i + 500]))
        prefill = time.monotonic() - t0
        plan = copies_plan(len(bodies), per_message)
        counter_ch = await conn.channel()
        totals = QueueTotals(counter_ch, dst_names, purge_over=50_000)
        await totals.poll()
        pub = await conn.channel(publisher_confirms=True)
        sub = await conn.channel()
        # batched: the next batch is delivered while this one's confirms are awaited
        await sub.set_qos(prefetch_count=prefetch if batch == 1 else max(prefetch, 2 * batch))
        src = await sub.get_queue(src_name, ensure=False)
        inq: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

        async def on_message(msg: AbstractIncomingMessage) -> None:
            inq.put_nowait(msg)

        exchange = pub.default_exchange
        stop_counting = asyncio.Event()

        async def keep_counting() -> None:  # empties the destinations of long runs (not timed: 1 poll a second)
            while not stop_counting.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop_counting.wait(), 1.0)
                await totals.poll()

        counting = asyncio.ensure_future(keep_counting())
        all_done = asyncio.Event()
        state = {"done": 0, "copies": 0, "k": 0, "next": 0}

        async def one_at_a_time(msg: AbstractIncomingMessage) -> None:
            # aio-pika runs each delivery's callback as a task: up to ``prefetch`` messages are in hand at once,
            # each handled alone (its copies published one after the other, each confirm awaited, then its ack)
            i = state["next"]
            state["next"] += 1
            for _ in range(plan[i]):
                k = state["k"]
                state["k"] += 1
                await exchange.publish(aio_pika.Message(msg.body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                                       routing_key=dst_names[k % destinations])
                state["copies"] += 1
            await msg.ack()
            state["done"] += 1
            if state["done"] == len(bodies):
                all_done.set()

        start = time.monotonic()
        if batch == 1:
            tag = await src.consume(one_at_a_time, no_ack=False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_done.wait(), timeout)
            done, copies = state["done"], state["copies"]
        else:
            tag = await src.consume(on_message, no_ack=False)
            done = copies = k = 0
            deadline = start + timeout
            while done < len(bodies) and time.monotonic() < deadline:
                msgs = [await asyncio.wait_for(inq.get(), max(deadline - time.monotonic(), 0.1))]
                while len(msgs) < batch and not inq.empty():
                    msgs.append(inq.get_nowait())
                futures = []
                for j, msg in enumerate(msgs):
                    for _ in range(plan[done + j]):
                        futures.append(exchange.publish(
                            aio_pika.Message(msg.body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                            routing_key=dst_names[k % destinations]))
                        k += 1
                await asyncio.gather(*futures)
                copies += len(futures)
                await msgs[-1].ack(multiple=True)
                done += len(msgs)
        seconds = time.monotonic() - start
        stop_counting.set()
        await counting
        with contextlib.suppress(Exception):
            await src.cancel(tag)
        await totals.poll()
        result = ForwardResult(name, done, copies, seconds, destinations, prefill, totals.total(),
                               {"batch": batch, "prefetch": prefetch if batch == 1 else max(prefetch, 2 * batch)})
        return result
    finally:
        with contextlib.suppress(Exception):
            ch = await conn.channel()
            for q in (src_name, *dst_names):
                await ch.queue_delete(q)
        with contextlib.suppress(Exception):
            await conn.close()
