"""A held partner is paused (its partition consumers cancelled, the deliveries its lanes hold given back to
their queues) and nothing stays behind in the hub: the broker redelivers a given-back message to the
consumer until its cancellation is confirmed, so it may land in a lane that is giving back at that moment.
Afterwards every delivery arrives once, in consignment order, without restarting the hub."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub import topology as t
from hub.testing import HubUnderTest
from tests.conftest import example

pytestmark = [pytest.mark.broker]

SENDER, MSG_TYPE, HELD = "mfano-clearing", "customs.entry", "kentrade"
CONSIGNMENTS, MESSAGES = 6, 420  # lanes of about 70: the consumers' prefetch (100 each) holds many per lane
PAUSE_AFTER = 12.0  # seconds held before the pause: the deliveries reach the lanes (waiting at the gate) first
REGISTRY: list[dict[str, Any]] = [
    {"id": SENDER, "name": "Mfano Clearing", "profiles": ["CA"], "sends": [MSG_TYPE],
     "identifiers": {"kra_pin": ["P051234567A"]}},
    {"id": "kra-icms", "name": "iCMS", "profiles": ["CUS"]},
    {"id": HELD, "name": "KenTrade", "profiles": ["KT"]},
]


@pytest.fixture
def paused_hub(broker: None, tmp_path: Path, secrets_file: Path) -> Iterator[HubUnderTest]:
    hut = HubUnderTest(tmp_path, secrets_file=secrets_file, partners=REGISTRY,
                       settings={"delivery": {"partitions": 2, "pause_after": PAUSE_AFTER}})
    with hut.running():
        yield hut


def entry(n: int) -> bytes:
    doc = json.loads(example(MSG_TYPE, "valid", ".json").read_bytes())
    c = n % CONSIGNMENTS
    return json.dumps(dict(doc, ucr=f"26KEP051234568P{c:06d}", declarationId=f"26MBAIM{n:09d}")).encode()


def unacked(hut: HubUnderTest) -> int:
    mgmt = hut.management()
    try:
        return sum(int(mgmt.queue_info(t.out_queue(HELD, k)).get("messages_unacknowledged", 0) or 0)
                   for k in range(2))
    finally:
        mgmt.close()


async def test_a_paused_partner_leaves_nothing_taken_and_gets_everything_in_order_after(
        paused_hub: HubUnderTest) -> None:
    hut = paused_hub
    assert hut.cli("partners", "suspend", HELD, "--reason", "test").returncode == 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(
            p["partner"] == HELD and p["state"] == "suspended"
            for p in json.loads(hut.cli("status", "--json").stdout)["partners"]):
        await asyncio.sleep(0.3)
    async with hut.partner(SENDER) as c:
        for n in range(MESSAGES):  # one by one: each consignment's entries in this order
            await c.publish(entry(n), MSG_TYPE, content_type="application/json", message_id=f"p-{n}")
    # taken by the lanes, waiting at the gate before the pause (the management API's figures lag ~5 s)
    deadline = time.monotonic() + PAUSE_AFTER - 3
    while unacked(hut) == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert hut.logged("deliveries paused while the partner is held") == 0 and unacked(hut) > 0
    deadline = time.monotonic() + 60
    while hut.logged("deliveries paused while the partner is held") < 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
    assert hut.logged("deliveries paused while the partner is held") >= 1
    # the management API's figures lag by up to 5 s: the lanes' deliveries must all be given back by then
    deadline = time.monotonic() + 20
    left = unacked(hut)
    while left and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        left = unacked(hut)
    assert left == 0, f"{left} deliveries still taken by the paused hub"
    doc = json.loads(hut.cli("status", "--json").stdout)
    held = next(p for p in doc["partners"] if p["partner"] == HELD)
    assert held["held"] == MESSAGES, held

    assert hut.cli("partners", "reinstate", HELD, "--reason", "test").returncode == 0
    got: list[str] = []
    async with hut.partner(HELD) as k:
        deadline = time.monotonic() + 90
        while len(got) < MESSAGES and time.monotonic() < deadline:
            # all in one call: a client that stops at a count and gives the rest back can reorder them itself
            got += [d.correlation_id or "" for d in await k.inbox(max_count=MESSAGES, idle=2.0)]
    assert len(got) == len(set(got)) == MESSAGES, (len(got), len(set(got)))  # all of them, once
    for c in range(CONSIGNMENTS):  # each consignment's in the order sent
        seq = [int(cid.split("-")[1]) for cid in got if int(cid.split("-")[1]) % CONSIGNMENTS == c]
        assert seq == sorted(seq), f"consignment {c} out of order"
