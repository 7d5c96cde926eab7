"""Partners' broker credentials expire (regulation 9 of the NESWS (General) Regulations 2024).

Regulation 9(2): login credentials are valid for one year from their issue; 9(3): a new credential follows
the annual access fee; 9(4): the user is told at least thirty days before the expiry; 9(5): access is
suspended until the fee is paid. RabbitMQ has no password expiry, so the hub keeps the record and enforces it:

- ``partner_credentials`` (migration 0010) holds one row per partner: when its current broker password was
  issued, when it expires (``credentials.valid_days`` later, 365 by default; fixed at issue, so changing the
  setting changes only credentials issued afterwards) and when the hub revoked it. ``hub broker provision``
  records the issue when it first creates a partner's user (a partner without a row gets one, so an existing
  deployment's credentials count from its first provisioning after the upgrade), and ``hub partners
  rotate-credentials`` records a new one (new issue and expiry, revocation cleared).
- ``revoke_expired`` (run by every ``hub run`` once a minute, ``Sweeper``, and by ``hub broker provision``)
  replaces an expired credential's broker password with a random one nobody keeps and closes the partner's
  open connections (the broker checks a password only when a connection opens), then records ``revoked_at``
  and a ``partner_changes`` row (action ``credential-expired``, by ``hub``). The broker is changed before the
  store, so a crash in between only repeats the change on the next run. Provisioning never gives a revoked
  credential its old password back.
- ``hub partners list`` shows each expiry and warns ``credentials.warn_days`` (30) days ahead.

Times are wall-clock UTC, never the test clock of ``HUB_CLOCK_FILE``: broker users are broker-wide, so a test
hub whose clock jumps a year ahead must not revoke the users other hubs on the same broker share. Passwords
are never logged or stored here.
"""

from __future__ import annotations

import asyncio
import secrets as py_secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import sqlalchemy as sa

from hub import logs
from hub.errors import ProvisionError, StoreUnavailable
from hub.registry import partner_changes
from hub.store import Store, metadata

if TYPE_CHECKING:
    from hub.config import HubConfig
    from hub.provision import Management

log = logs.get("hub.credentials")

State = Literal["valid", "expiring", "expired", "unknown"]
SWEEP_EVERY = 60.0  # seconds between revocation sweeps of a running hub
ACTION = "credential-expired"  # partner_changes.action of a revocation

partner_credentials = sa.Table(
    "partner_credentials", metadata,
    sa.Column("partner", sa.String(32), primary_key=True),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)


def _utc(value: datetime) -> datetime:
    """Aware UTC (SQLite gives naive datetimes back; they were written in UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now(now: datetime | None) -> datetime:
    return _utc(now) if now is not None else datetime.now(UTC)


@dataclass(frozen=True)
class Credential:
    """A partner's current broker credential as recorded (no password)."""

    partner: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    def state(self, now: datetime, warn_days: int) -> State:
        """``expired`` from ``expires_at`` on (or once revoked), ``expiring`` within ``warn_days`` of it."""
        now = _utc(now)
        if self.revoked_at is not None or now >= self.expires_at:
            return "expired"
        return "expiring" if self.expires_at - now <= timedelta(days=warn_days) else "valid"


def state_of(cred: Credential | None, now: datetime, warn_days: int) -> State:
    """A partner's credential state; ``unknown`` when none is recorded (never provisioned with this release)."""
    return "unknown" if cred is None else cred.state(now, warn_days)


def _credential(row: Any) -> Credential:
    return Credential(str(row.partner), _utc(row.issued_at), _utc(row.expires_at),
                      _utc(row.revoked_at) if row.revoked_at is not None else None)


def all_credentials(store: Store) -> dict[str, Credential]:
    """Every recorded credential, by partner, in one query (``hub partners list`` with 1,000 partners)."""
    c = partner_credentials.c
    with store._tx() as conn:
        rows = conn.execute(sa.select(c.partner, c.issued_at, c.expires_at, c.revoked_at)).all()
    return {str(r.partner): _credential(r) for r in rows}


def credential(store: Store, partner_id: str) -> Credential | None:
    c = partner_credentials.c
    with store._tx() as conn:
        row = conn.execute(sa.select(c.partner, c.issued_at, c.expires_at, c.revoked_at)
                           .where(c.partner == partner_id)).first()
    return None if row is None else _credential(row)


