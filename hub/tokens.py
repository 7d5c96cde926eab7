"""Bearer tokens of the partner query API (``GET /v1/consignments/{ref}``, hub.api_http).

- One token per partner and one for the operator, issued by ``hub broker provision``. The token itself lives
  only in the secrets file (entry ``<partner>.api``, or ``operator.api``; or ``HUB_SECRET_<ID>_API``), like
  the broker passwords; the store keeps its SHA-256 (table ``api_tokens``, migration 0007), so a copy of the
  store gives nobody a usable token.
- A token is looked up by its hash (and the hash compared with ``hmac.compare_digest``): nothing is compared
  character by character with a secret, so the answer time tells nothing about the token.
- A partner's token expires one year after it was issued (regulation 9(2) of the NESWS (General)
  Regulations 2024: login credentials are valid for one year); the operator's does not. Provisioning does
  not renew an expired or revoked token by itself, because a new credential follows the annual access fee
  (regulation 9(3)): it warns, and a new token is issued once the old entry is removed from the secrets file
  (the new one revokes the subject's earlier tokens). It also warns 30 days ahead of an expiry (regulation
  9(4)).
- ``revoke`` marks a subject's tokens revoked at once. Expired and revoked tokens authenticate nobody.

Tokens are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from hub.config import HubConfig, PartnerStatus
from hub.secrets import Secrets
from hub.store import Store, metadata

OPERATOR = "operator"  # the subject of the operator's token (a partner with this id gets no API token)
MAX_TOKEN = 512  # characters; anything longer is refused before it is hashed
EXPIRY_NOTICE = timedelta(days=30)  # regulation 9(4): tell the user at least 30 days before the expiry
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 b64token

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("subject", sa.String(32), nullable=False, index=True),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)


def secret_name(subject: str) -> str:
    """The secrets-file entry holding a subject's token (env ``HUB_SECRET_<ID>_API``)."""
    return f"{subject}.api"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def one_year_after(value: datetime) -> datetime:
    """The same instant a year later; 29 February gives 28 February."""
    try:
        return value.replace(year=value.year + 1)
    except ValueError:
        return value.replace(year=value.year + 1, day=28)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class TokenRecord:
    subject: str
    issued_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def valid_at(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass
class TokenReport:
    issued: list[str] = field(default_factory=list)  # subjects given a new token in the store
    warnings: list[str] = field(default_factory=list)


def subjects(config: HubConfig) -> list[str]:
    """Who gets an API token: every partner not deregistered (but not one named like the operator), and the
    operator."""
    return [p.id for p in config.partners if p.status is not PartnerStatus.DEREGISTERED and p.id != OPERATOR] + [
        OPERATOR]


def ensure_secrets(config: HubConfig, secrets: Secrets) -> dict[str, str]:
    """Each subject's token, generated into ``secrets`` when it has none (the caller saves the file)."""
    return {s: secrets.ensure(secret_name(s)) for s in subjects(config)}


def record(store: Store, tokens: Mapping[str, str], now: datetime | None = None) -> TokenReport:
    """Record the hash of each subject's token when the store does not have it yet: a partner's expires one
    year after ``now``, the operator's never, and the subject's earlier tokens are revoked (the secrets file
    holds a subject's one current token: removing its entry and provisioning again replaces the token). Tokens
    already recorded are left as they are; an expired or revoked one, or one expiring within 30 days, is
    reported in ``warnings``, as is a token no client could present (not RFC 6750 characters, too long)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    report = TokenReport()
    for subject, token in list(tokens.items()):
        if len(token) > MAX_TOKEN or not _TOKEN_CHARS.fullmatch(token):
            report.warnings.append(
                f"the API token of {subject} (secrets entry {secret_name(subject)}) is not usable: at most "
                f"{MAX_TOKEN} letters, digits and -._~+/ (then =): not recorded")
    hashes = {s: digest(tok) for s, tok in tokens.items() if len(tok) <= MAX_TOKEN and _TOKEN_CHARS.fullmatch(tok)}
    t = api_tokens.c
    with store._tx() as conn:
        known = {row.token_sha256: row for row in conn.execute(
            sa.select(t.token_sha256, t.subject, t.expires_at, t.revoked_at)
            .where(t.token_sha256.in_(sorted(set(hashes.values())))))}
        claimed: dict[str, str] = {}
        for subject, h in hashes.items():
            row = known.get(h)
            other = claimed.setdefault(h, subject)
            if (row is not None and row.subject != subject) or other != subject:
                report.warnings.append(
                    f"the API token of {subject} is the token of {row.subject if row is not None else other}: "
                    f"not recorded; give {subject} a token of its own (secrets entry {secret_name(subject)})")
                continue
            if row is None:
                expires = None if subject == OPERATOR else one_year_after(now)
                conn.execute(api_tokens.update().where(t.subject == subject, t.revoked_at.is_(None))
                             .values(revoked_at=now))
                conn.execute(api_tokens.insert().values(token_sha256=h, subject=subject, issued_at=now,
                                                        expires_at=expires, revoked_at=None))
                report.issued.append(subject)
                continue
            expires_at, revoked_at = _utc(row.expires_at), _utc(row.revoked_at)
            renew = (f"issue a new one (regulation 9(3): after the annual access fee) by removing the entry "
                     f"{secret_name(subject)} from the secrets file (or setting a new HUB_SECRET_..._API) and "
                     "provisioning again")
            if revoked_at is not None:
                report.warnings.append(f"the API token of {subject} was revoked on {revoked_at:%Y-%m-%d}: {renew}")
            elif expires_at is not None and expires_at <= now:
                report.warnings.append(f"the API token of {subject} expired on {expires_at:%Y-%m-%d}: {renew}")
            elif expires_at is not None and expires_at - now <= EXPIRY_NOTICE:
                report.warnings.append(
                    f"the API token of {subject} expires on {expires_at:%Y-%m-%d}: tell the partner "
                    "(regulation 9(4): at least 30 days before)")
    return report


def provision_tokens(config: HubConfig, secrets: Secrets, now: datetime | None = None) -> TokenReport:
    """``hub broker provision``'s part: ensure every subject's token in the secrets file, save it, then record
    the hashes in the hub's store (migrated first). The file is saved before the store is written, so a store
    never holds the hash of a token that is nowhere."""
    tokens = ensure_secrets(config, secrets)
    secrets.save()
    store = Store(config.store_url())
    try:
        store.migrate()
        report = record(store, tokens, now)
    finally:
        store.close()
    if config.partner(OPERATOR) is not None:
        report.warnings.append(f"partner id {OPERATOR!r} is the subject of the operator's API token: that partner "
                               "gets no API token of its own")
    return report


def lookup(store: Store, token: str) -> TokenRecord | None:
    """The record of a presented token, whatever its state; None for a token the hub never issued."""
    if not token or len(token) > MAX_TOKEN or not _TOKEN_CHARS.fullmatch(token):
        return None
    h = digest(token)
    t = api_tokens.c
    with store._tx() as conn:
        row = conn.execute(sa.select(t.token_sha256, t.subject, t.issued_at, t.expires_at, t.revoked_at)
                           .where(t.token_sha256 == h)).first()
    if row is None or not hmac.compare_digest(str(row.token_sha256), h):
        return None
    return _record(row)


def authenticate(store: Store, token: str, now: datetime | None = None) -> str | None:
    """The subject (a partner id or ``operator``) of a token valid now; None for an unknown, expired or revoked
    one."""
    rec = lookup(store, token)
    if rec is None or not rec.valid_at((now or datetime.now(UTC)).astimezone(UTC)):
        return None
    return rec.subject


def revoke(store: Store, subject: str, now: datetime | None = None) -> int:
    """Revoke every token of ``subject`` not revoked yet; the number revoked."""
    t = api_tokens.c
    with store._tx() as conn:
        n = conn.execute(api_tokens.update().where(t.subject == subject, t.revoked_at.is_(None))
                         .values(revoked_at=(now or datetime.now(UTC)).astimezone(UTC))).rowcount
    return int(n)


def tokens_of(store: Store, subject: str) -> list[TokenRecord]:
    """A subject's token records, oldest first (no hashes)."""
    t = api_tokens.c
    with store._tx() as conn:
        rows = conn.execute(sa.select(t.subject, t.issued_at, t.expires_at, t.revoked_at)
                            .where(t.subject == subject).order_by(t.issued_at)).all()
    return [_record(row) for row in rows]


def _record(row: Any) -> TokenRecord:
    return TokenRecord(str(row.subject), _utc(row.issued_at) or datetime.min.replace(tzinfo=UTC),
                       _utc(row.expires_at), _utc(row.revoked_at))
