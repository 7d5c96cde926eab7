"""Structured logs (structlog): JSON lines in production, readable on a terminal.

Lines about a message are bound to message_id, type, sender and UCR; payloads never reach a log, and
values that look like personal identifiers (KRA PINs, phone numbers, national ids) are masked by a
processor as a last line of defence.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_PIN = re.compile(r"\b[A-Z]\d{9}[A-Z]\b")
_PHONE = re.compile(r"(?<!\d)(?:\+?254|0)7\d{8}(?!\d)")
_NATIONAL_ID = re.compile(r"(?<![\w-])\d{7,8}(?![\w-])")


def mask_text(text: str) -> str:
    text = _PIN.sub(lambda m: m.group(0)[0] + "*********" + m.group(0)[-1], text)
    text = _PHONE.sub("07********", text)
    return _NATIONAL_ID.sub("********", text)


def _mask(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if isinstance(value, str) and key not in ("message_id", "timestamp", "correlation_id"):
            event[key] = mask_text(value)
    return event


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at write time (loggers are cached; streams may be swapped)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(fmt: str = "auto", level: str = "info") -> None:
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if fmt == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,  # the traceback becomes text, so it is masked too
            _mask,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )


def get(name: str = "hub") -> Any:
    return structlog.get_logger(name)