def issue(store: Store, partner_id: str, valid_days: int, now: datetime | None = None) -> Credential:
    """Record a new credential (``rotate-credentials``): issued now, expiring ``valid_days`` later, not revoked.

    Called before the broker gets the new password: a revocation sweep that read the old, expired row
    meanwhile then finds the row changed and reports that it may have replaced the new password (see
    ``revoke_expired``)."""
    now = _now(now)
    done = Credential(partner_id, now, now + timedelta(days=valid_days), None)
    with store._tx() as conn:
        conn.execute(partner_credentials.delete().where(partner_credentials.c.partner == partner_id))
        conn.execute(partner_credentials.insert().values(partner=partner_id, issued_at=done.issued_at,
                                                         expires_at=done.expires_at, revoked_at=None))
    return done


def record_first_issue(store: Store, partner_ids: Iterable[str], valid_days: int,
                       now: datetime | None = None) -> list[str]:
    """``hub broker provision``: record an issue for each partner that has no row yet (its user was just
    created, or predates this record); rows already there are left alone. The partners recorded."""
    now = _now(now)
    wanted = list(dict.fromkeys(partner_ids))
    with store._tx() as conn:
        known = {str(p) for (p,) in conn.execute(sa.select(partner_credentials.c.partner))}
        new = [p for p in wanted if p not in known]
        if new:
            conn.execute(partner_credentials.insert(), [
                {"partner": p, "issued_at": now, "expires_at": now + timedelta(days=valid_days), "revoked_at": None}
                for p in new])
    return new


def throwaway_password() -> str:
    """A random password nobody keeps: what a revoked partner's broker user is given."""
    return py_secrets.token_urlsafe(32)


def revoke_expired(store: Store, mgmt: Management, now: datetime | None = None) -> list[str]:
    """Revoke every expired credential not revoked yet; the partners revoked now.

    For each: the broker user gets a random password nobody keeps (``Management.user``), then, in one
    transaction, ``revoked_at`` and a ``partner_changes`` row are recorded, on condition that the row is still
    the expired one read (a concurrent ``rotate-credentials`` records its new credential before it sets the new
    password: if the row changed, that new password may have been overwritten, which is logged). Last, the
    open connections of every revoked partner are closed, those of earlier revocations included (a connection
    the management API did not list yet the last time). Raises ``ProvisionError`` when the management API
    fails (what was done is recorded; the next run does the rest) and ``StoreUnavailable``."""
    now = _now(now)
    c = partner_credentials.c
    with store._tx() as conn:
        due = conn.execute(sa.select(c.partner, c.issued_at, c.expires_at)
                           .where(c.revoked_at.is_(None), c.expires_at <= now)).all()
    revoked: list[str] = []
    for row in due:
        pid = str(row.partner)
        mgmt.user(pid, throwaway_password())
        with store._tx() as conn:
            n = conn.execute(partner_credentials.update()
                             .where(c.partner == pid, c.revoked_at.is_(None), c.issued_at == row.issued_at)
                             .values(revoked_at=now)).rowcount
            if n:
                conn.execute(partner_changes.insert().values(
                    partner=pid, at=now, action=ACTION, by="hub",
                    reason=f"broker credential expired {_utc(row.expires_at):%Y-%m-%d} (regulation 9(2)): password "
                           "replaced, connections closed; hub partners rotate-credentials issues a new one"))
        if n:
            revoked.append(pid)
            log.warning("broker credential expired: password replaced", partner=pid)
        else:
            log.warning("broker credential re-issued while it was being revoked: its new password may have been "
                        "replaced; run hub partners rotate-credentials again", partner=pid)
    with store._tx() as conn:
        gone = {str(p) for (p,) in conn.execute(sa.select(c.partner).where(c.revoked_at.is_not(None)))}
    if gone:
        closed = close_connections(mgmt, gone)
        if closed:
            log.warning("closed connections of revoked broker credentials", connections=closed)
    return revoked


def close_connections(mgmt: Management, users: set[str]) -> int:
    """Close every broker connection (all virtual hosts: users are broker-wide) of these users; how many."""
    closed = 0
    for conn in mgmt.get("/connections?columns=name,user") or []:
        if conn.get("user") in users and conn.get("name"):
            try:
                mgmt.request("DELETE", f"/connections/{quote(str(conn['name']), safe='')}",
                             headers={"X-Reason": "broker credential expired (regulation 9)"})
            except ProvisionError:
                continue  # closed meanwhile
            closed += 1
    return closed


