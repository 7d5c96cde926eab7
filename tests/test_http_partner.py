"""An HTTP webhook partner that fails one request in three, fed by two hub processes at once.

A real HTTP server on loopback plays the partner of docs/partners.md section 7a. Its verification follows
that document alone (nothing of the hub is imported for it): ``X-Hub-Signature`` must be ``v1=`` and the
lower-case hex HMAC-SHA256, keyed with the shared secret that ``hub broker provision`` wrote to the secrets
file under ``<partner>.webhook``, of the ASCII ``X-Hub-Timestamp``, a ``.`` and the raw body; the timestamp
must be within 5 minutes of now. It answers every third request (counted across all connections) 503,
whatever it carries, and otherwise records the delivery and answers 200, de-duplicating on
``Idempotency-Key`` as a partner would.

Two ``hub run`` processes share the store and the vhost. 1,000 customs releases over 50 consignments (20
each, sent interleaved: the 1st of every consignment, then the 2nd, ...) must each be accepted once, with
every signature valid, nothing dead-lettered, and per consignment no request overtaking: no request for a
consignment's message n+1 reaches the partner before its message n was answered 200.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aio_pika.abc import AbstractIncomingMessage

from hub import topology as t
from hub.catalogue import Catalogue
from hub.ids import delivery_id
from hub.testing import HubUnderTest
from tests.conftest import example

pytestmark = [pytest.mark.slow, pytest.mark.broker]

SENDER = "kra-icms"
MSG_TYPE = "customs.release"
HTTP_PARTNER = "kentrade"  # receives every release, here over HTTP
AMQP_PARTNER = "kephis"  # receives every release too, in its AMQP inbox
CONSIGNMENTS = 50
PER_CONSIGNMENT = 20
TOTAL = CONSIGNMENTS * PER_CONSIGNMENT
FAIL_EVERY = 3  # the partner answers request number 3, 6, 9, ... (across all connections) with 503
TOLERANCE_S = 300  # docs/partners.md: refuse requests signed more than 5 minutes away from now
PATH = "/hooks/hub"
DELIVERY_TIMEOUT = 75.0

SETTINGS: dict[str, Any] = {
    "delivery": {
        "retry_base": 0.05,  # seconds: retries after a 503 come quickly
        "retry_max": 0.5,
        # the partner fails one request in three across all lanes, not per delivery: lanes retrying in step
        # can hand one delivery the failing slot several times running (up to 8 attempts seen), so the
        # default of 10 attempts could dead-letter by bad luck; 50 leaves a dead letter here to a hub fault
        "max_attempts": 50,
        # circuit_failures stays at its default (5 consecutive failures): one request in three fails, so the
        # circuit only opens if several lanes' failures happen to be answered back to back; should it open,
        # a short probe delay keeps the test quick (the test reports how often it opened)
        "circuit_failures": 5,
        "circuit_probe_after": 0.5,
    },
}


def ucr_of(c: int) -> str:
    """EAC form: 2-digit year, KE, a 10-character trader id, then 7 more characters (hub.identifiers)."""
    return f"26KEP051234568{7000 + c:07d}"


def inbound_id(run: str, c: int, seq: int) -> str:
    return f"http-{run}-c{c:02d}-s{seq:02d}"


def document(template: str, c: int, seq: int) -> bytes:
    """The example release, as consignment c's message seq: its own UCR and entry number, no container
    (so that no reference links two consignments), a distinct issue time and text."""
    replacements = {
        "<Ucr>26KEP0512345680000431</Ucr>": f"<Ucr>{ucr_of(c)}</Ucr>",
        "<DeclarationId>26MBAIM000413006</DeclarationId>": f"<DeclarationId>26MBAIM{413100 + c:09d}</DeclarationId>",
        "2026-02-14T08:05:00+03:00": f"2026-02-14T08:{seq:02d}:00+03:00",
        "  <TransportEquipmentId>MSKU9021144</TransportEquipmentId>\n": "",
    }
    doc = template
    for old, new in replacements.items():
        assert old in doc, f"the example changed: adapt document() ({old!r})"
        doc = doc.replace(old, new)
    start = doc.index("<AdditionalInformation>") + len("<AdditionalInformation>")
    end = doc.index("</AdditionalInformation>")
    doc = doc[:start] + f"Message {seq + 1} of {PER_CONSIGNMENT} for consignment {c}." + doc[end:]
    return doc.encode()


@dataclass
class Expected:
    ucr: str
    seq: int
    inbound_id: str


@dataclass
class Endpoint:
    """The partner's state, shared by the server's threads (every change under ``lock``)."""

    secret: bytes = b""
    expected: dict[str, Expected] = field(default_factory=dict)  # Idempotency-Key -> what it must be
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    status: Counter[int] = field(default_factory=Counter)
    invalid_signatures: int = 0
    stale: int = 0
    unknown_keys: int = 0
    header_problems: list[str] = field(default_factory=list)
    accepted: dict[str, int] = field(default_factory=dict)  # key -> request number of its first 200
    accepted_order: dict[str, list[int]] = field(default_factory=dict)  # UCR -> seqs in order of first 200
    accepted_seqs: dict[str, set[int]] = field(default_factory=dict)  # UCR -> seqs answered 200
    prefix: dict[str, int] = field(default_factory=dict)  # UCR -> how many of its first seqs were accepted
    overtakes: list[str] = field(default_factory=list)  # requests that arrived before their predecessor's 200
    repeats_after_200: int = 0
    attempts: Counter[str] = field(default_factory=Counter)  # key -> requests (any answer)

    def verify(self, headers: Any, body: bytes) -> tuple[bool, bool]:
        """(signature valid, timestamp fresh), as docs/partners.md section 7a says: the HMAC-SHA256 keyed with
        the secret's text as bytes, over the X-Hub-Timestamp value as sent, a ".", then the raw body."""
        ts = headers.get("X-Hub-Timestamp") or ""
        sig = headers.get("X-Hub-Signature") or ""
        if not (ts.isascii() and ts.isdigit()) or not sig.startswith("v1="):
            return False, False
        fresh = abs(time.time() - int(ts)) <= TOLERANCE_S
        expected = "v1=" + hmac.new(self.secret, ts.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), sig.encode("ascii", "replace")), fresh

    def handle(self, path: str, headers: Any, body: bytes) -> int:
        valid, fresh = self.verify(headers, body)
        key = headers.get("Idempotency-Key") or ""
        with self.lock:
            self.requests += 1
            n = self.requests
            self.attempts[key] += 1
            if not valid:
                self.invalid_signatures += 1
            if not fresh:
                self.stale += 1
            exp = self.expected.get(key)
            if exp is None:
                self.unknown_keys += 1
            else:
                self._check_headers(path, headers, exp)
                if exp.seq > self.prefix.get(exp.ucr, 0):  # its predecessor has not been answered 200 yet
                    self.overtakes.append(f"request {n}: {exp.ucr} seq {exp.seq} arrived with only "
                                          f"{self.prefix.get(exp.ucr, 0)} of its first messages accepted")
            if n % FAIL_EVERY == 0:
                status = 503
            elif not (valid and fresh) or exp is None:
                status = 401 if not (valid and fresh) else 400
            elif key in self.accepted:
                self.repeats_after_200 += 1
                status = 200
            else:
                self.accepted[key] = n
                order = self.accepted_order.setdefault(exp.ucr, [])
                order.append(exp.seq)
                accepted_seqs = self.accepted_seqs.setdefault(exp.ucr, set())
                accepted_seqs.add(exp.seq)
                p = self.prefix.get(exp.ucr, 0)
                while p in accepted_seqs:
                    p += 1
                self.prefix[exp.ucr] = p
                status = 200
            self.status[status] += 1
        return status

    def _check_headers(self, path: str, headers: Any, exp: Expected) -> None:
        want = {"Content-Type": "application/json", "X-Hub-Type": MSG_TYPE, "X-Hub-Contract": "1",
                "X-Hub-Source-Partner": SENDER, "X-Hub-Correlation-Id": exp.inbound_id, "X-Hub-UCR": exp.ucr}
        for name, value in want.items():
            if headers.get(name) != value:
                self.header_problems.append(f"{exp.inbound_id}: {name}={headers.get(name)!r}, want {value!r}")
        if path != PATH:
            self.header_problems.append(f"{exp.inbound_id}: path {path!r}")


class PartnerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects from a real endpoint
    endpoint: Endpoint  # set on the subclass made per test

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = self.endpoint.handle(self.path, self.headers, body)
        reply = b"ok" if status == 200 else b"try again" if status == 503 else b"refused"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def endpoint() -> Iterator[tuple[Endpoint, int]]:
    state = Endpoint()
    handler = type("Handler", (PartnerHandler,), {"endpoint": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


def partners(port: int) -> list[dict[str, Any]]:
    return [
        {"id": SENDER, "name": "KRA iCMS", "profiles": ["CUS"], "sends": [MSG_TYPE],
         "receive_format": "application/xml", "identifiers": {"customs_office": ["MSA"]}},
        {"id": HTTP_PARTNER, "name": "KenTrade", "profiles": ["KT"], "receive_format": "application/json",
         "transport": {"kind": "http", "url": f"http://127.0.0.1:{port}{PATH}"}},
        {"id": AMQP_PARTNER, "name": "KEPHIS", "profiles": ["PGA"], "receive_format": "application/xml",
         "identifiers": {"agency": ["KEPHIS"]}},
    ]


@pytest.fixture
def http_hub(broker: None, tmp_path: Path, secrets_file: Path,
             endpoint: tuple[Endpoint, int]) -> Iterator[tuple[HubUnderTest, Endpoint]]:
    state, port = endpoint
    hut = HubUnderTest(tmp_path, secrets_file=secrets_file, partners=partners(port), settings=SETTINGS)
    try:
        hut.provision()
        # the shared secret, as the operator hands it to the partner: the secrets file's "<id>.webhook"
        state.secret = json.loads(secrets_file.read_text(encoding="utf-8"))[f"{HTTP_PARTNER}.webhook"].encode()
        yield hut, state
    finally:
        hut.close()


async def consume_inbox(hut: HubUnderTest, seen: Counter[str], first: list[str], stop: asyncio.Event) -> None:
    """The AMQP recipient: counts copies and keeps the order of first receipt (a witness of the order in
    which the hub queued the deliveries, since its transport never fails)."""
    async with hut.partner(AMQP_PARTNER) as client:
        assert client.channel is not None
        await client.channel.set_qos(prefetch_count=300)
        queue = await client.channel.get_queue(t.inbox(AMQP_PARTNER), ensure=True)

        async def on_message(msg: AbstractIncomingMessage) -> None:
            mid = msg.message_id or ""
            if not seen[mid]:
                first.append(mid)
            seen[mid] += 1
            await msg.ack()

        tag = await queue.consume(on_message, no_ack=False)
        await stop.wait()
        await queue.cancel(tag)


async def consume_acks(hut: HubUnderTest, acks: dict[str, Counter[str]], stop: asyncio.Event) -> None:
    async with hut.partner(SENDER) as client:
        assert client.channel is not None
        await client.channel.set_qos(prefetch_count=300)
        queue = await client.channel.get_queue(t.acks_queue(SENDER), ensure=True)

        async def on_message(msg: AbstractIncomingMessage) -> None:
            doc = json.loads(msg.body)
            acks.setdefault(doc["correlation_id"], Counter())[doc["status"]] += 1
            await msg.ack()

        tag = await queue.consume(on_message, no_ack=False)
        await stop.wait()
        await queue.cancel(tag)


def out_consumers(hut: HubUnderTest) -> dict[str, int]:
    """Consumers of each of the HTTP partner's partition queues (single active consumer: one delivers)."""
    mgmt = hut.management()
    try:
        return {name: int(mgmt.queue_info(name).get("consumers", 0))
                for name in (t.out_queue(HTTP_PARTNER, k) for k in range(hut.config.settings.delivery.partitions))}
    finally:
        mgmt.close()


def check_running(tasks: list[asyncio.Task[None]]) -> None:
    """A consumer that stopped (its connection failed) would leave the test waiting: raise its error now."""
    for task in tasks:
        if task.done():
            task.result()
            raise AssertionError("a consumer stopped early")


async def test_http_partner_failing_one_request_in_three_gets_everything_once_in_order_with_two_hubs(
    http_hub: tuple[HubUnderTest, Endpoint],
) -> None:
    hut, state = http_hub
    run = f"{int(time.time()) % 100_000:05d}"
    template = example(MSG_TYPE, "valid", ".xml").read_text(encoding="utf-8")
    catalogue = Catalogue()
    amqp_expected: dict[str, Expected] = {}
    bodies: dict[tuple[int, int], bytes] = {}
    for c in range(CONSIGNMENTS):
        for seq in range(PER_CONSIGNMENT):
            body = bodies[(c, seq)] = document(template, c, seq)
            decoded = catalogue.decode(body, "application/xml", MSG_TYPE)  # raises MessageRejected if invalid
            assert decoded.keys().ucr == ucr_of(c)
            mid = inbound_id(run, c, seq)
            state.expected[delivery_id(SENDER, mid, HTTP_PARTNER)] = Expected(ucr_of(c), seq, mid)
            amqp_expected[delivery_id(SENDER, mid, AMQP_PARTNER)] = Expected(ucr_of(c), seq, mid)
    assert len(state.expected) == TOTAL

    second = None
    seen_amqp: Counter[str] = Counter()
    first_amqp: list[str] = []
    acks: dict[str, Counter[str]] = {}
    stop = asyncio.Event()
    consumers = [asyncio.create_task(consume_inbox(hut, seen_amqp, first_amqp, stop)),
                 asyncio.create_task(consume_acks(hut, acks, stop))]
    t0 = time.monotonic()
    try:
        await asyncio.to_thread(hut.start)
        offset = hut.log_path.stat().st_size
        second = hut.spawn()
        deadline = time.monotonic() + 30
        while hut.logged("consuming", since=offset) < 1 or hut.logged("delivering", since=offset) < 1:
            assert second.poll() is None, f"second hub exited with {second.returncode}: {hut.tail_log()}"
            assert time.monotonic() < deadline, f"second hub not consuming: {hut.tail_log()}"
            await asyncio.sleep(0.1)
        started_s = time.monotonic() - t0
        check_running(consumers)

        t1 = time.monotonic()
        async with hut.partner(SENDER) as client:  # interleaved: message seq of every consignment, then seq+1
            for seq in range(PER_CONSIGNMENT):
                for c in range(CONSIGNMENTS):
                    await client.publish(bodies[(c, seq)], MSG_TYPE, content_type="application/xml",
                                         message_id=inbound_id(run, c, seq), ucr=ucr_of(c))
        published_s = time.monotonic() - t1

        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while len(state.accepted) < TOTAL and time.monotonic() < deadline:
            assert hut.proc is not None and hut.proc.poll() is None, f"first hub died: {hut.tail_log()}"
            assert second.poll() is None, f"second hub died: {hut.tail_log()}"
            check_running(consumers)
            await asyncio.sleep(0.25)
        delivered_s = time.monotonic() - t1
        while (len(seen_amqp) < TOTAL or len(acks) < TOTAL) and time.monotonic() < deadline:
            check_running(consumers)
            await asyncio.sleep(0.25)
        await asyncio.sleep(1.0)  # a late repeat would still be counted
        alive = [hut.proc is not None and hut.proc.poll() is None, second.poll() is None]
        partitions = await asyncio.to_thread(out_consumers, hut)
    finally:
        stop.set()
        await asyncio.gather(*consumers, return_exceptions=True)
        if second is not None and second.poll() is None:
            second.kill()
            second.wait(30)

    dlq = hut.cli("dlq", "list", "--json")
    with state.lock:
        accepted = dict(state.accepted)
        order = {ucr: list(seqs) for ucr, seqs in state.accepted_order.items()}
        overtakes = list(state.overtakes)
        status = dict(state.status)
        retried = sum(1 for n in state.attempts.values() if n > 1)
        most_attempts = max(state.attempts.values(), default=0)
    circuit_opened = hut.logged("circuit opened")
    amqp_order: dict[str, list[int]] = {}
    for mid in first_amqp:
        if mid in amqp_expected:
            amqp_order.setdefault(amqp_expected[mid].ucr, []).append(amqp_expected[mid].seq)
    amqp_unordered = sorted(ucr for ucr, seqs in amqp_order.items() if seqs != sorted(seqs))
    http_unordered = sorted(ucr for ucr, seqs in order.items() if seqs != sorted(seqs))
    same_as_amqp = sum(order.get(ucr) == seqs for ucr, seqs in amqp_order.items())
    print(f"\nhttp partner summary: sent={TOTAL} accepted={len(accepted)} requests={state.requests} "
          f"statuses={status} 503s={status.get(503, 0)} repeats_after_200={state.repeats_after_200} "
          f"invalid_signatures={state.invalid_signatures} stale={state.stale} unknown_keys={state.unknown_keys} "
          f"overtakes={len(overtakes)} consignments_out_of_order: http={len(http_unordered)} "
          f"amqp_witness={len(amqp_unordered)} http_order_same_as_amqp={same_as_amqp}/{len(amqp_order)} "
          f"header_problems={len(state.header_problems)} "
          f"deliveries_retried={retried} most_attempts_for_one={most_attempts} circuit_opened={circuit_opened} "
          f"amqp_partner_got={len(seen_amqp)} (copies {sum(seen_amqp.values())}) acks={len(acks)} "
          f"hubs_alive={alive} hub_starts={hut.starts} out_consumers={partitions} started_in={started_s:.1f}s "
          f"published_in={published_s:.1f}s delivered_in={delivered_s:.1f}s")

    missing = set(state.expected) - set(accepted)
    assert not missing, (f"{len(missing)} deliveries never accepted, e.g. "
                         f"{[vars(state.expected[k]) for k in sorted(missing)[:5]]}; log: {hut.tail_log()}")
    assert state.invalid_signatures == 0 and state.stale == 0, "signature or timestamp refused"
    assert state.unknown_keys == 0, "requests with an Idempotency-Key that is no expected delivery id"
    assert not state.header_problems, state.header_problems[:5]
    assert not http_unordered, (
        f"first 200s out of send order in {len(http_unordered)} consignments, e.g. "
        f"{[(u, order[u]) for u in http_unordered[:3]]}; the AMQP recipient (a transport that never fails) "
        f"got {len(amqp_unordered)} consignments out of order, e.g. {[(u, amqp_order[u]) for u in amqp_unordered[:3]]}")
    assert all(seqs == list(range(PER_CONSIGNMENT)) for seqs in order.values()) and len(order) == CONSIGNMENTS
    assert not overtakes, f"{len(overtakes)} requests overtook their predecessor: {overtakes[:5]}"
    assert status.get(503, 0) > 0
    assert dlq.returncode == 0, dlq.stderr
    assert json.loads(dlq.stdout) == [], f"dead letters: {dlq.stdout[:2000]}"
    assert alive == [True, True], f"a hub process died: {hut.tail_log()}"
    assert set(seen_amqp) == {delivery_id(SENDER, inbound_id(run, c, s), AMQP_PARTNER)
                              for c in range(CONSIGNMENTS) for s in range(PER_CONSIGNMENT)}
    assert all(set(s) == {"accepted"} for s in acks.values()) and len(acks) == TOTAL
