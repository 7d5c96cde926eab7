"""Maintenance window rules (regulation 32) and the affected partners of ACCESS.md's `aff` column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.config import load_config
from hub.windows import WindowRefused, affected_partners, parse_eat, plan_window, to_eat

CFG = load_config(Path(__file__).resolve().parent.parent / "config", env={})
KNOWN = {p.id for p in CFG.partners}


def test_february_2026_icms_window_is_recorded_and_flagged_short_notice() -> None:
    announced = parse_eat("2026-02-06 18:00")  # Friday 6 February (the notice gives ~24 h)
    start, end = parse_eat("2026-02-07 18:00"), parse_eat("2026-02-09 06:00")
    assert start == datetime(2026, 2, 7, 15, 0, tzinfo=UTC)
    w = plan_window("kra-icms", start, end, now=announced, known_targets=KNOWN, reason="iCMS upgrade")
    assert w.short_notice and not w.emergency and w.duration == timedelta(hours=36)
    assert to_eat(w.start) == "2026-02-07 18:00 EAT"


def test_may_2025_window_with_enough_notice_is_not_short() -> None:
    w = plan_window("kra-icms", parse_eat("2025-05-17 22:00"), parse_eat("2025-05-18 06:00"),
                    now=parse_eat("2025-05-14 09:00"), known_targets=KNOWN)
    assert not w.short_notice and w.duration == timedelta(hours=8)


def test_hub_window_needs_48_hours_unless_emergency() -> None:
    now = parse_eat("2026-03-01 08:00")
    with pytest.raises(WindowRefused) as info:
        plan_window("hub", now + timedelta(hours=47, minutes=59), now + timedelta(hours=50), now=now,
                    known_targets=KNOWN)
    assert info.value.code == "WINDOW_NOTICE_TOO_SHORT" and "32(2)" in info.value.message
    ok = plan_window("hub", now + timedelta(hours=48), now + timedelta(hours=50), now=now, known_targets=KNOWN)
    assert not ok.short_notice
    urgent = plan_window("hub", now, now + timedelta(hours=2), now=now, known_targets=KNOWN, emergency=True)
    assert urgent.emergency and urgent.short_notice


@pytest.mark.parametrize(("target", "start", "end", "code"), [
    ("nobody", 1, 2, "WINDOW_UNKNOWN_TARGET"),
    ("kpa", 5, 4, "WINDOW_END_BEFORE_START"),
    ("kpa", -5, -1, "WINDOW_IN_PAST"),
])
def test_refusals_carry_codes(target: str, start: int, end: int, code: str) -> None:
    now = parse_eat("2026-03-01 08:00")
    with pytest.raises(WindowRefused) as info:
        plan_window(target, now + timedelta(hours=start), now + timedelta(hours=end), now=now, known_targets=KNOWN)
    assert info.value.code == code


def test_eat_parsing_accepts_explicit_offsets() -> None:
    assert parse_eat("2026-02-07T15:00:00+00:00") == parse_eat("2026-02-07 18:00")
    assert parse_eat("2026-02-07T18:00") == datetime(2026, 2, 7, 15, 0, tzinfo=UTC)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1)))
def test_eat_round_trip(naive: datetime) -> None:
    naive = naive.replace(second=0, microsecond=0)
    assert to_eat(parse_eat(naive.strftime("%Y-%m-%d %H:%M"))) == naive.strftime("%Y-%m-%d %H:%M EAT")


def test_affected_partners_of_an_icms_window_written_by_hand() -> None:
    # iCMS sends customs.release and duty.assessment (to KT, PGA, NPA all; CA, EXIM, KPA, CFS own) and
    # receives, as CUS, what the registry's senders send: manifests (shipping lines, consolidator), air
    # manifests (ground handler), IARs and bayplans, IDFs (KenTrade, agent, importer), entries (agent),
    # payment confirmations (bank), insurance certificates (insurer), e-seal events (two vendors), gate events (KPA,
    # CFS) and the agent's NCTS declarations. Only the surveyor, IRA and Treasury have no route with it.
    expected = {"kentrade", "kpa", "msc-ke", "maersk-ke", "kebs", "kephis", "pcpb", "kma", "mfano-clearing",
                "mfano-imports", "mfano-bank", "mfano-insurance", "pwani-cfs", "mfano-consol", "mfano-gha",
                "mfano-eseal", "mfano-seals"}
    assert affected_partners("kra-icms", CFG) == expected
    # a marine surveyor receives insurance certificates, so it is affected by the insurer's window only
    assert affected_partners("mfano-surveyor", CFG) == {"mfano-insurance"}
    assert affected_partners("hub", CFG) == KNOWN
    assert affected_partners("nobody", CFG) == set()
