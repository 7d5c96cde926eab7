"""The hub side of ``hub bench`` (hub.bench): real ``hub run`` processes on a throw-away vhost, loads sent by
the partners' own clients, and completion counted from the broker's queue totals (hub.bench_broker).

A message counts as processed when its sender's acknowledgement is in ``partner.<id>.acks`` AND every one of
its deliveries is in its recipient's inbox (``partner.<id>.inbox``): the hub's whole pipeline, ingest and
delivery worker both, end to end. How many deliveries each kind of message makes is learned once
(``calibrate``: one message of each kind, the inboxes read and every delivery matched to its message by
``correlation_id``) and a run waits for exactly that many.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from hub import bench_mix as mx
from hub import topology as t
from hub.bench_broker import QueueTotals, publish_stats
from hub.client import PartnerClient
from hub.testing import ROOT, HubUnderTest
from hub.windows import EAT

DRAIN_TARGET = "kma"  # NPA: entitled to every kind of the mix, one delivery each
CHUNK = 200  # publishes awaited together by the load's senders
# inboxes are emptied past this depth (counted): under the agreed inbox depth (10,000 by default), past which the
# hub would hold the partner's deliveries
INBOX_PURGE = 5000


def rss_mb(pid: int) -> float | None:
    """VmRSS of a process in MB (from /proc; None if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
    return None


def percentiles(samples: list[float]) -> dict[str, float | None]:
    if not samples:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    s = sorted(samples)

    def rank(p: float) -> float:
        return round(s[min(len(s) - 1, max(0, int(-(-p * len(s) // 1)) - 1))], 1)

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "max": round(s[-1], 1)}


@dataclass
class RunResult:
    label: str
    messages: int
    deliveries_expected: int
    deliveries: int = 0
    acks: int = 0
    seconds: float | None = None  # first publish -> every ack and delivery counted
    ingest_seconds: float | None = None  # first publish -> every ack counted
    publish_seconds: float = 0.0
    bytes_in: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # the hub's log (information only)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.seconds is not None

    def as_dict(self) -> dict[str, Any]:
        rate = self.messages / self.seconds if self.seconds else None
        hub_publishes = self.acks + 2 * self.deliveries
        return {
            "msgs_per_s": round(rate, 1) if rate else None,
            "ingest_msgs_per_s": round(self.messages / self.ingest_seconds, 1) if self.ingest_seconds else None,
            "mb_per_s": round(self.bytes_in / self.seconds / 1e6, 2) if self.seconds else None,
            "messages": self.messages, "seconds": round(self.seconds, 3) if self.seconds else None,
            "ingest_seconds": round(self.ingest_seconds, 3) if self.ingest_seconds else None,
            "publish_seconds": round(self.publish_seconds, 3),
            "acks": self.acks, "deliveries": self.deliveries, "deliveries_expected": self.deliveries_expected,
            "fanout": round(self.deliveries / self.messages, 3) if self.messages else None,
            # queue totals: each delivery is published twice (hub.out.<rcpt>.<k>, then the inbox), plus the ack
            "publishes_per_msg_queue_totals": round(hub_publishes / self.messages, 3) if self.messages else None,
            "complete": self.complete, "hub_log_outcomes": self.outcomes, **self.extra,
        }


class HubBench:
    """One provisioned vhost (the example registry), the hub processes run on it, and the partners' clients."""

    def __init__(self, workdir: Path, *, partitions: int, store_url: str | None = None,
                 say: Callable[[str], None] = lambda _m: None) -> None:
        self.workdir = workdir
        self.say = say
        vhost = f"hubbench-{uuid.uuid4().hex[:10]}"
        settings: dict[str, Any] = {"delivery": {"partitions": partitions}, "broker": {"vhost": vhost}}
        if store_url:
            settings["store"] = {"url": store_url}
        # the project's secrets file, as the tests use: broker users are global to the broker, so every hub on
        # it must agree on the partners' passwords
        self.hut = HubUnderTest(workdir, secrets_file=ROOT / "var" / "secrets.json", clock_file=workdir / "clock",
                                settings=settings)
        self.hut.vhost = vhost
        assert self.hut.clock is not None
        self.clock = self.hut.clock
        self.t0_clock = datetime.now(UTC).replace(microsecond=0)
        self.procs: list[subprocess.Popen[bytes]] = []
        self.clients: dict[str, PartnerClient] = {}
        self.conn: aio_pika.abc.AbstractConnection | None = None
        self.inboxes: QueueTotals | None = None
        self.acks: QueueTotals | None = None
        self.deliveries_per_kind: dict[str, int] = {}
        self.recipients_per_kind: dict[str, dict[str, int]] = {}
        self.run_id = uuid.uuid4().hex[:6]
        self.sent = 0  # inbound messages published by the load, all runs
        self.provisioned = False
        self.partners = [p.id for p in self.hut.config.partners]

    @property
    def vhost(self) -> str:
        return self.hut.vhost

    def admin_url(self) -> str:
        b = self.hut.config.settings.broker
        from hub.client import broker_url

        return broker_url(b.url, b.vhost, b.admin_user, b.admin_password)

    # ------------------------------------------------------------ set-up and tear-down

    async def open(self) -> None:
        self.clock.set(self.t0_clock)
        self.provisioned = True  # from here on close() deletes the vhost, even if provisioning fails half-way
        await asyncio.to_thread(self.hut.provision)
        await self.start(1)
        for pid in mx.SENDERS:
            client = self.hut.partner(pid)
            await client.__aenter__()
            self.clients[pid] = client
        self.conn = await aio_pika.connect(self.admin_url(), timeout=15)
        ch = await self.conn.channel()
        self.inboxes = QueueTotals(ch, [t.inbox(p) for p in self.partners], purge_over=INBOX_PURGE)
        self.acks = QueueTotals(await self.conn.channel(), [t.acks_queue(p) for p in mx.SENDERS], purge_over=5_000)

    async def close(self) -> None:
        for client in self.clients.values():
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.conn.close()
        await asyncio.to_thread(self.stop_all)
        if self.provisioned:
            await asyncio.to_thread(self.hut.delete_vhost)

    async def start(self, count: int) -> list[int]:
        """Start ``count`` hub processes side by side; returns their pids once each logged ``consuming``."""
        since = self.hut.log_path.stat().st_size if self.hut.log_path.exists() else 0
        started = [self.hut.spawn() for _ in range(count)]
        self.procs += started
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for p in started:
                if p.poll() is not None:
                    raise RuntimeError(f"hub exited with {p.returncode}: {self.hut.tail_log()}")
            if self.hut.logged("consuming", since) >= count:
                return [p.pid for p in started]
            await asyncio.sleep(0.05)
        raise TimeoutError(f"hub not consuming after 120 s: {self.hut.tail_log()}")

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        self.procs = []

    @property
    def pid(self) -> int:
        return self.procs[0].pid

    # ------------------------------------------------------------ sending

    async def publish(self, docs: list[mx.Doc], tag: str) -> list[str]:
        """Publish the docs from their senders (each confirmed by the broker), CHUNK at a time; their ids."""
        ids = [f"bench-{self.run_id}-{tag}-{i}" for i in range(len(docs))]
        for i in range(0, len(docs), CHUNK):
            await asyncio.gather(*(self.clients[d.sender].publish(d.body, d.msg_type, content_type=d.content_type,
                                                                  message_id=mid)
                                   for d, mid in zip(docs[i:i + CHUNK], ids[i:i + CHUNK], strict=True)))
        self.sent += len(docs)
        return ids

    def log_offset(self) -> int:
        return self.hut.log_path.stat().st_size if self.hut.log_path.exists() else 0

    async def logged_outcomes(self, since: int, n: int, wait: float = 3.0) -> dict[str, int]:
        """``outcomes`` once the hub logged n of them (it logs a batch just after acking it), or after ``wait``."""
        deadline = time.monotonic() + wait
        while True:
            counts = self.outcomes(since)
            if sum(counts.values()) >= n or time.monotonic() >= deadline:
                return counts
            await asyncio.sleep(0.1)

    def outcomes(self, since: int) -> dict[str, int]:
        counts: Counter[str] = Counter()
        with self.hut.log_path.open("rb") as f:
            f.seek(since)
            for line in f:
                if b'"event": "message"' in line:
                    with contextlib.suppress(ValueError):
                        counts[str(json.loads(line).get("outcome"))] += 1
        return dict(counts)

    # ------------------------------------------------------------ calibration

    async def prime(self, mix: mx.Mix) -> int:
        """Every consignment's parties recorded (hub.bench_mix.Mix.priming); how many messages that took."""
        sent = 0
        for j, docs in enumerate(mix.priming()):
            await self.load(docs, f"prime{j}", expected=None, timeout=300)
            sent += len(docs)
        return sent

    async def calibrate(self, mix: mx.Mix, extra: list[mx.Doc]) -> dict[str, Any]:
        """Send one message of each kind; read every inbox and count each kind's deliveries per recipient.
        Also checks that every kind is acknowledged ``accepted`` (none parked, none rejected)."""
        assert self.inboxes is not None and self.acks is not None and self.conn is not None
        docs = [mix.doc(k, 10_000_000 + j) for j, k in enumerate(mx.MIX_KINDS)] + extra
        await self.inboxes.purge_all()
        await self.acks.purge_all()
        ids = await self.publish(docs, "calibrate")
        kind_of = dict(zip(ids, (d.kind for d in docs), strict=True))
        await self.acks.wait_for(lambda: self.acks is not None and self.acks.total() >= len(docs), 60)
        await self.settle_all()
        ch = await self.conn.channel()
        per_kind: dict[str, Counter[str]] = {d.kind: Counter() for d in docs}
        for name in self.inboxes.names:
            q = await ch.get_queue(name, ensure=False)
            while (msg := await q.get(no_ack=True, fail=False)) is not None:
                self.inboxes.removed(name, 1)
                kind = kind_of.get(msg.correlation_id or "")
                if kind is not None:
                    per_kind[kind][name.removeprefix("partner.").removesuffix(".inbox")] += 1
        statuses: dict[str, str] = {}
        for name in self.acks.names:
            q = await ch.get_queue(name, ensure=False)
            while (msg := await q.get(no_ack=True, fail=False)) is not None:
                self.acks.removed(name, 1)
                doc = json.loads(msg.body)
                kind = kind_of.get(doc.get("correlation_id") or "")
                if kind is not None:
                    statuses[kind] = doc.get("status")
        await ch.close()
        await self.inboxes.poll()
        await self.acks.poll()
        bad = {k: statuses.get(k) for k in per_kind if statuses.get(k) != "accepted"}
        if bad:
            raise RuntimeError(f"calibration: not every kind was accepted: {bad}; hub log: {self.hut.tail_log()}")
        self.recipients_per_kind = {k: dict(sorted(v.items())) for k, v in per_kind.items()}
        self.deliveries_per_kind = {k: sum(v.values()) for k, v in per_kind.items()}
        return {"deliveries_per_kind": self.deliveries_per_kind, "recipients_per_kind": self.recipients_per_kind}

    async def settle(self, *, but: str | None = None, quiet: float = 2.0, timeout: float = 120) -> bool:
        """Wait until every delivery is made: the hub.out queues empty (but ``but``'s, held by a window) and
        no new delivery in any inbox for ``quiet`` seconds. False after ``timeout``."""
        assert self.conn is not None and self.inboxes is not None
        partitions = self.hut.config.settings.delivery.partitions
        ch = await self.conn.channel()
        try:
            outs = QueueTotals(ch, [t.out_queue(p, k) for p in self.partners if p != but for k in range(partitions)],
                               purge_over=2**62)  # counted only, never purged: the hub's own queues
            last, since = -1, time.monotonic()
            deadline = since + timeout
            while time.monotonic() < deadline:
                now = await self.inboxes.poll()
                if now != last or await outs.poll():
                    last, since = now, time.monotonic()
                elif time.monotonic() - since >= quiet:
                    return True
                await asyncio.sleep(0.1)
            return False
        finally:
            await ch.close()

    async def settle_all(self, timeout: float = 60) -> bool:
        """``settle``, then the broker's own counters (management API) until every message ever published into a
        hub.out queue has been published into an inbox, and the counters include everything the queue totals
        counted: no delivery is still in a hub's hands (taken from hub.out, not yet published), which hub.out's
        depth alone cannot tell. False after ``timeout``."""
        assert self.inboxes is not None and self.acks is not None
        await self.settle()
        deadline = time.monotonic() + timeout
        mgmt = self.hut.management()
        try:
            while time.monotonic() < deadline:
                await self.inboxes.poll()
                await self.acks.poll()
                q = (await asyncio.to_thread(publish_stats, mgmt))["queues"]
                out = sum(v for n, v in q.items() if n.startswith(t.OUT_PREFIX))
                inbox = sum(v for n, v in q.items() if n.startswith("partner.") and n.endswith(".inbox"))
                acks = sum(v for n, v in q.items() if n.startswith("partner.") and n.endswith(".acks"))
                if out == inbox == self.inboxes.total() and acks == self.acks.total():
                    return True
                await asyncio.sleep(0.5)
            return False
        finally:
            mgmt.close()

    def expected(self, docs: list[mx.Doc], partner: str | None = None) -> int:
        if partner is None:
            return sum(self.deliveries_per_kind[d.kind] for d in docs)
        return sum(self.recipients_per_kind[d.kind].get(partner, 0) for d in docs)

    # ------------------------------------------------------------ a load

    async def load(self, docs: list[mx.Doc], tag: str, *, expected: int | None = -1,
                   timeout: float = 600) -> RunResult:
        """Publish the docs as fast as their senders' confirms allow and time the hub: until every ack
        (``ingest_seconds``) and every delivery (``seconds``) is counted. ``expected`` -1: from calibration;
        None: acks only."""
        assert self.inboxes is not None and self.acks is not None
        timeout = max(timeout, 0.05 * len(docs))  # 20 messages/s at the least
        want = self.expected(docs) if expected == -1 else (expected or 0)
        await self.inboxes.poll()
        await self.acks.poll()
        acks0, inbox0 = self.acks.total(), self.inboxes.total()
        offset = self.log_offset()
        res = RunResult(tag, len(docs), want, bytes_in=sum(len(d.body) for d in docs))
        t0 = time.monotonic()
        await self.publish(docs, tag)
        res.publish_seconds = time.monotonic() - t0
        acks, inboxes = self.acks, self.inboxes

        async def watch_acks() -> float | None:
            return await acks.wait_for(lambda: acks.total() - acks0 >= len(docs), timeout)

        async def watch_inboxes() -> float | None:
            if expected is None:
                return None
            return await inboxes.wait_for(lambda: inboxes.total() - inbox0 >= want, timeout)

        t_ack, t_done = await asyncio.gather(watch_acks(), watch_inboxes())
        res.acks = acks.total() - acks0
        res.deliveries = inboxes.total() - inbox0
        res.ingest_seconds = t_ack - t0 if t_ack is not None else None
        if expected is None:
            res.seconds = res.ingest_seconds
        elif t_done is not None and t_ack is not None:
            res.seconds = max(t_ack, t_done) - t0
        res.outcomes = await self.logged_outcomes(offset, len(docs))
        if not res.complete:
            self.say(f"  {tag}: INCOMPLETE after {timeout:.0f} s: {res.acks}/{len(docs)} acks, "
                     f"{res.deliveries}/{want} deliveries")
        return res

    # ------------------------------------------------------------ latency at a fixed offered load

    async def latency(self, docs: list[mx.Doc], rate: float, tag: str, timeout: float = 600) -> dict[str, Any]:
        """Publish the docs paced at ``rate`` per second (each publish started on its schedule, confirms not
        awaited in line); latency = publish start -> the sender's acknowledgement arriving in its acks queue
        (consumed here). Also waits for every delivery, as a load does."""
        assert self.conn is not None and self.inboxes is not None and self.acks is not None
        timeout = max(timeout, 0.05 * len(docs))
        ids = [f"bench-{self.run_id}-{tag}-{i}" for i in range(len(docs))]
        sent_at: dict[str, float] = {}
        acked_at: dict[str, float] = {}
        all_acked = asyncio.Event()
        ch = await self.conn.channel()
        await ch.set_qos(prefetch_count=1000)

        acks = self.acks

        async def on_ack(msg: AbstractIncomingMessage) -> None:
            now = time.monotonic()
            if msg.routing_key in acks.purged:
                acks.removed(msg.routing_key, 1)
            cid = msg.correlation_id or ""
            if cid in sent_at and cid not in acked_at:
                acked_at[cid] = now
                if len(acked_at) == len(docs):
                    all_acked.set()

        await self.acks.purge_all()
        tags = []
        for name in self.acks.names:
            q = await ch.get_queue(name, ensure=False)
            tags.append((q, await q.consume(on_ack, no_ack=True)))
        await self.inboxes.poll()
        inbox0 = self.inboxes.total()
        want = self.expected(docs)
        offset = self.log_offset()
        pending: set[asyncio.Task[str]] = set()
        start = time.monotonic()
        i = 0
        while i < len(docs):
            now = time.monotonic()
            while i < len(docs) and start + i / rate <= now:
                d, mid = docs[i], ids[i]
                sent_at[mid] = time.monotonic()
                task = asyncio.ensure_future(self.clients[d.sender].publish(
                    d.body, d.msg_type, content_type=d.content_type, message_id=mid))
                pending.add(task)
                task.add_done_callback(pending.discard)
                i += 1
            await asyncio.sleep(0.001)
        offered_seconds = time.monotonic() - start
        if pending:
            await asyncio.gather(*pending)
        self.sent += len(docs)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_acked.wait(), timeout)
        inboxes = self.inboxes
        t_done = await inboxes.wait_for(lambda: inboxes.total() - inbox0 >= want, timeout)
        for q, ctag in tags:
            with contextlib.suppress(Exception):
                await q.cancel(ctag)
        await ch.close()
        lat = [(acked_at[m] - sent_at[m]) * 1000 for m in ids if m in acked_at]
        deliveries = inboxes.total() - inbox0
        return {
            **percentiles(lat), "offered_per_s": rate, "achieved_offered_per_s": round(len(docs) / offered_seconds, 1),
            "messages": len(docs), "acked": len(lat), "deliveries": deliveries, "deliveries_expected": want,
            "seconds_to_last_delivery": round(t_done - start, 2) if t_done else None,
            "publishes_per_msg_queue_totals": round((len(lat) + 2 * deliveries) / len(docs), 3),
            "hub_log_outcomes": await self.logged_outcomes(offset, len(docs)),
            "measured": "publish start -> the sender's acknowledgement consumed from partner.<id>.acks",
        }

    # ------------------------------------------------------------ drain after a window

    def status(self) -> dict[str, Any]:
        r = self.hut.cli("status", "--json", timeout=60)
        doc: dict[str, Any] = json.loads(r.stdout)
        return next(p for p in doc["partners"] if p["partner"] == DRAIN_TARGET)

    async def drain(self, docs: list[mx.Doc], tag: str = "drain-backlog", timeout: float = 1800) -> dict[str, Any]:
        """A window for DRAIN_TARGET (moved by the hub's file clock), the docs sent while it is active (every
        one makes a delivery to it, held in hub.out), then the window ends: the rate its backlog drains at
        (unlimited drain rate), against the ETA ``hub status --json`` showed just before the end."""
        assert self.inboxes is not None and self.acks is not None
        announced = self.clock.now()
        start, end = announced + timedelta(days=1), announced + timedelta(days=2)

        def eat(v: datetime) -> str:
            return v.astimezone(EAT).strftime("%Y-%m-%d %H:%M")

        r = await asyncio.to_thread(self.hut.cli, "windows", "add", DRAIN_TARGET, eat(start), eat(end))
        if r.returncode != 0:
            raise RuntimeError(f"hub windows add failed: {r.stderr}")
        start = start.replace(second=0)
        end = end.replace(second=0)
        self.clock.set(start + timedelta(minutes=1))
        deadline = time.monotonic() + 30
        await asyncio.sleep(1.5)  # the monitor applies windows every second (delivery.monitor_interval)
        while (await asyncio.to_thread(self.status))["state"] != "window":
            if time.monotonic() > deadline:
                raise RuntimeError("the window did not become active")
            await asyncio.sleep(0.3)
        target_queue = t.inbox(DRAIN_TARGET)
        want = self.expected(docs, DRAIN_TARGET)
        others = self.expected(docs) - want
        await self.inboxes.poll()
        others0 = self.inboxes.total() - self.inboxes.totals()[target_queue]
        phase0 = self.inboxes.total()
        t0 = time.monotonic()
        res = await self.load(docs, tag, expected=None, timeout=timeout)  # the tag makes the message ids
        inboxes = self.inboxes
        await inboxes.wait_for(lambda: inboxes.total() - inboxes.totals()[target_queue] - others0 >= others, timeout)
        await self.settle(but=DRAIN_TARGET)  # the window's notices too (they count among the other inboxes')
        held_deadline = time.monotonic() + timeout
        st = await asyncio.to_thread(self.status)
        while st["held"] < want and time.monotonic() < held_deadline:
            await asyncio.sleep(0.5)
            st = await asyncio.to_thread(self.status)
        backlog_seconds = time.monotonic() - t0
        window_left = (end - self.clock.now()).total_seconds()
        eta_shown = st["drain_eta_seconds"]
        eta = eta_shown - window_left if eta_shown is not None else None
        await inboxes.poll()
        target0 = inboxes.totals()[target_queue]
        self.clock.set(end)
        t_end = time.monotonic()
        t_done = await inboxes.wait_for(lambda: inboxes.totals()[target_queue] - target0 >= want, timeout,
                                        interval=0.05)
        actual = t_done - t_end if t_done else None
        await self.settle_all()  # nothing of the drain (the window's notices) may arrive during the next run
        phase_deliveries = inboxes.total() - phase0
        return {
            "msgs_per_s": round(want / actual, 1) if actual else None, "messages": want,
            "held_at_end": st["held"], "seconds": round(actual, 3) if actual else None,
            "eta_at_end_s": round(eta, 2) if eta is not None else None,
            "eta_rate_per_s": st.get("rate"),
            "eta_error": round((eta - actual) / actual, 3) if eta is not None and actual else None,
            "eta_missing": None if eta is not None else "hub status showed no ETA: the hub had observed no "
                           "delivery rate yet",
            "target": DRAIN_TARGET, "backlog_build_seconds": round(backlog_seconds, 1),
            "backlog_ingest_msgs_per_s": res.as_dict()["ingest_msgs_per_s"],
            "backlog_messages": len(docs), "backlog_outcomes": res.outcomes,
            "drain_rate_setting": "unlimited",
            # the backlog's messages: their acks and every delivery published twice (hub.out, inbox), with the
            # window's maintenance notices (a few deliveries) counted in
            "publishes_per_msg_queue_totals": round((res.acks + 2 * phase_deliveries) / len(docs), 3),
            "measured": "window ended by the hub's file clock -> every held delivery counted in the target's inbox "
                        "(queue totals); eta_error = (ETA shown before the end, minus the window left) / actual - 1",
        }

    def rss(self) -> float | None:
        return rss_mb(self.pid) if self.procs else None

    def cpu_seconds(self, pid: int | None = None) -> float | None:
        """User + system CPU seconds of a hub process (the first by default; /proc/<pid>/stat)."""
        try:
            fields = Path(f"/proc/{pid or self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (FileNotFoundError, IndexError, ValueError):
            return None
