"""The EDIFACT adapter: carriers' and consolidators' systems that exchange UN/EDIFACT interchanges.

What makes it different: the partner sends manifests as CUSCAR and bay plans as BAPLIE (D.95B; BAPLIE
also D.04B), one message per interchange, and may send XML for the types no UN/EDIFACT message covers
(delivery orders, arrival reports); anything in JSON is refused (CONTENT_TYPE_UNSUPPORTED). It receives
customs releases as CUSRES in an interchange whose UNB names the hub as sender and the partner as
recipient, with a control reference derived from the delivery id (a repeat after a crash carries the
same one); other types arrive as XML. Acknowledgements are CONTRL (syntax errors) or APERAK (application
errors and acceptance) instead of JSON (hub.edifact.acks). Transport: AMQP inbox (amqp or amqps).

Serves: shipping lines (SHA) and consolidators (CON, house manifests): identical integrations.
Fixture: a consolidator's house manifest, ``examples/manifest.sea/valid/mfano-consol-house-607w.edi``.
"""

from __future__ import annotations

from hub.adapters.base import Adapter
from hub.adapters.canonical import CODEC, EXAMPLES
from hub.codec import EDIFACT_CT, XML_CT

ADAPTER = Adapter(
    name="edifact",
    summary="UN/EDIFACT in (CUSCAR, BAPLIE) and out (CUSRES), XML for the rest; CONTRL/APERAK acknowledgements",
    codec=CODEC,
    formats=(EDIFACT_CT, XML_CT),
    receive_format=EDIFACT_CT,
    ack_format="edifact",
    transports=("amqp",),
    serves=("SHA shipping line", "CON consolidator"),
    fixture=EXAMPLES / "manifest.sea" / "valid" / "mfano-consol-house-607w.edi",
    fixture_type="manifest.sea",
    fixture_content_type=EDIFACT_CT,
)
