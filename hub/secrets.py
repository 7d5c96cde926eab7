"""Broker passwords: from ``HUB_SECRET_<ID>`` (id upper-cased, ``-`` as ``_``) or a JSON secrets file.

The file lives outside git (``var/`` by default), is created with mode 0600 in a 0700 directory, and is
written by ``hub broker provision`` and ``hub partners rotate-credentials``. Passwords never appear in ``repr`` or logs.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def env_name(partner_id: str) -> str:
    return "HUB_SECRET_" + partner_id.upper().replace("-", "_").replace(".", "_")


class Secrets:
    """The secrets file, safe to share between processes: a secret missing here is looked up in the file
    again, and one generated is written at once, under an exclusive lock (``<file>.lock``), so that two
    processes provisioning at the same time (two test shards, two operators) agree on every password."""

    def __init__(self, path: Path, env: dict[str, str] | None = None) -> None:
        self.path = path
        self._env = dict(os.environ) if env is None else env
        self._data: dict[str, str] = self._read()
        self._changed: dict[str, str] = {}  # set by ``set``: written by ``save`` over the file's

    def __repr__(self) -> str:
        return f"Secrets(path={str(self.path)!r}, entries={len(self._data)})"

    def _read(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        return dict(json.loads(self.path.read_text(encoding="utf-8") or "{}"))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def get(self, partner_id: str) -> str | None:
        found = self._env.get(env_name(partner_id)) or self._data.get(partner_id)
        if found is None and self.path.exists():  # written by another process since
            self._data.update(self._read())
            found = self._data.get(partner_id)
        return found

    def ensure(self, partner_id: str) -> str:
        """The partner's password, generated and written at once if nobody has one for it yet."""
        value = self.get(partner_id)
        if value is not None:
            return value
        with self._locked():
            self._data.update(self._read())
            value = self._data.get(partner_id)
            if value is None:
                value = self._data[partner_id] = secrets.token_urlsafe(24)
                self._write(self._data)
        return value

    def set(self, partner_id: str, value: str) -> None:
        """Replace a secret (credential rotation); written by ``save``."""
        self._data[partner_id] = self._changed[partner_id] = value

    def save(self) -> None:
        """Write the secrets this object replaced over what the file holds now (generated ones are already
        written by ``ensure``)."""
        with self._locked():
            data = self._read()
            data.update(self._changed)
            self._write(data)
            self._data.update(data)
            self._changed.clear()

    def _write(self, data: dict[str, str]) -> None:
        write_private_json(self.path, data)


def write_private_json(path: Path, doc: Any) -> None:
    """Write ``doc`` as JSON readable by its owner only (0600), atomically: a temporary file beside it,
    then a rename, so a reader never sees half a file."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, sort_keys=True)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
