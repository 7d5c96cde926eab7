"""Partner contract v1 end to end: a real `hub run` process on a real RabbitMQ (issue 2's "done when")."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import aio_pika
import pytest
from aiormq.exceptions import ChannelAccessRefused, ChannelPreconditionFailed

from hub import topology as t
from hub.catalogue import Catalogue
from hub.client import content_type_for
from hub.ids import delivery_id
from hub.store import Store
from hub.testing import HubUnderTest, collect
from tests.access_table import expected_recipients
from tests.conftest import example

pytestmark = pytest.mark.broker

# The example registry (config/partners.yaml), written by hand: profiles and formats.
PROFILES: dict[str, set[str]] = {
    "kra-icms": {"CUS"}, "kentrade": {"KT"}, "kpa": {"KPA"}, "msc-ke": {"SHA"}, "maersk-ke": {"SHA"},
    "kebs": {"PGA"}, "kephis": {"PGA"}, "pcpb": {"PGA"}, "kma": {"NPA"}, "mfano-clearing": {"CA"},
    "mfano-imports": {"EXIM"}, "mfano-bank": {"BNK"}, "mfano-insurance": {"INS"}, "pwani-cfs": {"CFS"},
    "mfano-consol": {"CON"}, "mfano-gha": {"GHA"}, "mfano-eseal": {"ESV"}, "mfano-seals": {"ESV"},
    "mfano-surveyor": {"MS"}, "ira": {"IRA"}, "treasury": {"NT"},
}  # fmt: skip
FORMAT_JSON = {"kentrade", "maersk-ke", "kebs", "pcpb", "kma", "mfano-clearing", "mfano-imports",
               "mfano-bank", "mfano-insurance", "mfano-gha", "mfano-eseal", "mfano-seals", "mfano-surveyor", "ira",
               "treasury"}  # fmt: skip
# identifiers by which messages name partners, as in the registry
NAMED_BY: dict[tuple[str, str], str] = {
    ("customs_office", "MSA"): "kra-icms", ("customs_office", "NBO"): "kra-icms",
    ("customs_office", "KEMBA01"): "kra-icms", ("kra_pin", "P000000001K"): "kra-icms",
    ("kra_pin", "P000000002K"): "kentrade", ("terminal", "KPAMSA"): "kpa", ("terminal", "MCT"): "kpa",
    ("carrier", "MSCU"): "msc-ke", ("kra_pin", "P051100001M"): "msc-ke", ("carrier", "MAEU"): "maersk-ke",
    ("kra_pin", "P051100002M"): "maersk-ke", ("agency", "KEBS"): "kebs", ("agency", "KEPHIS"): "kephis",
    ("agency", "PCPB"): "pcpb", ("agency", "KMA"): "kma", ("kra_pin", "P051234567A"): "mfano-clearing",
    ("kra_pin", "P051234568B"): "mfano-imports", ("bic", "MFNOKENA"): "mfano-bank",
    ("kra_pin", "P051234569C"): "mfano-insurance", ("cfs", "PWANICFS"): "pwani-cfs",
    ("kra_pin", "P051234570D"): "pwani-cfs", ("kra_pin", "P051234571E"): "mfano-consol",
    ("kra_pin", "P051234572F"): "mfano-gha", ("kra_pin", "P051234573G"): "mfano-eseal",
    ("kra_pin", "P051234575J"): "mfano-seals",
    ("kra_pin", "P051234574H"): "mfano-surveyor", ("agency", "IRA"): "ira", ("agency", "NT"): "treasury",
}  # fmt: skip
async def _ignore(_msg: object) -> None:
    return None


SENDERS = {"manifest.sea": "msc-ke", "customs.release": "kra-icms", "permit.status": "kebs"}
IDF_EXAMPLE = "tiles-e2600412743.json"  # names importer mfano-imports, agent mfano-clearing, bank mfano-bank


async def consignment_parties(hub: HubUnderTest, path: Path, msg_type: str) -> set[str]:
    """Make the message's consignment known to the hub as real life would (ACCESS.md: the parties come from the
    IDF) unless the message is itself such a source; returns the partners the hub then holds as its parties:
    those named by every message sent for it, as ``hub track`` shows them (test_timeline checks that record)."""
    data = path.read_bytes()
    ucr = Catalogue().decode(data, content_type_for(path.name, data), msg_type).keys().ucr
    if ucr is None:
        return set()
    idf = json.loads(example("idf", "valid", ".json").read_bytes())
    assert example("idf", "valid", ".json").name == IDF_EXAMPLE
    ack = await send_file(hub, "kentrade", example("idf", "valid", ".json"), "idf", f"idf-{uuid.uuid4()}",
                          data=json.dumps(dict(idf, ucr=ucr)).encode())
    assert ack["status"] == "accepted", ack
    tracked = json.loads(hub.cli("track", ucr, "--json").stdout)
    return {p["partner"] for c in tracked["consignments"] for p in c["parties"] if p["partner"]}


def named_parties(path: Path, msg_type: str) -> set[str]:
    data = path.read_bytes()
    body = Catalogue().decode(data, content_type_for(path.name, data), msg_type)
    return {NAMED_BY[(str(p.scheme), p.id)] for p in body.keys().parties if (str(p.scheme), p.id) in NAMED_BY}


async def inbox_counts(hub: HubUnderTest, settle: float = 1.0) -> dict[str, list]:
    """Every partner's inbox drained: partner id -> deliveries."""
    await asyncio.sleep(settle)

    async def drain(pid: str) -> list:
        async with hub.partner(pid) as c:
            return await c.inbox(max_count=1000, idle=0.3)

    got = await asyncio.gather(*(drain(pid) for pid in PROFILES))  # every inbox at once
    return dict(zip(PROFILES, got, strict=True))


