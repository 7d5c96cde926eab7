"""What a partner may see of a consignment (hub.queries), on a real store (SQLite and a throw-away PostgreSQL
database) filled by ``commit_batch`` with observations of the example messages, checked against ACCESS.md's
words: a bank sees the UCR and the IDF of what it finances and nothing else; an importer sees its own; customs
sees its ``all`` types of any consignment; the operator sees everything; status from what is visible only."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.catalogue import Catalogue
from hub.client import content_type_for
from hub.config import Cell, HubConfig, Partner, Profile, load_config
from hub.queries import NOT_A_PARTY, REF_TYPES, ROLE_TYPES, carried, cells, consignment_view
from hub.routing import RoutingTable
from hub.schemas.base import IdScheme, PartyRole
from hub.store import AcceptedRow, Store
from hub.timeline import SHARED_KINDS, Observation, as_json, observe
from tests.conftest import EXAMPLES, ROOT

UCR = "26KEP0512345680000412"  # financed by mfano-bank, imported by mfano-imports, through pwani-cfs
NO_BANK = "26KEP0512345680000470"  # mfano-imports' too, no financing bank; mfano-bank collected its UCR fee
OTHER = "26KEP0512345680000499"  # another importer's (other-imports), no bank
OTHER_PIN = "P059876543Q"
NOW = datetime(2026, 11, 1, tzinfo=UTC)

LIFE = [  # (sender, example, type): every step of UCR's life the examples hold
    ("kentrade", "ucr.issued/valid/26kep0512345680000412.xml", "ucr.issued"),
    ("kentrade", "idf/valid/tiles-e2600412743.xml", "idf"),
    ("mfano-insurance", "insurance.certificate/valid/mic-2026-00812.xml", "insurance.certificate"),
    ("msc-ke", "arrival.iar/valid/msc-shanelle-v-je608a-kemba.xml", "arrival.iar"),
    ("msc-ke", "manifest.sea/valid/msc-je608a-kemba.xml", "manifest.sea"),
    ("mfano-clearing", "customs.entry/valid/26mbaim000412871.xml", "customs.entry"),
    ("kra-icms", "duty.assessment/valid/26mbaim000412871.xml", "duty.assessment"),
    ("mfano-bank", "payment.confirmation/valid/duty-2026icms000412871.xml", "payment.confirmation"),
    ("kra-icms", "customs.release/valid/released-26mbaim000412871.xml", "customs.release"),
    ("msc-ke", "delivery.order/valid/msc-do-meduke261345-pwani.xml", "delivery.order"),
    ("pwani-cfs", "gate.event/valid/pwani-gate-out-full-mscu1234566.xml", "gate.event"),
    ("msc-ke", "bayplan/valid/msc-je608a-kemba.xml", "bayplan"),
    ("kentrade", "ucr.issued/valid/26kep0512345680000470-trader-only.xml", "ucr.issued"),
    ("kentrade", "idf/valid/amoxicillin-kenbo-no-bank.xml", "idf"),
    ("mfano-bank", "payment.confirmation/valid/ucr-fee-26kep0512345680000470.json", "payment.confirmation"),
]
LIFE_TYPES = {t for _s, rel, t in LIFE if NO_BANK.lower() not in rel and "amoxicillin" not in rel}


def commit_life(store: Store, config: HubConfig) -> None:
    """Record every step of ``LIFE`` in the store as the hub would have accepted it (rows and timeline)."""
    table, catalogue = RoutingTable.from_config(config), Catalogue()
    rows, observations = [], []
    now = datetime(2026, 11, 1, tzinfo=UTC)
    for sender, rel, msg_type in LIFE:
        data = (EXAMPLES / rel).read_bytes()
        body = catalogue.decode(data, content_type_for(Path(rel).name, data), msg_type)
        obs = observe(body, body.keys(), sender, rel, now, table.partner_of)
        assert obs is not None
        rows.append(AcceptedRow(sender, rel, "a" * 64, msg_type, body.keys().ucr, ()))
        observations.append(obs)
    store.commit_batch(rows, [], correlation=observations)


def _other_importers_idf() -> bytes:
    text = (EXAMPLES / "idf/valid/amoxicillin-kenbo-no-bank.xml").read_text()
    return text.replace(NO_BANK, OTHER).replace("E2600415102", "E2600499001").replace(
        "P051234568B", OTHER_PIN).encode()


@pytest.fixture(scope="module")
def config() -> HubConfig:
    """The example configuration with a second importer, so that "another importer's" is someone's."""
    base = load_config(ROOT / "config")
    other = Partner(id="other-imports", name="Another importer (test)", profiles=(Profile.EXIM,),
                    identifiers={IdScheme.KRA_PIN: (OTHER_PIN,)})
    multi = Partner(id="bank-and-importer", name="Both (test)", profiles=(Profile.BNK, Profile.EXIM))
    return HubConfig(directory=base.directory, settings=base.settings, partners=(*base.partners, other, multi),
                     routes=base.routes, access=base.access, schema_types=base.schema_types)