class Sweeper:
    """``hub run``'s revocation: ``revoke_expired`` at start and then every ``SWEEP_EVERY`` seconds, in a task
    of its own (a slow management API must not hold up the delivery monitor that calls ``due``), with a
    management client made for each sweep. Failures are logged and retried at the next sweep."""

    def __init__(self, config: HubConfig, store: Store, every: float = SWEEP_EVERY) -> None:
        self.config = config
        self.store = store
        self.every = every
        self._last: float | None = None
        self._task: asyncio.Task[None] | None = None

    def due(self) -> None:
        """Start a sweep if one is due and none is under way (call it from a periodic loop)."""
        mono = time.monotonic()
        if (self._task is not None and not self._task.done()) or (
                self._last is not None and mono - self._last < self.every):
            return
        self._last = mono
        self._task = asyncio.create_task(self._sweep())

    async def _sweep(self) -> None:
        try:
            await asyncio.to_thread(self.sweep)
        except (ProvisionError, StoreUnavailable) as exc:
            log.warning("cannot revoke expired broker credentials now; retrying later", error=str(exc)[:200])

    def sweep(self) -> list[str]:
        from hub.provision import management_for

        mgmt = management_for(self.config)
        try:
            return revoke_expired(self.store, mgmt)
        finally:
            mgmt.close()


def open_store(config: HubConfig) -> Store:
    """The hub's store, migrated (raises ``StoreUnavailable``)."""
    store = Store(config.store_url())
    try:
        store.migrate()
    except StoreUnavailable:
        store.close()
        raise
    return store


def listing(config: HubConfig) -> tuple[dict[str, Credential], set[str]] | None:
    """For ``hub partners list``: every recorded credential and the partners deregistered in the store (no
    warnings for those), two queries in all; None if the store is unavailable."""
    from hub import registry
    from hub.config import PartnerStatus

    try:
        store = open_store(config)
    except StoreUnavailable:
        return None
    try:
        creds = all_credentials(store)
        gone = {p for p, s in registry.statuses(store).items() if s is PartnerStatus.DEREGISTERED}
    except StoreUnavailable:
        return None
    finally:
        store.close()
    return creds, gone


def warning(partner_id: str, cred: Credential, now: datetime, warn_days: int) -> str | None:
    """The operator's warning for an expiring or expired credential (regulation 9(4)), without the
    ``warning:`` the commands print before it; None otherwise."""
    state = cred.state(now, warn_days)
    if state in ("valid", "unknown"):
        return None
    now = _utc(now)
    fix = f"hub partners rotate-credentials {partner_id} -r ..."
    days = (cred.expires_at.date() - now.date()).days  # calendar days (UTC), as the dates printed
    if state == "expiring":
        when = "today" if days <= 0 else ("in 1 day" if days == 1 else f"in {days} days")
        return f"{partner_id} broker credential expires {cred.expires_at:%Y-%m-%d} ({when}): {fix}"
    ago = "today" if days >= 0 else ("1 day ago" if days == -1 else f"{-days} days ago")
    revoked = "" if cred.revoked_at is not None else ", not revoked yet"
    return f"{partner_id} broker credential expired {cred.expires_at:%Y-%m-%d} ({ago}{revoked}): {fix}"


def as_dict(cred: Credential | None, warn_days: int, now: datetime | None = None) -> dict[str, Any]:
    """``hub partners show --json``'s ``credential``."""
    now = _now(now)
    return {"state": state_of(cred, now, warn_days),
            "issued_at": cred.issued_at.isoformat() if cred else None,
            "expires_at": cred.expires_at.isoformat() if cred else None,
            "revoked_at": cred.revoked_at.isoformat() if cred and cred.revoked_at else None}


def describe(cred: Credential | None, warn_days: int, now: datetime | None = None) -> str:
    """``hub partners show``'s line: state, issue, expiry, revocation."""
    now = _now(now)
    if cred is None:
        return "unknown (none recorded: run hub broker provision)"
    revoked = f", revoked {cred.revoked_at:%Y-%m-%d}" if cred.revoked_at else ""
    return (f"{cred.state(now, warn_days)}, issued {cred.issued_at:%Y-%m-%d}, expires {cred.expires_at:%Y-%m-%d}"
            f"{revoked}")
