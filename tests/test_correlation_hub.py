"""Correlation on a running hub. Holding (hub.parking): a payment confirmation that reaches the hub before
its IDF is acknowledged ``pending``, survives a SIGKILL of the hub, and is delivered to the parties the IDF
names (and acknowledged ``accepted``) once the IDF arrives, after the IDF in every inbox; one whose IDF never
comes is rejected with ``UCR_UNRESOLVED`` after ``correlation.park_timeout_hours`` (the hub's clock is a file
the test moves forward). Queries (hub.queries): over HTTP (``GET /v1/consignments/{ref}``, bearer tokens from
``hub broker provision``) and over AMQP (``consignment.status.request`` on direct reply-to), a partner sees
only the consignments it is a party to and only what its profiles may see."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.client import Delivery, PartnerClient
from hub.secrets import Secrets
from hub.testing import HubUnderTest
from hub.windows import EAT
from tests.conftest import EXAMPLES
from tests.test_holding import free_port

pytestmark = [pytest.mark.broker]

UCR = "26KEP0512345680000412"  # the IDF example's consignment
ORPHAN_UCR = "26KEP0512345680000999"  # a payment whose IDF never comes
NOW = datetime(2026, 2, 10, 12, 0, tzinfo=EAT)
TIMEOUT_H = 72.0


@pytest.fixture(scope="module")
def corr_hub(broker: None, tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Iterator[HubUnderTest]:
    work = tmp_path_factory.mktemp("correlation")
    hut = HubUnderTest(work, secrets_file=secrets_file, clock_file=work / "clock",
                       settings={"correlation": {"park_timeout_hours": TIMEOUT_H, "check_interval": 0.5},
                                 "api": {"port": free_port()}})
    assert hut.clock is not None
    hut.clock.set(NOW)
    try:
        hut.provision()
        hut.start()
        yield hut
    finally:
        hut.close()


def payment(ucr: str) -> bytes:
    doc = json.loads((EXAMPLES / "payment.confirmation" / "valid" / "duty-2026icms000412871.json").read_bytes())
    return json.dumps(dict(doc, ucr=ucr)).encode()


async def acks_until(client: PartnerClient, pred: Any, within: float, what: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        got += await client.acks(max_count=50, idle=0.3)
        if pred(got):
            return got
    raise AssertionError(f"timed out waiting for {what}; acks: {got}")


async def inbox_until(hut: HubUnderTest, pid: str, n: int, within: float = 30) -> list[Delivery]:
    got: list[Delivery] = []
    deadline = time.monotonic() + within
    async with hut.partner(pid) as c:
        while len(got) < n and time.monotonic() < deadline:
            got += await c.inbox(max_count=n - len(got), idle=0.5)
    return got


def parked(hut: HubUnderTest, *flags: str) -> list[dict[str, Any]]:
    out = hut.cli("parked", "list", "--json", *flags)
    assert out.returncode == 0, out.stderr
    rows: list[dict[str, Any]] = json.loads(out.stdout)
    return rows


def statuses(acks: list[dict[str, Any]], mid: str) -> list[str]:
    return [a["status"] for a in acks if a["correlation_id"] == mid]


async def test_payment_before_its_idf_waits_survives_a_restart_and_follows_the_idf(corr_hub: HubUnderTest) -> None:
    hut = corr_hub
    async with hut.partner("mfano-bank") as bank:
        await bank.publish(payment(UCR), "payment.confirmation", content_type="application/json", message_id="pay-1")
        await bank.publish(payment(ORPHAN_UCR), "payment.confirmation", content_type="application/json",
                           message_id="pay-orphan")
        acks = await acks_until(bank, lambda a: len(a) >= 2, 20, "two pending acks")
        assert statuses(acks, "pay-1") == ["pending"] and statuses(acks, "pay-orphan") == ["pending"]
        # sent again while waiting: still pending, never parked twice
        await bank.publish(payment(UCR), "payment.confirmation", content_type="application/json", message_id="pay-1")
        again = await acks_until(bank, lambda a: len(a) >= 1, 20, "the repeat's ack")
        assert statuses(again, "pay-1") == ["pending"]
    rows = parked(hut)
    assert sorted((r["message_id"], r["reason"], r["ucr"]) for r in rows) == [
        ("pay-1", "PARTIES_UNKNOWN", UCR), ("pay-orphan", "PARTIES_UNKNOWN", ORPHAN_UCR)]
    # nothing reached anyone: not even the partners with `all` cells (never half-routed)
    for pid in ("kra-icms", "kentrade", "mfano-clearing", "mfano-imports"):
        assert await inbox_until(hut, pid, 1, within=1.5) == []

    hut.kill()  # parked messages live in the store
    hut.start()
    assert len(parked(hut)) == 2

    async with hut.partner("kentrade") as kt:
        await kt.publish((EXAMPLES / "idf" / "valid" / "tiles-e2600412743.json").read_bytes(), "idf",
                         content_type="application/json", message_id="idf-1")
    async with hut.partner("mfano-bank") as bank:
        acks = await acks_until(bank, lambda a: "accepted" in statuses(a, "pay-1"), 30, "pay-1 accepted")
        assert statuses(acks, "pay-1") == ["accepted"]
    # the IDF named the importer, its clearing agent and the financing bank: the payment reaches the agent
    # and the importer (own cells), after the IDF in each inbox; KRA and KMA (all cells) get it too
    for pid in ("mfano-clearing", "mfano-imports"):
        got = await inbox_until(hut, pid, 2)
        assert [(d.type, d.correlation_id) for d in got] == [("idf", "idf-1"), ("payment.confirmation", "pay-1")]
    for pid in ("kra-icms", "kma"):
        got = await inbox_until(hut, pid, 2)
        assert sorted(d.correlation_id or "" for d in got) == ["idf-1", "pay-1"]
    # the bank sent the payment: it gets the IDF it finances, never its own payment back
    assert [d.correlation_id for d in await inbox_until(hut, "mfano-bank", 2, within=3)] == ["idf-1"]
    for pid in ("kebs", "kephis", "pcpb"):  # no permit named for this consignment
        assert await inbox_until(hut, pid, 1, within=1) == []
    left = parked(hut)
    assert [r["message_id"] for r in left] == ["pay-orphan"]
    track = json.loads(hut.cli("track", UCR, "--json").stdout)
    assert {e["type"] for e in track["consignments"][0]["events"]} >= {"idf", "payment.confirmation"}

    # the orphan's time runs out: rejected to its sender with UCR_UNRESOLVED, shown to operators
    assert hut.clock is not None
    hut.clock.set(NOW + timedelta(hours=TIMEOUT_H + 1))
    async with hut.partner("mfano-bank") as bank:
        acks = await acks_until(bank, lambda a: "rejected" in statuses(a, "pay-orphan"), 20, "the orphan rejected")
    rejected = [a for a in acks if a["correlation_id"] == "pay-orphan"][-1]
    assert [e["code"] for e in rejected["errors"]] == ["UCR_UNRESOLVED"]
    assert ORPHAN_UCR in rejected["errors"][0]["message"]
    assert parked(hut) == []
    assert {(r["message_id"], r["state"]) for r in parked(hut, "--all")} == {
        ("pay-1", "released"), ("pay-orphan", "expired")}
    for pid in ("kra-icms", "mfano-imports"):
        assert await inbox_until(hut, pid, 1, within=1.5) == []  # the orphan was never delivered
    await asyncio.sleep(0)


OTHER_UCR = "26KEP0512345680000488"  # another importer's consignment (no partner of the hub), no bank


def idf(ucr: str, **changes: Any) -> bytes:
    doc = json.loads((EXAMPLES / "idf" / "valid" / "tiles-e2600412743.json").read_bytes())
    doc = dict(doc, ucr=ucr, **changes)
    return json.dumps({k: v for k, v in doc.items() if v is not None}).encode()


def request(ucr: str) -> bytes:
    return json.dumps({"messageType": "consignment.status.request", "reference": {"ucr": ucr},
                       "issueDateTime": "2026-02-12T08:00:00+03:00"}).encode()


async def test_status_queries_over_http_and_amqp_show_each_partner_only_its_own(corr_hub: HubUnderTest) -> None:
    hut = corr_hub  # after the first test: consignment UCR has the IDF (financed by mfano-bank) and the payment
    async with hut.partner("kentrade") as kt:
        ack = await kt.send(idf(OTHER_UCR, idfId="E2600499001", importer={"id": "P051299999Z", "name": "Other Ltd"},
                                agent=None, financingBank=None), "idf", content_type="application/json",
                            message_id="idf-other", timeout=20)
        assert ack is not None and ack["status"] == "accepted", ack
    secrets = Secrets(hut.config.secrets_path(), env=hut.env)
    base = f"http://127.0.0.1:{hut.config.settings.api.port}/v1/consignments/"

    def get(ref: str, who: str | None) -> httpx.Response:
        token = secrets.get(f"{who}.api") if who else "not-a-token"
        return httpx.get(base + ref, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    # the bank finances UCR: it sees the UCR and the IDF, not the payment (the duty paid) nor anything else
    bank = get(UCR, "mfano-bank")
    assert bank.status_code == 200, bank.text
    [c] = bank.json()["consignments"]
    assert c["ucr"] == UCR and [e["type"] for e in c["events"]] == ["idf"]
    assert {r["kind"] for r in c["references"]} <= {"ucr", "idf"} and c["status"] == "IDF_LODGED"
    not_financed = get(OTHER_UCR, "mfano-bank")
    unknown = get("26KEP0512345680000001", "mfano-bank")
    assert not_financed.status_code == unknown.status_code == 404
    assert not_financed.content == unknown.content.replace(b"26KEP0512345680000001", OTHER_UCR.encode())
    # the importer sees its own consignment (IDF and payment), not another importer's
    mine = get(UCR, "mfano-imports")
    assert mine.status_code == 200
    assert {e["type"] for e in mine.json()["consignments"][0]["events"]} == {"idf", "payment.confirmation"}
    assert get(OTHER_UCR, "mfano-imports").status_code == 404
    assert get(OTHER_UCR, "operator").status_code == 200  # operators see everything
    assert get(UCR, None).status_code == 401
    assert httpx.get(base + UCR, timeout=10).status_code == 401

    # the same over AMQP, answered on direct reply-to only
    async with hut.partner("mfano-bank") as c:
        ack, answer = await c.ask(request(UCR), content_type="application/json", timeout=20)
        assert ack is not None and ack["status"] == "accepted", ack
        assert answer is not None and answer.type == "consignment.status.response"
        doc = json.loads(answer.body)
        assert doc["ucr"] == UCR and doc["statusCode"] == "IDF_LODGED"
        assert [e["messageType"] for e in doc["statusEvent"]] == ["idf"]
        ack, answer = await c.ask(request(OTHER_UCR), content_type="application/json", timeout=20)
        assert ack is not None and answer is not None
        other = json.loads(answer.body)
        assert other["statusCode"] == "UNKNOWN" and "ucr" not in other and not other.get("statusEvent")
        await c.publish(request(UCR), "consignment.status.request", content_type="application/json",
                        message_id="ask-via-queue", reply_to="partner.mfano-bank.inbox")
        acks = await acks_until(c, lambda a: "rejected" in statuses(a, "ask-via-queue"), 20, "the refusal")
    [refused] = [a for a in acks if a["correlation_id"] == "ask-via-queue"]
    assert [e["code"] for e in refused["errors"]] == ["REPLY_TO_REQUIRED"]
    assert [d.type for d in await inbox_until(hut, "mfano-bank", 1, within=1.5)] == []  # nothing in its inbox
    async with hut.partner("mfano-imports") as c:
        _ack, answer = await c.ask(request(UCR), content_type="application/json", timeout=20)
    assert answer is not None
    seen = json.loads(answer.body)
    assert {e["messageType"] for e in seen["statusEvent"]} == {"idf", "payment.confirmation"}
    assert seen["statusCode"] == "DUTY_PAID"
