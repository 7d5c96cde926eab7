"""Whether a partner can take deliveries now: holding reasons, its circuit breaker and its drain rate.

A partner is held (its deliveries wait in the hub's queues, spending no attempts) while any of these is
true: a maintenance window of its system is active (``window``), its circuit is open (``circuit_open``),
the registry says it is suspended or deregistered (``suspended``, ``deregistered``), or its AMQP inbox
holds its agreed depth or more (``inbox_full``). ``PartnerGate.wait`` returns once none holds; a
half-open circuit lets exactly one delivery through as the probe.

Circuit breaker: ``circuit_failures`` consecutive failed deliveries open it; after ``circuit_probe_after``
seconds (doubling after each failed probe, at most ten times that) one probe goes; its success closes the
circuit. For an AMQP partner the monitor also opens it when the inbox has held messages with no consumer
for ``idle_consumer_timeout`` seconds, and closes it when a consumer is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from hub import logs

log = logs.get("hub.delivery")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class LaneYield(Exception):
    """The partner was paused while this lane waited at its gate."""


@dataclass
class Circuit:
    failures_to_open: int
    probe_after: float
    clock: Callable[[], float] = time.monotonic
    state: str = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    wait: float = 0.0
    probing: bool = False
    reason: str = ""
    idle_open: bool = False  # opened by the monitor (AMQP inbox without consumer), closed by it too

    def allow(self) -> bool:
        """May a delivery be attempted now? In half-open state only one (the probe) at a time."""
        if self.idle_open:
            return False
        if self.state == CLOSED:
            return True
        if self.state == OPEN and self.clock() - self.opened_at >= self.wait:
            self.state = HALF_OPEN
        if self.state == HALF_OPEN and not self.probing:
            self.probing = True
            return True
        return False

    def is_probe(self) -> bool:
        return self.state == HALF_OPEN and self.probing

    def success(self) -> bool:
        """Returns True if this success closed an open circuit."""
        self.failures = 0
        was_open = self.state != CLOSED
        self.state, self.probing, self.wait = CLOSED, False, 0.0
        return was_open

    def failure(self, reason: str) -> bool:
        """Returns True if this failure opened the circuit."""
        self.failures += 1
        self.reason = reason
        if self.state == HALF_OPEN:
            self.state, self.probing = OPEN, False
            self.opened_at = self.clock()
            self.wait = min(self.wait * 2, self.probe_after * 10)
            return False
        if self.state == CLOSED and self.failures >= self.failures_to_open:
            self.state, self.opened_at, self.wait = OPEN, self.clock(), self.probe_after
            return True
        return False

    @property
    def open(self) -> bool:
        return self.idle_open or self.state != CLOSED


@dataclass
class RateLimit:
    """Token bucket: ``rate`` deliveries per second (None: unlimited), burst of one second's worth (at least
    one delivery, so that a rate under 1 per second still delivers)."""

    rate: float | None
    tokens: float = 0.0
    last: float = field(default_factory=time.monotonic)

    async def take(self) -> None:
        if self.rate is None:
            return
        while True:
            now = time.monotonic()
            self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


class PartnerGate:
    """The holding decision for one partner, re-evaluated whenever something changes (``notify``)."""

    def __init__(self, partner_id: str, circuit: Circuit) -> None:
        self.partner_id = partner_id
        self.circuit = circuit
        self.window_until: datetime | None = None  # end of the active maintenance window
        self.status_reason: str | None = None  # suspended | deregistered
        self.inbox_full = False
        self.paused = False  # held long enough that its deliveries go back to their queues (hub.delivery)
        self.held_since: float | None = None  # monotonic; set and cleared by the monitor
        self._changed = asyncio.Event()

    def reasons(self) -> list[str]:
        out = []
        if self.window_until is not None:
            out.append("window")
        if self.circuit.open:
            out.append("circuit_open")
        if self.status_reason:
            out.append(self.status_reason)
        if self.inbox_full:
            out.append("inbox_full")
        return out

    def held(self) -> bool:
        return bool(self.reasons())

    def notify(self) -> None:
        self._changed.set()

    def pausable(self) -> bool:
        """Held for a reason that ends without a delivery attempt (a window, the registry, the inbox's depth
        or consumer seen by the monitor). An open HTTP circuit is not: it closes only on a probe delivery."""
        return self.held() and (not self.circuit.open or self.circuit.idle_open)

    async def wait(self, recheck: float = 1.0) -> bool:
        """Wait until a delivery may be attempted; True if it is the circuit's half-open probe. Raises
        ``LaneYield`` once the partner is paused: the lane gives its deliveries back to their queue."""
        while True:
            if self.paused:
                raise LaneYield(self.partner_id)
            if self.window_until is None and not self.status_reason and not self.inbox_full and self.circuit.allow():
                return self.circuit.is_probe()
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), recheck)
