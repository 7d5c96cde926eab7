"""The delivery worker's durable records (migration 0005), on the hub's store.

- ``delivery_lanes``: consignment lanes that may not deliver straight from their queue: ``blocked`` (a
  delivery is being retried, or waits to be drained) or ``dead`` (its head was dead-lettered). Later
  deliveries of such a lane are parked, so that they never overtake it.
- ``delivery_held``: the deliveries taken out of a lane's queue, in lane order (``id``): the head being
  retried (``retry``), the ones parked behind it (``parked``), and the dead letters (``dead``).
- ``maintenance_windows``: windows scheduled with ``hub windows add`` and the notices sent for them.
- ``delivery_snapshots``: what each running hub sees per partner, for ``hub status`` in another process.
- ``delivery_capacity`` (migration 0011): the latest delivery capacity measured per partner (its drain ETA
  after a restart).

Every method is synchronous (run it in a thread) and is one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from hub.store import Store, metadata

_BIGINT = sa.BigInteger().with_variant(sa.Integer, "sqlite")

lanes_t = sa.Table(
    "delivery_lanes",
    metadata,
    sa.Column("partner", sa.String(32), primary_key=True),
    sa.Column("lane", sa.String(160), primary_key=True),
    sa.Column("partition", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),
)

held_t = sa.Table(
    "delivery_held",
    metadata,
    sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
    sa.Column("partner", sa.String(32), nullable=False),
    sa.Column("lane", sa.String(160), nullable=False),
    sa.Column("partition", sa.Integer, nullable=False),
    sa.Column("message_id", sa.String(128), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("sender", sa.String(32), nullable=False),
    sa.Column("correlation_id", sa.String(128), nullable=True),
    sa.Column("msg_type", sa.String(64), nullable=False),
    sa.Column("content_type", sa.String(64), nullable=False),
    sa.Column("headers", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("reason", sa.String(64), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.UniqueConstraint("partner", "message_id", name="uq_held_message"),
)

windows_t = sa.Table(
    "maintenance_windows",
    metadata,
    sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
    sa.Column("target", sa.String(32), nullable=False),
    sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("emergency", sa.Boolean, nullable=False),
    sa.Column("short_notice", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("notice_sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("cancel_sent_at", sa.DateTime(timezone=True), nullable=True),
)

snapshots_t = sa.Table(
    "delivery_snapshots",
    metadata,
    sa.Column("partner", sa.String(32), primary_key=True),
    sa.Column("process", sa.String(64), primary_key=True),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),
    sa.Column("in_memory", sa.Integer, nullable=False),
    sa.Column("queued", sa.Integer, nullable=False),
    sa.Column("inbox_depth", sa.Integer, nullable=True),
    sa.Column("oldest_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("rate", sa.Float, nullable=True),
    sa.Column("delivered", _BIGINT, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

capacity_t = sa.Table(
    "delivery_capacity",
    metadata,
    sa.Column("partner", sa.String(32), primary_key=True),
    sa.Column("rate", sa.Float, nullable=False),
    sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
)

RETRY, PARKED, DEAD = "retry", "parked", "dead"
BLOCKED = "blocked"


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class HeldDelivery:
    """A delivery taken out of its partition queue: everything needed to send it again."""

    partner: str
    lane: str
    partition: int
    message_id: str
    sender: str
    correlation_id: str | None
    msg_type: str
    content_type: str
    body: bytes
    headers: dict[str, Any] = field(default_factory=dict)
    queued_at: datetime | None = None
    kind: str = PARKED
    attempts: int = 0
    reason: str | None = None
    last_error: str | None = None
    at: datetime | None = None
    id: int | None = None

    def row(self, now: datetime) -> dict[str, Any]:
        return {
            "partner": self.partner, "lane": self.lane, "partition": self.partition,
            "message_id": self.message_id, "kind": self.kind, "sender": self.sender,
            "correlation_id": self.correlation_id, "msg_type": self.msg_type, "content_type": self.content_type,
            "headers": json.dumps(self.headers, default=str), "body": self.body, "queued_at": self.queued_at,
            "at": now, "attempts": self.attempts, "reason": self.reason, "last_error": self.last_error,
        }

    @classmethod
    def from_row(cls, r: Any) -> HeldDelivery:
        return cls(
            partner=r.partner, lane=r.lane, partition=r.partition, message_id=r.message_id, sender=r.sender,
            correlation_id=r.correlation_id, msg_type=r.msg_type, content_type=r.content_type, body=bytes(r.body),
            headers=json.loads(r.headers), queued_at=_utc(r.queued_at), kind=r.kind, attempts=r.attempts,
            reason=r.reason, last_error=r.last_error, at=_utc(r.at), id=r.id,
        )


@dataclass(frozen=True)
class WindowRow:
    id: int
    target: str
    start: datetime
    end: datetime
    emergency: bool
    short_notice: bool
    reason: str | None
    announced_at: datetime
    cancelled_at: datetime | None
    notice_sent_at: datetime | None
    reminder_sent_at: datetime | None
    cancel_sent_at: datetime | None

    def active(self, now: datetime) -> bool:
        return self.cancelled_at is None and self.start <= now < self.end


@dataclass(frozen=True)
class Snapshot:
    partner: str
    process: str
    state: str
    reasons: tuple[str, ...]
    in_memory: int
    queued: int
    inbox_depth: int | None
    oldest_at: datetime | None
    rate: float | None
    delivered: int
    updated_at: datetime


@dataclass(frozen=True)
class LaneHeld:
    """One lane's stored deliveries that are not dead letters: its head being retried and those parked."""

    lane: str
    partition: int
    state: str | None  # blocked | dead (a dead letter heads it) | None (a drain is finishing)
    retry: int = 0
    parked: int = 0
    oldest_queued_at: datetime | None = None


