"""Broker faults end to end: RabbitMQ restarted, the hub's connections cut and stalled, while messages flow.

1. ``test_broker_restart_while_traffic_flows_loses_nothing``: one sender (kra-icms) publishes 3,000 customs
   releases with publisher confirms at a steady pace, re-sending (same message_id) whatever the broker did
   not confirm, as the contract asks of a partner; three recipients are drained by independent consumers
   that reconnect by themselves and record every copy. Midway RabbitMQ is restarted (``rabbitmqctl
   stop_app`` / ``start_app``; the quorum queues survive). The hub process is never touched: it must
   reconnect on its own, lose nothing, and repeat deliveries only with their derived message_id.
2. ``test_connection_cut_and_20s_stall_hub_recovers_within_three_heartbeats``: the hub (only the hub; the
   partners talk to RabbitMQ directly) reaches the broker through a TCP proxy run in the test's event loop,
   with a 2 s heartbeat. While 2,000 messages flow the proxy first cuts every hub connection, later stalls
   them for 20 s (no byte forwarded either way, new connections refused). After each fault the time until
   fresh deliveries reach every recipient again is measured against a bound derived from the heartbeat and
   the hub's reconnect backoff (see RECOVERY_BOUND).

Both need the real broker. The first also needs root (``rabbitmqctl``) and stops RabbitMQ for 15 to 30 s:
do not run it beside other broker tests. The recovery times of the second are only meaningful on a quiet
broker (other tests provisioning or deleting vhosts can hold up new connections for tens of seconds), so it
also prints how long a direct connection to the broker took right after the stall.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage

from hub import topology as t
from hub.client import PartnerClient, broker_url
from hub.ids import delivery_id
from hub.testing import HubUnderTest
from tests.conftest import example
from tests.test_crash import MSG_TYPE, PARTNERS, RECIPIENTS, SENDER, Tally

pytestmark = [pytest.mark.slow, pytest.mark.broker]

BROKER = "amqp://127.0.0.1:5672/"
AMQP_PORT = 5672

PUBLISH_TIMEOUT = 10.0  # a publish whose confirm does not come in this time is re-sent on a new connection
SEND_GIVE_UP = 60.0  # one message still unconfirmed after this long fails the test (broker never came back)


# ------------------------------------------------------------------ the flow and what the recipients saw


@dataclass
class Inbox(Tally):
    """tests/test_crash.py's tally of one independent consumer, plus when each copy came."""

    arrivals: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, correlation id)
    reconnects: int = 0

    def record(self, cid: str, mid: str, content_type: str) -> None:
        super().record(cid, mid, content_type)
        self.arrivals.append((time.monotonic(), cid))


@dataclass
class Flow:
    ids: list[str]
    first_sent: dict[str, float] = field(default_factory=dict)  # id -> monotonic time of its first publish
    inboxes: dict[str, Inbox] = field(default_factory=lambda: {pid: Inbox() for pid in RECIPIENTS})
    published: int = 0  # confirmed by the broker
    publishing: bool = True
    resent: set[str] = field(default_factory=set)  # ids published more than once (confirm lost)
    publish_failures: int = 0
    t0: float = field(default_factory=time.monotonic)

    def complete(self) -> bool:
        want = set(self.ids)
        return all(want <= inbox.copies.keys() for inbox in self.inboxes.values())

    def fresh_arrival(self, pid: str, sent_after: float, arrived_after: float) -> float | None:
        """When ``pid`` first got a delivery of a message first published at or after ``sent_after``,
        arriving at or after ``arrived_after`` (None: not yet). Such a delivery cannot have been made before
        the fault: it proves the hub's whole path (ingest, then delivery) works again."""
        for at, cid in self.inboxes[pid].arrivals:
            if at >= arrived_after and self.first_sent.get(cid, -1.0) >= sent_after:
                return at
        return None

    def recovery(self, sent_after: float, fault_end: float) -> dict[str, float] | None:
        """Seconds from ``fault_end`` to each recipient's first fresh delivery, once every one had it."""
        out: dict[str, float] = {}
        for pid in RECIPIENTS:
            at = self.fresh_arrival(pid, sent_after, fault_end)
            if at is None:
                return None
            out[pid] = at - fault_end
        return out


