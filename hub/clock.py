"""The hub's wall clock, injectable so that tests can compress time (a 36-hour window in seconds).

``hub run`` and the CLI read ``HUB_CLOCK_FILE``: when set, "now" is the ISO 8601 instant written in that
file (re-read when the file changes), so a test moves the hub through a maintenance window by writing the
file. It is a test facility: never set it in production. Retry backoff and rate limits use real elapsed
time (``time.monotonic``) whatever this clock says.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FileClock:
    """Now is the instant written in a file (ISO 8601 with an offset)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._value = datetime.now(UTC)

    def now(self) -> datetime:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return self._value
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            text = self.path.read_text(encoding="ascii").strip()
            if text:
                value = datetime.fromisoformat(text)
                self._value = value if value.tzinfo else value.replace(tzinfo=UTC)
                self._stamp = stamp
        return self._value

    def set(self, value: datetime) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(value.astimezone(UTC).isoformat(), encoding="ascii")
        os.replace(tmp, self.path)


def from_env(env: dict[str, str] | None = None) -> Clock:
    path = (os.environ if env is None else env).get("HUB_CLOCK_FILE")
    return FileClock(Path(path)) if path else SystemClock()
