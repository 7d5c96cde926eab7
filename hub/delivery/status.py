"""Per-partner delivery status: the figures of ``hub status``, ``/healthz`` and the Prometheus gauges.

``held`` counts every delivery waiting for the partner: in the hub's partition queues (ready or taken by a
hub and not yet acked) and in the store (a lane's head being retried, deliveries parked behind it); dead
letters are counted apart. ``oldest_waiting`` comes from the hub's own records (queue timestamps of the
deliveries a hub holds, store rows): quorum queues do not report the age of their head. ``drain_eta`` is
``held / rate`` seconds, plus what remains of an active window; the rate is the partner's configured
``drain_rate`` or, below it, the best estimate of how fast this hub delivers to it when nothing else limits
it (``rate_estimate``); unknown before any backlog was delivered.
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


class BusyRate:
    """How fast a partner's deliveries go when the hub has more for it than it can send (its *capacity*):
    deliveries per second counted only while the consumer of the delivery's partition queue holds at least
    ``full`` (half its prefetch) unacked deliveries, so the broker has more ready than the hub takes. The rate
    seen at other times is bounded by how fast deliveries arrive (the ingest side), not by delivery: a drain
    after a window goes several times faster than that, and an ETA from it was 2x to 8x too long (issue 7's
    benchmark).

    A gap of more than ``max_gap`` seconds between two counted deliveries (a held gate, a retry, a window)
    starts a new measurement instead of counting the pause. A measurement is taken over at least ``span``
    seconds and ``sample`` deliveries (confirms come back in bursts: 50 deliveries can be done in a few
    milliseconds); ``rate`` is the moving average of the measurements (the last one weighs 0.7)."""

    def __init__(self, full: int, *, sample: int = 20, span: float = 0.25, max_gap: float = 2.0) -> None:
        self.full = max(full, 1)
        self.sample = sample
        self.span = span
        self.max_gap = max_gap
        self.rate: float | None = None
        self._last: float | None = None
        self._n = 0
        self._span = 0.0

    def delivered(self, waiting: int, now: float) -> None:
        """One delivery done at monotonic time ``now``, ``waiting`` deliveries of its partition queue taken
        and not yet acked."""
        if waiting < self.full:
            self._last = None
            return
        if self._last is not None and now - self._last <= self.max_gap:
            self._n += 1
            self._span += now - self._last
            if self._n >= self.sample and self._span >= self.span:
                seen = self._n / self._span
                self.rate = seen if self.rate is None else 0.3 * self.rate + 0.7 * seen
                self._n, self._span = 0, 0.0
        self._last = now

    def paused(self) -> None:
        """The gate held: the next delivery starts a new measurement."""
        self._last = None


def rate_estimate(own_capacity: float | None, transport_capacity: float | None, own_seen: float | None,
                  transport_seen: float | None) -> float | None:
    """The rate behind a drain ETA, best first: this partner's measured capacity (``BusyRate``); the best
    capacity measured for any partner of its transport (one process delivers to all of them); then, as lower
    bounds when no backlog was ever big enough to measure a capacity, the rate seen while this partner, else
    any of its transport, had a backlog."""
    for rate in (own_capacity, transport_capacity, own_seen, transport_seen):
        if rate is not None and rate > 0:
            return rate
    return None


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
    window_end_delay: float = 0.0,
) -> PartnerView:
    """``reasons`` None: no running hub reported (the state is then ``unknown`` unless the registry or a
    window says more). ``window_end_delay``: how long after an active window's end the hub starts delivering
    on average (half its ``delivery.monitor_interval``: windows are applied at each of its ticks)."""
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
            eta += (window_until - now).total_seconds() + window_end_delay
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
