"""The registry's record on a running hub (hub.registry): a suspended sender is refused with
PARTNER_SUSPENDED; a suspended recipient's deliveries are held and delivered in order per consignment after
``hub partners reinstate``; every change carries its reason in ``hub partners show``; deregistration is
final; ``rotate-credentials`` makes the old broker password stop working at once."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from hub import topology as t
from hub.client import broker_url
from hub.testing import HubUnderTest
from tests.conftest import example

pytestmark = [pytest.mark.broker]

SENDER, MSG_TYPE = "mfano-clearing", "customs.entry"
REGISTRY: list[dict[str, Any]] = [
    {"id": SENDER, "name": "Mfano Clearing", "profiles": ["CA"], "sends": [MSG_TYPE],
     "identifiers": {"kra_pin": ["P051234567A"]}},
    {"id": "kra-icms", "name": "iCMS", "profiles": ["CUS"]},
    {"id": "kentrade", "name": "KenTrade", "profiles": ["KT"]},
    {"id": "kma", "name": "KMA", "profiles": ["NPA"], "identifiers": {"agency": ["KMA"]}},
    # broker users are global: the credential rotated here belongs to no other test module's partner
    {"id": "reg-probe", "name": "Rotation probe", "profiles": ["NT"]},
]


@pytest.fixture(scope="module")
def reg_hub(broker: None, tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Iterator[HubUnderTest]:
    hut = HubUnderTest(tmp_path_factory.mktemp("registry"), secrets_file=secrets_file, partners=REGISTRY)
    try:
        hut.provision()
        hut.start()
        yield hut
    finally:
        hut.close()


def entry(consignment: int, n: int) -> bytes:
    doc = json.loads(example(MSG_TYPE, "valid", ".json").read_bytes())
    return json.dumps(dict(doc, ucr=f"26KEP051234568R{consignment:06d}", declarationId=f"26MBAIM{n:09d}")).encode()


def ok(hut: HubUnderTest, *args: str) -> str:
    out = hut.cli("partners", *args)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


async def drain(hut: HubUnderTest, pid: str, want: int, within: float = 30) -> list[str]:
    got: list[str] = []
    deadline = time.monotonic() + within
    async with hut.partner(pid) as c:
        while len(got) < want and time.monotonic() < deadline:
            got += [d.correlation_id or "" for d in await c.inbox(max_count=want - len(got), idle=0.5)]
    return got


async def test_suspended_recipient_is_held_and_gets_everything_in_order_after_reinstatement(
        reg_hub: HubUnderTest) -> None:
    hut = reg_hub
    ok(hut, "suspend", "kma", "--reason", "annual fee unpaid (regulation 9)")
    await asyncio.sleep(3)  # running hubs apply it within 2 s
    async with hut.partner(SENDER) as c:
        for n in range(20):  # two consignments, ten messages each, interleaved
            await c.publish(entry(n % 2, n), MSG_TYPE, content_type="application/json", message_id=f"r-{n}")
    assert sorted(await drain(hut, "kentrade", 20)) == sorted(f"r-{n}" for n in range(20))
    assert await drain(hut, "kma", 1, within=3) == []  # held, not lost
    st = {p["partner"]: p for p in json.loads(hut.cli("status", "--json").stdout)["partners"]}
    assert st["kma"]["state"] == "suspended"
    ok(hut, "reinstate", "kma", "--reason", "fee paid")
    got = await drain(hut, "kma", 20)
    assert sorted(got) == sorted(f"r-{n}" for n in range(20)) and len(got) == 20
    for consignment in (0, 1):  # in order per consignment
        mine = [mid for mid in got if int(mid[2:]) % 2 == consignment]
        assert mine == sorted(mine, key=lambda mid: int(mid[2:]))
    changes = json.loads(ok(hut, "show", "kma", "--json"))["changes"]
    assert [(c["action"], c["reason"]) for c in changes] == [
        ("suspend", "annual fee unpaid (regulation 9)"), ("reinstate", "fee paid")]


async def test_suspended_sender_is_refused_until_reinstated(reg_hub: HubUnderTest) -> None:
    hut = reg_hub
    ok(hut, "suspend", SENDER, "--reason", "investigation")
    await asyncio.sleep(3)
    async with hut.partner(SENDER) as c:
        ack = await c.send(entry(5, 100), MSG_TYPE, content_type="application/json", message_id="s-1", timeout=20)
        assert ack is not None and ack["status"] == "rejected"
        assert [e["code"] for e in ack["errors"]] == ["PARTNER_SUSPENDED"]
    ok(hut, "reinstate", SENDER, "--reason", "cleared")
    await asyncio.sleep(3)
    async with hut.partner(SENDER) as c:
        ack = await c.send(entry(5, 100), MSG_TYPE, content_type="application/json", message_id="s-1", timeout=20)
    assert ack is not None and ack["status"] == "accepted"


def test_changes_need_a_reason_and_deregistration_is_final(reg_hub: HubUnderTest) -> None:
    hut = reg_hub
    assert hut.cli("partners", "suspend", "kra-icms", "--reason", " ").returncode == 1
    assert hut.cli("partners", "suspend", "nobody", "--reason", "x").returncode == 1
    ok(hut, "deregister", "kentrade", "--reason", "regulation 15(1): ceased operations")
    refused = hut.cli("partners", "reinstate", "kentrade", "--reason", "oops")
    assert refused.returncode == 1 and "deregistered" in refused.stderr
    assert json.loads(ok(hut, "show", "kentrade", "--json"))["status"] == "deregistered"


async def test_rotated_credentials_replace_the_old_password_at_once(reg_hub: HubUnderTest) -> None:
    hut = reg_hub
    old = hut.secrets.get("reg-probe")
    assert old
    ok(hut, "rotate-credentials", "reg-probe", "--reason", "laptop lost")
    from hub.secrets import Secrets

    new = Secrets(hut.config.secrets_path(), env=hut.env).get("reg-probe")
    assert new and new != old
    b = hut.config.settings.broker
    with pytest.raises(aio_pika.exceptions.ProbableAuthenticationError):
        await aio_pika.connect(broker_url(b.url, hut.vhost, "reg-probe", old), timeout=10)
    conn = await aio_pika.connect(broker_url(b.url, hut.vhost, "reg-probe", new), timeout=10)
    ch = await conn.channel()
    await ch.get_queue(t.inbox("reg-probe"), ensure=False)
    await conn.close()
    changes = json.loads(ok(hut, "show", "reg-probe", "--json"))["changes"]
    assert [c["action"] for c in changes][-1] == "rotate-credentials"


def test_store_record_overrides_the_seed_and_keeps_history(store: Any) -> None:
    from hub import registry
    from hub.config import PartnerStatus, load_config
    from tests.conftest import ROOT

    cfg = load_config(ROOT / "config", env={})
    kma = cfg.partner_index()["kma"]
    assert registry.statuses(store) == {}
    registry.change(store, kma, "suspend", "fee unpaid", by="op1")
    registry.change(store, kma, "rotate-credentials", "lost laptop", by="op2")  # no status change
    assert registry.statuses(store) == {"kma": PartnerStatus.SUSPENDED}
    applied = {p.id: p.status for p in registry.apply(cfg.partners, registry.statuses(store))}
    assert applied["kma"] is PartnerStatus.SUSPENDED and applied["kentrade"] is PartnerStatus.ACTIVE
    registry.change(store, kma, "deregister", "ceased operations", by="op1")
    with pytest.raises(registry.RegistryError):
        registry.change(store, kma, "reinstate", "oops", by="op1")
    with pytest.raises(registry.RegistryError):
        registry.change(store, cfg.partner_index()["kentrade"], "suspend", "   ")
    assert [(c.action, c.reason, c.by) for c in registry.history(store, "kma")] == [
        ("suspend", "fee unpaid", "op1"), ("rotate-credentials", "lost laptop", "op2"),
        ("deregister", "ceased operations", "op1")]
