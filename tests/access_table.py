"""ACCESS.md, written by hand for the tests (not read from config/access.yaml).

For each type: the profiles whose cell is ``all``, and those whose cell is ``own``. Tests compute the
expected recipients from this table and the partners' profiles, so a wrong access.yaml fails them.
"""

from __future__ import annotations

ALL: dict[str, set[str]] = {
    "customs.release": {"KT", "PGA", "NPA"},
    "manifest.sea": {"CUS", "KT", "KPA", "PGA", "NPA"},
    "manifest.air": {"CUS", "KT", "PGA", "NPA"},
    "arrival.iar": {"CUS", "KT", "KPA", "PGA", "NPA"},
    "bayplan": {"CUS", "KPA"},
    "idf": {"CUS", "KT", "NPA"},
    "ucr.issued": {"CUS", "NPA"},
    "customs.entry": {"CUS", "KT", "PGA", "NPA"},
    "duty.assessment": {"KT", "PGA", "NPA"},
    "permit.application": {"KT", "NPA"},
    "permit.status": {"CUS", "KT", "NPA"},
    "payment.confirmation": {"CUS", "KT", "NPA"},
    "delivery.order": {"KT"},
    "insurance.certificate": {"CUS", "KT", "MS", "IRA"},
    "eseal.event": {"CUS"},
    "gate.event": {"CUS", "KT", "PGA", "NPA"},
}

OWN: dict[str, set[str]] = {
    "customs.release": {"KPA", "GHA", "CFS", "CA", "EXIM"},
    "manifest.sea": {"SHA", "CON", "CFS"},
    "manifest.air": {"GHA", "CON", "CFS"},
    "arrival.iar": {"SHA"},
    "bayplan": {"SHA"},
    "idf": {"CA", "EXIM", "BNK", "PGA"},
    "ucr.issued": {"CA", "EXIM", "BNK", "INS", "PGA"},
    "customs.entry": {"CA", "EXIM"},
    "duty.assessment": {"CA", "EXIM"},
    "permit.application": {"CA", "EXIM", "PGA"},
    "permit.status": {"CA", "EXIM", "PGA"},
    "payment.confirmation": {"CA", "EXIM", "PGA"},
    "delivery.order": {"KPA", "CFS", "CA", "EXIM"},
    "insurance.certificate": {"CA", "EXIM", "INS"},
    "eseal.event": set(),
    "gate.event": {"CA", "EXIM"},
}


def expected_recipients(
    msg_type: str, sender: str, profiles: dict[str, set[str]], named_parties: set[str]
) -> set[str]:
    """Partners entitled to a message: an ``all`` profile, or an ``own`` profile and named as a party."""
    out = set()
    for pid, profs in profiles.items():
        if pid == sender:
            continue
        if profs & ALL[msg_type] or (profs & OWN[msg_type] and pid in named_parties):
            out.add(pid)
    return out
