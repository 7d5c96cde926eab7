"""A poison delivery: dead-lettered after its attempts, its consignment waits, the others flow, replay.

iCMS takes deliveries by HTTP webhook (a real server on loopback, tests/webhook_server.py) and answers 503
to one entry every time. After ``max_attempts`` (3 here) the delivery is dead-lettered with its reason,
attempts and last error, the clearing agent gets ``delivery_failed``, and the consignment's four later
entries wait (parked: iCMS sees no request for them) while 1,000 entries of 100 other consignments pass.
Once iCMS is fixed, ``hub dlq replay --partner kra-icms`` delivers the consignment's five entries once each,
in order.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.ids import delivery_id
from hub.provision import webhook_secret_name
from hub.testing import HubUnderTest
from tests.conftest import example
from tests.webhook_server import Request, WebhookPartner

pytestmark = [pytest.mark.slow, pytest.mark.broker]

SENDER, ICMS, MSG_TYPE = "mfano-clearing", "kra-icms", "customs.entry"
POISON_UCR = "26KEP051234568P000001"
OTHERS = 100  # consignments
PER = 10


def registry(url: str) -> list[dict[str, Any]]:
    return [
        {"id": SENDER, "name": "Mfano Clearing", "profiles": ["CA"], "sends": [MSG_TYPE],
         "identifiers": {"kra_pin": ["P051234567A"]}},
        {"id": ICMS, "name": "iCMS", "profiles": ["CUS"], "transport": {"kind": "http", "url": url}},
    ]


@pytest.fixture
def poisoned(broker: None, tmp_path: Path, secrets_file: Path) -> Iterator[tuple[HubUnderTest, WebhookPartner]]:
    web = WebhookPartner(secret=b"").start()
    hut = HubUnderTest(tmp_path, secrets_file=secrets_file, partners=registry(web.url),
                       settings={"delivery": {"max_attempts": 3, "retry_base": 0.05, "retry_max": 0.2}})
    try:
        hut.provision()
        web.secret = (hut.secrets.get(webhook_secret_name(ICMS)) or "").encode()
        assert web.secret, "provision generates the webhook signing secret"
        yield hut, web
    finally:
        hut.close()
        web.stop()


def entry(ucr: str, n: int) -> bytes:
    doc = json.loads(example(MSG_TYPE, "valid", ".json").read_bytes())
    return json.dumps(dict(doc, ucr=ucr, declarationId=f"26MBAIM{n:09d}")).encode()


async def wait_for(check: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_poison_delivery_is_dead_lettered_its_consignment_waits_others_flow_and_replay_restores_order(
    poisoned: tuple[HubUnderTest, WebhookPartner],
) -> None:
    hut, web = poisoned
    poison_key = delivery_id(SENDER, "p-0", ICMS)
    fixed = False

    def decide(r: Request) -> int:
        return 503 if r.key == poison_key and not fixed else 200

    web.decide = decide
    await asyncio.to_thread(hut.start)
    async with hut.partner(SENDER) as c:
        for seq in range(5):  # the poisoned consignment: entry 0 fails, 1-4 must wait behind it
            await c.publish(entry(POISON_UCR, seq), MSG_TYPE, content_type="application/json", message_id=f"p-{seq}")
        others = [(f"26KEP051234568Q{k:06d}", f"o-{k}-{seq}", k * PER + seq + 100)
                  for seq in range(PER) for k in range(OTHERS)]
        await publish_rounds(c, others, per_round=OTHERS)

        # the 1,000 others pass while the poison is retried and dead-lettered
        want = {delivery_id(SENDER, mid, ICMS) for _u, mid, _n in others}
        await wait_for(lambda: want <= {r.key for r in web.accepted()}, 60, "the 1,000 other entries")
        dlq: list[dict[str, Any]] = []

        def dead() -> bool:
            nonlocal dlq
            dlq = json.loads(hut.cli("dlq", "list", "--json").stdout)
            return bool(dlq)

        await wait_for(dead, 30, "the dead letter")
        [d] = dlq
        assert (d["partner"], d["message_id"], d["correlation_id"]) == (ICMS, poison_key, "p-0")
        assert d["attempts"] == 3 and d["reason"] == "attempts_exhausted" and "503" in d["last_error"]
        poison_requests = [r for r in web.requests if r.key == poison_key]
        assert [r.status for r in poison_requests] == [503, 503, 503]
        waiting = {delivery_id(SENDER, f"p-{seq}", ICMS) for seq in range(1, 5)}
        assert not waiting & {r.key for r in web.requests}, "a later entry of the consignment overtook the poison"
        acks = await c.acks(max_count=2000, idle=1.0)
        failed = [a for a in acks if a["status"] == "delivery_failed"]
        assert [(a["correlation_id"], a["errors"][0]["code"]) for a in failed] == [("p-0", "DELIVERY_FAILED")]
        assert ICMS in failed[0]["errors"][0]["message"]
        shown = json.loads(hut.cli("dlq", "show", str(d["id"])).stdout)
        assert shown["lane"] == "ucr:" + POISON_UCR and "body" not in shown

    await asyncio.sleep(2.5)  # a snapshot interval: hub status counts what waits behind the dead letter
    status = json.loads(hut.cli("status", "--json").stdout)
    icms = next(p for p in status["partners"] if p["partner"] == ICMS)
    assert icms["dead_letters"] == 1 and icms["held"] == 4 and icms["state"] == "up", icms

    # iCMS is fixed; the operator replays: the five arrive once each, in order
    fixed = True
    r = hut.cli("dlq", "replay", "--partner", ICMS)
    assert r.returncode == 0, r.stderr
    keys = [delivery_id(SENDER, f"p-{seq}", ICMS) for seq in range(5)]
    await wait_for(lambda: set(keys) <= {r.key for r in web.accepted()}, 30, "the replayed consignment")
    await asyncio.sleep(1.0)  # a repeat would show now
    accepted = [r.key for r in web.accepted() if r.key in keys]
    assert accepted == keys, accepted  # once each, in order
    requests_after = [r.key for r in web.requests if r.key in keys[1:]]
    assert requests_after == keys[1:]  # the parked ones were never tried before their turn, nor twice
    assert json.loads(hut.cli("dlq", "list", "--json").stdout) == []
    assert all(r.signature_ok for r in web.requests)
    print(f"\ndlq: others={len(want)} poison attempts={len(poison_requests)} requests={len(web.requests)}")


@pytest.fixture
def web_icms(broker: None, tmp_path: Path, secrets_file: Path) -> Iterator[tuple[HubUnderTest, WebhookPartner]]:
    web = WebhookPartner(secret=b"").start()
    hut = HubUnderTest(tmp_path, secrets_file=secrets_file, partners=registry(web.url),
                       settings={"delivery": {"retry_base": 0.05, "retry_max": 0.5, "circuit_failures": 5,
                                              "circuit_probe_after": 1.0}})
    try:
        hut.provision()
        web.secret = (hut.secrets.get(webhook_secret_name(ICMS)) or "").encode()
        yield hut, web
    finally:
        hut.close()
        web.stop()


async def publish_rounds(c: Any, items: list[tuple[str, str, int]], per_round: int = 20) -> None:
    """One entry of each consignment at a time, concurrently; rounds one after the other (so that a
    consignment's entries are published in order)."""
    for i in range(0, len(items), per_round):
        await asyncio.gather(*(c.publish(entry(ucr, n), MSG_TYPE, content_type="application/json",
                                         message_id=mid) for ucr, mid, n in items[i : i + per_round]))


async def test_unplanned_outage_opens_the_circuit_and_nothing_is_dead_lettered(
    web_icms: tuple[HubUnderTest, WebhookPartner],
) -> None:
    """November 2024: iCMS fails every request without warning. The circuit opens after 5 consecutive
    failures, deliveries wait without spending attempts (the default cap is 10) while probes go every
    second or so; when iCMS answers again everything arrives once, in order per consignment."""
    hut, web = web_icms
    down = True
    web.decide = lambda _r: 503 if down else 200
    await asyncio.to_thread(hut.start)
    sent = [(f"26KEP051234568U{k:06d}", f"u-{k}-{seq}", k * PER + seq) for seq in range(PER) for k in range(20)]
    async with hut.partner(SENDER) as c:
        await publish_rounds(c, sent[:100])
        await wait_for(lambda: hut.logged("circuit opened") > 0, 20, "the circuit to open")
        last: dict[str, Any] = {}

        def seen_by_operator() -> bool:  # within a few snapshots (every 2 s) once the moves to the store settle
            nonlocal last
            last = next(p for p in json.loads(hut.cli("status", "--json").stdout)["partners"] if p["partner"] == ICMS)
            return bool(last["state"] == "circuit_open" and last["held"] == 100)

        try:
            await wait_for(seen_by_operator, 15, "hub status to show the 100 held")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: last status {last}") from None
        await publish_rounds(c, sent[100:])
        await asyncio.sleep(8)  # an outage of 8 s more: 8 probe periods, far beyond 10 attempts of backoff
        failed_during = len(web.requests)
        down = False
        keys = {delivery_id(SENDER, mid, ICMS): (ucr, mid) for ucr, mid, _n in sent}
        await wait_for(lambda: set(keys) <= {r.key for r in web.accepted()}, 60, "every delivery after the outage")
        acks = await c.acks(max_count=1000, idle=0.5)
    assert [a for a in acks if a["status"] != "accepted"] == []  # no delivery_failed
    assert json.loads(hut.cli("dlq", "list", "--json").stdout) == []
    accepted = [r.key for r in web.accepted()]
    assert len(accepted) == len(set(accepted)) == len(sent)  # once each
    order: dict[str, list[int]] = {}
    for key in accepted:
        ucr, mid = keys[key]
        order.setdefault(ucr, []).append(int(mid.rsplit("-", 1)[1]))
    assert all(seqs == sorted(seqs) for seqs in order.values()), order
    assert failed_during < 60, f"{failed_during} requests during the outage: the circuit did not hold them"
    print(f"\noutage: requests during outage={failed_during} total={len(web.requests)} delivered={len(accepted)}")
