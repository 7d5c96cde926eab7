"""Broker passwords: from ``HUB_SECRET_<ID>`` (id upper-cased, ``-`` as ``_``) or a JSON secrets file.

The file lives outside git (``var/`` by default), is created with mode 0600 in a 0700 directory, and is
only ever written by ``hub broker provision``. Passwords never appear in ``repr`` or logs.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path


def env_name(partner_id: str) -> str:
    return "HUB_SECRET_" + partner_id.upper().replace("-", "_").replace(".", "_")


class Secrets:
    def __init__(self, path: Path, env: dict[str, str] | None = None) -> None:
        self.path = path
        self._env = dict(os.environ) if env is None else env
        self._data: dict[str, str] = {}
        if path.exists():
            self._data = dict(json.loads(path.read_text(encoding="utf-8")))

    def __repr__(self) -> str:
        return f"Secrets(path={str(self.path)!r}, entries={len(self._data)})"

    def get(self, partner_id: str) -> str | None:
        return self._env.get(env_name(partner_id)) or self._data.get(partner_id)

    def ensure(self, partner_id: str) -> str:
        """The partner's password, generated and remembered if it has none yet."""
        value = self.get(partner_id)
        if value is None:
            value = secrets.token_urlsafe(24)
            self._data[partner_id] = value
        return value

    def set(self, partner_id: str, value: str) -> None:
        """Replace a secret (credential rotation); written by ``save``."""
        self._data[partner_id] = value

    def save(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self._data, fh, indent=1, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
