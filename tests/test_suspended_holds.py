"""A suspended or deregistered recipient's held deliveries and a deregistered partner's pending transactions
(regulation 15(3)(b)), on real hubs (hub.delivery.gate.StatusHold, hub.registry.DECISIONS).

- Held past ``delivery.suspended_hold_hours`` (3.6 s here), every consignment's first delivery becomes a dead
  letter ``PARTNER_SUSPENDED`` and its sender gets ``delivery_failed``; the consignment's later ones park
  behind it; after ``reinstate``, ``hub dlq replay`` delivers them all, in order. The partner is paused
  (``pause_after`` 2 s) before they arrive: the monitor resumes it when their holds may end.
- ``release-held`` delivers what is held while the partner stays suspended; what comes later is held again;
  ``cancel-held`` dead-letters it (``HELD_CANCELLED``).
- ``settle --reject`` answers a deregistered partner's parked message ``rejected`` with
  ``PARTNER_DEREGISTERED`` and leaves nothing parked; ``settle --complete`` routes it now.

Partner ids are this module's own: broker users are global to the broker.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.delivery.gate import CANCEL, HELD_CANCELLED, REJECT, RELEASE, Circuit, HoldEnded, PartnerGate, StatusHold
from hub.delivery.records import DEAD, PARKED, DeliveryRecords, HeldDelivery
from hub.testing import HubUnderTest
from tests.conftest import EXAMPLES, example
from tests.test_holding import eventually

pytestmark = [pytest.mark.broker]

SENDER, RCPT, BANK, BANK2 = "hold-sender", "hold-rcpt", "hold-bank", "hold-bank2"
ENTRY, PAYMENT = "customs.entry", "payment.confirmation"
REGISTRY: list[dict[str, Any]] = [
    {"id": SENDER, "name": "Hold test clearing agent", "profiles": ["CA"], "sends": [ENTRY],
     "identifiers": {"kra_pin": ["P051234567A"]}},
    {"id": RCPT, "name": "Hold test recipient", "profiles": ["KT"]},  # customs.entry and payments: cell `all`
    {"id": BANK, "name": "Hold test bank", "profiles": ["BNK"], "sends": [PAYMENT]},
    {"id": BANK2, "name": "Hold test bank 2", "profiles": ["BNK"], "sends": [PAYMENT]},
]
LIMIT_H = 0.001  # 3.6 seconds
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


# ---------------------------------------------------------------- pure: the status hold


def test_a_status_hold_ends_after_the_limit_from_the_suspension_or_the_queued_time_if_later() -> None:
    hold = StatusHold("suspended", NOW, timedelta(hours=72))
    assert hold.deadline(NOW - timedelta(days=5)) == NOW + timedelta(hours=72)  # queued before: from the suspension
    assert hold.deadline(NOW + timedelta(hours=1)) == NOW + timedelta(hours=73)  # queued after: from then
    assert hold.verdict(NOW, NOW + timedelta(hours=71)).ended is None
    assert hold.verdict(NOW, NOW + timedelta(hours=71)).deadline == NOW + timedelta(hours=72)
    ended = hold.verdict(NOW, NOW + timedelta(hours=72)).ended
    assert ended is not None and ended[0] == "PARTNER_SUSPENDED" and "72 h" in ended[1]
    gone = StatusHold("deregistered", None, timedelta(hours=1))  # the seed's status: its time is unknown
    assert gone.deadline(None) is None and gone.verdict(None, NOW + timedelta(days=999)).ended is None
    ended = gone.verdict(NOW, NOW + timedelta(hours=1)).ended
    assert ended is not None and ended[0] == "PARTNER_DEREGISTERED"


def test_an_operators_decision_covers_what_was_queued_before_it_was_recorded() -> None:
    at = NOW + timedelta(hours=1)
    release = StatusHold("suspended", NOW, timedelta(hours=72), RELEASE, at)
    assert release.verdict(NOW + timedelta(minutes=59), at).passes
    later = release.verdict(at, at)  # queued when it was recorded or later: held again, its deadline running
    assert not later.passes and later.ended is None and later.deadline == at + timedelta(hours=72)
    assert release.verdict(None, at).passes  # no queued time: covered
    assert release.verdict(NOW, NOW + timedelta(days=9)).passes  # released ones never expire
    assert release.decided(NOW) is None
    cancel = StatusHold("suspended", NOW, timedelta(hours=72), CANCEL, at)
    decided = cancel.decided(NOW)
    assert decided is not None and decided[0] == HELD_CANCELLED and cancel.verdict(NOW, at).ended == decided
    assert cancel.decided(at) is None
    reject = StatusHold("deregistered", NOW, timedelta(hours=72), REJECT, at)
    decided = reject.decided(NOW)
    assert decided is not None and decided[0] == "PARTNER_DEREGISTERED" and "15(3)(b)" in decided[1]
    for hold in (cancel, reject):  # the sender's delivery_failed quotes the detail: never the operator's words
        detail = hold.decided(NOW)
        assert detail is not None and "reason" not in detail[1]


async def test_the_gate_ends_releases_or_holds_a_delivery_by_its_status_hold() -> None:
    gate = PartnerGate(RCPT, Circuit(5, 30.0))
    gate.status_reason = "suspended"
    gate.status_hold = StatusHold("suspended", NOW, timedelta(hours=1))
    with pytest.raises(HoldEnded) as ended:
        await asyncio.wait_for(gate.wait(queued_at=NOW, now=lambda: NOW + timedelta(hours=2)), 1)
    assert ended.value.reason == "PARTNER_SUSPENDED"
    waiter = asyncio.create_task(gate.wait(recheck=0.05, queued_at=NOW, now=lambda: NOW))
    await asyncio.sleep(0.1)
    assert not waiter.done() and gate.soonest_end() == NOW + timedelta(hours=1)  # paused: resumed then
    gate.status_hold = StatusHold("suspended", NOW, timedelta(hours=1), RELEASE, NOW + timedelta(seconds=1))
    gate.notify()
    assert await asyncio.wait_for(waiter, 1) is False  # released while still suspended
    assert gate.soonest_end() is None  # it no longer waits
    assert gate.held() and gate.reasons() == ["suspended"]
    gate.window_until = NOW  # a release passes the status only: a window still holds
    waiter = asyncio.create_task(gate.wait(recheck=0.05, queued_at=NOW, now=lambda: NOW))
    later = asyncio.create_task(gate.wait(recheck=0.05, queued_at=NOW + timedelta(seconds=5), now=lambda: NOW))
    await asyncio.sleep(0.1)
    assert not waiter.done() and not later.done()
    gate.on_pause(NOW + timedelta(hours=1, minutes=5))  # paused: when to resume for the status hold's work
    assert gate.next_expiry == NOW + timedelta(hours=1, seconds=5) and gate.release_pending
    assert not gate.status_work_due(NOW)  # the window holds the released one
    gate.window_until = None
    assert gate.status_work_due(NOW)  # only the status holds now: the released one can go
    gate.release_pending = False
    assert not gate.status_work_due(NOW) and gate.status_work_due(NOW + timedelta(hours=1, seconds=5))
    waiter.cancel()
    later.cancel()
    gate.status_reason = "no_secret"  # not a registry status: no time limit
    assert not gate.status_applies() and gate.decided(NOW) is None


# ---------------------------------------------------------------- the registry's record and the store


def test_decisions_are_recorded_with_their_reason_and_count_since_the_status_was_set(store: Any) -> None:
    from hub import registry
    from hub.config import Partner

    rcpt = Partner.model_validate(REGISTRY[1])
    with pytest.raises(registry.RegistryError, match="active"):
        registry.change(store, rcpt, "release-held", "nothing is held", by="op")
    registry.change(store, rcpt, "suspend", "fee unpaid", by="op", now=NOW)
    with pytest.raises(registry.RegistryError, match="deregistered"):
        registry.change(store, rcpt, "settle-reject", "not deregistered", by="op", now=NOW)
    registry.change(store, rcpt, "release-held", "urgent permits", by="op", now=NOW + timedelta(hours=1))
    assert registry.holds(store)[RCPT] == registry.Hold(NOW, "release", NOW + timedelta(hours=1))
    registry.change(store, rcpt, "reinstate", "paid", by="op", now=NOW + timedelta(hours=2))
    registry.change(store, rcpt, "deregister", "ceased operations", by="op", now=NOW + timedelta(hours=3))
    assert registry.holds(store)[RCPT] == registry.Hold(NOW + timedelta(hours=3))  # the release was another status's
    registry.change(store, rcpt, "settle-reject", "regulation 15(3)(b)", by="op", now=NOW + timedelta(hours=4))
    registry.change(store, rcpt, "cancel-held", "the rest too", by="op", now=NOW + timedelta(hours=5))
    assert registry.holds(store)[RCPT] == registry.Hold(NOW + timedelta(hours=3), "cancel", NOW + timedelta(hours=5))
    with pytest.raises(registry.RegistryError, match="final"):
        registry.change(store, rcpt, "reinstate", "oops", by="op")
    assert [(c.action, c.reason) for c in registry.history(store, RCPT)][-2:] == [
        ("settle-reject", "regulation 15(3)(b)"), ("cancel-held", "the rest too")]
    seed = Partner.model_validate(dict(REGISTRY[0], status="suspended"))  # suspended in partners.yaml
    registry.change(store, seed, "cancel-held", "seed status", by="op", now=NOW)
    assert registry.holds(store)[SENDER] == registry.Hold(None, "cancel", NOW)


def test_the_store_counts_held_deliveries_per_lane(store: Any) -> None:
    records = DeliveryRecords(store)

    def held(lane: str, n: int) -> HeldDelivery:
        return HeldDelivery(RCPT, lane, 1, f"m-{lane}-{n}", SENDER, f"c-{n}", ENTRY, "application/json", b"{}",
                            queued_at=NOW + timedelta(minutes=n))

    head = held("ucr:A", 0)
    head.reason = "PARTNER_SUSPENDED"
    records.dead_head(head, NOW)
    records.park(held("ucr:A", 1), NOW)
    records.park(held("ucr:A", 2), NOW)
    records.block(held("ucr:B", 3), NOW)
    records.park(held("ucr:B", 4), NOW)
    lanes = records.held_by_lane(RCPT)
    assert [(x.lane, x.state, x.retry, x.parked, x.oldest_queued_at) for x in lanes] == [
        ("ucr:A", DEAD, 0, 2, NOW + timedelta(minutes=1)), ("ucr:B", "blocked", 1, 1, NOW + timedelta(minutes=3))]
    assert records.waiting_lanes(RCPT) == [("ucr:A", 1), ("ucr:B", 1)]
    assert records.waiting_lanes(SENDER) == [] and records.held_by_lane(SENDER) == []
    assert [d.kind for d in records.lane_rows(RCPT, "ucr:A")] == [DEAD, PARKED, PARKED]


# ---------------------------------------------------------------- on real hubs


def _hub(tmp: pytest.TempPathFactory, name: str, secrets_file: Path, delivery: dict[str, Any]) -> HubUnderTest:
    hut = HubUnderTest(tmp.mktemp(name), secrets_file=secrets_file, partners=REGISTRY,
                       settings={"delivery": delivery, "correlation": {"check_interval": 1.0}})
    hut.provision()
    hut.start()
    return hut


@pytest.fixture(scope="module")
def expiry_hub(broker: None, tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Iterator[HubUnderTest]:
    """Holds end after 3.6 s; a partner held 2 s is paused (its deliveries wait in hub.out, not in memory)."""
    hut = _hub(tmp_path_factory, "holds-expiry", secrets_file, {"suspended_hold_hours": LIMIT_H, "pause_after": 2.0})
    try:
        yield hut
    finally:
        hut.close()


@pytest.fixture(scope="module")
def decision_hub(broker: None, tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Iterator[HubUnderTest]:
    """The default hold limit (72 h): only operators' decisions end a hold here."""
    hut = _hub(tmp_path_factory, "holds-decisions", secrets_file, {"pause_after": 2.0})
    try:
        yield hut
    finally:
        hut.close()


