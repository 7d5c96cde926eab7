"""Whether a partner can take deliveries now: holding reasons, its circuit breaker and its drain rate.

A partner is held (its deliveries wait in the hub's queues, spending no attempts) while any of these is
true: a maintenance window of its system is active (``window``), its circuit is open (``circuit_open``),
the registry says it is suspended or deregistered (``suspended``, ``deregistered``), or its AMQP inbox
holds its agreed depth or more (``inbox_full``). ``PartnerGate.wait`` returns once none holds; a
half-open circuit lets exactly one delivery through as the probe.

A hold for the registry status is the only one with a time limit and operators' decisions (``StatusHold``,
pure): a delivery held by it longer than ``delivery.suspended_hold_hours`` (counted from when the status
was recorded, or from the delivery's queued time if later) ends with ``HoldEnded`` (the worker
dead-letters it as ``PARTNER_SUSPENDED`` or ``PARTNER_DEREGISTERED``); an operator's latest decision since
the status was set (``hub partners release-held|cancel-held|settle``) covers the deliveries queued before
it was recorded: released ones pass the status (not the other holds), cancelled or rejected ones end.

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
from datetime import UTC, datetime, timedelta

from hub import logs

log = logs.get("hub.delivery")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

# the registry statuses whose hold ends after delivery.suspended_hold_hours, and their dead-letter reasons
STATUS_CODES = {"suspended": "PARTNER_SUSPENDED", "deregistered": "PARTNER_DEREGISTERED"}
HELD_CANCELLED = "HELD_CANCELLED"  # dead-letter reason: an operator cancelled the held deliveries
RELEASE, CANCEL, REJECT = "release", "cancel", "reject"  # operators' decisions on a partner's held deliveries


class LaneYield(Exception):
    """The partner was paused while this lane waited at its gate."""


class HoldEnded(Exception):
    """A delivery held for its recipient's registry status waits no longer: the worker dead-letters it with
    ``reason`` (a code) and ``detail`` (its last error, which the sender's ``delivery_failed`` quotes: it never
    carries the operator's own words, which may say why the recipient was suspended)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class HoldVerdict:
    passes: bool = False  # an operator released it: the status does not hold it (other reasons still may)
    ended: tuple[str, str] | None = None  # (reason, detail): dead-letter it now
    deadline: datetime | None = None  # held until then at the latest (None: no time known to count from)


@dataclass(frozen=True)
class StatusHold:
    """What holds a suspended or deregistered partner's deliveries, and for how long (pure).

    ``since``: when the status was recorded (hub.registry; None for a status from partners.yaml, whose time
    is unknown: then only the delivery's queued time counts). ``decision``/``decision_at``: the operator's
    latest decision since then, which covers the deliveries queued before it was recorded (queued times
    are whole seconds: one queued in the second of the decision counts as before it).
    """

    status: str  # suspended | deregistered
    since: datetime | None
    limit: timedelta
    decision: str | None = None  # release | cancel | reject
    decision_at: datetime | None = None

    def covers(self, queued_at: datetime | None) -> bool:
        """Whether the operator's decision applies to a delivery queued then (unknown: it does)."""
        return self.decision is not None and self.decision_at is not None and (
            queued_at is None or queued_at < self.decision_at)

    def deadline(self, queued_at: datetime | None) -> datetime | None:
        starts = [t for t in (self.since, queued_at) if t is not None]
        return max(starts) + self.limit if starts else None

    def decided(self, queued_at: datetime | None) -> tuple[str, str] | None:
        """(reason, detail) if an operator's cancel or reject decision ends this delivery, else None."""
        if not self.covers(queued_at) or self.decision == RELEASE:
            return None
        at = self.decision_at.isoformat() if self.decision_at else "?"
        if self.decision == CANCEL:
            return HELD_CANCELLED, (f"held while the recipient was {self.status}; cancelled by an operator's "
                                    f"decision recorded at {at}")
        return STATUS_CODES.get(self.status, "PARTNER_SUSPENDED"), (
            f"held while the recipient was {self.status}; rejected by an operator's decision recorded at {at} "
            "(regulation 15(3)(b))")

    def verdict(self, queued_at: datetime | None, now: datetime) -> HoldVerdict:
        """What the status does to a delivery queued at ``queued_at``, now."""
        if self.covers(queued_at):
            if self.decision == RELEASE:
                return HoldVerdict(passes=True)
            return HoldVerdict(ended=self.decided(queued_at))
        deadline = self.deadline(queued_at)
        if deadline is not None and deadline <= now:
            hours = self.limit.total_seconds() / 3600
            return HoldVerdict(ended=(STATUS_CODES.get(self.status, "PARTNER_SUSPENDED"),
                                      f"the recipient was {self.status} for longer than the hub holds deliveries "
                                      f"for it ({hours:g} h)"), deadline=deadline)
        return HoldVerdict(deadline=deadline)


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
        self.status_hold: StatusHold | None = None  # set with status_reason (suspended, deregistered)
        self.next_expiry: datetime | None = None  # paused: when a status hold given back may end (resume then)
        self._deadlines: dict[object, datetime] = {}  # the deliveries waiting here now: when their status holds end
        self._released: set[object] = set()  # those waiting here now that an operator released (held otherwise)
        self.release_pending = False  # paused: released deliveries were given back (resume when only status holds)
        self.work_until: float | None = None  # monotonic: working through a status decision, do not pause yet
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

    def status_applies(self) -> bool:
        """The registry status holds the partner's deliveries, with a time limit and operators' decisions."""
        return self.status_hold is not None and self.status_reason == self.status_hold.status

    def decided(self, queued_at: datetime | None) -> tuple[str, str] | None:
        """(reason, detail) if an operator's cancel or reject decision ends this held delivery."""
        return self.status_hold.decided(queued_at) if self.status_hold is not None and self.status_applies() else None

    def working(self, mono: float) -> bool:
        return self.work_until is not None and mono < self.work_until

    def soonest_end(self) -> datetime | None:
        """When the first status hold of the deliveries waiting at the gate now ends (None: none known)."""
        return min(self._deadlines.values(), default=None)

    def on_pause(self, later: datetime) -> None:
        """The partner is being paused: note when the deliveries given back need it resumed for their status
        holds (the first hold of those waiting here ends; ``later``: a delivery queued from now on at the
        soonest), and whether released ones were given back (they go once nothing but the status holds)."""
        soonest = self.soonest_end()
        self.next_expiry = min(soonest or later, later) if self.status_applies() else None
        self.release_pending = bool(self._released) and self.status_applies()

    def status_work_due(self, now: datetime) -> bool:
        """Paused, a delivery given back may have reached the end of its status hold, or released ones may go
        now that the status is all that holds the partner."""
        if not self.status_applies():
            return False
        return (self.next_expiry is not None and self.next_expiry <= now) or (
            self.release_pending and self.reasons() == [self.status_reason])

    async def wait(self, recheck: float = 1.0, queued_at: datetime | None = None,
                   now: Callable[[], datetime] | None = None) -> bool:
        """Wait until a delivery (queued at ``queued_at``) may be attempted; True if it is the circuit's
        half-open probe. Raises ``LaneYield`` once the partner is paused: the lane gives its deliveries back to
        their queue; ``HoldEnded`` when its status hold ends it (time limit, an operator's cancellation)."""
        me = object()
        try:
            while True:
                if self.paused:
                    raise LaneYield(self.partner_id)
                status_clear = not self.status_reason
                self._deadlines.pop(me, None)
                self._released.discard(me)
                if self.status_hold is not None and self.status_applies():
                    verdict = self.status_hold.verdict(queued_at, now() if now else datetime.now(UTC))
                    if verdict.ended is not None:
                        raise HoldEnded(*verdict.ended)
                    status_clear = verdict.passes
                    if verdict.passes:
                        self._released.add(me)
                    elif verdict.deadline is not None:
                        self._deadlines[me] = verdict.deadline
                if self.window_until is None and status_clear and not self.inbox_full and self.circuit.allow():
                    return self.circuit.is_probe()
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), recheck)
        finally:
            self._deadlines.pop(me, None)
            self._released.discard(me)
