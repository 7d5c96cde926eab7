"""Adapters through the running hub: each partner speaks its own format in and out, and its acknowledgements
come in its own form.

- xml (iCMS): a JSON document is refused with CONTENT_TYPE_UNSUPPORTED; deliveries to it are XML.
- rects (an e-seal vendor's own JSON): mapped to eseal.event and delivered to customs as canonical XML;
  a vendor event its entry does not map is refused at the vendor's own pointer.
- edifact (a consolidator): its CUSCAR house manifest is accepted with an APERAK, a JSON one refused with an
  EDIFACT acknowledgement; the manifest reaches iCMS as XML and KenTrade as JSON.
- json-webhook (KenTrade here): the manifest arrives as a signed HTTP POST, not in an AMQP inbox.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from hub import topology as t
from hub.adapters import registry
from hub.edifact import read_ack
from hub.testing import HubUnderTest
from tests.conftest import ROOT
from tests.webhook_server import WebhookPartner

pytestmark = [pytest.mark.broker]

RECTS = registry.get("rects")
EDI = registry.get("edifact")
ICMS, SEALS, CONSOL, KT = "ad-icms", "ad-seals", "ad-consol", "ad-kt"


def partners(url: str) -> list[dict[str, Any]]:
    return [
        {"id": ICMS, "name": "iCMS", "profiles": ["CUS"], "adapter": "xml", "sends": ["customs.release"],
         "identifiers": {"customs_office": ["MSA"]}},
        {"id": SEALS, "name": "Vendor", "profiles": ["ESV"], "adapter": "rects", "sends": ["eseal.event"],
         "adapter_options": dict(RECTS.fixture_options), "identifiers": {"kra_pin": ["P051234573G"]}},
        {"id": CONSOL, "name": "Consolidator", "profiles": ["CON"], "adapter": "edifact", "sends": ["manifest.sea"],
         "identifiers": {"kra_pin": ["P051234571E"]}},
        {"id": KT, "name": "KenTrade", "profiles": ["KT"], "adapter": "json-webhook",
         "transport": {"kind": "http", "url": url}},
    ]


@pytest.fixture(scope="module")
def setup(broker: None, tmp_path_factory: pytest.TempPathFactory,
          secrets_file: Path) -> Iterator[tuple[HubUnderTest, WebhookPartner]]:
    web = WebhookPartner(secret=b"").start()
    hut = HubUnderTest(tmp_path_factory.mktemp("adapters"), secrets_file=secrets_file, partners=partners(web.url))
    try:
        hut.provision()
        web.secret = json.loads(secrets_file.read_text(encoding="utf-8"))[f"{KT}.webhook"].encode()
        hut.start()
        yield hut, web
    finally:
        hut.close()
        web.stop()


async def raw_acks(hut: HubUnderTest, pid: str, count: int) -> list[Any]:
    async with hut.partner(pid) as c:
        out: list[Any] = []
        for _ in range(20):
            out += await c.drain(t.acks_queue(pid), count - len(out), idle=0.5)
            if len(out) >= count:
                break
        return out


async def test_xml_partner_sending_json_is_refused(setup: tuple[HubUnderTest, WebhookPartner]) -> None:
    hut, _ = setup
    data = (ROOT / "examples/customs.release/valid/released-26mbaim000412871.json").read_bytes()
    async with hut.partner(ICMS) as c:
        ack = await c.send(data, "customs.release", content_type="application/json", timeout=20)
    assert ack is not None and ack["status"] == "rejected", ack
    assert [e["code"] for e in ack["errors"]] == ["CONTENT_TYPE_UNSUPPORTED"]
    assert "xml adapter" in ack["errors"][0]["message"]


async def test_vendor_json_reaches_customs_as_canonical_xml(setup: tuple[HubUnderTest, WebhookPartner]) -> None:
    hut, _ = setup
    assert RECTS.fixture is not None
    async with hut.partner(SEALS) as c:
        ack = await c.send(RECTS.fixture.read_bytes(), "eseal.event", content_type="application/json", timeout=20)
        doc = json.loads(RECTS.fixture.read_text())
        doc["alarm"]["type"] = "SOLAR_FLARE"
        bad = await c.send(json.dumps(doc).encode(), "eseal.event", content_type="application/json", timeout=20)
    assert ack is not None and ack["status"] == "accepted", ack
    assert bad is not None and [(e["code"], e["path"]) for e in bad["errors"]] == [("JSON_SCHEMA", "/alarm/type")]
    async with hut.partner(ICMS) as c:
        got = [d for d in await c.inbox(10, idle=3.0) if d.type == "eseal.event"]
    assert len(got) == 1 and got[0].content_type == "application/xml"
    root = etree.fromstring(got[0].body)
    ns = {"e": "urn:ke:nesws:hub:eseal.event:1"}
    assert root.findtext("e:SealId", namespaces=ns) == "MES-0049127"
    assert root.findtext("e:EventCode", namespaces=ns) == "DEVIATION"
    assert b"deviceId" not in got[0].body  # the vendor's own names do not travel


async def test_edifact_consolidator_and_webhook_recipient(setup: tuple[HubUnderTest, WebhookPartner]) -> None:
    hut, web = setup
    assert EDI.fixture is not None
    mid, bad_mid = f"edi-{uuid.uuid4()}", f"edi-{uuid.uuid4()}"
    json_manifest = (ROOT / "examples/manifest.sea/valid/msc-je608a-kemba.json").read_bytes()
    async with hut.partner(CONSOL) as c:
        await c.publish(EDI.fixture.read_bytes(), "manifest.sea", content_type="application/edifact", message_id=mid)
        await c.publish(json_manifest, "manifest.sea", content_type="application/json", message_id=bad_mid)
    acks = await raw_acks(hut, CONSOL, 2)
    assert {a.content_type for a in acks} == {"application/edifact"}
    read = {a.correlation_id: read_ack(a.body) for a in acks}
    assert read[mid].status == "accepted" and read[mid].message_type == "APERAK", read[mid]
    assert read[bad_mid].status == "rejected"
    assert [e.code for e in read[bad_mid].errors] == ["CONTENT_TYPE_UNSUPPORTED"]
    async with hut.partner(ICMS) as c:
        xml = [d for d in await c.inbox(10, idle=3.0) if d.correlation_id == mid]
    assert len(xml) == 1 and xml[0].content_type == "application/xml" and xml[0].body.lstrip().startswith(b"<")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not [r for r in web.accepted() if r.correlation_id == mid]:
        await asyncio.sleep(0.2)
    posted = [r for r in web.accepted() if r.correlation_id == mid]
    assert len(posted) == 1 and posted[0].signature_ok
    assert json.loads(posted[0].body)["messageType"] == "manifest.sea"
    async with hut.partner(KT) as c:
        assert await c.inbox(10, idle=1.0) == []  # nothing in its AMQP inbox: it takes deliveries by webhook
