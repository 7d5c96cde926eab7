"""Per-partner delivery status: the figures of ``hub status``, ``/healthz`` and the Prometheus gauges.

``held`` counts every delivery waiting for the partner: in the hub's partition queues (ready or taken by a
hub and not yet acked) and in the store (a lane's head being retried, deliveries parked behind it); dead
letters are counted apart. ``oldest_waiting`` comes from the hub's own records (queue timestamps of the
deliveries a hub holds, store rows): quorum queues do not report the age of their head. ``drain_eta`` is
``held / rate`` seconds, plus what remains of an active window; the rate is the partner's configured
``drain_rate`` or, below it, the rate observed while a backlog was delivered to this partner, else to any
partner of the same transport (the hub's capacity); unknown before any backlog was delivered.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from hub.config import Partner

STATE_ORDER = ("deregistered", "suspended", "no_secret", "window", "circuit_open", "inbox_full")


@dataclass(frozen=True)
class PartnerView:
    partner: str
    transport: str
    state: str  # up | window | circuit_open | suspended | deregistered | inbox_full | no_secret | unknown
    reasons: tuple[str, ...]
    inbox_depth: int | None
    held: int
    dead_letters: int
    oldest_waiting_seconds: float | None
    rate: float | None
    drain_eta_seconds: float | None
    window_until: datetime | None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        out["window_until"] = self.window_until.isoformat() if self.window_until else None
        return out


def effective_rate(partner: Partner, observed: float | None, fallback: float | None = None) -> float | None:
    """The partner's configured drain rate, capped by what was observed; with neither, ``fallback`` (the best
    rate observed to other partners of the same transport: the hub's own delivery capacity)."""
    observed = observed if observed is not None else fallback
    if partner.drain_rate is not None and observed is not None:
        return min(partner.drain_rate, observed)
    return partner.drain_rate if partner.drain_rate is not None else observed


def partner_view(
    partner: Partner,
    *,
    reasons: tuple[str, ...] | None,
    inbox_depth: int | None,
    held: int,
    dead: int,
    oldest_at: datetime | None,
    observed_rate: float | None,
    window_until: datetime | None,
    now: datetime,
    fallback_rate: float | None = None,
) -> PartnerView:
    """``reasons`` None: no running hub reported (the state is then ``unknown`` unless the registry or a
    window says more)."""
    if reasons is None:
        known = [r for r in (partner.status.value if partner.status.value != "active" else None,
                             "window" if window_until else None) if r]
        state = known[0] if known else "unknown"
        reasons = tuple(known)
    else:
        state = next((s for s in STATE_ORDER if s in reasons), "up")
    rate = effective_rate(partner, observed_rate, fallback_rate)
    eta: float | None
    if held == 0:
        eta = 0.0
    elif rate is None or rate <= 0:
        eta = None
    else:
        eta = held / rate
        if window_until is not None and window_until > now:
            eta += (window_until - now).total_seconds()
    oldest = max((now - oldest_at).total_seconds(), 0.0) if oldest_at is not None and held else None
    return PartnerView(partner.id, partner.transport.kind, state, tuple(reasons), inbox_depth, held, dead, oldest,
                       rate, eta, window_until)


def duration(seconds: float | None) -> str:
    """For people (``hub status``, the console): seconds under 2 minutes, minutes under 2 hours, then hours;
    ``?`` when unknown."""
    if seconds is None:
        return "?"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
