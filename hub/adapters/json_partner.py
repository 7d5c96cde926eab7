"""The JSON adapter: systems that speak only the hub's JSON profile, over an AMQP inbox (amqp or amqps).

What makes it different: it refuses anything but ``application/json`` from its partner
(CONTENT_TYPE_UNSUPPORTED) and delivers JSON to it; schema-only types (``config/types.yaml``), which
have only an XML form, still arrive as XML with ``content_type`` saying so. Envelope: the contract's AMQP
properties and headers only; the document carries ``messageType``. Acknowledgement: ``hub.ack/1`` JSON.

Serves (identical integrations, one adapter): the KenTrade single window (KT), clearing agents (CA),
importers and exporters (EXIM), the permit-issuing agencies that chose JSON (PGA, configured per agency:
KEBS and PCPB in the example registry), the port state authorities (NPA) and ground handlers (GHA).
Fixture: a clearing agent's customs entry, ``examples/customs.entry/valid/26mbaim000412871.json``.
"""

from __future__ import annotations

from hub.adapters.base import Adapter
from hub.adapters.canonical import CODEC, EXAMPLES
from hub.codec import JSON_CT

ADAPTER = Adapter(
    name="json",
    summary="the hub's JSON profile only, both ways, over an AMQP inbox; JSON acknowledgements",
    codec=CODEC,
    formats=(JSON_CT,),
    receive_format=JSON_CT,
    transports=("amqp",),
    serves=("KT KenTrade", "CA clearing agent", "EXIM importer/exporter", "PGA agency choosing JSON (KEBS, PCPB)",
            "NPA port state authority", "GHA ground handler (air cargo systems)"),
    fixture=EXAMPLES / "customs.entry" / "valid" / "26mbaim000412871.json",
    fixture_type="customs.entry",
    fixture_content_type=JSON_CT,
)