async def send_file(hub: HubUnderTest, sender: str, path: Path, msg_type: str, message_id: str | None = None,
                    data: bytes | None = None) -> dict:
    data = path.read_bytes() if data is None else data
    async with hub.partner(sender) as c:
        ack = await c.send(data, msg_type, content_type=content_type_for(path.name, data),
                           message_id=message_id or str(uuid.uuid4()), timeout=20)
    assert ack is not None, f"no acknowledgement; hub log: {hub.tail_log()}"
    return ack


@pytest.mark.parametrize("msg_type", ["manifest.sea", "customs.release", "permit.status"])
@pytest.mark.parametrize("suffix", [".xml", ".json"])
async def test_valid_message_reaches_exactly_the_entitled_inboxes(hub: HubUnderTest, msg_type: str,
                                                                  suffix: str) -> None:
    sender = SENDERS[msg_type]
    path = example(msg_type, "valid", suffix)
    recorded = await consignment_parties(hub, path, msg_type) if msg_type == "customs.release" else set()
    await inbox_counts(hub, settle=0)  # start from empty inboxes
    mid = f"t-{uuid.uuid4()}"
    ack = await send_file(hub, sender, path, msg_type, mid)
    assert ack["status"] == "accepted", ack
    assert ack["schema"] == "hub.ack/1" and ack["correlation_id"] == mid and ack["errors"] == []
    expected = expected_recipients(msg_type, sender, PROFILES, named_parties(path, msg_type) | recorded)
    assert expected, "the access table names recipients for every kind tested here"
    got = await inbox_counts(hub)
    received = {pid for pid, ds in got.items() if ds}
    assert received == expected
    for pid in expected:
        [d] = got[pid]
        assert d.message_id == delivery_id(sender, mid, pid)
        assert d.correlation_id == mid and d.type == msg_type
        assert d.headers["x-contract"] == "1" and d.headers["x-source-partner"] == sender
        want_ct = "application/json" if pid in FORMAT_JSON else "application/xml"
        assert d.content_type == want_ct
        Catalogue().decode(d.body, want_ct, msg_type)  # re-encoded deliveries are valid documents
    async with hub.partner(sender) as c:
        acks = await c.acks(max_count=100, idle=0.5)
    assert [a["status"] for a in acks if a["correlation_id"] == mid] == ["accepted"]


async def test_schema_invalid_manifest_is_rejected_with_code_and_path_and_reaches_nobody(
    hub: HubUnderTest,
) -> None:
    await inbox_counts(hub, settle=0)
    invalid = example("manifest.sea").parent.parent / "invalid"
    path = sorted(invalid.glob("XML_SCHEMA*.xml"))[0]
    ack = await send_file(hub, "msc-ke", path, "manifest.sea")
    assert ack["status"] == "rejected"
    assert ack["errors"] and ack["errors"][0]["code"] == "XML_SCHEMA"
    assert ack["errors"][0]["path"].startswith("/SeaManifest")
    assert isinstance(ack["errors"][0]["line"], int)
    got = await inbox_counts(hub)
    assert {pid: len(ds) for pid, ds in got.items() if ds} == {}


