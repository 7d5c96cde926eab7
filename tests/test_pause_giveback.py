"""A held partner is paused (its partition consumers cancelled, the deliveries its lanes hold given back to
their queues) and nothing stays behind in the hub: the broker redelivers a given-back message to the
consumer until its cancellation is confirmed, so it may land in a lane that is giving back at that moment.
Afterwards every delivery arrives once without restarting the hub. In consignment order too: not yet always
(an expected failure below, docs/partners.md section 11 item 37)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub import topology as t
from hub.testing import HubUnderTest
from tests.conftest import example

pytestmark = [pytest.mark.broker]

SENDER, MSG_TYPE, HELD = "mfano-clearing", "customs.entry", "kentrade"
CONSIGNMENTS, MESSAGES = 6, 420  # lanes of about 70: the consumers' prefetch (100 each) holds many per lane
PAUSE_AFTER = 20.0  # seconds held before the pause: the deliveries reach the lanes (waiting at the gate) first
REGISTRY: list[dict[str, Any]] = [
    {"id": SENDER, "name": "Mfano Clearing", "profiles": ["CA"], "sends": [MSG_TYPE],
     "identifiers": {"kra_pin": ["P051234567A"]}},
    {"id": "kra-icms", "name": "iCMS", "profiles": ["CUS"]},
    {"id": HELD, "name": "KenTrade", "profiles": ["KT"]},
]


@dataclass
class Outcome:
    taken_before_pause: bool
    left_taken: int  # deliveries still taken by the hub 20 s after the pause
    held: int  # hub status's held count for the paused partner
    got: list[str]  # correlation ids in the order the partner received them after reinstatement


@pytest.fixture(scope="module")
def outcome(broker: None, tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Outcome:
    hut = HubUnderTest(tmp_path_factory.mktemp("pause"), secrets_file=secrets_file, partners=REGISTRY,
                       settings={"delivery": {"partitions": 2, "pause_after": PAUSE_AFTER}})
    with hut.running():
        return asyncio.run(scenario(hut))


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


async def scenario(hut: HubUnderTest) -> Outcome:
    assert hut.cli("partners", "suspend", HELD, "--reason", "test").returncode == 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(
            p["partner"] == HELD and p["state"] == "suspended"
            for p in json.loads(hut.cli("status", "--json").stdout)["partners"]):
        await asyncio.sleep(0.3)
    held_since = time.monotonic()
    async with hut.partner(SENDER) as c:
        for n in range(MESSAGES):  # one by one: each consignment's entries in this order
            await c.publish(entry(n), MSG_TYPE, content_type="application/json", message_id=f"p-{n}")
    # taken by the lanes, waiting at the gate, before the pause: a reading of the management API (its figures
    # lag ~5 s, so it shows an earlier moment) followed by no pause logged yet
    taken_before_pause = False
    while not taken_before_pause and time.monotonic() < held_since + PAUSE_AFTER:
        taken_before_pause = unacked(hut) > 0 and hut.logged("deliveries paused while the partner is held") == 0
        await asyncio.sleep(0.5)
    deadline = time.monotonic() + 60
    while hut.logged("deliveries paused while the partner is held") < 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
    assert hut.logged("deliveries paused while the partner is held") >= 1, "the partner was not paused"
    # the management API's figures lag by up to 5 s: the lanes' deliveries must all be given back by then
    deadline = time.monotonic() + 20
    left = unacked(hut)
    while left and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
        left = unacked(hut)
    doc = json.loads(hut.cli("status", "--json").stdout)
    held = next(p for p in doc["partners"] if p["partner"] == HELD)

    assert hut.cli("partners", "reinstate", HELD, "--reason", "test").returncode == 0
    got: list[str] = []
    async with hut.partner(HELD) as k:
        deadline = time.monotonic() + 90
        while len(got) < MESSAGES and time.monotonic() < deadline:
            # all in one call: a client that stops at a count and gives the rest back can reorder them itself
            got += [d.correlation_id or "" for d in await k.inbox(max_count=MESSAGES, idle=2.0)]
    return Outcome(taken_before_pause, left, int(held["held"]), got)


def test_a_paused_partner_leaves_nothing_taken_and_gets_everything_once_after(outcome: Outcome) -> None:
    assert outcome.taken_before_pause  # the lanes held deliveries when the pause came
    assert outcome.left_taken == 0, f"{outcome.left_taken} deliveries still taken by the paused hub"
    assert outcome.held == MESSAGES
    got = outcome.got
    assert len(got) == len(set(got)) == MESSAGES, (len(got), len(set(got)))  # all of them, once


@pytest.mark.xfail(strict=False, reason="known defect: deliveries given back at a pause may come back out of "
                   "consignment order (about 1 run in 2 here); docs/partners.md section 11 item 37")
def test_after_a_pause_each_consignment_arrives_in_order(outcome: Outcome) -> None:
    for c in range(CONSIGNMENTS):  # each consignment's in the order sent
        seq = [int(cid.split("-")[1]) for cid in outcome.got if int(cid.split("-")[1]) % CONSIGNMENTS == c]
        assert seq == sorted(seq), f"consignment {c} out of order"
