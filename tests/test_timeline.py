"""The consignment timeline: status derived from the set of events (hand-written cases, and any permutation
gives the same answer), what each message records (``observe``, ``plan``), and the store recording it in the
batch's transaction on SQLite and on a throw-away PostgreSQL database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError

from hub.catalogue import Catalogue
from hub.client import content_type_for
from hub.config import load_config
from hub.errors import StoreUnavailable
from hub.routing import RoutingTable
from hub.schemas.base import Reference, RefKind
from hub.schemas.consignment_status_response import ConsignmentStatusCode as Code
from hub.schemas.consignment_status_response import WaitingForCode as W
from hub.store import AcceptedRow, Store, consignment_events, consignment_parties, consignment_refs
from hub.timeline import Event, Link, Observation, derive, event_status, observe, plan, render, sort_key
from tests.conftest import EXAMPLES, ROOT

UCR = "26KEP0512345680000412"
T0 = datetime(2026, 1, 8, 6, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def ev(msg_type: str, hours: float, status: str | None = None, subject: str | None = None,
       sender: str = "x", mid: str | None = None) -> Event:
    return Event(h(hours), msg_type, sender, mid or f"{msg_type}-{hours}-{status}-{subject}", status, subject, UCR)


IDF = ev("idf", 0, subject="E2600412743")
UCR_ISSUED = ev("ucr.issued", 0.01)
MANIFEST = ev("manifest.sea", 700)
ENTRY = ev("customs.entry", 690, subject="26MBAIM000412871")
ASSESSED = ev("duty.assessment", 700, subject="PRN1")
PAID = ev("payment.confirmation", 800, "DUTY", "PRN1")
KEBS_APPLIED = ev("permit.application", 100, subject="KEBS:KEBS/PVOC/26/0094120")
KEBS_OK = ev("permit.status", 500, "APPROVED", "KEBS:KEBS/PVOC/26/0094120")
RELEASED = ev("customs.release", 900, "RELEASED", "26MBAIM000412871")
DO = ev("delivery.order", 850, subject="MSC/DO/MBA/2026/004812")
GATE_OUT = ev("gate.event", 905, "GATE_OUT", "MSCU1234566")

# (case, events, expected status, since (hours), expected waiting-for codes, a word of the first text)
CASES: list[tuple[str, list[Event], Code, float | None, list[W | None], str]] = [
    ("nothing known", [], Code.UNKNOWN, None, [], ""),
    ("UCR issued", [UCR_ISSUED], Code.UCR_ISSUED, 0.01, [None], "IDF"),
    ("UCR message before its IDF", [UCR_ISSUED, IDF], Code.IDF_LODGED, 0, [None], "customs entry"),
    ("only an insurance certificate", [ev("insurance.certificate", 24, subject="MIC/2026/00812")],
     Code.UCR_ISSUED, 24, [None], "IDF"),
    ("manifested", [IDF, MANIFEST], Code.IDF_LODGED, 0, [None], "customs entry"),
    ("entry lodged", [IDF, MANIFEST, ENTRY], Code.ENTRY_LODGED, 690, [None], "duty assessment"),
    ("duty assessed, not paid", [IDF, ENTRY, ASSESSED], Code.DUTY_ASSESSED, 700, [W.PAYMENT_CONFIRMATION], "PRN1"),
    ("paid", [IDF, ENTRY, ASSESSED, PAID], Code.DUTY_PAID, 800, [None], "customs release"),
    ("payment before its assessment", [PAID, ENTRY], Code.DUTY_PAID, 800, [None], "customs release"),
    ("a permit fee is no duty", [ENTRY, ev("payment.confirmation", 800, "PERMIT_FEE", "PRN9")],
     Code.ENTRY_LODGED, 690, [None], "duty assessment"),
    ("reassessed after payment", [ENTRY, ASSESSED, PAID, ev("duty.assessment", 820, subject="PRN2")],
     Code.DUTY_ASSESSED, 820, [W.PAYMENT_CONFIRMATION], "PRN2"),
    ("KEBS permit pending", [IDF, KEBS_APPLIED], Code.PERMIT_PENDING, 100, [W.KEBS_VERIFICATION, None], "KEBS"),
    ("KEPHIS permit pending", [IDF, ev("permit.status", 120, "UNDER_REVIEW", "KEPHIS:KEPHIS/APP/1")],
     Code.PERMIT_PENDING, 120, [W.AGENCY_APPROVAL, None], "KEPHIS"),
    ("clarification asked", [IDF, KEBS_APPLIED, ev("permit.status", 300, "CLARIFICATION_REQUESTED", KEBS_OK.subject)],
     Code.PERMIT_PENDING, 300, [W.SUPPORTING_DOCUMENTS, None], "clarification"),
    ("permit rejected", [IDF, ev("permit.status", 300, "REJECTED", KEBS_OK.subject)],
     Code.PERMIT_PENDING, 300, [W.AGENCY_APPROVAL, None], "new permit application"),
    ("permit cancelled", [IDF, ev("permit.status", 300, "CANCELLED", KEBS_OK.subject)],
     Code.IDF_LODGED, 0, [None], "customs entry"),
    ("permit pending and duty unpaid", [IDF, ENTRY, ASSESSED, KEBS_APPLIED], Code.PERMIT_PENDING, 100,
     [W.KEBS_VERIFICATION, W.PAYMENT_CONFIRMATION], "KEBS"),
    ("one of two permits approved", [KEBS_APPLIED, KEBS_OK, ev("permit.application", 110, subject="KEPHIS:K/1")],
     Code.PERMIT_PENDING, 110, [W.AGENCY_APPROVAL, None], "KEPHIS"),
    ("permit approved before payment", [IDF, ENTRY, ASSESSED, PAID, KEBS_APPLIED, KEBS_OK], Code.DUTY_PAID, 800,
     [None], "customs release"),
    ("permit approved after payment", [ENTRY, ASSESSED, PAID, ev("permit.status", 810, "APPROVED", "KEBS:A")],
     Code.PERMIT_APPROVED, 810, [None], "customs release"),
    ("permit approved, duty not paid", [ENTRY, ASSESSED, KEBS_OK], Code.DUTY_ASSESSED, 700,
     [W.PAYMENT_CONFIRMATION], "PRN1"),
    ("examination", [ENTRY, PAID, ev("customs.release", 880, "EXAMINATION", ENTRY.subject)],
     Code.HELD_FOR_EXAMINATION, 880, [W.CUSTOMS_INSPECTION], "examination"),
    ("documents required", [ENTRY, ev("customs.release", 880, "DOCUMENTS_REQUIRED", ENTRY.subject)],
     Code.HELD_FOR_EXAMINATION, 880, [W.SUPPORTING_DOCUMENTS], "documents"),
    ("held, then released", [ENTRY, ev("customs.release", 880, "EXAMINATION", ENTRY.subject), RELEASED],
     Code.RELEASED, 900, [None], "delivery order"),
    ("released, then held again", [ENTRY, RELEASED, ev("customs.release", 901, "HELD", ENTRY.subject)],
     Code.HELD_FOR_EXAMINATION, 901, [W.CUSTOMS_INSPECTION], "examination"),
    ("partially released", [ENTRY, ev("customs.release", 900, "PARTIALLY_RELEASED", ENTRY.subject)],
     Code.RELEASED, 900, [None], "delivery order"),
    ("released, no delivery order", [IDF, ENTRY, ASSESSED, PAID, RELEASED], Code.RELEASED, 900, [None],
     "shipping line's delivery order"),
    ("delivery order before release", [ENTRY, PAID, DO], Code.DUTY_PAID, 800, [None], "customs release"),
    ("delivery order, then release", [ENTRY, PAID, DO, RELEASED], Code.DELIVERY_ORDER_ISSUED, 900, [None],
     "gate-out"),
    ("release, then delivery order", [ENTRY, RELEASED, ev("delivery.order", 950, subject="D")],
     Code.DELIVERY_ORDER_ISSUED, 950, [None], "gate-out"),
    ("gate-in is no gate-out", [RELEASED, ev("gate.event", 905, "GATE_IN", "MSCU1234566")], Code.RELEASED, 900,
     [None], "delivery order"),
    ("an empty container's gate-out", [RELEASED, ev("gate.event", 990, "GATE_OUT_EMPTY", "MSCU1234566")],
     Code.RELEASED, 900, [None], "delivery order"),
    ("gated out", [IDF, ENTRY, PAID, RELEASED, DO, GATE_OUT], Code.GATED_OUT, 905, [], ""),
    ("entry cancelled", [IDF, ENTRY, ASSESSED, ev("customs.release", 720, "CANCELLED", ENTRY.subject)],
     Code.IDF_LODGED, 0, [None], "new customs entry"),
    ("entry cancelled, a new one lodged", [IDF, ENTRY, ASSESSED, ev("customs.release", 720, "CANCELLED", "E1"),
                                           ev("customs.entry", 730, subject="E2")],
     Code.ENTRY_LODGED, 730, [None], "duty assessment"),
    ("vessel-level events move nothing", [IDF, ev("arrival.iar", 600), ev("bayplan", 760), ev("eseal.event", 800,
                                                                                            "ARMED", "S1")],
     Code.IDF_LODGED, 0, [None], "customs entry"),
]


@pytest.mark.parametrize(("events", "code", "since", "waits", "word"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_status_table(events: list[Event], code: Code, since: float | None, waits: list[W | None], word: str) -> None:
    status = derive(events)
    assert status.code is code
    assert status.since == (None if since is None else h(since))
    assert [w.code for w in status.waiting_for] == waits
    if word:
        assert word in status.waiting_for[0].text
    assert derive(reversed(events)) == status


# A consignment's possible events (type, status, subject); hypothesis picks any of them at any times.
POOL = [
    ("ucr.issued", None, None), ("idf", None, "E1"), ("manifest.sea", None, None), ("arrival.iar", "LATE", None),
    ("customs.entry", None, "N1"), ("customs.entry", None, "N2"), ("duty.assessment", None, "P1"),
    ("duty.assessment", None, "P2"), ("payment.confirmation", "DUTY", "P1"), ("payment.confirmation", "DUTY", "P2"),
    ("payment.confirmation", "PERMIT_FEE", "P3"), ("permit.application", None, "KEBS:A1"),
    ("permit.status", "CLARIFICATION_REQUESTED", "KEBS:A1"), ("permit.status", "APPROVED", "KEBS:A1"),
    ("permit.status", "UNDER_REVIEW", "KEPHIS:A2"), ("permit.status", "APPROVED", "KEPHIS:A2"),
    ("permit.status", "REJECTED", "PCPB:A3"), ("customs.release", "EXAMINATION", "N1"),
    ("customs.release", "RELEASED", "N1"), ("customs.release", "CANCELLED", "N1"),
    ("customs.release", "DOCUMENTS_REQUIRED", "N2"), ("delivery.order", None, "D1"),
    ("gate.event", "GATE_IN", "C1"), ("gate.event", "GATE_OUT", "C1"), ("eseal.event", "ARMED", "S1"),
    ("insurance.certificate", None, "I1"), ("bayplan", None, None),
]  # fmt: skip


@st.composite
def consignment_events_and_permutation(draw: st.DrawFn) -> tuple[list[Event], list[Event]]:
    picks = draw(st.lists(st.tuples(st.integers(0, len(POOL) - 1), st.integers(0, 12)), max_size=16))
    senders = draw(st.lists(st.sampled_from(["kra-icms", "kentrade", "kebs"]), min_size=len(picks),
                            max_size=len(picks)))
    events = [
        Event(h(hour), POOL[i][0], sender, f"m{n}", POOL[i][1], POOL[i][2], UCR)
        for n, ((i, hour), sender) in enumerate(zip(picks, senders, strict=True))
    ]
    return events, draw(st.permutations(events))


@settings(max_examples=400, deadline=None)
@given(consignment_events_and_permutation())
def test_any_permutation_of_the_events_gives_the_same_status(pair: tuple[list[Event], list[Event]]) -> None:
    """Arrival order is not the consignment's order (ties in time included: hours from a small range)."""
    events, shuffled = pair
    status = derive(events)
    assert derive(shuffled) == status
    assert sorted(events, key=sort_key) == sorted(shuffled, key=sort_key)
    assert (status.code is Code.UNKNOWN) == (not events)
    if any(e.msg_type == "gate.event" and e.status == "GATE_OUT" for e in events):
        assert status.code is Code.GATED_OUT and status.waiting_for == ()
    if status.since is not None:
        assert status.since in {e.at for e in events}


