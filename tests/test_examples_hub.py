"""Every example through the running hub: valid ones accepted, invalid ones rejected with their named code.

The same files are checked by `hub validate` in the catalogue tests; here they travel the whole contract
(authentication, envelope, decoding, de-duplication, routing, acknowledgement) over the real broker.
Each is sent by a partner the registry allows to send its type.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from hub.client import content_type_for
from hub.config import load_config
from hub.testing import HubUnderTest
from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.broker

# Types only the hub itself emits: partners never send them, so they are checked by `hub validate` only.
HUB_OWN = {"ack", "maintenance.notice", "consignment.status.response"}
CFG = load_config(ROOT / "config", env={})


def sender_for(msg_type: str) -> str:
    senders = sorted(p.id for p in CFG.partners if msg_type in p.sends)
    assert senders, f"no partner in config/partners.yaml may send {msg_type}: the registry must name one"
    return senders[0]


def cases() -> list[tuple[str, Path]]:
    out = []
    for type_dir in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        if type_dir.name in HUB_OWN or not (type_dir / "valid").is_dir():
            continue
        for f in sorted(type_dir.glob("*/*")):
            if f.is_file():
                out.append((type_dir.name, f))
    return out


@pytest.mark.parametrize(("msg_type", "path"), cases(), ids=lambda v: v if isinstance(v, str) else v.name)
async def test_example_through_the_hub(hub: HubUnderTest, msg_type: str, path: Path) -> None:
    data = path.read_bytes()
    sender = sender_for(msg_type)
    async with hub.partner(sender) as c:
        ack = await c.send(data, msg_type, content_type=content_type_for(path.name, data),
                           message_id=f"ex-{uuid.uuid4()}", timeout=20)
    assert ack is not None, f"no acknowledgement; hub log: {hub.tail_log()}"
    if path.parent.name == "valid":
        assert ack["status"] in ("accepted", "pending"), ack
    else:
        expected = path.name.split("-", 1)[0]
        assert ack["status"] == "rejected", ack
        assert expected in {e["code"] for e in ack["errors"]}, ack["errors"]