@pytest.fixture(scope="module")
def observations(config: HubConfig) -> list[tuple[AcceptedRow, Observation]]:
    table = RoutingTable.from_config(config)
    catalogue = Catalogue(config.schema_types)
    out = []
    items = [(s, rel, t, (EXAMPLES / rel).read_bytes()) for s, rel, t in LIFE]
    items.append(("kentrade", "idf/other-importer.xml", "idf", _other_importers_idf()))
    for sender, rel, msg_type, data in items:
        body = catalogue.decode(data, content_type_for(Path(rel).name, data), msg_type)
        obs = observe(body, body.keys(), sender, rel, NOW, table.partner_of)
        assert obs is not None, rel
        out.append((AcceptedRow(sender, rel, "a" * 64, msg_type, body.keys().ucr, ()), obs))
    return out


@pytest.fixture
def filled(store: Store, observations: list[tuple[AcceptedRow, Observation]]) -> Store:
    for i in range(0, len(observations), 4):  # a few batches: the vessel-level IAR before its manifest
        chunk = observations[i : i + 4]
        store.commit_batch([r for r, _o in chunk], [], correlation=[o for _r, o in chunk])
    return store


def types_seen(doc: dict[str, object], ucr: str) -> set[str]:
    consignments = doc["consignments"]
    assert isinstance(consignments, list)
    found = [c for c in consignments if c["ucr"] == ucr]
    return {e["type"] for c in found for e in c["events"]}


# ------------------------------------------------------------------ the rules, unit by unit


def test_cells_best_profile_and_the_sender_flag_grants_nothing(config: HubConfig) -> None:
    bank = cells(config, "mfano-bank")
    assert bank["idf"] is Cell.OWN and bank["ucr.issued"] is Cell.OWN
    assert bank["payment.confirmation"] is Cell.DENY  # S in ACCESS.md: sends it, does not see "the duty paid"
    assert bank["manifest.sea"] is Cell.DENY and bank["maintenance.notice"] is Cell.DENY  # aff grants nothing
    kra = cells(config, "kra-icms")
    assert kra["manifest.sea"] is Cell.ALL and kra["customs.release"] is Cell.DENY  # sender of releases
    multi = cells(config, "bank-and-importer")  # BNK + EXIM: the better of the two
    assert multi["customs.entry"] is Cell.OWN and multi["idf"] is Cell.OWN
    assert set(cells(config, "nobody").values()) == {Cell.DENY}