def test_event_status_column() -> None:
    assert event_status(RELEASED) == "RELEASED"
    assert event_status(ev("customs.release", 1, "EXAMINATION")) == "HELD_FOR_EXAMINATION (EXAMINATION)"
    assert event_status(PAID) == "DUTY_PAID (DUTY)"
    assert event_status(ev("gate.event", 1, "GATE_IN")) == "GATE_IN"
    assert event_status(ev("arrival.iar", 1)) == "-"


# ------------------------------------------------------------------ what messages record


@pytest.fixture(scope="module")
def table() -> RoutingTable:
    return RoutingTable.from_config(load_config(ROOT / "config"))


def observation(table: RoutingTable, path: Path, msg_type: str, sender: str, mid: str | None = None,
                received: datetime = NOW, data: bytes | None = None) -> Observation | None:
    data = path.read_bytes() if data is None else data
    body = Catalogue().decode(data, content_type_for(path.name, data), msg_type)
    return observe(body, body.keys(), sender, mid or path.name, received, table.partner_of)


def test_manifest_links_each_line_to_its_ucr(table: RoutingTable) -> None:
    obs = observation(table, EXAMPLES / "manifest.sea/valid/msc-je608a-kemba.xml", "manifest.sea", "msc-ke")
    assert obs is not None and obs.vessel_call == "9839430/JE608A" and not obs.vessel_level
    assert obs.at == datetime(2026, 2, 9, 3, 0, tzinfo=UTC)  # the arrival, in UTC
    first, second = obs.links
    assert first.ucr == UCR
    assert {(r.kind, r.value) for r in first.refs} == {
        (RefKind.UCR, UCR), (RefKind.MASTER_BL, "MEDUKE261345"), (RefKind.CONTAINER, "MSCU1234566"),
        (RefKind.CONTAINER, "MEDU7654325")}
    assert {(p.role.value, partner) for p, partner in first.parties} == {
        ("carrier", "msc-ke"), ("consignee", "mfano-imports"), ("cfs", "pwani-cfs")}
    assert second.ucr is None  # transit line without a UCR: resolved from its bill or container, if known
    out = plan([obs], {}, NOW)
    assert [e["ucr"] for e in out.events] == [UCR]
    assert out.unresolved == [("msc-ke", "msc-je608a-kemba.xml", "MEDUKE261377")]
    out = plan([obs], {("container", "MSMU5301127"): "26KEP0512345670000415"}, NOW)
    assert [e["ucr"] for e in out.events] == [UCR, "26KEP0512345670000415"]
    assert ("master_bl", "MEDUKE261377") in {(r["kind"], r["value"]) for r in out.refs}


