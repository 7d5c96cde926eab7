"""The JSON webhook adapter: systems that take deliveries as signed HTTPS POSTs rather than from a queue.

What makes it different: deliveries go only by the HTTP webhook transport (hub.adapters.http_webhook:
``Idempotency-Key``, ``X-Hub-Signature`` HMAC-SHA256 over timestamp and body, 2xx = delivered, 4xx other
than 408/425/429 = dead letter); the registry entry must give ``transport: {kind: http, url: ...}``. The
partner still sends over AMQP (the broker authenticates it), JSON only (CONTENT_TYPE_UNSUPPORTED
otherwise), and reads ``hub.ack/1`` JSON acknowledgements from its acks queue.

Serves (identical integrations, one adapter): banks (BNK: payment confirmations), insurers (INS: marine
cargo insurance certificates) and container freight stations (CFS: gate events, delivery orders).
Fixture: a bank's duty payment confirmation, ``examples/payment.confirmation/valid/duty-2026icms000412871.json``.
"""

from __future__ import annotations

from hub.adapters.base import Adapter
from hub.adapters.canonical import CODEC, EXAMPLES
from hub.codec import JSON_CT

ADAPTER = Adapter(
    name="json-webhook",
    summary="the hub's JSON profile; deliveries by signed HTTP webhook; JSON acknowledgements over AMQP",
    codec=CODEC,
    formats=(JSON_CT,),
    receive_format=JSON_CT,
    transports=("http",),
    serves=("BNK bank", "INS insurer", "CFS container freight station"),
    fixture=EXAMPLES / "payment.confirmation" / "valid" / "duty-2026icms000412871.json",
    fixture_type="payment.confirmation",
    fixture_content_type=JSON_CT,
)
