"""``hub run --role ingest`` and ``--role delivery`` as two processes (a core each) do the work of one: the
ingest process acknowledges and queues, only the delivery process delivers, and deliveries queued while no
delivery process runs arrive once one starts, each once. An acknowledgement still carries ``held_until``
for a recipient in a maintenance window (the ingest process reads the windows itself)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.clock import FileClock
from hub.testing import HubUnderTest, collect
from tests.conftest import canonical_registry, example

pytestmark = [pytest.mark.broker]

MSG_TYPE, RECIPIENT = "eseal.event", "kra-icms"
SEAL_SENDER = "mfano-eseal"  # eseal.event goes to customs (CUS) only: one recipient, kra-icms
N = 40


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


async def send_all(hut: HubUnderTest, run: str, n: int) -> list[dict[str, object]]:
    data = example("eseal.event", "valid", ".json").read_bytes()
    acks = []
    async with hut.partner(SEAL_SENDER) as c:
        for i in range(n):
            ack = await c.send(data, MSG_TYPE, content_type="application/json", message_id=f"{run}-{i}", timeout=30)
            assert ack is not None, hut.tail_log()
            acks.append(ack)
    return acks


async def test_ingest_and_delivery_as_separate_processes(broker: None, tmp_path: Path, secrets_file: Path) -> None:
    clock = FileClock(tmp_path / "clock")
    clock.set(datetime.now(UTC))
    hut = HubUnderTest(tmp_path, secrets_file=secrets_file, partners=canonical_registry(), clock_file=clock.path)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        hut.provision()
        ingest = hut.spawn("--role", "ingest")
        procs.append(ingest)
        hut.wait_consuming(90, since=0)
        run = f"r-{uuid.uuid4().hex[:8]}"
        # no delivery process yet: everything is acknowledged, nothing delivered
        acks = await send_all(hut, run, N)
        assert Counter(a["status"] for a in acks) == Counter({"accepted": N})
        async with hut.partner(RECIPIENT) as c:
            assert await c.inbox(10, idle=2.0) == []
        queued = 0
        for _ in range(40):  # the management API's counts lag by up to its stats interval (5 s)
            queued = sum(hut.queue_depth(f"hub.out.{RECIPIENT}.{k}") for k in range(2))
            if queued >= N:
                break
            await asyncio.sleep(0.5)
        assert queued == N, queued  # waiting in the hub's queues, for a delivery process
        # a window on the recipient: the ingest process's acknowledgements say until when it is held
        start = clock.now() + timedelta(minutes=10)
        added = hut.cli("windows", "add", RECIPIENT, start.isoformat(), (start + timedelta(hours=2)).isoformat(),
                        "--emergency", "--reason", "test")
        assert added.returncode == 0, added.stderr
        clock.set(start + timedelta(minutes=1))
        await asyncio.sleep(6)  # the ingest process re-reads windows every 5 s
        held = await send_all(hut, run + "-w", 1)
        assert held[0]["status"] == "accepted" and held[0]["held_until"], held
        assert hut.cli("windows", "cancel", "1").returncode == 0
        # the delivery process delivers what was queued, each once
        delivery = hut.spawn("--role", "delivery")
        procs.append(delivery)
        async with hut.partner(RECIPIENT) as c:
            got = await collect(c, f"partner.{RECIPIENT}.inbox", N + 1, within=60)
        ids = Counter(d.correlation_id for d in got)
        assert len(ids) == N + 1 and max(ids.values()) == 1, ids
    finally:
        for p in procs:
            stop(p)
        hut.close()