def test_house_lines_do_not_link_the_shared_master(table: RoutingTable) -> None:
    obs = observation(table, EXAMPLES / "manifest.sea/valid/mfano-consol-house-607w.xml", "manifest.sea",
                      "mfano-consol")
    assert obs is not None
    kinds = {r.kind for link in obs.links for r in link.refs}
    assert RefKind.HOUSE_BL in kinds and RefKind.MASTER_BL not in kinds
    air = observation(table, EXAMPLES / "manifest.air/valid/kq117-ams-nbo-70651234562.xml", "manifest.air",
                      "mfano-gha")
    assert air is not None
    assert [link.ucr for link in air.links] == ["26KEP0512345680000451", None]
    assert {r.kind for link in air.links for r in link.refs} == {RefKind.HOUSE_AWB, RefKind.UCR}
    direct = observation(table, EXAMPLES / "manifest.air/valid/kq887-can-nbo-direct-70633441015.xml",
                         "manifest.air", "mfano-gha")
    assert direct is not None and [r.kind for r in direct.links[0].refs] == [RefKind.MASTER_AWB]
    # an entry lodged against the air waybill names it as "awb": found under either kind
    out = plan([direct], {("awb", "70633441015"): "26KEP0512345680000499"}, NOW)
    assert [e["ucr"] for e in out.events] == ["26KEP0512345680000499"]


