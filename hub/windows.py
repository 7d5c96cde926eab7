"""Maintenance windows: the notice rules of regulation 32 and who a window affects.

Times are written in East Africa Time (UTC+3, no daylight saving) and stored in UTC. Regulation 32(2)
binds the single window itself: a window for the hub needs at least 48 hours' notice unless it is
emergency maintenance (32(3)). Other systems' windows are recorded whatever notice they came with and
flagged ``short_notice`` under 48 hours (KRA announced the 7-9 February 2026 iCMS window on Friday
6 February for 18:00 the next day: about 24 hours). ``affected_partners`` gives ACCESS.md's ``aff``
column: every partner for a window of the hub, else the partners with a route to or from the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from hub.config import Cell, HubConfig, Partner
from hub.errors import PermanentError

EAT = timezone(timedelta(hours=3), "EAT")
HUB_TARGET = "hub"
NOTICE = timedelta(hours=48)


class WindowRefused(PermanentError):
    code = "WINDOW_REFUSED"


@dataclass(frozen=True)
class Window:
    target: str
    start: datetime  # UTC
    end: datetime  # UTC
    emergency: bool
    short_notice: bool
    reason: str | None
    announced_at: datetime  # UTC

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def active(self, now: datetime) -> bool:
        return self.start <= now < self.end


def parse_eat(text: str) -> datetime:
    """``2026-02-07 18:00`` (East Africa Time) or ISO 8601 with an explicit offset -> aware UTC."""
    value = datetime.fromisoformat(text.strip().replace(" ", "T", 1) if " " in text.strip() else text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=EAT)
    return value.astimezone(UTC)


def to_eat(value: datetime) -> str:
    return value.astimezone(EAT).strftime("%Y-%m-%d %H:%M EAT")


def plan_window(
    target: str,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    known_targets: set[str],
    emergency: bool = False,
    reason: str | None = None,
) -> Window:
    """Check a requested window against the rules and return it, or raise WindowRefused (with a code)."""
    if target != HUB_TARGET and target not in known_targets:
        raise WindowRefused(f"unknown target {target!r}: a partner id or 'hub'", code="WINDOW_UNKNOWN_TARGET")
    if end <= start:
        raise WindowRefused("the window must end after it starts", code="WINDOW_END_BEFORE_START")
    if end <= now:
        raise WindowRefused("the window is already over", code="WINDOW_IN_PAST")
    notice = start - now
    short = notice < NOTICE
    if target == HUB_TARGET and short and not emergency:
        hours = max(notice.total_seconds() / 3600, 0)
        raise WindowRefused(
            f"regulation 32(2): the single window must give at least 48 hours' notice (this gives {hours:.1f} h);"
            " use --emergency for emergency maintenance under 32(3)",
            code="WINDOW_NOTICE_TOO_SHORT",
        )
    return Window(target, start, end, emergency, short, reason, now)


def affected_partners(target: str, config: HubConfig) -> set[str]:
    """ACCESS.md ``aff``: all partners for a hub window, else partners with a route to or from ``target``."""
    partners = config.partner_index()
    if target == HUB_TARGET:
        return set(partners)
    me = partners.get(target)
    if me is None:
        return set()
    out: set[str] = set()
    for other in config.partners:
        if other.id == target:
            continue
        if _can_receive_from(other, me, config) or _can_receive_from(me, other, config):
            out.add(other.id)
    return out


def _can_receive_from(receiver: Partner, sender: Partner, config: HubConfig) -> bool:
    """Whether some type the sender sends is routed to one of the receiver's profiles with a deliverable cell."""
    for msg_type in sender.sends:
        route = config.routes.get(msg_type)
        rules = config.access.get(msg_type, {})
        if route is None:
            continue
        for prof in receiver.profiles:
            rule = rules.get(prof)
            if prof in route.to and rule is not None and rule.cell in (Cell.ALL, Cell.OWN):
                return True
    return False
