"""The XML adapter: systems that speak only the hub's XML profile, over an AMQP inbox (amqp or amqps).

What makes it different from the canonical adapter: it refuses anything but ``application/xml`` from its
partner (CONTENT_TYPE_UNSUPPORTED, so a misconfigured sender learns at once rather than a recipient
later) and delivers XML to it always. Envelope: the contract's AMQP properties and headers only.
Acknowledgement: ``hub.ack/1`` JSON on its acks queue.

Serves (one adapter, several registry entries, because their integrations are identical): iCMS (CUS), the
KPA terminal operating system (KPA), container freight stations (CFS) taking deliveries from a queue, and
the permit-issuing agencies that chose XML (PGA, configured per agency: KEPHIS in the example registry).
Fixture: iCMS's customs release, ``examples/customs.release/valid/released-26mbaim000412871.xml``.
"""

from __future__ import annotations

from hub.adapters.base import Adapter
from hub.adapters.canonical import CODEC, EXAMPLES
from hub.codec import XML_CT

ADAPTER = Adapter(
    name="xml",
    summary="the hub's XML profile only, both ways, over an AMQP inbox; JSON acknowledgements",
    codec=CODEC,
    formats=(XML_CT,),
    receive_format=XML_CT,
    transports=("amqp",),
    serves=("CUS iCMS", "KPA terminal system", "CFS freight station (queue)", "PGA agency choosing XML (KEPHIS)"),
    fixture=EXAMPLES / "customs.release" / "valid" / "released-26mbaim000412871.xml",
    fixture_type="customs.release",
    fixture_content_type=XML_CT,
)