def entry(consignment: int, n: int) -> bytes:
    doc = json.loads(example(ENTRY, "valid", ".json").read_bytes())
    return json.dumps(dict(doc, ucr=f"26KEP051234568H{consignment:06d}", declarationId=f"26MBAIM{n:09d}")).encode()


def payment(ucr: str) -> bytes:
    doc = json.loads((EXAMPLES / PAYMENT / "valid" / "duty-2026icms000412871.json").read_bytes())
    return json.dumps(dict(doc, ucr=ucr)).encode()


def ok(hut: HubUnderTest, *args: str) -> str:
    out = hut.cli(*args)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def dlq(hut: HubUnderTest) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(ok(hut, "dlq", "list", "--partner", RCPT, "--json"))
    return rows


async def inbox(hut: HubUnderTest, pid: str, want: int, within: float = 30) -> list[str]:
    got: list[str] = []
    deadline = time.monotonic() + within
    async with hut.partner(pid) as c:
        while len(got) < want and time.monotonic() < deadline:
            got += [d.correlation_id or "" for d in await c.inbox(max_count=want - len(got) + 5, idle=0.5)]
    return got


async def acks(hut: HubUnderTest, pid: str, want: Callable[[list[dict[str, Any]]], bool], within: float = 30,
               seen: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    got = seen if seen is not None else []
    deadline = time.monotonic() + within
    async with hut.partner(pid) as c:
        while not want(got) and time.monotonic() < deadline:
            got += await c.acks(max_count=200, idle=0.5)
    assert want(got), f"acks of {pid}: {got}"
    return got


def in_order(got: list[str], consignment_of: Callable[[str], int]) -> bool:
    per: dict[int, list[int]] = {}
    for mid in got:
        per.setdefault(consignment_of(mid), []).append(int(mid.rsplit("-", 1)[1]))
    return all(seq == sorted(seq) for seq in per.values())


async def test_held_past_the_limit_they_are_dead_letters_with_partner_suspended_and_replay_restores_order(
        expiry_hub: HubUnderTest) -> None:
    hut = expiry_hub
    ok(hut, "partners", "suspend", RCPT, "--reason", "annual fee unpaid (regulation 9)")
    await asyncio.sleep(3.5)  # applied within 2 s, then paused after 2 s held: what comes waits in hub.out
    sent = [(c, f"x-{c}-0") for c in range(6)] + [(9, f"x-9-{n}") for n in range(3)]
    async with hut.partner(SENDER) as c:
        for n, (consignment, mid) in enumerate(sent):
            await c.publish(entry(consignment, n), ENTRY, content_type="application/json", message_id=mid)
    heads = sorted(f"x-{c}-0" for c in (0, 1, 2, 3, 4, 5, 9))

    await eventually(lambda: len(dlq(hut)) >= len(heads), 45, "7 dead letters")
    got_acks = await acks(hut, SENDER, lambda a: len([x for x in a if x["status"] == "delivery_failed"]) >= 7)
    await asyncio.sleep(1.5)  # anything more would show now
    dead = dlq(hut)
    assert sorted(d["correlation_id"] for d in dead) == heads  # one per consignment: its first delivery
    assert {(d["reason"], d["attempts"]) for d in dead} == {("PARTNER_SUSPENDED", 0)}
    assert all("suspended" in d["last_error"] and "reason" not in d["last_error"] for d in dead)
    failed = [a for a in got_acks if a["status"] == "delivery_failed"]
    assert sorted(a["correlation_id"] for a in failed) == heads
    assert {e["code"] for a in failed for e in a["errors"]} == {"DELIVERY_FAILED"}
    assert all("(PARTNER_SUSPENDED)" in a["errors"][0]["message"] for a in failed)
    assert sorted(a["correlation_id"] for a in got_acks if a["status"] == "accepted") == sorted(m for _c, m in sent)
    assert await inbox(hut, RCPT, 1, within=2) == []  # delivered 0
    held = json.loads(ok(hut, "partners", "held", RCPT, "--json"))
    assert held["status"] == "suspended" and held["status_since"] and held["hold_limit_hours"] == LIMIT_H
    assert held["dead_letters"] == 7 and held["store"]["deliveries"] == 2  # x-9-1, x-9-2 behind x-9-0
    [lane] = held["store"]["lanes"]
    assert (lane["lane"], lane["state"], lane["parked"]) == ("ucr:26KEP051234568H000009", "dead", 2)
    text = ok(hut, "partners", "held", RCPT)
    assert "in the store: 2 deliveries in 1 consignment lane(s)" in text and "behind a dead letter" in text
    # they came while the partner was paused: the monitor resumed it when their holds could end
    assert hut.logged("deliveries paused while the partner is held") >= 1 and hut.logged("deliveries resumed") >= 1

    ok(hut, "partners", "reinstate", RCPT, "--reason", "fee paid")
    await asyncio.sleep(3)
    ok(hut, "dlq", "replay", "--partner", RCPT)
    got = await inbox(hut, RCPT, len(sent))
    await asyncio.sleep(1)
    got += await inbox(hut, RCPT, 1, within=1.5)  # a repeat would show now
    assert sorted(got) == sorted(m for _c, m in sent)
    assert [m for m in got if m.startswith("x-9-")] == ["x-9-0", "x-9-1", "x-9-2"]
    assert dlq(hut) == []


async def test_release_held_delivers_while_suspended_and_cancel_held_dead_letters_the_rest(
        decision_hub: HubUnderTest) -> None:
    hut = decision_hub
    ok(hut, "partners", "suspend", RCPT, "--reason", "investigation")
    await asyncio.sleep(3.5)  # paused by now
    async with hut.partner(SENDER) as c:
        for n in range(8):  # two consignments, interleaved
            await c.publish(entry(n % 2, 100 + n), ENTRY, content_type="application/json", message_id=f"r-{n % 2}-{n}")
    assert await inbox(hut, RCPT, 1, within=2) == []

    def queued() -> dict[str, Any] | None:
        doc: dict[str, Any] = json.loads(ok(hut, "partners", "held", RCPT, "--json"))
        return doc if doc["queues"] and doc["queues"]["messages"] == 8 else None

    held = await eventually(queued, 20, "the management API to count 8 in hub.out")  # its figures lag up to 5 s
    assert held["store"]["deliveries"] == 0 and held["decision"] is None
    assert hut.logged("deliveries paused while the partner is held") >= 1  # the release has to resume it
    ok(hut, "partners", "release-held", RCPT, "--reason", "urgent: perishable cargo")
    got = await inbox(hut, RCPT, 8)
    assert sorted(got) == sorted(f"r-{n % 2}-{n}" for n in range(8)) and len(got) == 8
    assert in_order(got, lambda mid: int(mid.split("-")[1]))
    show = json.loads(ok(hut, "partners", "show", RCPT, "--json"))
    assert show["status"] == "suspended"
    assert [(c["action"], c["reason"]) for c in show["changes"]][-1] == ("release-held", "urgent: perishable cargo")

    async with hut.partner(SENDER) as c:  # queued after the release: held again
        for n in (8, 9):
            await c.publish(entry(n % 2, 100 + n), ENTRY, content_type="application/json", message_id=f"r-{n % 2}-{n}")
    assert await inbox(hut, RCPT, 1, within=4) == []
    ok(hut, "partners", "cancel-held", RCPT, "--reason", "the agency asked us to drop them")
    await eventually(lambda: len(dlq(hut)) >= 2, 30, "2 dead letters")
    dead = dlq(hut)
    assert sorted(d["correlation_id"] for d in dead) == ["r-0-8", "r-1-9"]
    assert {d["reason"] for d in dead} == {HELD_CANCELLED}
    assert all("drop" not in d["last_error"] for d in dead)  # the operator's words stay in the registry
    got_acks = await acks(hut, SENDER, lambda a: len([x for x in a if x["status"] == "delivery_failed"]) >= 2)
    assert sorted(a["correlation_id"] for a in got_acks if a["status"] == "delivery_failed") == ["r-0-8", "r-1-9"]

    ok(hut, "partners", "reinstate", RCPT, "--reason", "cleared")
    ok(hut, "dlq", "purge", "--partner", RCPT, "--yes")
    assert await inbox(hut, RCPT, 1, within=3) == []  # cancelled and purged: never delivered
    refused = hut.cli("partners", "release-held", RCPT, "--reason", "x")
    assert refused.returncode == 1 and "active" in refused.stderr


async def test_settle_reject_answers_a_deregistered_partners_parked_message_and_leaves_nothing_parked(
        decision_hub: HubUnderTest) -> None:
    hut = decision_hub
    async with hut.partner(BANK) as bank:
        await bank.publish(payment("26KEP0512345680000801"), PAYMENT, content_type="application/json",
                           message_id="pay-r")
    await acks(hut, BANK, lambda a: any(x["status"] == "pending" for x in a))
    refused = hut.cli("partners", "settle", BANK, "--reject", "--reason", "not deregistered yet")
    assert refused.returncode == 1 and "deregistered" in refused.stderr
    ok(hut, "partners", "deregister", BANK, "--reason", "regulation 15(1)(c): asked to leave")
    pending = json.loads(ok(hut, "partners", "pending", BANK, "--json"))
    assert [(p["message_id"], p["reason"]) for p in pending["parked"]] == [("pay-r", "PARTIES_UNKNOWN")]
    assert pending["held"]["status"] == "deregistered" and pending["dead_letters"] == []
    assert "waiting for correlation (hub parked): 1" in ok(hut, "partners", "pending", BANK)
    assert hut.cli("partners", "settle", BANK, "--reject", "--cancel", "-r", "both").returncode == 1

    out = ok(hut, "partners", "settle", BANK, "--reject", "--reason", "regulation 15(3)(b): rejected")
    assert "1 of 1" in out
    got = await acks(hut, BANK, lambda a: any(x["status"] == "rejected" for x in a))
    [rejected] = [a for a in got if a["status"] == "rejected"]
    assert rejected["correlation_id"] == "pay-r"
    assert [e["code"] for e in rejected["errors"]] == ["PARTNER_DEREGISTERED"]
    assert [p for p in json.loads(ok(hut, "parked", "list", "--json")) if p["sender"] == BANK] == []
    assert json.loads(ok(hut, "partners", "pending", BANK, "--json"))["parked"] == []
    assert json.loads(ok(hut, "partners", "show", BANK, "--json"))["changes"][-1]["action"] == "settle-reject"
    assert await inbox(hut, RCPT, 1, within=2) == []  # delivered to nobody


async def test_settle_complete_routes_a_deregistered_partners_parked_message_now(decision_hub: HubUnderTest) -> None:
    hut = decision_hub
    async with hut.partner(BANK2) as bank:
        await bank.publish(payment("26KEP0512345680000802"), PAYMENT, content_type="application/json",
                           message_id="pay-c")
    await acks(hut, BANK2, lambda a: any(x["status"] == "pending" for x in a))
    ok(hut, "partners", "deregister", BANK2, "--reason", "licence revoked (regulation 15(1)(e))")
    out = ok(hut, "partners", "settle", BANK2, "--complete", "--reason", "regulation 15(3)(b): proceed")
    assert "1 of 1" in out and "1 deliveries" in out
    got = await acks(hut, BANK2, lambda a: any(x["status"] == "accepted" for x in a))
    assert [a["correlation_id"] for a in got if a["status"] == "accepted"] == ["pay-c"]
    assert await inbox(hut, RCPT, 1) == ["pay-c"]  # KenTrade's profile: cell `all`
    assert json.loads(ok(hut, "partners", "pending", BANK2, "--json"))["parked"] == []
    ok(hut, "audit", "verify")  # the command's entries (and the rejection's before) chain on the hub's