async def wait_for(predicate: Callable[[], Any], timeout: float, step: float = 0.02,
                   hub: HubUnderTest | None = None) -> bool:
    """Poll ``predicate`` until true or ``timeout``; with ``hub``, fail at once if its process exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if hub is not None:
            assert_alive(hub)
        await asyncio.sleep(step)
    return bool(predicate())


def assert_alive(hut: HubUnderTest) -> None:
    code = hut.proc.poll() if hut.proc is not None else "never started"
    assert code is None, f"`hub run` exited ({code}); log: {hut.tail_log(6000)}"


async def publisher(url: str, flow: Flow, body: bytes, rate: float) -> None:
    """Publish every id as the sender at a steady ``rate``, each confirmed by the broker. A publish whose
    connection dropped (or whose confirm did not come) is re-sent with the same message_id on a new
    connection until confirmed: what the contract asks of a well-behaved partner."""
    client: PartnerClient | None = None
    try:
        start = time.monotonic()
        for i, mid in enumerate(flow.ids):
            ahead = start + i / rate - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)
            first = flow.first_sent.setdefault(mid, time.monotonic())
            attempts = 0
            while True:
                attempts += 1
                try:
                    if client is None:
                        client = PartnerClient(url, SENDER)
                        await asyncio.wait_for(client.__aenter__(), PUBLISH_TIMEOUT)
                    await asyncio.wait_for(
                        client.publish(body, MSG_TYPE, content_type="application/xml", message_id=mid),
                        PUBLISH_TIMEOUT,
                    )
                    break
                except (aio_pika.exceptions.AMQPError, OSError, RuntimeError, TimeoutError) as exc:
                    # RuntimeError: aiormq's ChannelInvalidStateError (publish on a closed channel)
                    flow.publish_failures += 1
                    if attempts > 1:
                        flow.resent.add(mid)
                    if time.monotonic() - first > SEND_GIVE_UP:
                        raise AssertionError(f"{mid} not confirmed after {SEND_GIVE_UP} s: {exc!r}") from exc
                    stale, client = client, None
                    if stale is not None:
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(stale.__aexit__(None, None, None), 2)
                    await asyncio.sleep(0.2)
            if attempts > 1:
                flow.resent.add(mid)
            flow.published = i + 1
    finally:
        flow.publishing = False
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.__aexit__(None, None, None), 2)


async def consumer(url: str, pid: str, inbox: Inbox, stop: asyncio.Event) -> None:
    """Drain ``partner.<pid>.inbox`` with the partner's own credentials and manual acks, recording every copy;
    reconnect (every 0.3 s) whenever the connection goes, until ``stop`` is set."""

    async def handle(msg: AbstractIncomingMessage) -> None:
        inbox.record(msg.correlation_id or "", msg.message_id or "", msg.content_type or "")
        with contextlib.suppress(Exception):  # a lost ack: the broker redelivers, a repeat we count
            await msg.ack()

    while not stop.is_set():
        conn: Any = None
        try:
            conn = await aio_pika.connect(url, timeout=5)
            closed = asyncio.Event()
            conn.close_callbacks.add(lambda *_, gone=closed: gone.set())
            channel = await conn.channel()
            await channel.set_qos(prefetch_count=300)
            queue = await channel.get_queue(t.inbox(pid), ensure=True)
            await queue.consume(handle, no_ack=False)
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(closed.wait())]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
        except (aio_pika.exceptions.AMQPError, OSError, RuntimeError, TimeoutError):
            pass
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), 2)
        if not stop.is_set():
            inbox.reconnects += 1
            await asyncio.sleep(0.3)


def check_deliveries(flow: Flow) -> None:
    """0 lost, nothing unexpected, one message_id per (message, recipient), the derived one, right format."""
    sent = set(flow.ids)
    for pid, inbox in flow.inboxes.items():
        lost = sent - inbox.copies.keys()
        assert not lost, f"{pid} lost {len(lost)} messages, e.g. {sorted(lost)[:5]}"
        assert inbox.copies.keys() == sent, f"{pid} got unexpected ids: {sorted(inbox.copies.keys() - sent)[:5]}"
        distinct = {cid: ids for cid, ids in inbox.copies.items() if len(ids) != 1}
        assert not distinct, f"{pid}: two distinct deliveries for one message: {list(distinct.items())[:3]}"
        wrong = [cid for cid, ids in inbox.copies.items() if next(iter(ids)) != delivery_id(SENDER, cid, pid)]
        assert not wrong, f"{pid}: delivery ids not derived from (sender, id, recipient): {wrong[:3]}"
        assert set(inbox.content_types) == {RECIPIENTS[pid]}, (pid, inbox.content_types)


def summary(flow: Flow) -> str:
    delivered = {pid: len(inbox.copies) for pid, inbox in flow.inboxes.items()}
    duplicates = {pid: inbox.duplicates for pid, inbox in flow.inboxes.items()}
    reconnects = {pid: inbox.reconnects for pid, inbox in flow.inboxes.items()}
    return (f"sent={flow.published} resent_ids={len(flow.resent)} publish_failures={flow.publish_failures} "
            f"delivered={delivered} duplicate_copies={duplicates} consumer_reconnects={reconnects}")


@pytest.fixture
def make_hub(broker: None, tmp_path: Path, secrets_file: Path) -> Iterator[Callable[..., HubUnderTest]]:
    """A provisioned hub on its own vhost with the small registry; the project's secrets file, since broker
    users are broker-wide (a private file would change passwords under other running tests)."""
    made: list[HubUnderTest] = []

    def make(settings: dict[str, Any] | None = None) -> HubUnderTest:
        hut = HubUnderTest(tmp_path / f"hub{len(made)}", secrets_file=secrets_file, partners=PARTNERS,
                           settings=settings)
        made.append(hut)
        hut.provision()
        return hut

    try:
        yield make
    finally:
        for hut in made:
            hut.close()


async def connect_seconds(url: str) -> float:
    """How long the broker takes to accept a fresh AMQP connection (the handshake included): a slow broker
    (e.g. busy with other tests' vhosts) is no fault of the hub's."""
    started = time.monotonic()
    conn = await aio_pika.connect(url, timeout=30)
    elapsed = time.monotonic() - started
    await conn.close()
    return elapsed


def direct_url(hut: HubUnderTest, pid: str) -> str:
    """A partner's URL straight to RabbitMQ (never through the hub's proxy)."""
    return broker_url(BROKER, hut.vhost, pid, hut.secrets.get(pid) or "")


# ------------------------------------------------------------------ 1. RabbitMQ restarted mid-flow

RESTART_TOTAL = 2_000
RESTART_RATE = 150.0  # messages per second: ~13 s of flow
RESTART_AT = 800  # confirmed publishes before the broker is stopped
DOWN_FOR = 2.0  # seconds between stop_app returning and start_app
DRAIN_TIMEOUT = 45.0  # after the last publish


def logged_at(hut: HubUnderTest, event: str, after: float) -> float | None:
    """Wall-clock time of the first ``event`` the hub logged (JSON lines) at or after ``after``."""
    with hut.log_path.open("rb") as f:
        for line in f:
            if f'"event": "{event}"'.encode() not in line:
                continue
            with contextlib.suppress(ValueError, KeyError):
                at = datetime.fromisoformat(json.loads(line)["timestamp"]).timestamp()
                if at >= after:
                    return at
    return None


def rabbitmqctl(*args: str) -> None:
    done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"rabbitmqctl {' '.join(args)}: {done.returncode} {done.stderr[-500:]}"


def amqp_port_open() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", AMQP_PORT), timeout=1):
            return True
    except OSError:
        return False


def management_up() -> bool:
    try:
        return httpx.get("http://127.0.0.1:15672/api/overview", auth=("guest", "guest"), timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.disruptive
async def test_broker_restart_while_traffic_flows_loses_nothing(make_hub: Callable[..., HubUnderTest]) -> None:
    hut = make_hub()
    await asyncio.to_thread(hut.start)
    flow = Flow([f"restart-{hut.vhost}-{i}" for i in range(RESTART_TOTAL)])
    body = example(MSG_TYPE, "valid", ".xml").read_bytes()
    stop = asyncio.Event()
    consumers = [asyncio.create_task(consumer(hut.url_for(pid), pid, flow.inboxes[pid], stop)) for pid in RECIPIENTS]
    pub: asyncio.Task[None] | None = None
    stopped_at = up_at = up_wall = down_began = 0.0
    try:
        await asyncio.sleep(0.5)  # consumers attached
        flow.t0 = time.monotonic()
        pub = asyncio.create_task(publisher(hut.url_for(SENDER), flow, body, RESTART_RATE))
        assert await wait_for(lambda: flow.published >= RESTART_AT or pub.done(), 60), "publishing stalled"
        assert not pub.done(), f"publisher ended early: {pub}"
        # deliveries in flight at the restart: confirmed publishes some recipient has not yet received
        backlog = flow.published - min(len(i.copies) for i in flow.inboxes.values())
        down_began = time.monotonic()
        try:
            await asyncio.to_thread(rabbitmqctl, "stop_app")
            stopped_at = time.monotonic()
            assert not await asyncio.to_thread(amqp_port_open), "port 5672 still open after stop_app"
            await asyncio.sleep(DOWN_FOR)  # the outage itself
            assert_alive(hut)
        finally:
            await asyncio.to_thread(rabbitmqctl, "start_app")  # the broker must run again, whatever happened
            assert await wait_for(amqp_port_open, 60, step=0.1), "port 5672 closed 60 s after start_app"
            up_at, up_wall = time.monotonic(), time.time()
        assert await wait_for(management_up, 60, step=0.2), "management API down 60 s after start_app"
        # recovered: every recipient gets a message first published after the broker had stopped
        assert await wait_for(lambda: flow.recovery(stopped_at, up_at) is not None, 60, step=0.05, hub=hut), (
            f"no fresh delivery 60 s after the restart; {summary(flow)}; log: {hut.tail_log()}")
        recovery = flow.recovery(stopped_at, up_at)
        assert recovery is not None
        # when the hub's two sessions were back, from its own log (the broker refuses them until its
        # listener is up; then each waits out at most one capped backoff, 5 s)
        ingest_back = logged_at(hut, "consuming", up_wall - 1.0)
        delivery_back = logged_at(hut, "delivering", up_wall - 1.0)
        await pub
        published_in = time.monotonic() - flow.t0
        assert await wait_for(flow.complete, DRAIN_TIMEOUT, step=0.25, hub=hut), (
            f"not every message delivered {DRAIN_TIMEOUT} s after the last publish; {summary(flow)}")
        await asyncio.sleep(1.0)  # late repeated copies (redelivered after the restart) are counted too
    finally:
        if pub is not None:
            pub.cancel()
        stop.set()
        await asyncio.gather(*consumers, *([pub] if pub else []), return_exceptions=True)

    back = {name: f"{at - up_wall:.2f}s" if at is not None else "never"
            for name, at in (("ingest", ingest_back), ("delivery", delivery_back))}
    print(f"\nbroker restart: stop_app took {stopped_at - down_began:.1f}s, then down {up_at - stopped_at:.1f}s "
          f"(start_app included); deliveries in flight at the stop: {backlog}. After port 5672 reopened the hub's "
          f"sessions were back in {back}; the first delivery of a message sent after the stop reached each "
          f"recipient {({pid: round(s, 2) for pid, s in recovery.items()})}s after (the lane delivers the backlog "
          f"first)")
    print(f"broker restart summary: {summary(flow)} recovered_in={max(recovery.values()):.2f}s "
          f"published_in={published_in:.1f}s "
          f"hub_starts={hut.starts} ingest_sessions={hut.logged('consuming')} "
          f"delivery_sessions={hut.logged('delivering')}")

    assert flow.published == RESTART_TOTAL
    assert backlog > 0, "no deliveries in flight when the broker stopped"
    check_deliveries(flow)
    # the hub reconnected by itself: the same process, started once, consuming again after the restart
    assert hut.proc is not None and hut.proc.poll() is None, f"hub exited; log: {hut.tail_log()}"
    assert hut.starts == 1
    assert ingest_back is not None and delivery_back is not None, f"sessions not re-established: {hut.tail_log()}"


# ------------------------------------------------------------------ 2. connections cut, then stalled 20 s


class Proxy:
    """A TCP proxy 127.0.0.1:<port> -> 127.0.0.1:5672 in the test's event loop.

    ``cut()`` resets every current connection (both sides, RST). ``stall()`` keeps them open but forwards no
    byte in either direction (each pump holds what it read) and refuses new connections until ``resume()``:
    to the hub the broker is silent, as behind a dead route; the broker sees the hub silent too.
    """

    def __init__(self, upstream_port: int = AMQP_PORT) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.accepted = 0
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.flowing.set()
        self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def cut(self) -> int:
        pairs = list(self.pairs)
        for pair in pairs:
            for w in pair:
                _reset(w)
        self.pairs.clear()
        return len(pairs)

    def stall(self) -> None:
        self.flowing.clear()

    def resume(self) -> None:
        self.flowing.set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if not self.flowing.is_set():
                self.refused += 1
                _reset(writer)
                return
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            except OSError:
                _reset(writer)
                return
            self.accepted += 1
            pair = (writer, up_writer)
            self.pairs.add(pair)
            try:
                await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))
            except asyncio.CancelledError:
                pass  # close(): the proxy is going away
            finally:
                self.pairs.discard(pair)
                for w in pair:
                    w.close()
        finally:
            self._tasks.discard(task)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await src.read(65536)
                await self.flowing.wait()  # stalled: hold this chunk (and, by not reading, all behind it)
                if not data:
                    break
                dst.write(data)
                await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                if dst.can_write_eof() and not dst.is_closing():
                    dst.write_eof()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close abruptly: SO_LINGER 0 makes the close an RST, as when a firewall or a NAT drops a connection."""
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


