"""The store goes away for a quarter of a minute while partners send: nothing is quarantined, nothing is lost.

The test takes SQLite's write lock (``BEGIN EXCLUSIVE``) for 15 s, longer than the store's busy timeout
(10 s), so the hub's commits fail with ``StoreUnavailable`` as they would with PostgreSQL down. The hub keeps
the batch unacknowledged and retries the commit (log ``store unavailable; batch kept, retrying``) instead of
giving the batch back to the broker (which would spend the inbound delivery limit of 50 in minutes and
quarantine the senders' messages). When the lock is released every message is accepted once and delivered.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub import topology as t
from hub.testing import HubUnderTest, collect
from tests.conftest import example
from tests.test_crash import PARTNERS, SENDER

pytestmark = [pytest.mark.slow, pytest.mark.broker]

LOCKED_FOR = 15.0  # longer than the store's busy timeout (10 s): at least one commit fails
N = 50


@pytest.fixture
def outage_hub(broker: None, tmp_path: Path, secrets_file: Path) -> Iterator[HubUnderTest]:
    hut = HubUnderTest(tmp_path, secrets_file=secrets_file, partners=PARTNERS)
    try:
        hut.provision()
        hut.start()
        yield hut
    finally:
        hut.close()


async def test_a_store_outage_keeps_batches_and_quarantines_nothing(outage_hub: HubUnderTest) -> None:
    hut = outage_hub
    db = hut.config.store_url()[len("sqlite:///") :]
    body = example("customs.release").read_bytes()
    lock = sqlite3.connect(db, isolation_level=None, timeout=30)
    lock.execute("BEGIN EXCLUSIVE")  # nobody else writes until the test lets go
    try:
        async with hut.partner(SENDER) as c:
            for i in range(N):
                await c.publish(body, "customs.release", content_type="application/xml", message_id=f"so-{i}")
            deadline = time.monotonic() + LOCKED_FOR
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            kept = hut.logged("store unavailable; batch kept, retrying")
            early = await c.acks(max_count=N, idle=0.5)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert kept >= 1, hut.tail_log()
    async with hut.partner(SENDER) as c:
        acks: list[dict] = list(early)  # acks go out with the deliveries, before the commit (README)
        deadline = time.monotonic() + 60
        while len(acks) < N and time.monotonic() < deadline:
            acks += await c.acks(max_count=N, idle=0.5)
    assert sorted(a["correlation_id"] for a in acks) == sorted(f"so-{i}" for i in range(N))
    assert {a["status"] for a in acks} == {"accepted"}
    assert hut.queue_depth(t.QUARANTINE_QUEUE) == 0
    async with hut.partner("kentrade") as c:
        got = await collect(c, t.inbox("kentrade"), N, within=30)
    assert {d.correlation_id for d in got} == {f"so-{i}" for i in range(N)}
    assert hut.proc is not None and hut.proc.poll() is None and hut.starts == 1
    print(f"\nstore outage: {LOCKED_FOR:.0f}s locked, {kept} retries logged, {len(acks)} accepted, "
          f"0 quarantined; {json.dumps(sorted({a['status'] for a in acks}))}")