class DeliveryRecords:
    """Lanes, held deliveries, dead letters, windows and snapshots on the hub's store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------ lanes

    def lane_states(self, partner: str, lanes: Iterable[str]) -> dict[str, str]:
        keys = list(set(lanes))
        out: dict[str, str] = {}
        with self.store._tx() as conn:
            for i in range(0, len(keys), 500):
                rows = conn.execute(sa.select(lanes_t.c.lane, lanes_t.c.state).where(
                    lanes_t.c.partner == partner, lanes_t.c.lane.in_(keys[i : i + 500])))
                out.update({lane: state for lane, state in rows})
        return out

    def lane_states_many(self, wanted: dict[str, list[str]]) -> dict[str, dict[str, str]]:
        """``lane_states`` for several partners in one transaction: {partner: {lane: state}}."""
        out: dict[str, dict[str, str]] = {}
        with self.store._tx() as conn:
            for partner, lanes in wanted.items():
                keys = list(set(lanes))
                found = out.setdefault(partner, {})
                for i in range(0, len(keys), 500):
                    rows = conn.execute(sa.select(lanes_t.c.lane, lanes_t.c.state).where(
                        lanes_t.c.partner == partner, lanes_t.c.lane.in_(keys[i : i + 500])))
                    found.update({lane: state for lane, state in rows})
        return out

    def block(self, head: HeldDelivery, now: datetime) -> None:
        """The lane's head failed: keep it (``retry``) and block the lane, so later ones park behind it."""
        head.kind = RETRY
        with self.store._tx() as conn:
            conn.execute(self.store._insert_ignore(held_t), [head.row(now)])
            self._set_lane(conn, head.partner, head.lane, head.partition, BLOCKED, now, only_if_absent=True)

    def park(self, delivery: HeldDelivery, now: datetime) -> None:
        delivery.kind = PARKED
        with self.store._tx() as conn:
            conn.execute(self.store._insert_ignore(held_t), [delivery.row(now)])

    def dead_head(self, head: HeldDelivery, now: datetime) -> None:
        """A delivery failed for good: it becomes a dead letter and its lane is dead until replay or purge."""
        head.kind = DEAD
        with self.store._tx() as conn:
            conn.execute(self.store._insert_ignore(held_t), [head.row(now)])
            conn.execute(held_t.update().where(held_t.c.partner == head.partner,
                                               held_t.c.message_id == head.message_id).values(
                kind=DEAD, attempts=head.attempts, reason=head.reason, last_error=head.last_error, at=now))
            self._set_lane(conn, head.partner, head.lane, head.partition, DEAD, now)

    def lane_rows(self, partner: str, lane: str, limit: int | None = None) -> list[HeldDelivery]:
        """The lane's stored deliveries in lane order (the head first)."""
        with self.store._tx() as conn:
            rows = conn.execute(sa.select(held_t).where(held_t.c.partner == partner, held_t.c.lane == lane)
                                .order_by(held_t.c.id).limit(limit))
            return [HeldDelivery.from_row(r) for r in rows]

    def attempt_failed(self, row_id: int, attempts: int, last_error: str) -> None:
        with self.store._tx() as conn:
            conn.execute(held_t.update().where(held_t.c.id == row_id).values(
                attempts=attempts, last_error=last_error[:2000], kind=RETRY))

    def delivered(self, row_id: int) -> None:
        with self.store._tx() as conn:
            conn.execute(held_t.delete().where(held_t.c.id == row_id))

    def unblock_if_empty(self, partner: str, lane: str) -> bool:
        """Delete the lane's block once nothing of it is held; False if rows remain."""
        with self.store._tx() as conn:
            left = conn.execute(sa.select(sa.func.count()).select_from(held_t).where(
                held_t.c.partner == partner, held_t.c.lane == lane)).scalar_one()
            if left:
                return False
            conn.execute(lanes_t.delete().where(lanes_t.c.partner == partner, lanes_t.c.lane == lane))
            return True

    @staticmethod
    def _set_lane(conn: sa.Connection, partner: str, lane: str, partition: int, state: str, now: datetime,
                  only_if_absent: bool = False) -> None:
        current = conn.execute(sa.select(lanes_t.c.state).where(
            lanes_t.c.partner == partner, lanes_t.c.lane == lane)).scalar_one_or_none()
        if current is None:
            conn.execute(lanes_t.insert().values(partner=partner, lane=lane, partition=partition, state=state,
                                                 since=now))
        elif not only_if_absent and current != state:
            conn.execute(lanes_t.update().where(lanes_t.c.partner == partner, lanes_t.c.lane == lane)
                         .values(state=state, since=now))

    # ------------------------------------------------------------ dead letters (hub dlq)

    def dead_letters(self, partner: str | None = None) -> list[HeldDelivery]:
        """Dead letters, oldest first, without their bodies' weight mattering (bodies included)."""
        with self.store._tx() as conn:
            q = sa.select(held_t).where(held_t.c.kind == DEAD).order_by(held_t.c.id)
            if partner:
                q = q.where(held_t.c.partner == partner)
            return [HeldDelivery.from_row(r) for r in conn.execute(q)]

    def held_counts(self) -> dict[str, dict[str, int]]:
        """{partner: {kind: count}} of everything taken out of the partition queues."""
        out: dict[str, dict[str, int]] = {}
        with self.store._tx() as conn:
            rows = conn.execute(sa.select(held_t.c.partner, held_t.c.kind, sa.func.count())
                                .group_by(held_t.c.partner, held_t.c.kind))
            for partner, kind, n in rows:
                out.setdefault(partner, {})[kind] = int(n)
        return out

    def oldest_held(self) -> dict[str, datetime]:
        with self.store._tx() as conn:
            rows = conn.execute(sa.select(held_t.c.partner, sa.func.min(held_t.c.queued_at))
                                .group_by(held_t.c.partner))
            return {p: v for p, at in rows if (v := _utc(at)) is not None}

    def dead_letter(self, row_id: int) -> HeldDelivery | None:
        with self.store._tx() as conn:
            r = conn.execute(sa.select(held_t).where(held_t.c.id == row_id, held_t.c.kind == DEAD)).first()
            return HeldDelivery.from_row(r) if r is not None else None

    def replay(self, ids: Sequence[int], now: datetime) -> list[tuple[str, str, int]]:
        """Turn these dead letters back into lane heads (attempts from 0); returns the lanes to drain."""
        lanes: set[tuple[str, str, int]] = set()
        with self.store._tx() as conn:
            rows = conn.execute(sa.select(held_t.c.id, held_t.c.partner, held_t.c.lane, held_t.c.partition)
                                .where(held_t.c.id.in_(list(ids)), held_t.c.kind == DEAD)).all()
            for row_id, partner, lane, partition in rows:
                conn.execute(held_t.update().where(held_t.c.id == row_id).values(
                    kind=RETRY, attempts=0, reason=None))
                lanes.add((partner, lane, partition))
            for partner, lane, partition in lanes:
                still_dead = conn.execute(sa.select(sa.func.count()).select_from(held_t).where(
                    held_t.c.partner == partner, held_t.c.lane == lane, held_t.c.kind == DEAD)).scalar_one()
                if not still_dead:
                    self._set_lane(conn, partner, lane, partition, BLOCKED, now)
        return sorted(lanes)

    def purge(self, ids: Sequence[int], now: datetime) -> tuple[int, list[tuple[str, str, int]]]:
        """Delete these dead letters; returns how many and the lanes whose parked deliveries may now go."""
        lanes: set[tuple[str, str, int]] = set()
        with self.store._tx() as conn:
            rows = conn.execute(sa.select(held_t.c.id, held_t.c.partner, held_t.c.lane, held_t.c.partition)
                                .where(held_t.c.id.in_(list(ids)), held_t.c.kind == DEAD)).all()
            if rows:
                conn.execute(held_t.delete().where(held_t.c.id.in_([r[0] for r in rows])))
            for _id, partner, lane, partition in rows:
                lanes.add((partner, lane, partition))
            drain: list[tuple[str, str, int]] = []
            for partner, lane, partition in sorted(lanes):
                kinds = {k for (k,) in conn.execute(sa.select(held_t.c.kind).where(
                    held_t.c.partner == partner, held_t.c.lane == lane).distinct())}
                if DEAD in kinds:
                    continue
                if kinds:
                    self._set_lane(conn, partner, lane, partition, BLOCKED, now)
                    drain.append((partner, lane, partition))
                else:
                    conn.execute(lanes_t.delete().where(lanes_t.c.partner == partner, lanes_t.c.lane == lane))
        return len(rows), drain

    def waiting_lanes(self, partner: str) -> list[tuple[str, int]]:
        """(lane, partition) of the partner's lanes with stored deliveries that are not dead letters: the
        lanes an operator's decision on its held deliveries (hub partners release-held ...) sends drains to."""
        with self.store._tx() as conn:
            rows = conn.execute(sa.select(held_t.c.lane, held_t.c.partition).distinct().where(
                held_t.c.partner == partner, held_t.c.kind != DEAD))
            return sorted((str(lane), int(k)) for lane, k in rows)

    def held_by_lane(self, partner: str) -> list[LaneHeld]:
        """The partner's stored deliveries that are not dead letters, per lane (hub partners held)."""
        h = held_t.c
        with self.store._tx() as conn:
            states = {str(lane): str(state) for lane, state in conn.execute(
                sa.select(lanes_t.c.lane, lanes_t.c.state).where(lanes_t.c.partner == partner))}
            rows = conn.execute(sa.select(h.lane, h.partition, h.kind, sa.func.count(), sa.func.min(h.queued_at))
                                .where(h.partner == partner, h.kind != DEAD)
                                .group_by(h.lane, h.partition, h.kind)).all()
        out: dict[str, LaneHeld] = {}
        for lane, partition, kind, n, oldest in rows:
            cur = out.get(lane) or LaneHeld(str(lane), int(partition), states.get(lane))
            stamps = [t for t in (cur.oldest_queued_at, _utc(oldest)) if t is not None]
            out[lane] = LaneHeld(cur.lane, cur.partition, cur.state, cur.retry + (n if kind == RETRY else 0),
                                 cur.parked + (n if kind == PARKED else 0), min(stamps) if stamps else None)
        return sorted(out.values(), key=lambda x: (x.oldest_queued_at or datetime.max.replace(tzinfo=UTC), x.lane))

    def blocked_lanes(self) -> list[tuple[str, str, int]]:
        """Lanes blocked (not dead): each needs a drain order in its partition queue to move again."""
        with self.store._tx() as conn:
            rows = conn.execute(sa.select(lanes_t.c.partner, lanes_t.c.lane, lanes_t.c.partition)
                                .where(lanes_t.c.state == BLOCKED))
            return [(p, lane, k) for p, lane, k in rows]

    # ------------------------------------------------------------ maintenance windows

    def add_window(self, target: str, start: datetime, end: datetime, *, emergency: bool, short_notice: bool,
                   reason: str | None, announced_at: datetime) -> int:
        with self.store._tx() as conn:
            res = conn.execute(windows_t.insert().values(
                target=target, start_at=start, end_at=end, emergency=emergency, short_notice=short_notice,
                reason=reason, announced_at=announced_at))
            key = res.inserted_primary_key
            assert key is not None
            return int(key[0])

    def windows(self, include_past: bool = True, now: datetime | None = None) -> list[WindowRow]:
        with self.store._tx() as conn:
            q = sa.select(windows_t).order_by(windows_t.c.start_at, windows_t.c.id)
            if not include_past and now is not None:
                q = q.where(windows_t.c.end_at > now)
            return [self._window(r) for r in conn.execute(q)]

    @staticmethod
    def _window(r: Any) -> WindowRow:
        def at(v: Any) -> datetime:
            out = _utc(v)
            assert out is not None
            return out

        return WindowRow(r.id, r.target, at(r.start_at), at(r.end_at), bool(r.emergency), bool(r.short_notice),
                         r.reason, at(r.announced_at), _utc(r.cancelled_at), _utc(r.notice_sent_at),
                         _utc(r.reminder_sent_at), _utc(r.cancel_sent_at))

    def cancel_window(self, window_id: int, now: datetime) -> WindowRow | None:
        with self.store._tx() as conn:
            updated = conn.execute(windows_t.update().where(
                windows_t.c.id == window_id, windows_t.c.cancelled_at.is_(None)).values(cancelled_at=now)).rowcount
            r = conn.execute(sa.select(windows_t).where(windows_t.c.id == window_id)).first()
            return self._window(r) if r is not None and updated else None

    def mark_window(self, window_id: int, column: str, now: datetime) -> None:
        assert column in ("notice_sent_at", "reminder_sent_at", "cancel_sent_at")
        with self.store._tx() as conn:
            conn.execute(windows_t.update().where(windows_t.c.id == window_id).values({column: now}))

    # ------------------------------------------------------------ snapshots (hub status)

    def put_snapshots(self, snaps: Sequence[Snapshot]) -> None:
        if not snaps:
            return
        with self.store._tx() as conn:
            keys = [(s.partner, s.process) for s in snaps]
            conn.execute(snapshots_t.delete().where(sa.tuple_(snapshots_t.c.partner, snapshots_t.c.process)
                                                    .in_(keys)))
            conn.execute(snapshots_t.insert(), [
                {"partner": s.partner, "process": s.process, "state": s.state, "reasons": ",".join(s.reasons),
                 "in_memory": s.in_memory, "queued": s.queued, "inbox_depth": s.inbox_depth,
                 "oldest_at": s.oldest_at, "rate": s.rate, "delivered": s.delivered, "updated_at": s.updated_at}
                for s in snaps])

    def snapshots(self) -> list[Snapshot]:
        with self.store._tx() as conn:
            out = []
            for r in conn.execute(sa.select(snapshots_t)):
                updated = _utc(r.updated_at)
                assert updated is not None
                out.append(Snapshot(r.partner, r.process, r.state, tuple(x for x in r.reasons.split(",") if x),
                                    r.in_memory, r.queued, r.inbox_depth, _utc(r.oldest_at), r.rate, r.delivered,
                                    updated))
            return out

    def drop_snapshots(self, process: str) -> None:
        with self.store._tx() as conn:
            conn.execute(snapshots_t.delete().where(snapshots_t.c.process == process))

    # ------------------------------------------------------------ delivery capacity (drain ETA)

    def put_capacities(self, rates: dict[str, float], now: datetime) -> None:
        """The latest capacity measured per partner (deliveries/s), replacing the one stored."""
        if not rates:
            return
        with self.store._tx() as conn:  # sorted: two processes writing the same rows lock them in one order
            conn.execute(self.store._upsert(capacity_t, "partner", ("rate", "measured_at")),
                         [{"partner": p, "rate": rates[p], "measured_at": now} for p in sorted(rates)])

    def capacities(self) -> dict[str, float]:
        with self.store._tx() as conn:
            return {p: float(r) for p, r in conn.execute(sa.select(capacity_t.c.partner, capacity_t.c.rate))}
