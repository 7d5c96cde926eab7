"""The canonical adapter: the hub's own XML and JSON profiles (and UN/EDIFACT where a message exists), as
the partner contract defines them (docs/partners.md sections 3-5). The default for a registry entry that
names no adapter, and the codec the other built-in adapters share.

Format: whatever the message's ``content_type`` says, of ``application/xml`` (the XSDs in
``hub/schemas/xsd``), ``application/json`` (the same names, ``messageType`` first) and
``application/edifact`` (CUSCAR, BAPLIE, CUSRES). Envelope: the AMQP properties and headers of the
contract only (no wrapper around the document). Transport: AMQP inbox or HTTP webhook. Acknowledgement:
``hub.ack/1`` JSON. Deliveries are written in the recipient's ``receive_format``; EDIFACT only for the
types a UN/EDIFACT message covers (customs.release as CUSRES), XML otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hub import codec as c
from hub.adapters.base import Adapter, DecodeContext, EncodeContext, Encoded

if TYPE_CHECKING:
    from hub.schemas.base import Body

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class CanonicalCodec:
    """Decodes with the catalogue (size cap, hardened parser, XSD, body model); encodes with it."""

    def decode(self, payload: bytes, content_type: str, msg_type: str, ctx: DecodeContext) -> Body:
        return ctx.catalogue.decode(payload, content_type, msg_type, ctx.limits)

    def encode(self, body: Body, ctx: EncodeContext) -> Encoded:
        ctype = ctx.catalogue.delivery_content_type(body, ctx.wanted)
        if ctype == c.EDIFACT_CT:
            from hub import edifact

            return Encoded(ctype, ctx.catalogue.encode(body, ctype, recipient=ctx.recipient,
                                                       control_ref=edifact.control_ref(ctx.delivery_id)))
        return Encoded(ctype, ctx.catalogue.encode(body, ctype))

    def shared_key(self, body: Body, ctx: EncodeContext) -> str | None:
        ctype = ctx.catalogue.delivery_content_type(body, ctx.wanted)
        return None if ctype == c.EDIFACT_CT else ctype  # an interchange's UNB names its recipient


CODEC = CanonicalCodec()

ADAPTER = Adapter(
    name="canonical",
    summary="the hub's XML, JSON and EDIFACT profiles as sent; deliveries in the entry's receive_format",
    codec=CODEC,
    formats=(c.XML_CT, c.JSON_CT, c.EDIFACT_CT),
    receive_format=c.XML_CT,
    transports=("amqp", "http"),
    serves=("any partner whose entry names no adapter",),
    fixture=EXAMPLES / "customs.entry" / "valid" / "26mbaim000412871.json",
    fixture_type="customs.entry",
    fixture_content_type=c.JSON_CT,
)
