"""Drain benchmark: how close the drain ETA that operators see comes to the real drain time after a window.

Scenario (the February 2026 test without the kill, tests/test_outage_feb2026.py): the example registry, an
iCMS window, N customs entries over N/10 consignments sent during it (held), then the window ends. Figures:

  eta_at_end      the ETA ``hub status --json`` shows for iCMS just before the window ends (its rate comes
                  from what the hub observed delivering to other partners: the hub's capacity), minus the
                  window time still to run: the predicted drain time
  eta_2s          the ETA shown 2 s into the drain (the rate then is iCMS's own)
  actual          seconds from the window's end until an independent consumer holds all N deliveries
  baseline        a bare aio-pika forwarder moving the same N messages from a quorum queue to an inbox
                  (consume, publish persistent with confirms, ack; 100 in flight), in the same process tree:
                  the broker's floor for the drain
  rate=R          with ``--rate R``: iCMS's registry drain_rate set to R per second, ETA and actual again

Usage: .venv/bin/python benchmarks/drain_eta.py [--messages 5000] [--rate 400] [--json]
Needs RabbitMQ as for the tests (./scripts/test starts it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aio_pika  # noqa: E402
import yaml  # noqa: E402

from hub import topology as t  # noqa: E402
from hub.testing import HubUnderTest  # noqa: E402
from hub.windows import EAT  # noqa: E402
from tests.test_outage_feb2026 import ICMS  # noqa: E402

SENDER, MSG_TYPE = "mfano-clearing", "customs.entry"  # entries: iCMS and six other recipients
ANNOUNCED = datetime(2026, 2, 6, 18, 0, tzinfo=EAT)
START = datetime(2026, 2, 7, 18, 0, tzinfo=EAT)
END = datetime(2026, 2, 9, 6, 0, tzinfo=EAT)


def make_docs(n: int) -> list[tuple[str, bytes]]:
    base = json.loads((ROOT / "examples" / MSG_TYPE / "valid" / "26mbaim000412871.json").read_bytes())
    return [(f"bench-{i}", json.dumps(dict(base, ucr=f"26KEP051234568F{i // 10:06d}",
                                             declarationId=f"26MBAIM{i:09d}")).encode()) for i in range(n)]


def icms_status(hut: HubUnderTest) -> dict[str, Any]:
    doc = json.loads(hut.cli("status", "--json").stdout)
    return next(p for p in doc["partners"] if p["partner"] == ICMS)


async def scenario(n: int, rate: float | None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="drain-eta-"))
    partners = yaml.safe_load((ROOT / "config" / "partners.yaml").read_text())["partners"]
    if rate is not None:
        for p in partners:
            if p["id"] == ICMS:
                p["drain_rate"] = rate
    hut = HubUnderTest(work, secrets_file=ROOT / "var" / "secrets.json", clock_file=work / "clock",
                       partners=partners)
    assert hut.clock is not None
    hut.clock.set(ANNOUNCED)
    try:
        hut.provision()
        hut.start()
        r = hut.cli("windows", "add", ICMS, "2026-02-07 18:00", "2026-02-09 06:00")
        assert r.returncode == 0, r.stderr
        hut.clock.set(START)
        await asyncio.sleep(2.0)
        docs = make_docs(n)
        async with hut.partner(SENDER) as c:
            for i in range(0, n, 250):
                await asyncio.gather(*(c.publish(body, MSG_TYPE, content_type="application/json", message_id=mid)
                                       for mid, body in docs[i : i + 250]))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # every entry held for iCMS (and the others' backlogs delivered)
            await asyncio.sleep(2.5)
            st = icms_status(hut)
            if st["held"] == n:
                break
        st = icms_status(hut)
        window_left = (END - hut.clock.now()).total_seconds()
        eta_at_end = st["drain_eta_seconds"] - window_left if st["drain_eta_seconds"] is not None else None
        seen: set[str] = set()
        async with hut.partner(ICMS) as client:
            assert client.channel is not None
            await client.channel.set_qos(prefetch_count=500)
            q = await client.channel.get_queue(t.inbox(ICMS), ensure=True)

            async def on(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
                seen.add(msg.correlation_id or "")
                await msg.ack()

            await q.consume(on)
            hut.clock.set(END)
            t0 = time.monotonic()
            eta_2s = None
            while len(seen) < n and time.monotonic() - t0 < 600:
                await asyncio.sleep(0.05)
                if eta_2s is None and time.monotonic() - t0 >= 2.0:
                    eta_2s = await asyncio.to_thread(lambda: icms_status(hut)["drain_eta_seconds"])
                    eta_2s = None if eta_2s is None else eta_2s + 2.0  # as a prediction from the window's end
            actual = time.monotonic() - t0
        return {"messages": n, "drain_rate": rate, "eta_at_end_s": _r(eta_at_end), "eta_2s_s": _r(eta_2s),
                "actual_s": _r(actual), "error_at_end_pct": _pct(eta_at_end, actual),
                "error_2s_pct": _pct(eta_2s, actual), "delivered": len(seen)}
    finally:
        hut.close()


async def baseline(n: int) -> dict[str, Any]:
    """A bare forwarder: quorum queue -> quorum queue, confirms, 100 in flight, on its own vhost."""
    import httpx

    vhost = f"bench-{int(time.time() * 1000)}"
    api = httpx.AsyncClient(base_url="http://127.0.0.1:15672/api", auth=("guest", "guest"))
    await api.put(f"/vhosts/{vhost}")
    await api.put(f"/permissions/{vhost}/guest", json={"configure": ".*", "write": ".*", "read": ".*"})
    try:
        conn = await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:5672/{vhost}")
        ch = await conn.channel(publisher_confirms=True)
        args = {"x-queue-type": "quorum"}
        src = await ch.declare_queue("src", durable=True, arguments=args)
        await ch.declare_queue("dst", durable=True, arguments=args)
        body = make_docs(1)[0][1]
        for i in range(0, n, 250):
            await asyncio.gather(*(ch.default_exchange.publish(aio_pika.Message(body, delivery_mode=2), "src")
                                   for _ in range(min(250, n - i))))
        sub = await conn.channel()
        await sub.set_qos(prefetch_count=100)
        done = asyncio.Event()
        moved = 0

        async def forward(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal moved
            await ch.default_exchange.publish(aio_pika.Message(msg.body, delivery_mode=2), "dst")
            await msg.ack()
            moved += 1
            if moved == n:
                done.set()

        t0 = time.monotonic()
        await src.consume(forward)
        await asyncio.wait_for(done.wait(), 600)
        elapsed = time.monotonic() - t0
        await conn.close()
        return {"messages": n, "seconds": _r(elapsed), "per_second": round(n / elapsed)}
    finally:
        await api.delete(f"/vhosts/{vhost}")
        await api.aclose()


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


def _pct(predicted: float | None, actual: float) -> float | None:
    return None if predicted is None else round(100 * (predicted - actual) / actual, 1)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=None, help="also run with iCMS drain_rate set to this")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    out: dict[str, Any] = {"unlimited": await scenario(a.messages, None)}
    if a.rate:
        out[f"rate={a.rate:g}"] = await scenario(a.messages, a.rate)
    out["baseline_forwarder"] = await baseline(a.messages)
    if a.json:
        print(json.dumps(out, indent=1))
        return
    for name, r in out.items():
        print(f"{name:<20} " + "  ".join(f"{k}={v}" for k, v in r.items()))


if __name__ == "__main__":
    asyncio.run(main())
