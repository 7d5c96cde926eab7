"""Unit test of the ingest loop's batching: capped by count and by payload bytes (memory bound)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hub.config import load_config
from hub.pipeline import Inbound, Pipeline
from hub.store import Store

ROOT = Path(__file__).resolve().parent.parent


async def batches_for(sizes: list[int], tmp_path: Path, batch_size: int, batch_bytes: int) -> list[int]:
    cfg = load_config(ROOT / "config", env={"HUB_BROKER_BATCH_SIZE": str(batch_size),
                                            "HUB_BROKER_BATCH_BYTES": str(batch_bytes)})
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    store.migrate()  # the loop sweeps parked messages (hub.parking) before its first batch
    pipeline = Pipeline(cfg, store, password="unused")
    seen: list[int] = []

    async def record(batch: list[Inbound], _pub: Any) -> None:
        seen.append(len(batch))
        if sum(seen) == len(sizes):
            pipeline.stop()

    pipeline.process_batch = record  # type: ignore[method-assign]
    inq: asyncio.Queue[Inbound] = asyncio.Queue()
    for n in sizes:
        inq.put_nowait(Inbound(SimpleNamespace(body=b"x" * n), "kebs"))  # type: ignore[arg-type]
    await asyncio.wait_for(pipeline._loop(inq, None, asyncio.Event()), 5)
    return seen


async def test_batches_stop_at_the_byte_cap(tmp_path: Path) -> None:
    mib = 1024 * 1024
    assert await batches_for([3 * mib] * 7, tmp_path, batch_size=100, batch_bytes=8 * mib) == [3, 3, 1]
    assert await batches_for([1000] * 250, tmp_path, batch_size=100, batch_bytes=8 * mib) == [100, 100, 50]
    assert await batches_for([9 * mib, 10], tmp_path, batch_size=100, batch_bytes=8 * mib) == [1, 1]