def test_vessel_level_messages_and_messages_about_no_consignment(table: RoutingTable) -> None:
    iar = observation(table, EXAMPLES / "arrival.iar/valid/maersk-cape-town-607w-late.xml", "arrival.iar",
                      "maersk-ke")
    assert iar is not None and iar.vessel_level and iar.links == () and iar.status == "LATE"
    assert plan([iar], {}, NOW).events == [{
        "ucr": None, "vessel_call": iar.vessel_call, "at": iar.at, "msg_type": "arrival.iar",
        "sender": "maersk-ke", "message_id": iar.message_id, "status": "LATE", "subject": None}]
    bay = observation(table, EXAMPLES / "bayplan/valid/msc-je608a-kemba.xml", "bayplan", "msc-ke")
    assert bay is not None and bay.vessel_level and bay.vessel_call == "9839430/JE608A"
    empty = EXAMPLES / "gate.event/valid/mct-gate-in-empty-maeu6148029.xml"
    assert observation(table, empty, "gate.event", "kpa") is None
    question = EXAMPLES / "consignment.status.request/valid/by-container-mscu1234566.xml"
    assert observation(table, question, "consignment.status.request", "mfano-clearing") is None


def test_status_subject_and_time_of_each_kind(table: RoutingTable) -> None:
    cases = [
        ("customs.release/valid/released-26mbaim000412871.xml", "customs.release", "RELEASED", "26MBAIM000412871"),
        ("permit.status/valid/kephis-approved-pip.xml", "permit.status", "APPROVED",
         "KEPHIS:KEPHIS/APP/2026/018843"),
        ("permit.application/valid/kephis-pip-seed-maize.xml", "permit.application", None,
         "KEPHIS:KEPHIS/APP/2026/019207"),
        ("payment.confirmation/valid/duty-2026icms000412871.xml", "payment.confirmation", "DUTY",
         "2026ICMS000412871"),
        ("duty.assessment/valid/26mbaim000412871.xml", "duty.assessment", None, "2026ICMS000412871"),
        ("gate.event/valid/pwani-gate-out-full-mscu1234566.xml", "gate.event", "GATE_OUT", "MSCU1234566"),
        ("eseal.event/valid/rects-armed-msmu5301127-mct.xml", "eseal.event", "ARMED", "KRA-RECTS-118204"),
        ("insurance.certificate/valid/mic-2026-00812.xml", "insurance.certificate", None, "MIC/2026/00812"),
    ]
    for rel, msg_type, status, subject in cases:
        obs = observation(table, EXAMPLES / rel, msg_type, "x")
        assert obs is not None, rel
        assert (obs.status, obs.subject) == (status, subject), rel
    cert = observation(table, EXAMPLES / "insurance.certificate/valid/mic-2026-00812.xml", "insurance.certificate",
                       "mfano-insurance")
    assert cert is not None and cert.at == datetime(2026, 1, 8, 21, 0, tzinfo=UTC)  # 9 January, 00:00 EAT
    early = observation(table, EXAMPLES / "customs.release/valid/released-26mbaim000412871.xml", "customs.release",
                        "kra-icms", received=datetime(2026, 2, 1, tzinfo=UTC))
    assert early is not None and early.at == datetime(2026, 2, 1, tzinfo=UTC)  # never after its receipt


