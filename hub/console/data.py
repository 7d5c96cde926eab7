"""What the console shows and does, apart from HTML: the partner figures (sampled in a thread), the
throughput history, dead letters, windows, consignment search, and the operators' actions.

Figures. A thread re-reads every ``console.refresh_seconds`` (3 s) the same figures as ``hub status``
(``hub.delivery.ops.status``: the store, the running hubs' snapshots, the management API), so a page or the
live table never waits for them and any number of browsers cost one reading.

Throughput. Each running hub writes per partner, every 2 s, how many deliveries it has handed over since it
started (``delivery_snapshots.delivered``, hub.delivery.monitor). The same thread reads those counters at each
refresh and adds their increase, per partner and summed over every running hub, to the current minute; it
also keeps the largest ``held`` of the minute. The history is kept in memory for the last hour, so it starts
when this console started (a restarted console shows a shorter chart), and it is the same in every console
of the hub since it comes from the shared store. What a hub delivered in its last 2 s before it stopped is
not counted (its snapshot is removed when it stops), and a hub whose counter restarts (a new process) counts
from its first snapshot.

Actions go through the functions the CLI uses (``hub.delivery.ops.add_window``, ``DeliveryRecords
.cancel_window``, ``.replay``, ``.purge``, ``hub.delivery.ops.order_drains``) and each one is written to the
audit trail with the operator's name (``hub.audit.record_operator_action``) and logged.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from hub import logs, timeline
from hub.audit import HeadKeeper, record_operator_action
from hub.clock import Clock
from hub.config import HubConfig
from hub.delivery.records import DEAD, DeliveryRecords, WindowRow, held_t
from hub.delivery.status import PartnerView
from hub.errors import BrokerUnavailable, StoreUnavailable
from hub.store import Store

log = logs.get("hub.console")
HISTORY_MINUTES = 60
DEAD_LETTER_PAGE = 500
MAX_REF = 64


@dataclass(frozen=True)
class Reading:
    views: tuple[PartnerView, ...]
    hubs: tuple[str, ...]
    at: datetime  # when it was taken (wall clock, UTC)
    seconds: float  # how long it took
    error: str | None = None  # the store could not be read: the previous figures are kept

    def view(self, partner: str) -> PartnerView | None:
        return next((v for v in self.views if v.partner == partner), None)


@dataclass
class _Minute:
    delivered: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)


class Figures:
    """The latest partner figures and the last hour's throughput, refreshed by a daemon thread."""

    def __init__(self, config: HubConfig, records: DeliveryRecords, clock: Clock, every: float) -> None:
        self.config, self.records, self.clock, self.every = config, records, clock, every
        self._lock = threading.Lock()
        self._reading: Reading | None = None
        self._minutes: dict[int, _Minute] = {}
        self._counters: dict[tuple[str, str], int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="hub-console-figures", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def poke(self) -> None:
        """Refresh now (after an operator's action)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # a bug must not end the thread: logged, tried again
                log.exception("console figures not refreshed")
            self._wake.wait(self.every)
            self._wake.clear()

    def refresh(self) -> Reading:
        from hub.delivery.ops import status

        started = time.perf_counter()
        wall = datetime.now(UTC)
        try:
            views, hubs = status(self.config, self.records, self.clock)
            snaps = self.records.snapshots()
        except StoreUnavailable as exc:
            with self._lock:
                old = self._reading
                reading = Reading(old.views if old else (), old.hubs if old else (), old.at if old else wall,
                                  time.perf_counter() - started, f"store unavailable: {exc}")
                self._reading = reading
            return reading
        reading = Reading(tuple(views), tuple(hubs), wall, time.perf_counter() - started)
        minute = int(wall.timestamp() // 60)
        with self._lock:
            bucket = self._minutes.setdefault(minute, _Minute())
            counters: dict[tuple[str, str], int] = {}
            for s in snaps:
                key = (s.partner, s.process)
                counters[key] = s.delivered
                before = self._counters.get(key)
                if before is None:
                    continue  # first sight of this hub's counter: its baseline
                gained = s.delivered - before if s.delivered >= before else s.delivered
                if gained:
                    bucket.delivered[s.partner] = bucket.delivered.get(s.partner, 0) + gained
            self._counters = counters
            for v in views:
                bucket.held[v.partner] = max(bucket.held.get(v.partner, 0), v.held)
            for old_minute in [m for m in self._minutes if m <= minute - HISTORY_MINUTES]:
                del self._minutes[old_minute]
            self._reading = reading
        return reading

    def current(self) -> Reading:
        with self._lock:
            reading = self._reading
        return reading if reading is not None else self.refresh()

    def history(self, partner: str, now: datetime | None = None) -> list[tuple[datetime, int | None, int | None]]:
        """The last hour, one row per minute (oldest first): its start, deliveries handed over in it (all
        running hubs), and the largest held count seen in it; None for a minute this console did not see."""
        end = int((now or datetime.now(UTC)).timestamp() // 60)
        with self._lock:
            rows: list[tuple[datetime, int | None, int | None]] = []
            for minute in range(end - HISTORY_MINUTES + 1, end + 1):
                b = self._minutes.get(minute)
                at = datetime.fromtimestamp(minute * 60, UTC)
                if b is None:
                    rows.append((at, None, None))
                else:
                    rows.append((at, b.delivered.get(partner, 0), b.held.get(partner)))
            return rows


@dataclass(frozen=True)
class DeadLetterRow:
    id: int
    partner: str
    message_id: str
    msg_type: str
    sender: str
    correlation_id: str | None
    lane: str
    attempts: int
    reason: str | None
    last_error: str | None
    dead_at: datetime | None
    queued_at: datetime | None
    content_type: str
    size: int


class ActionRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Done:
    message: str
    warning: str | None = None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ConsoleData:
    """One console's access to the hub: config, store, clock, figures; the operators' actions."""

    def __init__(self, config: HubConfig, store: Store, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.records = DeliveryRecords(store)
        self.figures = Figures(config, self.records, clock, config.settings.console.refresh_seconds)
        self.keeper = HeadKeeper(config.audit_head_path(), store)
        self.partner_ids = [p.id for p in config.partners]

    # ------------------------------------------------------------ reading

    def windows(self, include_past: bool) -> list[WindowRow]:
        now = self.clock.now()
        rows = self.records.windows(include_past, now)
        return sorted(rows, key=lambda w: (w.start, w.id))

    def window_state(self, w: WindowRow) -> str:
        now = self.clock.now()
        return ("cancelled" if w.cancelled_at else "over" if w.end <= now else "active" if w.start <= now
                else "scheduled")

    def dead_letters(self, partner: str | None = None, limit: int = DEAD_LETTER_PAGE) -> tuple[list[DeadLetterRow],
                                                                                               int]:
        """The oldest ``limit`` dead letters (bodies not read) and how many there are in all."""
        c = held_t.c
        cols = (c.id, c.partner, c.message_id, c.msg_type, c.sender, c.correlation_id, c.lane, c.attempts,
                c.reason, c.last_error, c.at, c.queued_at, c.content_type, sa.func.length(c.body))
        where = [c.kind == DEAD] + ([c.partner == partner] if partner else [])
        with self.store._tx() as conn:
            total = int(conn.execute(sa.select(sa.func.count()).select_from(held_t).where(*where)).scalar_one())
            rows = conn.execute(sa.select(*cols).where(*where).order_by(c.id).limit(limit)).all()
        return [DeadLetterRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], _utc(r[10]), _utc(r[11]),
                              r[12], int(r[13] or 0)) for r in rows], total

    def dead_letter(self, dead_id: int) -> DeadLetterRow | None:
        rows = self.dead_by_ids([dead_id])
        return rows[0] if rows else None

    def dead_by_ids(self, ids: Sequence[int]) -> list[DeadLetterRow]:
        c = held_t.c
        cols = (c.id, c.partner, c.message_id, c.msg_type, c.sender, c.correlation_id, c.lane, c.attempts,
                c.reason, c.last_error, c.at, c.queued_at, c.content_type, sa.func.length(c.body))
        with self.store._tx() as conn:
            rows = conn.execute(sa.select(*cols).where(c.kind == DEAD, c.id.in_(list(ids))).order_by(c.id)).all()
        return [DeadLetterRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], _utc(r[10]), _utc(r[11]),
                              r[12], int(r[13] or 0)) for r in rows]

    def dead_ids(self, ids: Sequence[int], partner: str | None) -> list[int]:
        """The dead letters an action names: these ids (those still dead letters), or every one of a partner."""
        if ids:
            return [d.id for d in self.dead_by_ids(ids)]
        if partner:
            c = held_t.c
            with self.store._tx() as conn:
                return [int(x) for x in conn.execute(sa.select(c.id).where(c.kind == DEAD, c.partner == partner)
                                                     .order_by(c.id)).scalars()]
        return []

    def parked_behind(self) -> dict[str, int]:
        return {p: k.get("parked", 0) for p, k in self.records.held_counts().items() if k.get("parked")}

    def track(self, ref: str) -> dict[str, Any]:
        ref = ref.strip()
        if not ref or len(ref) > MAX_REF or any(ord(ch) < 32 or ord(ch) == 127 for ch in ref):
            return {"reference": ref[:MAX_REF], "consignments": []}
        consignments = [self.store.consignment(ucr) for ucr in self.store.resolve(ref)[:20]]
        return timeline.as_json(ref, consignments)

    # ------------------------------------------------------------ actions (audited)

    def _audit(self, operator: str, action: str, outcome: str, target: str | None, detail: Any) -> None:
        record_operator_action(self.store, self.keeper, operator, action, outcome, target=target, detail=detail)
        log.info("console action", operator=operator, action=action, outcome=outcome, target=target,
                 detail=str(detail)[:2000])
        self.figures.poke()

    def login(self, operator: str, address: str) -> None:
        self._audit(operator, "login", "ok", None, {"address": address})

    def add_window(self, operator: str, target: str, start: str, end: str, *, emergency: bool,
                   reason: str | None) -> Done:
        from hub.delivery.ops import add_window
        from hub.windows import WindowRefused, parse_eat, to_eat

        try:
            begin, finish = parse_eat(start), parse_eat(end)
        except ValueError as exc:
            raise ActionRefused("WINDOW_TIME_INVALID", f"{exc}; write e.g. 2026-02-07 18:00 (EAT)") from exc
        try:
            wid, window, recipients = add_window(self.config, self.records, self.clock, target, begin, finish,
                                                 emergency=emergency, reason=reason or None)
        except WindowRefused as exc:
            raise ActionRefused(exc.code, str(exc)) from exc
        flags = " SHORT NOTICE (under 48 hours)" if window.short_notice else ""
        flags += " EMERGENCY" if window.emergency else ""
        self._audit(operator, "window-add", f"window:{wid}", target,
                    {"window": wid, "start": begin.isoformat(), "end": finish.isoformat(), "emergency": emergency,
                     "short_notice": window.short_notice})
        return Done(f"window {wid}: {target} {to_eat(window.start)} -> {to_eat(window.end)}{flags}; notice to "
                    f"{len(recipients)} partner(s)")

    def cancel_window(self, operator: str, window_id: int) -> Done:
        row = self.records.cancel_window(window_id, self.clock.now())
        if row is None:
            raise ActionRefused("WINDOW_NOT_FOUND", f"no window {window_id} that is not already cancelled")
        self._audit(operator, "window-cancel", f"window:{window_id} cancelled", row.target, {"window": window_id})
        return Done(f"window {window_id} ({row.target}) cancelled")

    def replay(self, operator: str, ids: Sequence[int]) -> Done:
        chosen = list(ids)
        lanes = self.records.replay(chosen, self.clock.now()) if chosen else []
        if not lanes:
            raise ActionRefused("DLQ_NOT_FOUND", "nothing to replay")
        targets = sorted({p for p, _lane, _k in lanes})
        self._audit(operator, "dlq-replay", _ids_outcome(f"replayed:{len(chosen)}", chosen), ",".join(targets)[:32],
                    {"ids": chosen, "lanes": len(lanes)})
        return Done(f"replaying {len(chosen)} dead letter(s) in {len(lanes)} consignment lane(s)",
                    self._drain(lanes))

    def purge(self, operator: str, ids: Sequence[int]) -> Done:
        chosen = list(ids)
        if not chosen:
            raise ActionRefused("DLQ_NOT_FOUND", "nothing to purge")
        targets = sorted({d.partner for d in self.dead_by_ids(chosen)})
        n, lanes = self.records.purge(chosen, self.clock.now())
        if not n:
            raise ActionRefused("DLQ_NOT_FOUND", "nothing to purge")
        self._audit(operator, "dlq-purge", _ids_outcome(f"purged:{n}", chosen), ",".join(targets)[:32],
                    {"ids": chosen, "purged": n, "lanes": len(lanes)})
        return Done(f"purged {n} dead letter(s); {len(lanes)} lane(s) resume", self._drain(lanes))

    def _drain(self, lanes: list[tuple[str, str, int]]) -> str | None:
        """Queue the drain orders as ``hub dlq`` does; a warning if the broker cannot be reached."""
        from hub.delivery.ops import order_drains
        from hub.secrets import Secrets

        if not lanes:
            return None
        password = Secrets(self.config.secrets_path()).get(self.config.settings.broker.user)
        if password is None:
            return ("no password for the hub's broker user: the store is updated; a running hub queues the drain "
                    "orders itself within a minute")
        try:
            asyncio.run(order_drains(self.config, password, lanes))
        except BrokerUnavailable as exc:
            return (f"{exc}; the store is updated: a running hub queues the drain orders itself within a minute "
                    "(it re-issues them for every blocked lane)")
        return None


def _ids_outcome(verb: str, ids: Sequence[int]) -> str:
    text = f"{verb} ids:" + ",".join(str(i) for i in ids)
    return text if len(text) <= 64 else text[:60] + ",..."
