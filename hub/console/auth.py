"""Operators of the console: their password hashes, login sessions and CSRF tokens.

- **Operators** live in ``console.operators_file`` (JSON, mode 0600, written by ``hub console add-operator``):
  ``{"schema": "hub.console-operators/1", "operators": {name: {"hash": ..., "added_at": ...}}}``. Passwords are
  hashed with scrypt from the standard library (``scrypt$n$r$p$salt$hash``, base64, 16-byte salt, 32-byte key,
  n = 2**14, r = 8, p = 1: about 16 MiB and 50 ms per check). The file is re-read when it changes, so an
  operator added or removed counts at once, in every running console.
- **Sessions** are a cookie ``hub_console`` (HttpOnly, SameSite=Strict, Path=/, Secure behind HTTPS) holding
  ``base64(JSON {operator, expiry, csrf token, fingerprint of the password hash}) . base64(HMAC-SHA256)``. The
  key is the secret ``console.session-key`` of the secrets file (made on first use), so every console of
  the hub accepts the same sessions and a restart logs nobody out. A session ends at its expiry
  (``console.session_hours``), on logout (the cookie is cleared), or when the operator is removed or given a
  new password (the fingerprint no longer matches). Nothing is kept on the server.
- **CSRF**: every form carries the session's token (``csrf``), checked on every POST; the login form, before
  any session, carries an HMAC of a random cookie set with the form (double submit).
- **Throttling**: after ``MAX_FAILURES`` failed logins for a name, or from one address, within
  ``FAILURE_WINDOW`` seconds, logins for it are refused until the window has passed (per console process).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.secrets import write_private_json

SCHEMA = "hub.console-operators/1"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
MIN_PASSWORD = 12
SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_BYTES = 2**14, 8, 1, 32
COOKIE = "hub_console"
LOGIN_COOKIE = "hub_console_login"
SESSION_KEY_SECRET = "console.session-key"  # noqa: S105 - the name of the secret, not a secret
MAX_FAILURES = 5
FAILURE_WINDOW = 300.0


class OperatorError(ValueError):
    """An operator name or password that cannot be used (the message says why)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=KEY_BYTES,
                         maxmem=64 * 1024 * 1024)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        want = _unb64(key)
        got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(want),
                             maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


_DUMMY = hash_password("not a password of anyone", salt=b"\0" * 16)  # same cost for an unknown name


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise OperatorError("an operator name is 1 to 32 characters: lower-case letters, digits, '.', '_', '-', "
                            "starting with a letter or digit")
    return name


def check_new_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise OperatorError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise OperatorError("the password must have at most 1024 characters")
    return password


def operators_path(config: Any) -> Path:
    """``console.operators_file``, relative to the config directory."""
    path = Path(config.settings.console.operators_file)
    return path if path.is_absolute() else (config.directory / path).resolve()


class Operators:
    """The operators file, re-read when its modification time or size changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._hashes: dict[str, str] = {}

    def _read(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except FileNotFoundError:
            return {"schema": SCHEMA, "operators": {}}
        if not isinstance(doc, dict) or not isinstance(doc.get("operators", {}), dict):
            raise OperatorError(f"{self.path}: not an operators file")
        doc.setdefault("operators", {})
        return doc

    def hashes(self) -> dict[str, str]:
        with self._lock:
            try:
                st = self.path.stat()
                stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
            except FileNotFoundError:
                stamp = None
            if stamp != self._stamp or stamp is None:
                self._hashes = {name: str(entry.get("hash", "")) for name, entry in self._read()["operators"].items()}
                self._stamp = stamp
            return dict(self._hashes)

    def names(self) -> list[str]:
        return sorted(self.hashes())

    def verify(self, name: str, password: str) -> bool:
        stored = self.hashes().get(name)
        ok = check_password(password, stored or _DUMMY)
        return ok and stored is not None

    def fingerprint(self, name: str) -> str | None:
        stored = self.hashes().get(name)
        return hashlib.sha256(stored.encode()).hexdigest()[:16] if stored else None

    def set_password(self, name: str, password: str) -> bool:
        """Add the operator or replace its password; True if it was new. Written with mode 0600."""
        check_name(name)
        check_new_password(password)
        doc = self._read()
        new = name not in doc["operators"]
        doc["operators"][name] = {"hash": hash_password(password), "added_at": datetime.now(UTC).isoformat(
            timespec="seconds")}
        self._write(doc)
        return new

    def remove(self, name: str) -> bool:
        doc = self._read()
        if doc["operators"].pop(name, None) is None:
            return False
        self._write(doc)
        return True

    def _write(self, doc: dict[str, Any]) -> None:
        doc["schema"] = SCHEMA
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private_json(self.path, doc)
        with self._lock:
            self._stamp = None


@dataclass(frozen=True)
class Session:
    operator: str
    expires: float  # unix time
    csrf: str


class Sessions:
    """Signed session cookies (nothing stored server side) and the login form's double-submit token."""

    def __init__(self, key: bytes, operators: Operators, hours: float) -> None:
        self.key = key
        self.operators = operators
        self.seconds = hours * 3600

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self.key, payload, hashlib.sha256).digest())

    def issue(self, operator: str, now: float | None = None) -> tuple[str, Session]:
        now = time.time() if now is None else now
        session = Session(operator, float(int(now + self.seconds)), secrets.token_urlsafe(24))
        payload = json.dumps({"o": operator, "e": int(session.expires), "c": session.csrf,
                              "f": self.operators.fingerprint(operator)}, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{self._sign(payload)}", session

    def read(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session of a cookie value if its signature, expiry and operator are still good."""
        if not cookie or "." not in cookie or len(cookie) > 2048:
            return None
        body, _, sig = cookie.partition(".")
        try:
            payload = _unb64(body)
        except ValueError:
            return None
        if not hmac.compare_digest(self._sign(payload), sig):
            return None
        try:
            doc = json.loads(payload)
            operator, expires, csrf, fingerprint = str(doc["o"]), float(doc["e"]), str(doc["c"]), doc["f"]
        except (ValueError, KeyError, TypeError):
            return None
        if expires <= (time.time() if now is None else now):
            return None
        if fingerprint is None or fingerprint != self.operators.fingerprint(operator):
            return None  # removed, or given a new password since
        return Session(operator, expires, csrf)

    def login_token(self, nonce: str) -> str:
        """The login form's CSRF value for the random ``LOGIN_COOKIE`` it was served with."""
        return self._sign(b"login:" + nonce.encode())

    def check_login_token(self, nonce: str | None, token: str | None) -> bool:
        return bool(nonce and token) and hmac.compare_digest(self.login_token(nonce or ""), token or "")


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens, False if either is missing."""
    return bool(a and b) and hmac.compare_digest((a or "").encode(), (b or "").encode())


class Throttle:
    """Failed logins per key (operator name, client address) within ``FAILURE_WINDOW``."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, *keys: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in keys:
                recent = [t for t in self._failures.get(key, []) if now - t < self.window]
                self._failures[key] = recent
                if len(recent) >= self.limit:
                    return True
        return False

    def failed(self, *keys: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in keys:
                self._failures.setdefault(key, []).append(now)
            if len(self._failures) > 10_000:  # bounded: drop the keys with nothing recent
                for key in [k for k, v in self._failures.items() if not v or now - v[-1] >= self.window]:
                    del self._failures[key]

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