def test_every_valid_example_records_its_consignments(table: RoutingTable) -> None:
    """No example of any type (XML, JSON or EDIFACT) fails to observe; one with a UCR records an event for it."""
    catalogue = Catalogue(load_config(ROOT / "config").schema_types)
    seen = 0
    for path in sorted(EXAMPLES.glob("*/valid/*")):
        msg_type = path.parent.parent.name
        data = path.read_bytes()
        body = catalogue.decode(data, content_type_for(path.name, data), msg_type)
        keys = body.keys()
        obs = observe(body, keys, "s", path.name, NOW, table.partner_of)
        seen += 1
        if msg_type in ("ack", "maintenance.notice") or msg_type.startswith("consignment.status"):
            assert obs is None, path
            continue
        if keys.ucr is not None:
            assert obs is not None and keys.ucr in [e["ucr"] for e in plan([obs], {}, NOW).events], path
        assert obs is None or obs.at <= NOW
    assert seen > 60


def _obs(mid: str, ucr: str | None, *refs: tuple[RefKind, str], vessel_call: str | None = None) -> Observation:
    link = Link(ucr, tuple(Reference(kind=k, value=v) for k, v in refs), ())
    return Observation("s", mid, "gate.event", NOW, "GATE_OUT", None, vessel_call, (link,))


