"""A consignment's whole life through the running hub, and ``hub track`` by every one of its references.

Consignment 26KEP0512345680000412 (ceramic tiles, Foshan to Mombasa on MSC SHANELLE V voyage JE608A) goes
through IDF, UCR, a KEBS permit, insurance, the vessel's arrival report and manifest, the entry, e-seal, duty
assessment and payment, customs examination and release, the delivery order, the bayplan and the gate-out,
each sent by its own partner. Messages arrive out of order where real life has them so: the UCR message before
the IDF it was issued for, the arrival report before the manifest, the bank's payment confirmation before the
duty assessment (iCMS messages held during its maintenance window), the delivery order after the release it
preceded. After each message ``hub track`` by each reference known so far must show the same timeline, and
the status, what the consignment waits for and since when must be the expected ones.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub.catalogue import Catalogue
from hub.cli import app
from hub.client import content_type_for
from hub.store import Store, consignment_events
from hub.testing import HubUnderTest
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.broker

UCR = "26KEP0512345680000412"
VESSEL_CALL = "9839430/JE608A"
APPLICATION = "KEBS/PVOC/26/0094120"
PERMIT = "KEBS/COC/26/0041277"
PINS = ("P051234567A", "P051234568B", "P051234569C")  # clearing agent, importer, insurer: never in clear


def adapted(rel: str, *replacements: tuple[str, str]) -> bytes:
    """A copy of an example with the references that must agree made to agree (each replacement must apply)."""
    text = (EXAMPLES / rel).read_text()
    for old, new in replacements:
        assert old in text, f"{rel}: {old!r} not found"
        text = text.replace(old, new)
    return text.encode()


def example_bytes(rel: str) -> bytes:
    return (EXAMPLES / rel).read_bytes()


PERMIT_APPLICATION = adapted(
    "permit.application/valid/kebs-coc-exemption-steel-coils.xml",
    ("26KEP0512345680000473", UCR), ("2026-02-09T08:05:31Z", "2026-01-12T10:00:00+03:00"))
CLARIFICATION = adapted(
    "permit.status/valid/kebs-clarification-requested.xml",
    ("KEBS/PVOC/26/0093312", APPLICATION), ("26KEP0512345680000433", UCR),
    ("2026-02-13T09:30:00+03:00", "2026-02-03T09:30:00+03:00"))
APPROVAL = adapted(
    "permit.status/valid/kebs-clarification-requested.xml",
    ("<ApplicationId>KEBS/PVOC/26/0093312</ApplicationId>",
     f"<ApplicationId>{APPLICATION}</ApplicationId>\n  <PermitId>{PERMIT}</PermitId>"),
    ("CLARIFICATION_REQUESTED", "APPROVED"), ("26KEP0512345680000433", UCR),
    ("2026-02-13T09:30:00+03:00", "2026-02-10T16:00:00+03:00"),
    ("  <StatusReason>Attach the mill test certificate for the hot-rolled coils (KS EAS 412 grade).</StatusReason>\n",
     ""))
ESEAL = adapted(
    "eseal.event/valid/rects-armed-msmu5301127-mct.xml",
    ("MSMU5301127", "MSCU1234566"), ("26KEP0512345670000415", UCR), ("26MBATR000413002", "26MBAIM000412871"),
    ("2026-02-12T21:58:30+03:00", "2026-02-09T14:00:00+03:00"))
EXAMINATION = adapted(
    "customs.release/valid/examination-26mbaim000413006.xml",
    ("26KEP0512345680000431", UCR), ("26MBAIM000413006", "26MBAIM000412871"), ("MSKU9021144", "MSCU1234566"),
    ("2026-02-14T08:05:00+03:00", "2026-02-11T08:05:00+03:00"))


@dataclass(frozen=True)
class Step:
    sender: str
    msg_type: str
    data: bytes
    new_refs: tuple[str, ...]  # references this message makes known (hub track must find the consignment by each)
    status: str
    since: str  # EAT
    waiting: tuple[str | None, ...]  # waiting-for codes, in order
    word: str = ""  # in the first waiting-for text


CUSTOMS_ENTRY = None  # a waiting-for without a code, as the list shows it
LIFE = [
    Step("kentrade", "ucr.issued", example_bytes("ucr.issued/valid/26kep0512345680000412.xml"), (UCR,),
         "UCR_ISSUED", "2026-01-08 09:10:04 EAT", (None,), "import declaration form"),
    Step("mfano-clearing", "idf", example_bytes("idf/valid/tiles-e2600412743.xml"), ("E2600412743",),
         "IDF_LODGED", "2026-01-08 09:10:00 EAT", (None,), "customs entry"),
    Step("mfano-clearing", "permit.application", PERMIT_APPLICATION, (APPLICATION,),
         "PERMIT_PENDING", "2026-01-12 10:00:00 EAT", ("KEBS_VERIFICATION", None), "KEBS"),
    Step("mfano-insurance", "insurance.certificate", example_bytes("insurance.certificate/valid/mic-2026-00812.xml"),
         ("MIC/2026/00812",), "PERMIT_PENDING", "2026-01-12 10:00:00 EAT", ("KEBS_VERIFICATION", None), "KEBS"),
    Step("msc-ke", "arrival.iar", example_bytes("arrival.iar/valid/msc-shanelle-v-je608a-kemba.xml"), (),
         "PERMIT_PENDING", "2026-01-12 10:00:00 EAT", ("KEBS_VERIFICATION", None), "KEBS"),
    Step("msc-ke", "manifest.sea", example_bytes("manifest.sea/valid/msc-je608a-kemba.xml"),
         ("MEDUKE261345", "MSCU1234566", "MEDU7654325", VESSEL_CALL),
         "PERMIT_PENDING", "2026-01-12 10:00:00 EAT", ("KEBS_VERIFICATION", None), "KEBS"),
    Step("kebs", "permit.status", CLARIFICATION, (),
         "PERMIT_PENDING", "2026-02-03 09:30:00 EAT", ("SUPPORTING_DOCUMENTS", None), "clarification"),
    Step("mfano-clearing", "customs.entry", example_bytes("customs.entry/valid/26mbaim000412871.xml"),
         ("26MBAIM000412871",), "PERMIT_PENDING", "2026-02-03 09:30:00 EAT", ("SUPPORTING_DOCUMENTS", None),
         "clarification"),
    Step("mfano-eseal", "eseal.event", ESEAL, ("KRA-RECTS-118204",),
         "PERMIT_PENDING", "2026-02-03 09:30:00 EAT", ("SUPPORTING_DOCUMENTS", None), "clarification"),
    Step("mfano-bank", "payment.confirmation", example_bytes("payment.confirmation/valid/duty-2026icms000412871.xml"),
         ("2026ICMS000412871",), "PERMIT_PENDING", "2026-02-03 09:30:00 EAT", ("SUPPORTING_DOCUMENTS",),
         "clarification"),
    Step("kra-icms", "duty.assessment", example_bytes("duty.assessment/valid/26mbaim000412871.xml"),
         ("26MSAAS0041287",), "PERMIT_PENDING", "2026-02-03 09:30:00 EAT", ("SUPPORTING_DOCUMENTS",),
         "clarification"),
    Step("kebs", "permit.status", APPROVAL, (PERMIT,),
         "PERMIT_APPROVED", "2026-02-10 16:00:00 EAT", (None,), "customs release"),
    Step("kra-icms", "customs.release", EXAMINATION, (),
         "HELD_FOR_EXAMINATION", "2026-02-11 08:05:00 EAT", ("CUSTOMS_INSPECTION",), "examination"),
    Step("kra-icms", "customs.release", example_bytes("customs.release/valid/released-26mbaim000412871.xml"), (),
         "RELEASED", "2026-02-11 10:42:17 EAT", (None,), "shipping line's delivery order"),
    Step("msc-ke", "delivery.order", example_bytes("delivery.order/valid/msc-do-meduke261345-pwani.xml"),
         ("MSC/DO/MBA/2026/004812",), "DELIVERY_ORDER_ISSUED", "2026-02-11 10:42:17 EAT", (None,), "gate-out"),
    Step("msc-ke", "bayplan", example_bytes("bayplan/valid/msc-je608a-kemba.xml"), (),
         "DELIVERY_ORDER_ISSUED", "2026-02-11 10:42:17 EAT", (None,), "gate-out"),
    Step("pwani-cfs", "gate.event", example_bytes("gate.event/valid/pwani-gate-out-full-mscu1234566.xml"), (),
         "GATED_OUT", "2026-02-11 15:05:12 EAT", ()),
]
# the timeline at the end, in the consignment's order (the documents' times), not the order of arrival
FINAL = [
    "idf", "ucr.issued", "insurance.certificate", "permit.application", "permit.status", "arrival.iar",
    "customs.entry", "duty.assessment", "manifest.sea", "eseal.event", "payment.confirmation", "delivery.order",
    "permit.status", "bayplan", "customs.release", "customs.release", "gate.event",
]


def track(hub: HubUnderTest, ref: str, *, as_json: bool = True) -> tuple[int, str]:
    args = ["--config", str(hub.config_dir), "track", ref] + (["--json"] if as_json else [])
    res = CliRunner().invoke(app, args, env=hub.env)
    return res.exit_code, res.stdout


def events_in_store(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(consignment_events)).scalar_one())


async def send(hub: HubUnderTest, step: Step) -> dict[str, Any]:
    name = f"x.{'json' if step.data.lstrip().startswith(b'{') else 'xml'}"
    Catalogue().decode(step.data, content_type_for(name, step.data), step.msg_type)  # the copy is valid
    async with hub.partner(step.sender) as c:
        ack = await c.send(step.data, step.msg_type, content_type=content_type_for(name, step.data),
                           message_id=f"life-{uuid.uuid4()}", timeout=20)
    assert ack is not None, f"no acknowledgement; hub log: {hub.tail_log()}"
    return ack


async def test_a_consignments_life_tracked_by_every_reference(hub: HubUnderTest) -> None:
    store = Store(hub.config.store_url())
    known: list[str] = []
    manifested = False
    started = time.monotonic()
    try:
        for n, step in enumerate(LIFE, start=1):
            ack = await send(hub, step)
            assert ack["status"] == "accepted", (step.msg_type, ack)
            deadline = time.monotonic() + 15  # the acknowledgement is published before the batch commits
            while events_in_store(store) < n and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert events_in_store(store) == n, f"step {n} {step.msg_type}: not recorded; {hub.tail_log()}"
            manifested = manifested or step.msg_type == "manifest.sea"
            known += step.new_refs
            linked = [s.msg_type for s in LIFE[:n] if manifested or s.msg_type != "arrival.iar"]
            if not manifested and step.msg_type == "arrival.iar":  # a vessel call no manifest has linked yet
                assert track(hub, VESSEL_CALL)[0] == 1
            timelines = set()
            for ref in known:
                code, out = track(hub, ref)
                assert code == 0, (step.msg_type, ref, out)
                doc = json.loads(out)
                assert [c["ucr"] for c in doc["consignments"]] == [UCR], (step.msg_type, ref)
                c = doc["consignments"][0]
                where = f"step {n} {step.msg_type}, track {ref}"
                assert sorted(e["type"] for e in c["events"]) == sorted(linked), where
                assert c["status"] == step.status, where
                assert c["since_eat"] == step.since, where
                assert tuple(w["code"] for w in c["waiting_for"]) == step.waiting, where
                if step.word:
                    assert step.word in c["waiting_for"][0]["text"], where
                timelines.add(json.dumps(c, sort_keys=True))
            assert len(timelines) == 1, f"step {n}: the references give different timelines"
            code, text = track(hub, UCR, as_json=False)
            assert code == 0 and f"status:      {step.status}" in text and f"since:       {step.since}" in text
            (doc_text,) = timelines
            assert not any(pin in text or pin in doc_text for pin in PINS)
        final = json.loads(track(hub, "MSCU1234566")[1])["consignments"][0]
        assert [e["type"] for e in final["events"]] == FINAL
        assert final["events"][0]["at_eat"] == "2026-01-08 09:10:00 EAT"
        code, text = track(hub, PERMIT, as_json=False)
        assert "consignee P*********B (mfano-imports)" in text and "insurer P*********C (mfano-insurance)" in text
        print(text)
        assert track(hub, "MEDUKE261377")[0] == 1  # the other bill on the manifest has no UCR: not tracked
        assert track(hub, "NO-SUCH-REFERENCE")[0] == 1
    finally:
        store.close()
    print(f"{len(LIFE)} messages, {len(known)} references, tracked after every message in "
          f"{time.monotonic() - started:.1f} s")


def test_track_unknown_reference_and_text_output(hub: HubUnderTest, tmp_path: Path) -> None:
    code, out = track(hub, "26KEP0512345680009999", as_json=False)
    assert code == 1 and out == ""
    code, out = track(hub, "26KEP0512345680009999")
    assert code == 1 and json.loads(out) == {"reference": "26KEP0512345680009999", "consignments": []}
