"""The ``own`` cells of ACCESS.md on a running hub: one consignment's life, message by message.

For every type with ``own`` cells, a message about UCR 26KEP0512345680000412 (the tiles of the IDF example)
is sent by its usual sender (config/partners.yaml ``sends``), and the exact set of inboxes it reaches is
checked against a table written here by hand from ACCESS.md: the partners of the type's ``all`` profiles,
plus the partners of its ``own`` profiles that are parties of the consignment, minus the sender. The parties
are also written by hand, from what the messages sent before (and the message itself) name: ACCESS.md's
Notes say the hub knows the parties from the IDF, the entry, the certificate, the manifest, the delivery
order and the permit, and holds a message until it knows them. A payment for a consignment the hub has
never seen is held (``pending``) and reaches nobody.

The party sources go first (hub.parking.PARTY_SOURCES): the KEBS permit application (lodged through the
KenTrade portal before the IDF, as a PVoC certificate of conformity is), the IDF, the UCR notice, the
insurance certificate, KEBS's approval and MSC's sea manifest; then the vessel call (arrival report,
bayplan) and the customs, payment and cargo messages. The air manifest is about another consignment (the
tiles came by sea): example kq117 is sent on its own, for its own UCR.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from hub.catalogue import Catalogue
from hub.client import Delivery
from hub.testing import HubUnderTest
from tests.access_table import expected_recipients
from tests.conftest import EXAMPLES
from tests.test_contract import NAMED_BY, PROFILES, inbox_counts, send_file

pytestmark = pytest.mark.broker

UCR = "26KEP0512345680000412"  # examples/idf/valid/tiles-e2600412743.json
AIR_UCR = "26KEP0512345680000451"  # the house consignment of examples/manifest.air/valid/kq117-...json
ORPHAN_UCR = "26KEP0512345680000999"  # a consignment no message ever names but the payment below

# The parties of UCR 26KEP0512345680000412 once every party source below has been sent (written by hand):
PARTIES = frozenset({
    "kebs",             # the issuing agency of its permit: the permit application and status name KEBS
    "mfano-imports",    # the importer: named by the IDF, the UCR notice, the certificate, the manifest line...
    "mfano-clearing",   # the importer's clearing agent: named by the IDF (agent), the entry (declarant)...
    "mfano-bank",       # the financing bank: named by the IDF (financingBank) and the UCR notice
    "mfano-insurance",  # the insurer: named by the UCR notice (insurer) and the insurance certificate
    "msc-ke",           # the carrier: the manifest (carrier MSCU) and the delivery order name it
    "pwani-cfs",        # the CFS: the manifest line (warehouseId PWANICFS) and the delivery order name it
})  # fmt: skip
# Partners no message about it names, so never its parties: kpa (no terminal named: the line goes to Pwani
# CFS), maersk-ke, kephis and pcpb (no permit of theirs), mfano-consol and mfano-gha (no house bill, no air).

KEBS_COC = "KEBS/PVOC/26/0094133"  # the permit application for the tiles (KEBS certificate of conformity)
TILES = [
    {"classificationId": "69072100", "description": "Glazed porcelain floor tiles, 600 x 600 mm",
     "quantity": {"value": 1785.6, "unitCode": "MTK"}, "originCountryCode": "CN"},
    {"classificationId": "69074000", "description": "Glazed ceramic skirting tiles, 600 x 80 mm",
     "quantity": {"value": 620, "unitCode": "MTR"}, "originCountryCode": "CN"},
]  # fmt: skip


@dataclass(frozen=True)
class Step:
    msg_type: str
    sender: str  # its usual sender (partners.yaml ``sends``)
    example: str  # under examples/<msg_type>/valid/
    names: frozenset[str]  # the partners the message itself names (identifiers in the registry), by hand
    expected: frozenset[str]  # the exact inboxes it must reach, by hand from ACCESS.md
    changes: dict[str, Any] = field(default_factory=dict)  # fields of the example's JSON replaced
    ucr: str | None = UCR  # the consignment whose recorded parties count; None: about a vessel call

    @property
    def id(self) -> str:
        return f"{self.msg_type}-from-{self.sender}"

    def data(self) -> bytes:
        doc = json.loads((EXAMPLES / self.msg_type / "valid" / self.example).read_bytes())
        return json.dumps(dict(doc, **self.changes)).encode()


def fs(*ids: str) -> frozenset[str]:
    return frozenset(ids)


# Recipients below, per type: ALL profiles' partners + OWN profiles' partners among the parties known when it
# is sent (the parties named before it and by itself) - the sender. Partners by profile: CUS kra-icms,
# KT kentrade, KPA kpa, SHA msc-ke maersk-ke, PGA kebs kephis pcpb, NPA kma, CA mfano-clearing, EXIM
# mfano-imports, BNK mfano-bank, INS mfano-insurance, CFS pwani-cfs, CON mfano-consol, GHA mfano-gha,
# MS mfano-surveyor, IRA ira.
LIFE: list[Step] = [
    # permit.application: all KT(sender), NPA; own CA, EXIM, PGA. Parties so far: what it names.
    Step("permit.application", "kentrade", "kephis-pip-seed-maize.json",
         names=fs("kebs", "mfano-imports", "mfano-clearing"),
         expected=fs("kma", "kebs", "mfano-clearing", "mfano-imports"),
         changes={"applicationId": KEBS_COC, "issuingAuthorityId": "KEBS", "permitTypeCode": "COC", "ucr": UCR,
                  "goodsItem": TILES, "submissionDateTime": "2026-01-07T11:00:00+03:00",
                  "fee": {"amount": 5000.00, "currencyCode": "KES"}}),
    # idf: all CUS, KT(sender), NPA; own CA, EXIM, BNK, PGA. kebs is a party (its permit) without being named.
    Step("idf", "kentrade", "tiles-e2600412743.json",
         names=fs("mfano-imports", "mfano-clearing", "mfano-bank"),
         expected=fs("kra-icms", "kma", "mfano-clearing", "mfano-imports", "mfano-bank", "kebs")),
    # ucr.issued: all CUS, NPA; KT sender; own CA, EXIM, BNK, INS, PGA.
    Step("ucr.issued", "kentrade", "26kep0512345680000412.json",
         names=fs("mfano-imports", "mfano-clearing", "mfano-bank", "mfano-insurance"),
         expected=fs("kra-icms", "kma", "mfano-clearing", "mfano-imports", "mfano-bank", "mfano-insurance",
                     "kebs")),
    # insurance.certificate: all CUS, KT, MS, IRA; own CA, EXIM, INS(sender). kebs (PGA) and the bank: "-".
    Step("insurance.certificate", "mfano-insurance", "mic-2026-00812.json",
         names=fs("mfano-insurance", "mfano-imports", "mfano-clearing"),
         expected=fs("kra-icms", "kentrade", "mfano-surveyor", "ira", "mfano-clearing", "mfano-imports")),
    # permit.status: all CUS, KT, NPA; own CA, EXIM, PGA (kebs is the sender; kephis and pcpb: no party).
    Step("permit.status", "kebs", "kephis-approved-pip.json",
         names=fs("kebs", "mfano-imports", "mfano-clearing"),
         expected=fs("kra-icms", "kentrade", "kma", "mfano-clearing", "mfano-imports"),
         changes={"applicationId": KEBS_COC, "permitId": "KEBS/COC/26/0041277", "issuingAuthorityId": "KEBS",
                  "permitTypeCode": "COC", "ucr": UCR, "statusDateTime": "2026-01-20T10:00:00+03:00",
                  "expirationDate": "2026-07-19"}),
    # manifest.sea: all CUS, KT, KPA, PGA, NPA; own SHA(msc-ke: sender), CON, CFS. Its line for the UCR names
    # the consignee and Pwani CFS (the other line names no partner); maersk-ke and mfano-consol: no party.
    Step("manifest.sea", "msc-ke", "msc-je608a-kemba.json",
         names=fs("msc-ke", "mfano-imports", "pwani-cfs"),
         expected=fs("kra-icms", "kentrade", "kpa", "kebs", "kephis", "pcpb", "kma", "pwani-cfs")),
    # arrival.iar (about MSC SHANELLE V's call): all CUS, KT, KPA, PGA, NPA; own SHA: msc-ke (sender) is
    # the vessel's carrier and agent, maersk-ke is not.
    Step("arrival.iar", "msc-ke", "msc-shanelle-v-je608a-kemba.json", names=fs("msc-ke"),
         expected=fs("kra-icms", "kentrade", "kpa", "kebs", "kephis", "pcpb", "kma"), ucr=None),
    # bayplan (the same call): all CUS, KPA; own SHA (msc-ke sender; maersk-ke not its carrier).
    Step("bayplan", "msc-ke", "msc-je608a-kemba.json", names=fs("msc-ke"),
         expected=fs("kra-icms", "kpa"), ucr=None),
    # customs.entry: all CUS, KT, PGA, NPA; own CA(sender), EXIM. It also names the customs office (kra-icms).
    Step("customs.entry", "mfano-clearing", "26mbaim000412871.json",
         names=fs("mfano-clearing", "mfano-imports", "kra-icms"),
         expected=fs("kra-icms", "kentrade", "kebs", "kephis", "pcpb", "kma", "mfano-imports")),
    # duty.assessment: CUS sender; all KT, PGA, NPA; own CA, EXIM.
    Step("duty.assessment", "kra-icms", "26mbaim000412871.json",
         names=fs("mfano-imports", "mfano-clearing"),
         expected=fs("kentrade", "kebs", "kephis", "pcpb", "kma", "mfano-clearing", "mfano-imports")),
    # payment.confirmation: all CUS, KT, NPA; BNK sender; own CA, EXIM, PGA. It names only the bank and the
    # payer: the clearing agent (from the IDF) and kebs (from the permit) are parties it does not name.
    Step("payment.confirmation", "mfano-bank", "duty-2026icms000412871.json",
         names=fs("mfano-bank", "mfano-imports"),
         expected=fs("kra-icms", "kentrade", "kma", "kebs", "mfano-clearing", "mfano-imports")),
    # customs.release: CUS sender; all KT, PGA, NPA; own KPA, GHA, CFS, CA, EXIM. Pwani CFS holds the cargo
    # (the manifest named it) though the release does not name it; kpa and mfano-gha are no parties.
    Step("customs.release", "kra-icms", "released-26mbaim000412871.json",
         names=fs("mfano-clearing", "mfano-imports"),
         expected=fs("kentrade", "kebs", "kephis", "pcpb", "kma", "pwani-cfs", "mfano-clearing",
                     "mfano-imports")),
    # delivery.order: all KT; SHA sender; own KPA, CFS, CA, EXIM (kpa: no party; CUS, PGA, NPA: "-").
    Step("delivery.order", "msc-ke", "msc-do-meduke261345-pwani.json",
         names=fs("mfano-imports", "mfano-clearing", "pwani-cfs", "msc-ke"),
         expected=fs("kentrade", "pwani-cfs", "mfano-clearing", "mfano-imports")),
    # gate.event (full container out of Pwani CFS): all CUS, KT, PGA, NPA; CFS sender; own CA, EXIM;
    # KPA's cell is S (the terminal's own gate events), so kpa gets no CFS gate event.
    Step("gate.event", "pwani-cfs", "pwani-gate-out-full-mscu1234566.json",
         names=fs("pwani-cfs", "mfano-imports", "mfano-clearing"),
         expected=fs("kra-icms", "kentrade", "kebs", "kephis", "pcpb", "kma", "mfano-clearing", "mfano-imports")),
    # manifest.air (KQ117, another consignment, UCR 26KEP0512345680000451; its parties are what it names):
    # all CUS, KT, PGA, NPA; own GHA(mfano-gha: sender, the ground handler lodging it), CON, CFS. Its house
    # line names Pwani CFS; mfano-consol is not named; the consignee mfano-imports (EXIM) has "-".
    Step("manifest.air", "mfano-gha", "kq117-ams-nbo-70651234562.json",
         names=fs("mfano-gha", "mfano-imports", "pwani-cfs"),
         expected=fs("kra-icms", "kentrade", "kebs", "kephis", "pcpb", "kma", "pwani-cfs"), ucr=AIR_UCR),
    # eseal.event (a transit container's seal, reported by its vendor): "all (SLA)" for CUS, no own cell:
    # KRA's monitoring centre only, nobody else.
    Step("eseal.event", "mfano-eseal", "rects-position-msmu5301127-mariakani.json",
         names=fs("mfano-eseal"), expected=fs("kra-icms"), ucr="26KEP0512345670000415"),
]  # fmt: skip

# Discrepancies between the hub and ACCESS.md found by this module: step id -> the precise discrepancy.
KNOWN_WRONG: dict[str, str] = {}


def known_parties(upto: int) -> set[str]:
    """The parties of LIFE[upto]'s consignment when it is sent: what it names and what earlier messages about
    the same consignment named (for a vessel call: what it names)."""
    step = LIFE[upto]
    found = set(step.names)
    if step.ucr is not None:
        for earlier in LIFE[:upto]:
            if earlier.ucr == step.ucr:
                found |= earlier.names
    return found


def test_the_hand_table_follows_access_md_and_the_messages() -> None:
    """The table above is ACCESS.md (tests/access_table.py) applied to the parties, and each message names
    the partners written beside it."""
    assert {s.msg_type for s in LIFE} == {
        "customs.release", "manifest.sea", "manifest.air", "arrival.iar", "bayplan", "idf", "ucr.issued",
        "customs.entry", "duty.assessment", "permit.application", "permit.status", "payment.confirmation",
        "delivery.order", "insurance.certificate", "gate.event",  # every type with an own cell
        "eseal.event"}  # and the one other type partners send (consignment.status.request is answered, not routed)
    assert set().union(*(s.names for s in LIFE if s.ucr == UCR)) == PARTIES | {"kra-icms"}  # + customs office
    for i, step in enumerate(LIFE):
        body = Catalogue().decode(step.data(), "application/json", step.msg_type)
        keys = body.keys()
        named = {NAMED_BY[(str(p.scheme), p.id)] for p in keys.parties if (str(p.scheme), p.id) in NAMED_BY}
        assert named == step.names, step.id
        # a manifest carries its UCRs per line, a vessel call none
        assert keys.ucr == (None if step.msg_type.startswith("manifest.") or step.ucr is None else step.ucr)
        assert step.sender not in step.expected, step.id
        want = expected_recipients(step.msg_type, step.sender, PROFILES, known_parties(i))
        assert step.expected == want, (step.id, sorted(step.expected ^ want))


async def deliveries_after(hub: HubUnderTest, expected: frozenset[str],
                           within: float = 20.0) -> dict[str, list[Delivery]]:
    """Drain every inbox until each expected one has something (or ``within`` seconds), then once more for
    deliveries to anyone else."""
    got: dict[str, list[Delivery]] = {pid: [] for pid in PROFILES}
    deadline = time.monotonic() + within
    while True:
        for pid, ds in (await inbox_counts(hub, settle=0.3)).items():
            got[pid] += ds
        if {pid for pid, ds in got.items() if ds} >= expected or time.monotonic() > deadline:
            break
    for pid, ds in (await inbox_counts(hub, settle=1.0)).items():
        got[pid] += ds
    return got


def _params() -> list[Any]:
    out = []
    for i, step in enumerate(LIFE):
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[step.id])] if step.id in KNOWN_WRONG else []
        out.append(pytest.param(i, id=f"{i + 1:02d}-{step.id}", marks=marks))
    return out


@pytest.mark.parametrize("index", _params())
async def test_each_message_reaches_exactly_the_entitled_inboxes(hub: HubUnderTest, index: int) -> None:
    """Steps run in order on the module's hub: each one's parties were recorded by the steps before it."""
    step = LIFE[index]
    stray = await inbox_counts(hub, settle=0)  # every inbox drained before
    assert {pid: [d.type for d in ds] for pid, ds in stray.items() if ds} == {}, "late deliveries of an earlier step"
    mid = f"own-{index + 1:02d}-{uuid.uuid4()}"
    ack = await send_file(hub, step.sender, EXAMPLES / step.msg_type / "valid" / step.example, step.msg_type,
                          mid, data=step.data())
    assert ack["status"] == "accepted", ack
    got = await deliveries_after(hub, step.expected)
    received = {pid for pid, ds in got.items() if ds}
    assert received == step.expected, (f"missing {sorted(step.expected - received)}, "
                                       f"unexpected {sorted(received - step.expected)}")
    for pid in received:
        assert [(d.type, d.correlation_id) for d in got[pid]] == [(step.msg_type, mid)], pid


async def test_a_payment_for_a_consignment_never_seen_is_pending_and_reaches_no_inbox(hub: HubUnderTest) -> None:
    """payment.confirmation has own cells and is no party source: before anything names its consignment, the
    hub cannot know its clearing agent or agency, so it holds it (ACCESS.md Notes), even from the all cells."""
    await inbox_counts(hub, settle=0)
    doc = json.loads((EXAMPLES / "payment.confirmation" / "valid" / "duty-2026icms000412871.json").read_bytes())
    doc.update(ucr=ORPHAN_UCR, paymentReferenceId="2026ICMS000499871", declarationId="26MBAIM000499871",
               bankReferenceId="FT26041MFNK9Z9")
    mid = f"own-orphan-{uuid.uuid4()}"
    path = EXAMPLES / "payment.confirmation" / "valid" / "duty-2026icms000412871.json"
    ack = await send_file(hub, "mfano-bank", path, "payment.confirmation", mid, data=json.dumps(doc).encode())
    assert ack["status"] == "pending", ack
    got = await inbox_counts(hub, settle=2.0)
    assert {pid: [d.type for d in ds] for pid, ds in got.items() if ds} == {}
    out = hub.cli("parked", "list", "--json")
    assert out.returncode == 0, out.stderr
    assert [(r["message_id"], r["reason"], r["ucr"]) for r in json.loads(out.stdout)] == [
        (mid, "PARTIES_UNKNOWN", ORPHAN_UCR)]
