"""The reconnect loop shared by the hub's broker sessions (ingest: hub.pipeline; delivery: hub.delivery).

``keep_running`` runs ``session()`` until ``stop`` is set, starting a new one after each end with capped
exponential backoff (0.5 s doubling to 5 s, back to 0.5 s after a session that lasted 30 s). A broker or
network failure, and the ``CancelledError`` aiormq raises into the pending calls of a dead connection, end a
session with a warning; any other exception is a bug, logged with its traceback and counted, and never
stops the hub. Only a real cancellation of the task (the hub stopping) propagates.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika

from hub import metrics
from hub.errors import TransientError


def connection_cancel() -> bool:
    """Whether a CancelledError caught here comes from aiormq failing the calls of a dead connection (it
    cancels their futures) rather than from this task being cancelled (the hub stopping)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() == 0


async def keep_running(session: Callable[[], Awaitable[None]], stop: asyncio.Event, *, log: Any, name: str,
                       bug_label: str, on_end: Callable[[], None] = lambda: None) -> None:
    """``bug_label``: the ``where`` of ``hub_internal_errors_total`` counting this loop's bugs."""
    delay = 0.5
    while not stop.is_set():
        started = time.monotonic()
        try:
            await session()
        except (TransientError, aio_pika.exceptions.AMQPError, OSError, ConnectionError) as exc:
            metrics.RECONNECTS.inc()
            log.warning(f"{name} session ended", error=type(exc).__name__, detail=str(exc)[:200])
        except asyncio.CancelledError:
            if not connection_cancel():
                raise  # the hub itself is stopping
            metrics.RECONNECTS.inc()
            log.warning(f"{name} session ended", error="CancelledError", detail="connection lost")
        except Exception as exc:  # a bug must not stop the hub: log, count, start a new session
            metrics.RECONNECTS.inc()
            metrics.INTERNAL_ERRORS.labels(bug_label).inc()
            log.exception(f"unexpected error in {name} session", error=type(exc).__name__)
        on_end()
        if stop.is_set():
            break
        if time.monotonic() - started > 30:
            delay = 0.5
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, 5.0)
