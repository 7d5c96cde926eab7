"""The February 2026 scenario: a 36-hour iCMS maintenance window announced about 24 hours ahead.

KRA announced on Friday 6 February 2026 that iCMS would be down from Saturday 7 February 18:00 to Monday
9 February 06:00 (../shared/seeds/icms-maintenance-feb-2026.txt). Time is compressed with the hub's
injectable clock (hub.clock: ``HUB_CLOCK_FILE``): the test writes "now" into a file.

1. 6 Feb 18:00 EAT: ``hub windows add kra-icms "2026-02-07 18:00" "2026-02-09 06:00"``: recorded with
   ``short_notice`` (24 h < 48 h); the ``maintenance.notice`` (SCHEDULED) reaches exactly the 17 partners
   listed below (ACCESS.md ``aff``: a route to or from iCMS) and nobody else.
2. 7 Feb 18:00: the window starts; the REMINDER reaches the same 17.
3. During the window the RECTS e-seal vendor reports 5,000 e-seal positions over 500 sealed consignments
   in transit (10 each; e-seal events go to customs alone). Every one is acknowledged ``accepted`` with
   ``held_until`` = the window's end; iCMS's inbox stays empty; ``hub status`` shows iCMS in ``window``
   with 5,000 held and every other partner up.
   Held longer than ``pause_after``, iCMS's partitions stop being consumed: the 5,000 wait in the hub's
   queues, not in memory.
4. 9 Feb 06:00: the window ends; deliveries drain; the hub is killed with SIGKILL once mid-drain and
   restarted. An independent consumer of iCMS's inbox counts: 0 lost, every repeat with the same message_id,
   and per consignment the first copies in the order sent. Nothing is dead-lettered.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aio_pika.abc import AbstractIncomingMessage

from hub import topology as t
from hub.catalogue import Catalogue
from hub.identifiers import iso6346_check_digit
from hub.ids import delivery_id
from hub.testing import HubUnderTest
from hub.windows import EAT
from tests.conftest import example

pytestmark = [pytest.mark.slow, pytest.mark.broker]

ICMS = "kra-icms"
SENDER = "mfano-eseal"
MSG_TYPE = "eseal.event"
CONSIGNMENTS = 500
PER_CONSIGNMENT = 10
TOTAL = CONSIGNMENTS * PER_CONSIGNMENT
ANNOUNCED = datetime(2026, 2, 6, 18, 0, tzinfo=EAT)
START = datetime(2026, 2, 7, 18, 0, tzinfo=EAT)
END = datetime(2026, 2, 9, 6, 0, tzinfo=EAT)
# Written by hand from ACCESS.md and the example registry (the same set as tests/test_windows.py): every
# partner with a route to or from iCMS; the surveyor, IRA and the Treasury have none, iCMS is the target.
NOTIFIED = {"kentrade", "kpa", "msc-ke", "maersk-ke", "kebs", "kephis", "pcpb", "kma", "mfano-clearing",
            "mfano-imports", "mfano-bank", "mfano-insurance", "pwani-cfs", "mfano-consol", "mfano-gha",
            "mfano-eseal", "mfano-seals"}
NOT_NOTIFIED = {"kra-icms", "mfano-surveyor", "ira", "treasury"}


@pytest.fixture
def feb_hub(broker: None, tmp_path: Path, secrets_file: Path) -> Iterator[HubUnderTest]:
    hut = HubUnderTest(tmp_path, secrets_file=secrets_file, clock_file=tmp_path / "clock",
                       settings={"delivery": {"partitions": 4,  # as in production
                                              "pause_after": 2}})  # production: 60 s (compressed, like the clock)
    try:
        assert hut.clock is not None
        hut.clock.set(ANNOUNCED)
        hut.provision()
        yield hut
    finally:
        hut.close()


def entries() -> list[tuple[str, int, str, bytes]]:
    """(UCR, sequence, message_id, body) for 500 consignments x 10 e-seal positions, each valid."""
    base = json.loads(example(MSG_TYPE, "valid", ".json", index=1).read_bytes())  # a POSITION event
    base.pop("declarationId", None)
    out = []
    for seq in range(PER_CONSIGNMENT):  # round by round: a consignment's events are 500 apart, so the
        for c in range(CONSIGNMENTS):  # batches of 250 concurrent publishes never hold two of them
            ucr = f"26KEP051234568F{c:06d}"
            box = f"MSMU{c:06d}"
            doc = dict(base, ucr=ucr, sealId=f"MES-F{c:06d}", transportEquipmentId=f"{box}{iso6346_check_digit(box)}",
                       eventDateTime=f"2026-02-08T{seq:02d}:00:00+03:00")
            out.append((ucr, seq, f"feb-{c:03d}-{seq:02d}", json.dumps(doc).encode()))
    Catalogue().decode(out[-1][3], "application/json", MSG_TYPE)  # the generated documents are valid
    return out


async def drain_all(hut: HubUnderTest, partners: set[str]) -> dict[str, list[Any]]:
    async def drain(pid: str) -> list[Any]:
        async with hut.partner(pid) as c:
            return await c.inbox(max_count=10_000, idle=0.5)

    ids = sorted(partners)
    return dict(zip(ids, await asyncio.gather(*(drain(pid) for pid in ids)), strict=True))


async def notices_until(hut: HubUnderTest, code: str, within: float = 20.0) -> dict[str, list[str]]:
    """Every partner's maintenance notices, drained until each of NOTIFIED has one with ``code``."""
    got: dict[str, list[str]] = defaultdict(list)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for pid, ds in (await drain_all(hut, NOTIFIED | NOT_NOTIFIED)).items():
            for d in ds:
                assert d.type == "maintenance.notice", (pid, d.type)
                assert d.headers["x-source-partner"] == "hub"
                got[pid].append(_notice_code(d.body, d.content_type))
        if all(code in got[pid] for pid in NOTIFIED):
            break
        await asyncio.sleep(0.5)
    return got