def test_plan_first_writer_wins_and_resolves_within_the_batch() -> None:
    a = _obs("1", "U1", (RefKind.ENTRY, "E1"), (RefKind.CONTAINER, "C1"))
    b = _obs("2", "U2", (RefKind.CONTAINER, "C1"), (RefKind.ENTRY, "E2"))
    c = _obs("3", None, (RefKind.ENTRY, "E2"), (RefKind.PRN, "P2"))  # resolved by b, in the same batch
    d = _obs("4", None, (RefKind.PRN, "P9"))
    out = plan([a, b, c, d], {("idf", "I1"): "U1"}, NOW)
    assert {(r["kind"], r["value"], r["ucr"]) for r in out.refs} == {
        ("entry", "E1", "U1"), ("container", "C1", "U1"), ("entry", "E2", "U2"), ("prn", "P2", "U2")}
    assert out.conflicts == [("container", "C1", "U1", "U2")]
    assert [(e["message_id"], e["ucr"]) for e in out.events] == [("1", "U1"), ("2", "U2"), ("3", "U2")]
    assert out.unresolved == [("s", "4", "P9")]


def test_render_masks_kra_pins(table: RoutingTable) -> None:
    from hub.timeline import Consignment, PartyRecord

    c = Consignment(UCR, (RELEASED,), (PartyRecord("consignee", "kra_pin", "A012345678Z", None),),
                    (("container", "MSCU1234566"), ("vessel_call", "9839430/JE608A")))
    text = render(UCR, [c])
    assert "A012345678Z" not in text and "A*********Z" in text
    assert "9839430/JE608A" in text  # references are not personal data: printed as they are
    assert "2026-02-14 21:00:00" in text  # 900 h after T0 (18:00 UTC), in EAT


# ------------------------------------------------------------------ the store, SQLite and PostgreSQL


LIFE = [
    ("kentrade", "ucr.issued/valid/26kep0512345680000412.xml", "ucr.issued"),
    ("kentrade", "idf/valid/tiles-e2600412743.xml", "idf"),
    ("msc-ke", "arrival.iar/valid/msc-shanelle-v-je608a-kemba.xml", "arrival.iar"),
    ("msc-ke", "manifest.sea/valid/msc-je608a-kemba.xml", "manifest.sea"),
    ("mfano-clearing", "customs.entry/valid/26mbaim000412871.xml", "customs.entry"),
    ("mfano-bank", "payment.confirmation/valid/duty-2026icms000412871.xml", "payment.confirmation"),
    ("kra-icms", "duty.assessment/valid/26mbaim000412871.xml", "duty.assessment"),
    ("kra-icms", "customs.release/valid/released-26mbaim000412871.xml", "customs.release"),
    ("msc-ke", "bayplan/valid/msc-je608a-kemba.xml", "bayplan"),
]


def batch(table: RoutingTable, items: list[tuple[str, str, str]]) -> tuple[list[AcceptedRow], list[Observation]]:
    rows, observations = [], []
    for sender, rel, msg_type in items:
        obs = observation(table, EXAMPLES / rel, msg_type, sender, mid=rel)
        assert obs is not None
        ucr = obs.links[0].ucr if obs.links else None
        rows.append(AcceptedRow(sender, rel, "a" * 64, msg_type, ucr, ()))
        observations.append(obs)
    return rows, observations