def test_the_static_maps_cover_what_every_example_carries(config: HubConfig) -> None:
    """REF_TYPES / ROLE_TYPES against the references and parties the example messages actually record."""
    table = RoutingTable.from_config(config)
    catalogue = Catalogue(config.schema_types)
    ref_types, role_types = carried(config)
    checked = 0
    for path in sorted(EXAMPLES.glob("*/valid/*")):
        msg_type = path.parent.parent.name
        data = path.read_bytes()
        body = catalogue.decode(data, content_type_for(path.name, data), msg_type)
        keys = body.keys()
        obs = observe(body, keys, "s", path.name, NOW, table.partner_of)
        if obs is None:
            continue
        kinds = {r.kind for r in keys.references if r.kind not in SHARED_KINDS}
        kinds |= {r.kind for link in obs.links for r in link.refs}
        roles = {p.role for p in keys.parties} | {p.role for link in obs.links for p, _ in link.parties}
        for kind in kinds:
            assert msg_type in ref_types[kind], (path, kind)
        for role in roles:
            assert msg_type in role_types[role], (path, role)
        checked += 1
    assert checked > 50
    assert set(REF_TYPES) <= set(ref_types) and set(ROLE_TYPES) <= set(role_types)
    assert PartyRole.PAYING_BANK in NOT_A_PARTY


# ------------------------------------------------------------------ on the store


def test_the_operator_sees_everything(filled: Store, config: HubConfig) -> None:
    doc = consignment_view(filled, config, UCR, None)
    expected = as_json(UCR, [filled.consignment(UCR)])
    assert doc == {"reference": UCR, "viewer": "operator", "consignments": expected["consignments"]}
    assert types_seen(doc, UCR) == LIFE_TYPES
    assert doc["consignments"][0]["status"] == "GATED_OUT"
    # the control case of the next test: the operator does see mfano-bank on NO_BANK, as the paying bank
    parties = consignment_view(filled, config, NO_BANK, None)["consignments"][0]["parties"]
    assert {(p["role"], p["partner"]) for p in parties if p["partner"] == "mfano-bank"} == {
        ("paying_bank", "mfano-bank")}


def test_a_bank_sees_the_ucr_and_the_idf_of_what_it_finances_and_nothing_else(
    filled: Store, config: HubConfig
) -> None:
    doc = consignment_view(filled, config, UCR, "mfano-bank")
    assert doc["viewer"] == "mfano-bank"
    (c,) = doc["consignments"]
    assert [e["type"] for e in c["events"]] == ["idf", "ucr.issued"]  # not manifest, duty, payment, release
    assert {r["kind"] for r in c["references"]} == {"ucr", "idf"}
    assert {r["value"] for r in c["references"]} == {UCR, "E2600412743"}
    # status from what it sees: the IDF is lodged, the customs entry is what comes next
    assert c["status"] == "IDF_LODGED"
    assert [w["text"] for w in c["waiting_for"]] == ["the customs entry (clearing agent)"]
    roles = {p["role"] for p in c["parties"]}
    assert roles <= {"importer", "clearing_agent", "financing_bank", "applicant", "insurer", "paying_bank"}
    assert "cfs" not in roles and "carrier" not in roles and "customs_office" not in roles
    assert all("*" in p["id"] for p in c["parties"] if p["scheme"] == "kra_pin")  # masked
    text = str(doc)
    for hidden in ("MSCU1234566", "26MBAIM000412871", "2026ICMS000412871", "MEDUKE261345", "P051234568B"):
        assert hidden not in text
    # found by its IDF number; not by a container or an entry number it may not see
    assert consignment_view(filled, config, "E2600412743", "mfano-bank")["consignments"] == [c]
    for ref in ("MSCU1234566", "26MBAIM000412871", "9839430/JE608A", "2026ICMS000412871"):
        assert consignment_view(filled, config, ref, "mfano-bank")["consignments"] == [], ref


def test_a_bank_that_does_not_finance_the_consignment_gets_nothing(filled: Store, config: HubConfig) -> None:
    """It collected the UCR fee of NO_BANK (a paying_bank party): that is no financing."""
    assert consignment_view(filled, config, NO_BANK, "mfano-bank") == {
        "reference": NO_BANK, "viewer": "mfano-bank", "consignments": []}
    assert consignment_view(filled, config, OTHER, "mfano-bank")["consignments"] == []
    assert consignment_view(filled, config, "E2600415102", "mfano-bank")["consignments"] == []