def _notice_code(body: bytes, content_type: str) -> str:
    notice: Any = Catalogue().decode(body, content_type, "maintenance.notice")
    assert notice.target_id == ICMS
    assert notice.start_date_time == START and notice.end_date_time == END
    assert notice.short_notice_indicator is True  # about 24 hours' notice
    return str(notice.type_code.value)


async def send_all(hut: HubUnderTest, docs: list[tuple[str, int, str, bytes]]) -> dict[str, dict[str, Any]]:
    """Publish every entry (confirmed), then collect one acknowledgement per message."""
    acks: dict[str, dict[str, Any]] = {}
    async with hut.partner(SENDER) as c:
        for i in range(0, len(docs), 250):
            await asyncio.gather(*(c.publish(body, MSG_TYPE, content_type="application/json", message_id=mid)
                                   for _ucr, _seq, mid, body in docs[i : i + 250]))
        deadline = time.monotonic() + 120
        while len(acks) < len(docs) and time.monotonic() < deadline:
            for a in await c.acks(max_count=2000, idle=0.5):
                acks[a["correlation_id"]] = a
    return acks


async def test_36_hour_icms_window_announced_a_day_ahead(feb_hub: HubUnderTest) -> None:
    hut = feb_hub
    assert hut.clock is not None
    docs = entries()
    ucr_of = {mid: ucr for ucr, _seq, mid, _b in docs}
    seq_of = {mid: seq for _ucr, seq, mid, _b in docs}
    await asyncio.to_thread(hut.start)

    # 1. the window is announced a day ahead: recorded, flagged short notice, notice to exactly the 17
    r = await asyncio.to_thread(hut.cli, "windows", "add", ICMS, "2026-02-07 18:00", "2026-02-09 06:00",
                                "--reason", "iCMS upgrade", "--json")
    assert r.returncode == 0, r.stderr
    window = json.loads(r.stdout)
    assert window["short_notice"] is True and window["hours"] == 36.0 and window["state"] == "scheduled"
    assert set(window["notified"]) == NOTIFIED
    scheduled = await notices_until(hut, "SCHEDULED")
    assert {pid for pid, codes in scheduled.items() if codes} == NOTIFIED
    assert all(codes == ["SCHEDULED"] for pid, codes in scheduled.items() if codes), scheduled

    # 2. the window starts: a reminder to the same partners; iCMS is held
    hut.clock.set(START)
    reminders = await notices_until(hut, "REMINDER")
    assert {pid for pid, codes in reminders.items() if codes} == NOTIFIED
    assert all(codes == ["REMINDER"] for pid, codes in reminders.items() if codes), reminders
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not hut.logged("maintenance window: holding deliveries"):
        await asyncio.sleep(0.1)

    # 3. 5,000 e-seal events during the window: accepted with held_until; nothing reaches iCMS
    t0 = time.monotonic()
    acks = await send_all(hut, docs)
    sent_s = time.monotonic() - t0
    assert len(acks) == TOTAL
    assert Counter(a["status"] for a in acks.values()) == {"accepted": TOTAL}
    assert {datetime.fromisoformat(a["held_until"]) for a in acks.values()} == {END}
    assert hut.queue_depth(t.inbox(ICMS)) == 0
    await asyncio.sleep(2.5)  # one snapshot interval: hub status reads the running hub's records
    status = json.loads((await asyncio.to_thread(hut.cli, "status", "--json")).stdout)
    icms = next(p for p in status["partners"] if p["partner"] == ICMS)
    assert icms["state"] == "window" and icms["held"] == TOTAL, icms
    # held in the hub.out queues, not in memory: the hub stopped consuming iCMS's partitions
    assert hut.logged("deliveries paused while the partner is held") >= 1
    assert icms["oldest_waiting_seconds"] is not None  # from the hub's record of what it queued
    assert {p["state"] for p in status["partners"] if p["partner"] != ICMS} <= {"up", "unknown"}, status
    assert datetime.fromisoformat(icms["window_until"]) == END
    assert hut.queue_depth(t.inbox(ICMS)) == 0  # still nothing, whatever the wall clock did meanwhile

    # 4. the window ends: drain; SIGKILL once mid-drain; an independent consumer counts
    copies: dict[str, Counter[str]] = defaultdict(Counter)
    first_order: dict[str, list[int]] = defaultdict(list)
    stop = asyncio.Event()

    def record(msg: AbstractIncomingMessage) -> None:
        cid = msg.correlation_id or ""
        if cid not in copies:
            first_order[ucr_of[cid]].append(seq_of[cid])
        copies[cid][msg.message_id or ""] += 1

    async def consume() -> None:
        async with hut.partner(ICMS) as client:
            assert client.channel is not None
            await client.channel.set_qos(prefetch_count=200)
            q = await client.channel.get_queue(t.inbox(ICMS), ensure=True)

            async def handle(msg: AbstractIncomingMessage) -> None:
                record(msg)
                await msg.ack()

            tag = await q.consume(handle, no_ack=False)
            await stop.wait()
            await q.cancel(tag)

    consumer = asyncio.create_task(consume())
    try:
        hut.clock.set(END)
        drain_t0 = time.monotonic()
        deadline = time.monotonic() + 60
        while len(copies) < TOTAL // 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        killed_at = len(copies)
        assert 0 < killed_at < TOTAL, f"no kill mid-drain: {killed_at} delivered"
        await asyncio.to_thread(hut.kill)
        await asyncio.to_thread(hut.start)
        deadline = time.monotonic() + 120
        while len(copies) < TOTAL and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        drain_s = time.monotonic() - drain_t0
        await asyncio.sleep(1.0)  # a late repeat is counted too
    finally:
        stop.set()
        await asyncio.gather(consumer, return_exceptions=True)

    assert hut.logged("deliveries resumed") >= 1
    lost = {mid for _u, _s, mid, _b in docs} - copies.keys()
    repeats = sum(sum(c.values()) - 1 for c in copies.values())
    print(f"\nfeb-2026: sent={TOTAL} in {sent_s:.1f}s delivered={len(copies)} lost={len(lost)} repeats={repeats} "
          f"killed_after={killed_at} drain={drain_s:.1f}s")
    assert not lost, f"{len(lost)} lost, e.g. {sorted(lost)[:5]}"
    for cid, ids in copies.items():
        assert list(ids) == [delivery_id(SENDER, cid, ICMS)], (cid, ids)  # repeats carry the same id
    out_of_order = {ucr: seqs for ucr, seqs in first_order.items() if seqs != sorted(seqs)}
    assert not out_of_order, f"order broken in {len(out_of_order)} consignments: {list(out_of_order.items())[:3]}"
    assert all(len(seqs) == PER_CONSIGNMENT for seqs in first_order.values())
    dlq = await asyncio.to_thread(hut.cli, "dlq", "list", "--json")
    assert dlq.returncode == 0 and json.loads(dlq.stdout) == []
    assert hut.queue_depth(t.DEAD_QUEUE) == 0