HEARTBEAT = 2  # seconds, the hub's broker.heartbeat in this test
BACKOFF_CAP = 5.0  # Pipeline.run and DeliveryService.run: 0.5 s, doubling, at most 5 s between attempts
STALL = 20.0
FAULT_TOTAL = 2_000
FAULT_RATE = 50.0  # messages per second: ~40 s of flow, so messages keep coming during and after each fault
CUT_AT = 250  # confirmed publishes before the cut (~5 s into the flow)
STALL_AT = 600  # ... before the stall (~12 s); it ends ~32 s in, 8 s of flow remain
# Bound on the time from the end of a fault to a fresh delivery at every recipient:
# - Detection costs nothing after the end. A cut is seen at once (the proxy resets both sockets). A stall is
#   detected inside it: aiormq gives up a connection after (heartbeat + 1) * 3 = 9 s without a frame (its
#   HEARTBEAT_GRACE_MULTIPLIER), well within the 20 s stall; so by its end both hub sessions have failed.
# - Reconnect backoff: each service waits 0.5 s after a failure, doubling up to BACKOFF_CAP = 5 s. During the
#   stall new connections are refused, so attempts fail at once and none is pending when it ends: each service
#   is at most one capped wait (5 s) from its next attempt, which succeeds.
# - Then: connect, channels, consume, one batch through ingest (publish with confirms, SQLite commit) and one
#   delivery per recipient: well under 1 s on this machine.
# So the worst case is 5 s + < 1 s = 3 heartbeat intervals (6 s); SLACK covers scheduling on a busy 2-core
# machine. After the cut the first wait is 0.5 s (the hub's first failure), so about 1 s is expected.
SLACK = 1.0
RECOVERY_BOUND = 3 * HEARTBEAT + SLACK