async def test_duplicates_conflicts_and_reuse_after_rejection(hub: HubUnderTest) -> None:
    path = example("customs.release")
    recorded = await consignment_parties(hub, path, "customs.release")
    await inbox_counts(hub, settle=0)
    mid = f"dup-{uuid.uuid4()}"
    first = await send_file(hub, "kra-icms", path, "customs.release", mid)
    again = await send_file(hub, "kra-icms", path, "customs.release", mid)
    assert (first["status"], again["status"]) == ("accepted", "duplicate")
    changed = path.read_bytes().replace(b"</CustomsRelease>", b"\n</CustomsRelease>")
    conflict = await send_file(hub, "kra-icms", path, "customs.release", mid, data=changed)
    assert conflict["status"] == "rejected" and conflict["errors"][0]["code"] == "DUPLICATE_ID_CONFLICT"
    got = await inbox_counts(hub)
    assert all(len(ds) <= 1 for ds in got.values())
    assert sum(len(ds) for ds in got.values()) == len(
        expected_recipients("customs.release", "kra-icms", PROFILES, named_parties(path, "customs.release") | recorded))

    bad = example("customs.release", "invalid", "")
    mid2 = f"fix-{uuid.uuid4()}"
    rejected = await send_file(hub, "kra-icms", bad, "customs.release", mid2)
    assert rejected["status"] == "rejected"
    fixed = await send_file(hub, "kra-icms", path, "customs.release", mid2)
    assert fixed["status"] == "accepted"


async def test_envelope_errors_get_their_codes(hub: HubUnderTest) -> None:
    path = example("permit.status")
    data = path.read_bytes()
    async with hub.partner("kebs") as c:
        async def ack_of(**kw: object) -> dict:
            mid = await c.publish(data, kw.pop("msg_type", "permit.status"), content_type="application/xml",  # type: ignore[arg-type]
                                  **kw)  # type: ignore[arg-type]
            acks = await collect(c, t.acks_queue("kebs"), 1, within=20)
            assert acks, hub.tail_log()
            doc = json.loads(acks[0].body)
            assert doc["correlation_id"] == mid
            return doc
        assert (await ack_of(contract=None))["errors"][0]["code"] == "CONTRACT_VERSION"
        assert (await ack_of(message_id="bad\x00id"))["errors"][0]["code"] == "MESSAGE_ID_INVALID"
        assert (await ack_of(message_id="x" * 129))["errors"][0]["code"] == "MESSAGE_ID_INVALID"
        assert (await ack_of(msg_type="customs.release", routing_key="kebs.permit.status")
                )["errors"][0]["code"] == "TYPE_MISMATCH"
        assert (await ack_of(msg_type="customs.release"))["errors"][0]["code"] in ("TYPE_NOT_ALLOWED",)
        assert (await ack_of(msg_type="no.such.type"))["errors"][0]["code"] == "TYPE_UNKNOWN"
    # a release document sent as a permit status: root element disagrees with the declared type
    release = example("customs.release").read_bytes()
    async with hub.partner("kebs") as c:
        mid = await c.publish(release, "permit.status", content_type="application/xml")
        [a] = await collect(c, t.acks_queue("kebs"), 1, within=20)
        doc = json.loads(a.body)
        assert doc["correlation_id"] == mid and doc["errors"][0]["code"] == "TYPE_MISMATCH"


async def test_broker_refuses_forgery_other_prefixes_and_other_inboxes(hub: HubUnderTest) -> None:
    url = hub.url_for("msc-ke")
    conn = await aio_pika.connect(url)
    try:
        ch = await conn.channel(publisher_confirms=True)
        ex = await ch.get_exchange(t.INBOUND_EXCHANGE, ensure=False)
        with pytest.raises(ChannelPreconditionFailed):
            await ex.publish(aio_pika.Message(b"<x/>", user_id="kra-icms", type="manifest.sea"),
                             routing_key="msc-ke.manifest.sea")
        ch = await conn.channel(publisher_confirms=True)
        ex = await ch.get_exchange(t.INBOUND_EXCHANGE, ensure=False)
        with pytest.raises(ChannelAccessRefused):
            await ex.publish(aio_pika.Message(b"<x/>", user_id="msc-ke", type="customs.release"),
                             routing_key="kra-icms.customs.release")
        ch = await conn.channel()
        other = await ch.get_queue(t.inbox("kpa"), ensure=True)
        with pytest.raises(ChannelAccessRefused):
            await other.consume(_ignore)
            await asyncio.sleep(0.5)
            await ch.get_queue(t.inbox("msc-ke"), ensure=True)  # the channel is closed by now
        ch = await conn.channel()
        with pytest.raises(ChannelAccessRefused):
            await ch.declare_queue("not-allowed", durable=True)
    finally:
        await conn.close()
    mgmt = hub.management()
    try:
        for pid in PROFILES:
            assert mgmt.get(f"/users/{pid}")["tags"] == [], f"{pid} has tags"
        assert mgmt.get(f"/users/{hub.config.settings.broker.user}")["tags"] == []
    finally:
        mgmt.close()


