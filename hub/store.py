"""The hub's store: SQLAlchemy Core on SQLite (default) or PostgreSQL, schema managed by Alembic.

Methods are synchronous and meant to run in a worker thread (``asyncio.to_thread``); the pipeline
calls ``commit_batch`` once per batch so that de-duplication rows of a whole batch share one
transaction. Database errors are translated to ``StoreUnavailable`` at this boundary.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.exc import SQLAlchemyError

from hub.errors import StoreUnavailable

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

MIGRATIONS = Path(__file__).parent / "migrations"


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

    def commit_batch(self, accepted: list[AcceptedRow], quarantined: list[QuarantineRow]) -> None:
        """Record a batch's accepted messages and quarantine events in one transaction."""
        if not accepted and not quarantined:
            return
        now = datetime.now(UTC)
        with self._tx() as conn:
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

    def _insert_ignore(self, table: sa.Table) -> Any:
        name = self.engine.dialect.name
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).on_conflict_do_nothing()
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table).on_conflict_do_nothing()
        return table.insert()

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