async def test_connection_cut_and_20s_stall_hub_recovers_within_three_heartbeats(
    make_hub: Callable[..., HubUnderTest],
) -> None:
    proxy = Proxy()
    await proxy.start()
    hut = make_hub({"broker": {"url": f"amqp://127.0.0.1:{proxy.port}/", "heartbeat": HEARTBEAT}})
    flow = Flow([f"fault-{hut.vhost}-{i}" for i in range(FAULT_TOTAL)])
    body = example(MSG_TYPE, "valid", ".xml").read_bytes()
    stop = asyncio.Event()
    consumers: list[asyncio.Task[None]] = []
    pub: asyncio.Task[None] | None = None
    recovered: dict[str, dict[str, float]] = {}
    probe: asyncio.Task[float] | None = None
    try:
        await asyncio.to_thread(hut.start)  # in a thread: the proxy runs in this loop
        assert proxy.accepted >= 2, f"the hub's connections do not go through the proxy ({proxy.accepted})"
        consumers = [asyncio.create_task(consumer(direct_url(hut, pid), pid, flow.inboxes[pid], stop))
                     for pid in RECIPIENTS]
        await asyncio.sleep(0.5)  # consumers attached
        flow.t0 = time.monotonic()
        pub = asyncio.create_task(publisher(direct_url(hut, SENDER), flow, body, FAULT_RATE))

        # (a) cut every hub connection; the fault is over at once
        assert await wait_for(lambda: flow.published >= CUT_AT or pub.done(), 60), "publishing stalled"
        assert flow.recovery(0.0, 0.0) is not None, "nothing delivered before the cut"
        cut_at = time.monotonic()
        cut = proxy.cut()
        assert cut >= 2, f"only {cut} hub connections to cut"
        assert await wait_for(lambda: flow.recovery(cut_at, cut_at) is not None, 30, hub=hut), (
            f"no fresh delivery 30 s after the cut; {summary(flow)}; log: {hut.tail_log()}")
        recovered["cut"] = flow.recovery(cut_at, cut_at) or {}

        # (b) stall every hub connection for 20 s, refusing new ones meanwhile
        assert await wait_for(lambda: flow.published >= STALL_AT or pub.done(), 60), "publishing stalled"
        assert not pub.done(), "the flow ended before the stall"
        stall_at = time.monotonic()
        stalled = len(proxy.pairs)
        proxy.stall()
        await asyncio.sleep(STALL)  # the fault itself
        proxy.resume()
        resumed_at = time.monotonic()
        probe = asyncio.create_task(connect_seconds(direct_url(hut, SENDER)))  # the broker's own answer time
        assert_alive(hut)
        fresh_during = [pid for pid in RECIPIENTS if flow.fresh_arrival(pid, stall_at, stall_at) is not None]
        assert not fresh_during, f"deliveries during the stall to {fresh_during}: not through the proxy?"
        assert not pub.done(), "the flow ended during the stall: nothing left to measure recovery with"
        assert await wait_for(lambda: flow.recovery(stall_at, resumed_at) is not None, 30, hub=hut), (
            f"no fresh delivery 30 s after the stall; {summary(flow)}; log: {hut.tail_log()}")
        recovered["stall"] = flow.recovery(stall_at, resumed_at) or {}
        broker_connect = await probe

        await pub
        assert await wait_for(flow.complete, DRAIN_TIMEOUT, step=0.25, hub=hut), (
            f"not every message delivered {DRAIN_TIMEOUT} s after the last publish; {summary(flow)}")
        await asyncio.sleep(1.0)  # late repeated copies are counted too
    finally:
        if probe is not None:
            probe.cancel()
        if pub is not None:
            pub.cancel()
        stop.set()
        await asyncio.gather(*consumers, *([pub] if pub else []), return_exceptions=True)
        await proxy.close()

    print(f"\ncut: {cut} connections reset; first fresh delivery per recipient "
          f"{ {pid: round(s, 2) for pid, s in recovered['cut'].items()} }s after the cut")
    print(f"stall: {stalled} connections stalled {STALL:.0f}s, {proxy.refused} connection attempts refused "
          f"meanwhile; first fresh delivery per recipient "
          f"{ {pid: round(s, 2) for pid, s in recovered['stall'].items()} }s after it ended (a direct "
          f"connection to the broker then took {broker_connect:.2f}s)")
    print(f"fault summary: recovery cut={max(recovered['cut'].values()):.2f}s "
          f"stall={max(recovered['stall'].values()):.2f}s bound={RECOVERY_BOUND:.1f}s; {summary(flow)} "
          f"proxied_connections={proxy.accepted} hub_starts={hut.starts} ingest_sessions={hut.logged('consuming')} "
          f"delivery_sessions={hut.logged('delivering')}")

    assert flow.published == FAULT_TOTAL
    check_deliveries(flow)
    assert hut.proc is not None and hut.proc.poll() is None, f"hub exited; log: {hut.tail_log()}"
    assert hut.starts == 1
    assert stalled >= 2, f"only {stalled} hub connections were open when the stall began"
    for fault, per_recipient in recovered.items():
        worst = max(per_recipient.values())
        assert worst <= RECOVERY_BOUND, (
            f"after the {fault} the hub took {worst:.2f} s to deliver again (bound {RECOVERY_BOUND} s = 3 "
            f"heartbeats of {HEARTBEAT} s + {SLACK} s; a direct connection to the broker took {broker_connect:.2f} s "
            f"after the stall); log: {hut.tail_log()}")