def test_an_importer_sees_its_own_and_not_another_importers(filled: Store, config: HubConfig) -> None:
    mine = consignment_view(filled, config, UCR, "mfano-imports")
    expected = {t for t in LIFE_TYPES if cells(config, "mfano-imports")[t] is not Cell.DENY}
    assert types_seen(mine, UCR) == expected
    assert {"customs.entry", "duty.assessment", "payment.confirmation", "customs.release", "gate.event"} <= expected
    assert not expected & {"manifest.sea", "arrival.iar", "bayplan"}  # no EXIM cell for them
    assert types_seen(consignment_view(filled, config, NO_BANK, "mfano-imports"), NO_BANK) == {
        "ucr.issued", "idf", "payment.confirmation"}
    assert consignment_view(filled, config, OTHER, "mfano-imports")["consignments"] == []
    theirs = consignment_view(filled, config, OTHER, "other-imports")
    assert types_seen(theirs, OTHER) == {"idf"}
    assert consignment_view(filled, config, UCR, "other-imports")["consignments"] == []
    assert consignment_view(filled, config, NO_BANK, "other-imports")["consignments"] == []


def test_customs_sees_its_all_types_of_any_consignment(filled: Store, config: HubConfig) -> None:
    kra = cells(config, "kra-icms")
    doc = consignment_view(filled, config, UCR, "kra-icms")
    assert types_seen(doc, UCR) == {t for t in LIFE_TYPES if kra[t] is Cell.ALL}
    assert not types_seen(doc, UCR) & {"customs.release", "duty.assessment", "delivery.order"}  # deny (S or -)
    # all cells: any consignment, party or not (it is named on none of OTHER's rows)
    assert types_seen(consignment_view(filled, config, OTHER, "kra-icms"), OTHER) == {"idf"}
    assert consignment_view(filled, config, "9839430/JE608A", "kra-icms")["consignments"][0]["ucr"] == UCR


def test_own_cells_follow_the_consignment_not_only_the_message(filled: Store, config: HubConfig) -> None:
    """The CFS named in the manifest sees the release (which does not name it); the shipping line its own
    vessel's manifest, arrival and bayplan, found by the vessel call."""
    cfs = consignment_view(filled, config, "MSCU1234566", "pwani-cfs")
    assert types_seen(cfs, UCR) == {"manifest.sea", "customs.release", "delivery.order"}  # gate.event: S only
    line = consignment_view(filled, config, "9839430/JE608A", "msc-ke")
    assert types_seen(line, UCR) == {"manifest.sea", "arrival.iar", "bayplan"}
    assert line["consignments"][0]["status"] == "MANIFESTED"
    assert consignment_view(filled, config, NO_BANK, "msc-ke")["consignments"] == []


def test_status_never_reveals_a_hidden_event(filled: Store, config: HubConfig) -> None:
    full = consignment_view(filled, config, UCR, None)["consignments"][0]
    for viewer in ("mfano-bank", "mfano-insurance", "kra-icms", "pwani-cfs", "msc-ke", "mfano-imports"):
        doc = consignment_view(filled, config, UCR, viewer)
        (c,) = doc["consignments"]
        times = {e["at"] for e in c["events"]}
        assert c["since"] in times, viewer
        hidden = {(e["type"], e["message_id"]) for e in full["events"]} - {
            (e["type"], e["message_id"]) for e in c["events"]}
        assert not any(mid in str(c) for _t, mid in hidden), viewer
    assert consignment_view(filled, config, UCR, "mfano-insurance")["consignments"][0]["status"] == "UCR_ISSUED"


def test_nothing_for_an_unknown_reference_or_viewer(filled: Store, config: HubConfig) -> None:
    assert consignment_view(filled, config, "NOSUCHREF", None)["consignments"] == []
    assert consignment_view(filled, config, UCR, "not-registered")["consignments"] == []
    assert consignment_view(filled, config, UCR, "treasury")["consignments"] == []  # NT: no v1 kind
