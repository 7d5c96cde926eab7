"""The registry's record: ``config/partners.yaml`` is the seed, the store is the record of what operators
changed since (``hub partners suspend|reinstate|deregister|rotate-credentials``, each with a reason), and
the operators' decisions on a suspended or deregistered partner's held deliveries and pending transactions
(``release-held``, ``cancel-held``, ``settle-reject|cancel|complete``: ``DECISIONS``, ``holds``).

A status set here overrides the file's; ``hub run`` re-reads it every few seconds (the pipeline refuses a
suspended sender's messages with ``PARTNER_SUSPENDED``, the delivery worker holds a suspended recipient's
deliveries and releases them in order on ``reinstate``). Every change is kept in ``partner_changes``.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from hub.config import Partner, PartnerStatus
from hub.store import Store, metadata

REFRESH_EVERY = 2.0  # seconds between re-reads by a running hub

partner_status = sa.Table(
    "partner_status", metadata,
    sa.Column("partner", sa.String(32), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
)
partner_changes = sa.Table(
    "partner_changes", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("partner", sa.String(32), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text(), nullable=False),
    sa.Column("by", sa.String(64), nullable=False),
)

ACTION_STATUS = {"suspend": PartnerStatus.SUSPENDED, "reinstate": PartnerStatus.ACTIVE,
                 "deregister": PartnerStatus.DEREGISTERED}
# operators' decisions on the deliveries held for a suspended or deregistered partner (hub.delivery.gate):
# what each does to those queued before it was recorded; ``settle-*`` (a deregistered partner only,
# regulation 15(3)(b)) also rejects, cancels or routes the messages it sent that wait for correlation
DECISIONS = {"release-held": "release", "cancel-held": "cancel", "settle-reject": "reject",
             "settle-cancel": "cancel", "settle-complete": "release"}


@dataclass(frozen=True)
class Change:
    partner: str
    at: datetime
    action: str
    reason: str
    by: str


class RegistryError(Exception):
    """A change the registry refuses (unknown partner, deregistered partner reinstated, empty reason)."""


def statuses(store: Store) -> dict[str, PartnerStatus]:
    """The statuses operators set, by partner."""
    with store._tx() as conn:
        return {str(p): PartnerStatus(s) for p, s in conn.execute(
            sa.select(partner_status.c.partner, partner_status.c.status))}


@dataclass(frozen=True)
class Hold:
    """For a running hub: when a partner's status was recorded and the operator's latest decision on its held
    deliveries since then (an earlier status's decisions no longer count)."""

    since: datetime | None  # None: the status is the seed's (partners.yaml), its time unknown
    decision: str | None = None  # release | cancel | reject (DECISIONS)
    decision_at: datetime | None = None


def holds(store: Store) -> dict[str, Hold]:
    """Per partner with a recorded status or decision: since when, and the latest decision since then."""
    c = partner_changes.c
    with store._tx() as conn:
        since = {str(p): _utc(at) for p, at in conn.execute(
            sa.select(partner_status.c.partner, partner_status.c.changed_at))}
        rows = conn.execute(sa.select(c.partner, c.action, c.at).where(c.action.in_(list(DECISIONS)))
                            .order_by(c.id)).all()
    out = {p: Hold(at) for p, at in since.items()}
    for partner, action, at in rows:
        start, at = since.get(partner), _utc(at)
        if start is None or at >= start:
            out[partner] = Hold(start, DECISIONS[action], at)
    return out


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def apply(partners: Iterable[Partner], overrides: dict[str, PartnerStatus]) -> tuple[Partner, ...]:
    """The partners with the statuses operators set."""
    return tuple(p if overrides.get(p.id, p.status) is p.status else p.model_copy(update={"status": overrides[p.id]})
                 for p in partners)


def change(store: Store, partner: Partner, action: str, reason: str, by: str | None = None,
           now: datetime | None = None) -> Change:
    """Record an operator's change (and the new status, for suspend / reinstate / deregister)."""
    reason = reason.strip()
    if not reason:
        raise RegistryError("a reason is required (it is recorded with the change)")
    current = statuses(store).get(partner.id, partner.status)
    if action.startswith("settle-") and current is not PartnerStatus.DEREGISTERED:
        raise RegistryError(f"{partner.id} is {current.value}: settling pending transactions is for a deregistered "
                            "partner (regulation 15(3)(b))" + ("" if current is PartnerStatus.ACTIVE else
                                                               "; use release-held or cancel-held"))
    if action in DECISIONS and current is PartnerStatus.ACTIVE:
        raise RegistryError(f"{partner.id} is active: nothing is held for its registry status")
    if current is PartnerStatus.DEREGISTERED and action not in DECISIONS and action != "rotate-credentials":
        raise RegistryError(f"{partner.id} is deregistered: that is final (regulation 15); register it anew")
    if current is PartnerStatus.DEREGISTERED and action == "rotate-credentials":
        raise RegistryError(f"{partner.id} is deregistered: it has no credentials to rotate")
    done = Change(partner.id, now or datetime.now(UTC), action, reason[:2000], by or _operator())
    with store._tx() as conn:
        status = ACTION_STATUS.get(action)
        if status is not None:
            conn.execute(partner_status.delete().where(partner_status.c.partner == partner.id))
            conn.execute(partner_status.insert().values(partner=partner.id, status=status.value, reason=done.reason,
                                                        changed_at=done.at))
        conn.execute(partner_changes.insert().values(partner=done.partner, at=done.at, action=done.action,
                                                     reason=done.reason, by=done.by))
    return done


def history(store: Store, partner_id: str) -> list[Change]:
    c = partner_changes.c
    with store._tx() as conn:
        rows = conn.execute(sa.select(c.partner, c.at, c.action, c.reason, c.by)
                            .where(c.partner == partner_id).order_by(c.id)).all()
    return [Change(r.partner, r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC), r.action, r.reason, r.by)
            for r in rows]


def _operator() -> str:
    try:
        return getpass.getuser()[:64]
    except (KeyError, OSError):
        return "unknown"