async def test_publish_without_user_id_and_unroutable_land_in_quarantine_and_are_counted(
    hub: HubUnderTest,
) -> None:
    before = hub.queue_depth(t.QUARANTINE_QUEUE)
    data = example("manifest.sea").read_bytes()
    async with hub.partner("msc-ke") as c:
        await c.publish(data, "manifest.sea", content_type="application/xml", user_id=None)
    admin = aio_pika.Message(data, type="manifest.sea", user_id="guest")
    conn = await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:5672/{hub.vhost}")
    try:
        ch = await conn.channel(publisher_confirms=True)
        ex = await ch.get_exchange(t.INBOUND_EXCHANGE, ensure=False)
        await ex.publish(admin, routing_key="msc-ke.manifest.sea")  # a broker user that is no partner
        await ex.publish(aio_pika.Message(data), routing_key="nobody.manifest.sea")  # unroutable
    finally:
        await conn.close()
    assert hub.wait_depth(t.QUARANTINE_QUEUE, before + 3) == before + 3
    store = Store(hub.config.store_url())
    try:
        counts = store.quarantine_counts()
    finally:
        store.close()
    assert counts.get("NO_USER_ID", 0) >= 1 and counts.get("UNKNOWN_USER", 0) >= 1


async def test_hub_keeps_consuming_after_garbage(hub: HubUnderTest) -> None:
    async with hub.partner("msc-ke") as c:
        for junk in (b"", b"\x00\xff" * 100, b"<a><b></a>", b"{" * 5000):
            await c.publish(junk, "manifest.sea", content_type="application/xml")
    ack = await send_file(hub, "msc-ke", example("manifest.sea"), "manifest.sea")
    assert ack["status"] == "accepted"
    assert hub.proc is not None and hub.proc.poll() is None


async def test_a_cc_header_cannot_smuggle_a_quarantined_message_into_an_inbox(hub: HubUnderTest) -> None:
    """RabbitMQ routes a republished message to every queue a top-level CC/BCC header names."""
    await inbox_counts(hub, settle=0)
    before = hub.queue_depth(t.QUARANTINE_QUEUE)
    forged = example("customs.release").read_bytes()
    async with hub.partner("msc-ke") as c:
        await c.publish(forged, "customs.release", content_type="application/xml", user_id=None,
                        routing_key="msc-ke.customs.release",
                        headers={"CC": [t.inbox("kpa"), t.inbox("kentrade")], "BCC": [t.inbox("kma")],
                                 "x-source-partner": "kra-icms"})
    assert hub.wait_depth(t.QUARANTINE_QUEUE, before + 1) == before + 1
    got = await inbox_counts(hub)
    assert {pid: len(ds) for pid, ds in got.items() if ds} == {}
    conn = await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:5672/{hub.vhost}")
    try:
        ch = await conn.channel()
        q = await ch.get_queue(t.QUARANTINE_QUEUE, ensure=True)
        copies = []
        while (m := await q.get(no_ack=False, fail=False)) is not None:
            copies.append(m)
            await m.ack()
        last = copies[-1]
        assert "CC" not in last.headers and "BCC" not in last.headers
        nested = last.headers["x-original-headers"]
        assert b"partner.kpa.inbox" in str(nested).encode() and last.headers["x-quarantine-reason"] == "NO_USER_ID"
    finally:
        await conn.close()


async def test_a_reply_to_the_broker_cannot_decode_does_not_break_ingest(hub: HubUnderTest) -> None:
    await inbox_counts(hub, settle=0)
    data = example("customs.release").read_bytes()
    async with hub.partner("kra-icms") as c:
        await c.acks(max_count=1000, idle=0.5)  # leftovers of earlier tests
        bad = await c.publish(data, "customs.release", content_type="application/xml",
                              reply_to="amq.rabbitmq.reply-to.AAAA.AAAA")
        acks = await collect(c, t.acks_queue("kra-icms"), 1, within=20)
    assert [json.loads(a.body)["status"] for a in acks if a.correlation_id == bad] == ["accepted"]
    ok = await send_file(hub, "kra-icms", example("customs.release"), "customs.release")
    assert ok["status"] == "accepted"
    got = await inbox_counts(hub)
    assert [d.correlation_id for d in got["kentrade"]].count(bad) == 1  # delivered once, not looping
    assert hub.proc is not None and hub.proc.poll() is None
