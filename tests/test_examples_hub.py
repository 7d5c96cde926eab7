"""Every example through the running hub: valid ones accepted, invalid ones rejected with their named code.

The same files are checked by `hub validate` in the catalogue tests; here they travel the whole contract
(authentication, envelope, decoding, de-duplication, routing, acknowledgement) over the real broker.
Each is sent by a partner the registry allows to send its type.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.adapters import registry
from hub.client import content_type_for
from hub.config import load_config
from hub.testing import HubUnderTest
from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.broker

# Types only the hub itself emits: partners never send them, so they are checked by `hub validate` only.
HUB_OWN = {"ack", "maintenance.notice", "consignment.status.response"}
CFG = load_config(ROOT / "config", env={})


# A sender of the hub's own profiles for the formats no example partner sends a type in (the registry's
# partners are bound to their adapters' formats: KenTrade sends ucr.issued as JSON only, say).
ANY_FORMAT = "examples-any"
REGISTRY: list[dict[str, Any]] = yaml.safe_load((ROOT / "config" / "partners.yaml").read_text())["partners"] + [
    {"id": ANY_FORMAT, "name": "Sender of every example format", "profiles": ["KT"], "adapter": "canonical",
     "sends": sorted({p for e in CFG.partners for p in e.sends})}]


def sender_for(msg_type: str, content_type: str) -> str:
    """The first registry partner allowed the type whose adapter takes the file's format in the hub's own
    profile with JSON acknowledgements (the client reads those), else the any-format sender."""
    senders = sorted(p.id for p in CFG.partners if msg_type in p.sends and p.ack_format == "json"
                     and content_type in registry.get(p.adapter).formats and registry.get(p.adapter).passthrough)
    return senders[0] if senders else ANY_FORMAT


@pytest.fixture(scope="module")
def hub(broker: None, tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Iterator[HubUnderTest]:
    with HubUnderTest(tmp_path_factory.mktemp("examples"), secrets_file=secrets_file,
                      partners=REGISTRY).running() as hut:
        yield hut


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
    ctype = content_type_for(path.name, data)
    sender = sender_for(msg_type, ctype)
    async with hub.partner(sender) as c:
        ack = await c.send(data, msg_type, content_type=ctype,
                           message_id=f"ex-{uuid.uuid4()}", timeout=20)
    assert ack is not None, f"no acknowledgement; hub log: {hub.tail_log()}"
    if path.parent.name == "valid":
        assert ack["status"] in ("accepted", "pending"), ack
    else:
        expected = path.name.split("-", 1)[0]
        assert ack["status"] == "rejected", ack
        assert expected in {e["code"] for e in ack["errors"]}, ack["errors"]