def counts(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for t in (consignment_refs, consignment_parties, consignment_events)}


def test_store_records_a_life_once_and_finds_it_by_every_reference(store: Store, table: RoutingTable) -> None:
    for i in range(0, len(LIFE), 3):  # three batches; the IAR comes before the manifest that links it
        rows, observations = batch(table, LIFE[i : i + 3])
        store.commit_batch(rows, [], correlation=observations)
    first = counts(store)
    rows, observations = batch(table, LIFE)
    store.commit_batch(rows, [], correlation=observations)  # redelivered after a crash: nothing twice
    assert counts(store) == first
    assert first["consignment_events"] == len(LIFE)  # one per message; the transit line has no UCR
    c = store.consignment(UCR)
    assert [e.msg_type for e in c.timeline] == [
        "idf", "ucr.issued", "arrival.iar", "customs.entry", "duty.assessment", "manifest.sea",
        "payment.confirmation", "bayplan", "customs.release"]
    assert all(e.at.tzinfo is not None for e in c.events)
    assert c.status.code is Code.RELEASED and c.status.since == datetime(2026, 2, 11, 7, 42, 17, tzinfo=UTC)
    refs = dict(c.references)
    assert refs["entry"] == "26MBAIM000412871" and refs["prn"] == "2026ICMS000412871"
    partners = {(p.role, p.partner) for p in c.parties}
    assert {("financing_bank", "mfano-bank"), ("insurer", "mfano-insurance"), ("cfs", "pwani-cfs"),
            ("declarant", "mfano-clearing"), ("consignee", "mfano-imports")} <= partners
    for ref in ["26KEP0512345680000412", "E2600412743", "26MBAIM000412871", "2026ICMS000412871", "MEDUKE261345",
                "MSCU1234566", "medu7654325", "26MSAAS0041287", "9839430/JE608A"]:
        assert store.resolve(ref) == [UCR], ref
        assert store.consignment(store.resolve(ref)[0]) == c
    assert store.resolve("MEDUKE261377") == [] and store.resolve("nothing") == []


def test_store_resolves_a_missing_ucr_from_an_earlier_batch_and_keeps_the_first_link(
    store: Store, table: RoutingTable
) -> None:
    transit = "26KEP0512345670000415"
    entry = (EXAMPLES / "customs.entry/valid/26mbaim000412871.xml").read_text()
    entry = entry.replace(UCR, transit).replace("MEDUKE261345", "MEDUKE261377").replace(
        "26MBAIM000412871", "26MBAIM000413002")
    obs = observation(table, EXAMPLES / "customs.entry/valid/26mbaim000412871.xml", "customs.entry",
                      "mfano-clearing", mid="transit-entry", data=entry.encode())
    assert obs is not None
    store.commit_batch([AcceptedRow("mfano-clearing", "transit-entry", "b" * 64, "customs.entry", transit, ())], [],
                       correlation=[obs])
    rows, observations = batch(table, [("msc-ke", "manifest.sea/valid/msc-je608a-kemba.xml", "manifest.sea")])
    store.commit_batch(rows, [], correlation=observations)
    assert [e.msg_type for e in store.consignment(transit).timeline] == ["customs.entry", "manifest.sea"]
    assert store.resolve("MSMU5301127") == [transit]  # the line's container, linked through its bill
    # the transit entry named MSCU1234566 too: the first writer keeps it, the manifest's claim is not applied
    assert store.resolve("MSCU1234566") == [transit]


def test_nothing_is_recorded_when_the_batch_does_not_commit(
    store: Store, table: RoutingTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Store._record

    def record_then_fail(self: Store, *args: Any) -> None:
        real(self, *args)
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(Store, "_record", record_then_fail)
    rows, observations = batch(table, LIFE[:4])
    with pytest.raises(StoreUnavailable):
        store.commit_batch(rows, [], correlation=observations)
    assert counts(store) == {"consignment_refs": 0, "consignment_parties": 0, "consignment_events": 0}
    assert store.accepted_count() == 0
