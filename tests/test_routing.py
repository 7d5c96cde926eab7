"""Routing alone (a pure function): checked against the hand-written ACCESS.md table, with hypothesis."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.config import Partner, Profile, load_config
from hub.routing import RoutingTable, route
from hub.schemas.base import IdScheme, Keys, Party, PartyRole
from tests.access_table import ALL, OWN, expected_recipients

ROOT = Path(__file__).resolve().parent.parent
CFG = load_config(ROOT / "config", env={})
TYPES = sorted(ALL)
PROFILES = [p.value for p in Profile]


def table_for(partners: list[Partner]) -> RoutingTable:
    return RoutingTable(tuple(partners), CFG.routes, CFG.access)


def test_access_yaml_transcribes_every_cell_of_access_md() -> None:
    for msg_type in TYPES:
        rules = CFG.access[msg_type]
        got_all = {str(p) for p, r in rules.items() if r.cell == "all"}
        got_own = {str(p) for p, r in rules.items() if r.cell == "own"}
        assert (got_all, got_own) == (ALL[msg_type], OWN[msg_type]), msg_type
        for rule in rules.values():
            assert rule.basis


def test_sender_never_receives_and_multi_profile_partner_once() -> None:
    both = Partner(id="two-hats", name="x", profiles=(Profile.KT, Profile.PGA))
    sender = Partner(id="kra", name="k", profiles=(Profile.CUS,))
    decision = route("customs.release", "kra", Keys(), table_for([both, sender]))
    assert decision.recipient_ids() == ["two-hats"]
    decision = route("manifest.sea", "two-hats", Keys(), table_for([both, sender]))
    assert decision.recipient_ids() == ["kra"]


def test_own_cell_needs_named_party_and_exclusion_names_rule() -> None:
    agent = Partner(id="agent", name="a", profiles=(Profile.CA,), identifiers={IdScheme.KRA_PIN: ("P051234567A",)})
    other = Partner(id="other", name="o", profiles=(Profile.CA,), identifiers={IdScheme.KRA_PIN: ("P051234599Z",)})
    bank = Partner(id="bank", name="b", profiles=(Profile.BNK,))
    keys = Keys(parties=(Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id="P051234567A"),))
    decision = route("customs.release", "kra", keys, table_for([agent, other, bank]))
    assert decision.recipient_ids() == ["agent"]
    excluded = {e.id: e.rule for e in decision.excluded}
    assert excluded["other"] == "access:customs.release:CA:own: not a named party"
    assert "bank" not in decision.recipient_ids()


def test_bic_matches_with_or_without_branch_code() -> None:
    bank = Partner(id="bank", name="b", profiles=(Profile.BNK,), identifiers={IdScheme.BIC: ("MFNOKENA",)})
    for bic in ("MFNOKENA", "MFNOKENAXXX", "MFNOKENA001"):
        keys = Keys(parties=(Party(role=PartyRole.FINANCING_BANK, scheme=IdScheme.BIC, id=bic),))
        assert route("idf", "kentrade", keys, table_for([bank])).recipient_ids() == ["bank"], bic


def test_deregistered_partner_receives_nothing() -> None:
    from hub.config import PartnerStatus

    gone = Partner(id="gone", name="g", profiles=(Profile.KT,), status=PartnerStatus.DEREGISTERED)
    here = Partner(id="here", name="h", profiles=(Profile.KT,))
    decision = route("customs.release", "kra", Keys(), table_for([gone, here]))
    assert decision.recipient_ids() == ["here"]
    assert {e.id: e.rule for e in decision.excluded}["gone"] == "registry:deregistered"


ids = st.from_regex(r"[a-z][a-z0-9]{2,8}", fullmatch=True)
pins = st.from_regex(r"P0[0-9]{8}[A-Z]", fullmatch=True)
partner_st = st.builds(
    lambda pid, profs, pin: Partner(id=pid, name=pid, profiles=tuple(Profile(p) for p in profs),
                                    identifiers={IdScheme.KRA_PIN: (pin,)}),
    ids, st.sets(st.sampled_from(PROFILES), min_size=1, max_size=3), pins,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    partners=st.lists(
        partner_st, min_size=1, max_size=25,
        unique_by=(lambda p: p.id, lambda p: p.identifiers[IdScheme.KRA_PIN][0]),
    ),
    msg_type=st.sampled_from(TYPES),
    data=st.data(),
)
def test_routing_matches_hand_written_table(partners: list[Partner], msg_type: str, data: st.DataObject) -> None:
    sender = data.draw(st.sampled_from([p.id for p in partners] + ["outsider"]))
    named = data.draw(st.sets(st.sampled_from([p.id for p in partners])))
    by_id = {p.id: p for p in partners}
    keys = Keys(parties=tuple(
        Party(role=PartyRole.CONSIGNEE, scheme=IdScheme.KRA_PIN, id=by_id[n].identifiers[IdScheme.KRA_PIN][0])
        for n in sorted(named)
    ))
    decision = route(msg_type, sender, keys, table_for(partners))
    profiles = {p.id: {str(x) for x in p.profiles} for p in partners}
    assert set(decision.recipient_ids()) == expected_recipients(msg_type, sender, profiles, named)
    assert len(decision.recipient_ids()) == len(set(decision.recipient_ids()))
    assert not {e.id for e in decision.excluded} & set(decision.recipient_ids())
