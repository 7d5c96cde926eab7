"""``hub run --demo``: once the hub consumes, play partners exchanging the example messages.

Each message gets a fresh message_id, so the demo can be replayed against the same store. It shows an
accepted manifest, release and permit status fanned out to their recipients, a schema-invalid manifest
rejected with its code and path, and a repeated message_id acknowledged as a duplicate.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from hub.broker import ssl_context
from hub.client import PartnerClient, broker_url, content_type_for
from hub.config import HubConfig
from hub.pipeline import Pipeline
from hub.secrets import Secrets

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPT = [  # (sender, type, example file)
    ("msc-ke", "manifest.sea", "valid/msc-je608a-kemba.xml"),
    ("kra-icms", "customs.release", "valid/released-26mbaim000412871.xml"),
    ("pcpb", "permit.status", "valid/pcpb-submitted.json"),  # pcpb's adapter (json) takes JSON only
    ("mfano-seals", "eseal.event", "../adapters/rects/mfano-seals.json"),  # a vendor's own JSON (rects adapter)
    ("kebs", "permit.status", "valid/kebs-clarification-requested.xml"),  # refused: kebs sends JSON only
    ("msc-ke", "manifest.sea", "invalid/XML_SCHEMA-missing-voyage.xml"),
]


def _example(msg_type: str, name: str) -> Path | None:
    path = (EXAMPLES / msg_type / name).resolve()
    return path if path.exists() else None


def _say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


async def play(cfg: HubConfig, pipeline: Pipeline) -> None:
    await pipeline.ready.wait()
    secrets = Secrets(cfg.secrets_path())
    b = cfg.settings.broker
    clients: dict[str, PartnerClient] = {}

    async def client(pid: str) -> PartnerClient:
        if pid not in clients:
            password = secrets.get(pid) or ""
            clients[pid] = await PartnerClient(broker_url(b.url, b.vhost, pid, password), pid,
                                                 ssl_context=ssl_context(b)).__aenter__()
        return clients[pid]

    try:
        last: tuple[str, Path, str, str] | None = None
        for sender, msg_type, kind in SCRIPT:
            path = _example(msg_type, kind)
            if path is None:
                continue
            data = path.read_bytes()
            mid = f"demo-{uuid.uuid4()}"
            ack = await (await client(sender)).send(data, msg_type, content_type=content_type_for(path.name, data),
                                                    message_id=mid)
            _report(sender, msg_type, path, ack)
            if kind.startswith("valid") and last is None:
                last = (sender, path, msg_type, mid)
        if last is not None:
            sender, path, msg_type, mid = last
            data = path.read_bytes()
            ack = await (await client(sender)).send(data, msg_type, content_type=content_type_for(path.name, data),
                                                    message_id=mid)
            _say(f"{sender} re-sent the same message_id -> {ack['status'] if ack else 'no answer'}")
        await asyncio.sleep(0.5)
        for p in cfg.partners:
            got = await (await client(p.id)).inbox(max_count=100, idle=0.3)
            if got:
                kinds = ", ".join(sorted({f"{d.type} ({d.content_type})" for d in got}))
                _say(f"{p.id:<16} inbox: {len(got)} deliveries: {kinds}")
        _say("demo finished; the hub keeps running (Ctrl-C to stop). Try: hub send --as msc-ke FILE")
    finally:
        for c in clients.values():
            await c.__aexit__(None, None, None)


def _report(sender: str, msg_type: str, path: Path, ack: dict[str, Any] | None) -> None:
    if ack is None:
        _say(f"{sender} sent {msg_type} ({path.name}) -> no acknowledgement")
        return
    _say(f"{sender} sent {msg_type} ({path.name}) -> {ack['status']}")
    for err in ack.get("errors", []):
        _say(f"    {err['code']} at {err['path']} (line {err['line']}): {err['message'][:120]}")
