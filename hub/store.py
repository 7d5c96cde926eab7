"""The hub's store: SQLAlchemy Core on SQLite (default) or PostgreSQL, schema managed by Alembic.

Methods are synchronous and meant to run in a worker thread (``asyncio.to_thread``); the pipeline
calls ``commit_batch`` once per batch so that de-duplication rows of a whole batch share one
transaction. Database errors are translated to ``StoreUnavailable`` at this boundary.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.exc import SQLAlchemyError

from hub.audit import GENESIS, AuditBatch, Head, entry_hash, format_at
from hub.errors import StoreUnavailable
from hub.logs import get as get_logger
from hub.schemas.base import RefKind
from hub.timeline import Consignment, Event, Observation, PartyRecord, lookup_keys, plan

metadata = sa.MetaData()

inbound = sa.Table(
    "inbound",
    metadata,
    sa.Column("sender", sa.String(32), primary_key=True),
    sa.Column("message_id", sa.String(128), primary_key=True),
    sa.Column("payload_sha256", sa.String(64), nullable=False),
    sa.Column("msg_type", sa.String(64), nullable=False),
    sa.Column("ucr", sa.String(35), nullable=True, index=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recipients", sa.Text, nullable=False),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("routing_key", sa.String(255), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=True),
    sa.Column("message_id", sa.String(128), nullable=True),
)

ack_drops = sa.Table(
    "ack_drops",
    metadata,
    sa.Column("partner", sa.String(32), primary_key=True),
    sa.Column("dropped", sa.BigInteger, nullable=False),
)

# correlation and the consignment timeline (migrations 0003 and 0004; hub.timeline)
consignment_refs = sa.Table(
    "consignment_refs",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("value", sa.String(64), primary_key=True),
    sa.Column("ucr", sa.String(35), nullable=False, index=True),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
)

consignment_parties = sa.Table(
    "consignment_parties",
    metadata,
    sa.Column("ucr", sa.String(35), primary_key=True),
    sa.Column("role", sa.String(32), primary_key=True),
    sa.Column("scheme", sa.String(32), primary_key=True),
    sa.Column("party_id", sa.String(64), primary_key=True),
    sa.Column("partner", sa.String(32), nullable=True, index=True),
)

consignment_events = sa.Table(
    "consignment_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("ucr", sa.String(35), nullable=True, index=True),
    sa.Column("vessel_call", sa.String(64), nullable=True, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("msg_type", sa.String(64), nullable=False),
    sa.Column("sender", sa.String(32), nullable=False),
    sa.Column("message_id", sa.String(128), nullable=False),
    sa.Column("status", sa.String(64), nullable=True),
    sa.Column("subject", sa.String(80), nullable=True),
    sa.UniqueConstraint("sender", "message_id", "ucr", name="uq_event_message"),
    sa.Index("uq_event_message_no_ucr", "sender", "message_id", unique=True,
             sqlite_where=sa.text("ucr IS NULL"), postgresql_where=sa.text("ucr IS NULL")),
)

# the audit trail (migration 0002; hub.audit): a hash-chained log, and accepted bodies kept for the retention
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("direction", sa.String(3), nullable=False),
    sa.Column("sender", sa.String(32), nullable=False),
    sa.Column("recipient", sa.String(32), nullable=True),
    sa.Column("message_id", sa.String(128), nullable=True),
    sa.Column("msg_type", sa.String(64), nullable=True),
    sa.Column("payload_sha256", sa.String(64), nullable=True),
    sa.Column("outcome", sa.String(64), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
)

message_bodies = sa.Table(
    "message_bodies",
    metadata,
    sa.Column("sender", sa.String(32), primary_key=True),
    sa.Column("message_id", sa.String(128), primary_key=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("content_type", sa.String(64), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
)

AUDIT_LOCK_KEY = 0x6875622D61756469  # pg_advisory_xact_lock key serialising audit appends ("hub-audi")
MIGRATIONS = Path(__file__).parent / "migrations"


parked_messages = sa.Table(  # hub.parking: accepted messages waiting for their consignment (migration 0006)
    "parked_messages",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("sender", sa.String(32), nullable=False),
    sa.Column("message_id", sa.String(128), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("msg_type", sa.String(64), nullable=False),
    sa.Column("content_type", sa.String(64), nullable=False),
    sa.Column("body", sa.LargeBinary(), nullable=False),
    sa.Column("ucr", sa.String(35), nullable=True),
    sa.Column("lookup", sa.Text(), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
)

parked_refs = sa.Table(
    "parked_refs",
    metadata,
    sa.Column("parked_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("value", sa.String(64), primary_key=True),
)

PARKED, RELEASED, EXPIRED = "parked", "released", "expired"
# closed by an operator's decision on a deregistered sender's pending messages (hub partners settle)
REJECTED, CANCELLED = "rejected", "cancelled"


@dataclass(frozen=True)
class ParkedRow:
    """A message accepted but held until its consignment is known (hub.parking)."""

    sender: str
    message_id: str
    sha256: str
    msg_type: str
    content_type: str
    body: bytes
    ucr: str | None
    lookup: tuple[tuple[str, str], ...]  # (kind, value) keys whose linking releases it
    reason: str
    parked_at: datetime
    expires_at: datetime
    id: int = 0
    state: str = PARKED


@dataclass(frozen=True)
class AcceptedRow:
    sender: str
    message_id: str
    payload_sha256: str
    msg_type: str
    ucr: str | None
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class QuarantineRow:
    reason: str
    routing_key: str
    user_id: str | None
    message_id: str | None

    def __post_init__(self) -> None:
        # quarantined messages skipped every envelope check: fit them to the columns (PostgreSQL refuses
        # over-long values, which would fail the whole batch again and again)
        object.__setattr__(self, "routing_key", self.routing_key[:255])
        object.__setattr__(self, "user_id", None if self.user_id is None else self.user_id[:64])
        object.__setattr__(self, "message_id", None if self.message_id is None else self.message_id[:128])


_log = get_logger("hub.store")


def _utc(value: datetime) -> datetime:
    """SQLite gives back naive datetimes (stored in UTC); PostgreSQL aware ones."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes (the SIGKILL case)
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///") and ":memory:" not in url:
            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        self.engine = sa.create_engine(url, pool_pre_ping=True, future=True)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent; run at start-up)."""
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"store migration failed: {type(exc).__name__}") from exc

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"store error: {type(exc).__name__}") from exc

    def seen(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Payload hashes already accepted for these (sender, message_id) pairs."""
        keys = list(keys)
        if not keys:
            return {}
        out: dict[tuple[str, str], str] = {}
        with self._tx() as conn:
            for chunk_start in range(0, len(keys), 500):
                chunk = keys[chunk_start : chunk_start + 500]
                cond = sa.tuple_(inbound.c.sender, inbound.c.message_id).in_(chunk)
                rows = conn.execute(
                    sa.select(inbound.c.sender, inbound.c.message_id, inbound.c.payload_sha256).where(cond)
                )
                for sender, mid, sha in rows:
                    out[(sender, mid)] = sha
        return out

    def commit_batch(
        self, accepted: list[AcceptedRow], quarantined: list[QuarantineRow], *, audit: AuditBatch | None = None,
        correlation: Sequence[Observation] = (), parked: Sequence[ParkedRow] = (),
        closed: Sequence[tuple[int, str]] = (),
    ) -> None:
        """Record a batch's accepted messages and quarantine events in one transaction.

        ``audit``: the batch's audit entries and bodies, appended last in the same transaction (hub.audit).
        ``parked``: messages held for correlation; ``closed``: (parked id, released | expired) they left with.
        """
        if not (accepted or quarantined or (audit and audit.entries) or parked or closed or correlation):
            return
        now = datetime.now(UTC)
        with self._tx() as conn:
            if parked:
                self._park(conn, parked)
            for parked_id, state in closed:
                conn.execute(parked_messages.update()
                             .where(parked_messages.c.id == parked_id, parked_messages.c.state == PARKED)
                             .values(state=state, closed_at=now))
            if accepted:
                conn.execute(
                    self._insert_ignore(inbound),
                    [
                        {
                            "sender": r.sender,
                            "message_id": r.message_id,
                            "payload_sha256": r.payload_sha256,
                            "msg_type": r.msg_type,
                            "ucr": r.ucr,
                            "received_at": now,
                            "recipients": json.dumps(list(r.recipients)),
                        }
                        for r in accepted
                    ],
                )
            if quarantined:
                conn.execute(
                    quarantine.insert(),
                    [
                        {
                            "at": now,
                            "reason": q.reason,
                            "routing_key": q.routing_key[:255],
                            "user_id": q.user_id,
                            "message_id": q.message_id,
                        }
                        for q in quarantined
                    ],
                )
            if correlation:  # references, parties and events of the accepted messages (hub.timeline)
                self._record(conn, correlation, now)
            if audit is not None and audit.entries:
                self._append_audit(conn, audit)

    # ------------------------------------------------------------ parked messages (hub.parking)

    def _park(self, conn: sa.Connection, rows: Sequence[ParkedRow]) -> None:
        pm = parked_messages.c
        for row in rows:
            existing = conn.execute(sa.select(pm.id, pm.state).where(pm.sender == row.sender,
                                                                     pm.message_id == row.message_id)).first()
            if existing is not None and existing.state == PARKED:
                continue  # a redelivered batch: parked already
            if existing is not None:  # expired (rejected) earlier and sent again: parked afresh
                conn.execute(parked_refs.delete().where(parked_refs.c.parked_id == existing.id))
                conn.execute(parked_messages.delete().where(pm.id == existing.id))
            new_id = conn.execute(parked_messages.insert().returning(pm.id).values(
                sender=row.sender, message_id=row.message_id, sha256=row.sha256, msg_type=row.msg_type,
                content_type=row.content_type, body=row.body, ucr=row.ucr, lookup=json.dumps(row.lookup),
                reason=row.reason, parked_at=row.parked_at, expires_at=row.expires_at, state=PARKED,
            )).scalar_one()
            keys = sorted(set(row.lookup))
            if keys:
                conn.execute(parked_refs.insert(), [{"parked_id": new_id, "kind": k, "value": v} for k, v in keys])

    def parked_keys(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Payload hashes of messages parked now for these (sender, message_id) pairs."""
        keys = list(keys)
        out: dict[tuple[str, str], str] = {}
        pm = parked_messages.c
        with self._tx() as conn:
            for start in range(0, len(keys), 500):
                cond = sa.tuple_(pm.sender, pm.message_id).in_(keys[start : start + 500])
                for sender, mid, sha in conn.execute(sa.select(pm.sender, pm.message_id, pm.sha256)
                                                     .where(cond, pm.state == PARKED)):
                    out[(sender, mid)] = sha
        return out

    def parked(self, *, ucrs: Iterable[str] = (), refs: Iterable[tuple[str, str]] = (), every: bool = False,
               states: Sequence[str] = (PARKED,), limit: int = 1000) -> list[ParkedRow]:
        """Parked messages, oldest first: those a UCR or a reference would release, or ``every`` one."""
        ucrs, refs = sorted(set(ucrs)), sorted(set(refs))
        if not every and not ucrs and not refs:
            return []
        pm = parked_messages.c
        query = sa.select(parked_messages).where(pm.state.in_(list(states)))
        if not every:
            conds: list[Any] = []
            if ucrs:
                conds.append(pm.ucr.in_(ucrs))
            if refs:
                conds.append(pm.id.in_(sa.select(parked_refs.c.parked_id).where(
                    sa.tuple_(parked_refs.c.kind, parked_refs.c.value).in_(refs))))
            query = query.where(sa.or_(*conds))
        with self._tx() as conn:
            rows = conn.execute(query.order_by(pm.id).limit(limit)).all()
        return [ParkedRow(r.sender, r.message_id, r.sha256, r.msg_type, r.content_type, bytes(r.body), r.ucr,
                          tuple((str(k), str(v)) for k, v in json.loads(r.lookup)), r.reason, _utc(r.parked_at),
                          _utc(r.expires_at), int(r.id), r.state) for r in rows]

    def parked_from(self, sender: str, states: Sequence[str] = (PARKED,)) -> list[ParkedRow]:
        """The messages a sender has parked (waiting for correlation now, by default), oldest first: a
        deregistered partner's pending transactions (hub partners pending|settle)."""
        pm = parked_messages.c
        with self._tx() as conn:
            rows = conn.execute(sa.select(parked_messages).where(pm.sender == sender, pm.state.in_(list(states)))
                                .order_by(pm.id)).all()
        return [ParkedRow(r.sender, r.message_id, r.sha256, r.msg_type, r.content_type, bytes(r.body), r.ucr,
                          tuple((str(k), str(v)) for k, v in json.loads(r.lookup)), r.reason, _utc(r.parked_at),
                          _utc(r.expires_at), int(r.id), r.state) for r in rows]

    def parked_count(self) -> int:
        with self._tx() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(parked_messages)
                                    .where(parked_messages.c.state == PARKED)).scalar_one())

    def known_refs(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The UCR each of these (kind, value) references is linked to, for those linked."""
        with self._tx() as conn:
            return self._known_refs(conn, keys)

    def consignment_facts(self, ucrs: Iterable[str]) -> tuple[set[str], dict[str, set[str]]]:
        """Which of these consignments the hub has recorded events for, and the partners recorded as parties."""
        ucrs = sorted(set(ucrs))
        known: set[str] = set()
        parties: dict[str, set[str]] = {}
        ev, cp = consignment_events.c, consignment_parties.c
        with self._tx() as conn:
            for start in range(0, len(ucrs), 500):
                chunk = ucrs[start : start + 500]
                known.update(conn.execute(sa.select(ev.ucr).distinct().where(ev.ucr.in_(chunk))).scalars())
                for ucr, partner in conn.execute(sa.select(cp.ucr, cp.partner).distinct()
                                                 .where(cp.ucr.in_(chunk), cp.partner.is_not(None))):
                    parties.setdefault(ucr, set()).add(partner)
        return known, parties

    def _insert_ignore(self, table: sa.Table) -> Any:
        name = self.engine.dialect.name
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing()
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table).on_conflict_do_nothing()
        return table.insert()

    def _upsert(self, table: sa.Table, key: str, columns: Sequence[str]) -> Any:
        """An insert that, on a row with the same ``key``, updates ``columns`` instead (two hub processes may
        write the same row at once: a delete and insert would collide on the key)."""
        name = self.engine.dialect.name
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            pg = pg_insert(table)
            return pg.on_conflict_do_update(index_elements=[key], set_={c: pg.excluded[c] for c in columns})
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(table)
        return lite.on_conflict_do_update(index_elements=[key], set_={c: lite.excluded[c] for c in columns})

    def add_ack_drops(self, counts: dict[str, int]) -> None:
        if not counts:
            return
        with self._tx() as conn:
            for partner, n in counts.items():
                updated = conn.execute(
                    ack_drops.update()
                    .where(ack_drops.c.partner == partner)
                    .values(dropped=ack_drops.c.dropped + n)
                ).rowcount
                if not updated:
                    conn.execute(ack_drops.insert().values(partner=partner, dropped=n))

    def ack_drop_counts(self) -> dict[str, int]:
        with self._tx() as conn:
            return {p: int(n) for p, n in conn.execute(sa.select(ack_drops.c.partner, ack_drops.c.dropped))}

    def quarantine_counts(self) -> dict[str, int]:
        with self._tx() as conn:
            rows = conn.execute(
                sa.select(quarantine.c.reason, sa.func.count()).group_by(quarantine.c.reason)
            )
            return {reason: int(n) for reason, n in rows}

    def accepted_count(self) -> int:
        with self._tx() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(inbound)).scalar_one())

    # ------------------------------------------------------------ correlation and timeline (hub.timeline)

    def _record(self, conn: sa.Connection, observations: Sequence[Observation], now: datetime) -> None:
        """Link references and parties to their consignments and append the events, in the batch's transaction.

        One read finds which of the batch's references are known and to which UCR (a message without a UCR
        is resolved from them); the first writer of a reference wins, a later claim to another UCR is logged
        and not applied. Inserts ignore rows already there, so a batch redelivered records nothing twice.
        """
        wanted = {k for obs in observations for link in obs.links for ref in link.refs for k in lookup_keys(ref)}
        rows = plan(observations, self._known_refs(conn, wanted), now)
        for kind, value, have, claimed in rows.conflicts:
            level = _log.info if kind == RefKind.CONTAINER.value else _log.warning  # containers are reused
            level("reference already linked to another consignment; kept", kind=kind, value=value, ucr=have,
                  claimed_ucr=claimed)
        for sender, message_id, first_ref in rows.unresolved:
            _log.info("a consignment of the message has no UCR and no known reference; not recorded",
                      sender=sender, message_id=message_id, reference=first_ref)
        for table, values in ((consignment_refs, rows.refs), (consignment_parties, rows.parties),
                              (consignment_events, rows.events)):
            if values:
                conn.execute(self._insert_ignore(table), values)

    @staticmethod
    def _known_refs(conn: sa.Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        keys = sorted(keys)
        out: dict[tuple[str, str], str] = {}
        for start in range(0, len(keys), 500):
            cond = sa.tuple_(consignment_refs.c.kind, consignment_refs.c.value).in_(keys[start : start + 500])
            for kind, value, ucr in conn.execute(
                sa.select(consignment_refs.c.kind, consignment_refs.c.value, consignment_refs.c.ucr).where(cond)
            ):
                out[(kind, value)] = ucr
        return out

    def resolve(self, ref: str) -> list[str]:
        """The UCRs a reference of any kind names: a UCR itself, a linked reference, or a vessel call."""
        values = sorted({ref.strip(), ref.strip().upper()} - {""})
        ev = consignment_events.c
        with self._tx() as conn:
            found = set(conn.execute(
                sa.select(consignment_refs.c.ucr).distinct()
                .where(consignment_refs.c.kind.in_([k.value for k in RefKind]), consignment_refs.c.value.in_(values))
            ).scalars())
            found.update(conn.execute(sa.select(ev.ucr).distinct().where(ev.ucr.in_(values))).scalars())
            found.update(conn.execute(
                sa.select(ev.ucr).distinct().where(ev.vessel_call.in_(values), ev.ucr.is_not(None))
            ).scalars())
        return sorted(u for u in found if u)

    def consignment(self, ucr: str) -> Consignment:
        """A consignment's events (with those of the vessel calls its manifests name), parties and references."""
        ev = consignment_events.c
        cols = (ev.at, ev.msg_type, ev.sender, ev.message_id, ev.status, ev.subject, ev.ucr, ev.vessel_call)
        with self._tx() as conn:
            rows = list(conn.execute(sa.select(*cols).where(ev.ucr == ucr)))
            calls = sorted({r.vessel_call for r in rows if r.vessel_call})
            if calls:
                rows += conn.execute(sa.select(*cols).where(ev.ucr.is_(None), ev.vessel_call.in_(calls)))
            p = consignment_parties.c
            parties = conn.execute(
                sa.select(p.role, p.scheme, p.party_id, p.partner).where(p.ucr == ucr)
                .order_by(p.role, p.scheme, p.party_id)
            ).all()
            r = consignment_refs.c
            refs = conn.execute(sa.select(r.kind, r.value).where(r.ucr == ucr).order_by(r.kind, r.value)).all()
        events = tuple(
            Event(_utc(row.at), row.msg_type, row.sender, row.message_id, row.status, row.subject, row.ucr,
                  row.vessel_call)
            for row in rows
        )
        return Consignment(ucr, events, tuple(PartyRecord(*row) for row in parties),
                           tuple((str(k), str(v)) for k, v in refs))

    # ------------------------------------------------------------ audit trail (hub.audit)

    def _append_audit(self, conn: sa.Connection, batch: AuditBatch) -> None:
        """Chain the batch's entries after the newest one, holding a lock that serialises appenders."""
        batch.head = batch.first_seq = None
        if self.engine.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(AUDIT_LOCK_KEY)))
        elif self.engine.dialect.name == "sqlite":  # a write first: BEGIN and the write lock, then the read
            conn.execute(sa.text("UPDATE audit_log SET seq = seq WHERE 1 = 0"))
        last = conn.execute(
            sa.select(audit_log.c.seq, audit_log.c.entry_hash).order_by(audit_log.c.seq.desc()).limit(1)
        ).first()
        seq, prev = (int(last[0]), str(last[1])) if last else (0, GENESIS)
        now = datetime.now(UTC)
        at = format_at(now)
        batch.first_seq = seq + 1
        rows = []
        for raw in batch.entries:
            e = raw.clipped()
            seq += 1
            prev_hash, prev = prev, entry_hash(seq, at, e, prev)
            rows.append({"seq": seq, "at": now, "direction": e.direction, "sender": e.sender,
                         "recipient": e.recipient, "message_id": e.message_id, "msg_type": e.msg_type,
                         "payload_sha256": e.payload_sha256, "outcome": e.outcome, "prev_hash": prev_hash,
                         "entry_hash": prev})
        conn.execute(audit_log.insert(), rows)
        if batch.bodies:
            conn.execute(
                self._insert_ignore(message_bodies),
                [{"sender": b.sender, "message_id": b.message_id, "received_at": now,
                  "content_type": b.content_type[:64], "body": b.body} for b in batch.bodies],
            )
        batch.head = Head(seq, prev, at)

    def audit_rows(self, yield_per: int = 10_000) -> Generator[tuple[Any, ...], None, None]:
        """Every audit entry in seq order, streamed (a server-side cursor on PostgreSQL)."""
        cols = [audit_log.c[name] for name in (
            "seq", "at", "direction", "sender", "recipient", "message_id", "msg_type", "payload_sha256",
            "outcome", "prev_hash", "entry_hash")]
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(yield_per=yield_per).execute(
                    sa.select(*cols).order_by(audit_log.c.seq))
                for row in result:
                    yield tuple(row)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"store error: {type(exc).__name__}") from exc

    def audit_entry(self, seq: int) -> tuple[str, str] | None:
        """(entry_hash, at) of one entry, None if there is none with this seq."""
        with self._tx() as conn:
            row = conn.execute(
                sa.select(audit_log.c.entry_hash, audit_log.c.at).where(audit_log.c.seq == seq)
            ).first()
        return (str(row[0]), format_at(row[1])) if row else None

    def count_bodies(self, before: datetime) -> int:
        with self._tx() as conn:
            return int(conn.execute(
                sa.select(sa.func.count()).select_from(message_bodies)
                .where(message_bodies.c.received_at < before.astimezone(UTC))
            ).scalar_one())

    def purge_bodies(self, before: datetime, chunk: int = 10_000) -> int:
        """Delete message bodies received before ``before``, ``chunk`` rows per transaction; never audit_log."""
        before = before.astimezone(UTC)
        total = 0
        while True:
            keys = (
                sa.select(message_bodies.c.sender, message_bodies.c.message_id)
                .where(message_bodies.c.received_at < before)
                .limit(chunk)
            )
            with self._tx() as conn:
                n = conn.execute(
                    message_bodies.delete().where(
                        sa.tuple_(message_bodies.c.sender, message_bodies.c.message_id).in_(keys)
                    )
                ).rowcount
            total += n
            if n < chunk:
                return total
