"""What a partner adapter is: a pure synchronous codec plus the transports it may use (DESIGN.md section 5).

An adapter module in ``hub/adapters/`` (or any package registering the entry-point group ``hub.adapters``)
exposes one object, ``ADAPTER``, an :class:`Adapter`. A partner's registry entry names it
(``adapter: <name>`` in ``config/partners.yaml``, ``adapter_options`` for its per-partner settings) and
the hub then:

- decodes every message that partner sends with ``codec.decode`` (called by the ingest pipeline, once per
  message, before de-duplication and routing; it must raise ``MessageRejected`` with stable codes for bad
  input and never do I/O);
- encodes every delivery to it with ``codec.encode`` (called once per recipient when the message is
  accepted; the bytes are stored in the hub's queue, so a redelivery after a crash sends the same bytes);
- writes its acknowledgements in ``ack_format`` (``json``: ``hub.ack/1``; ``edifact``: CONTRL/APERAK);
- delivers through one of ``transports`` (``amqp``: its inbox ``partner.<id>.inbox``, over amqp or amqps;
  ``http``: the signed webhook of ``hub.adapters.http_webhook``).

Two adapters that would be identical are one adapter with two registry entries: the partner classes an
adapter serves are listed in ``serves`` (``hub adapter list`` prints them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from hub.catalogue import Catalogue, Limits
    from hub.schemas.base import Body

TransportKind = Literal["amqp", "http"]
AckFormat = Literal["json", "edifact"]


@dataclass(frozen=True)
class DecodeContext:
    """What a codec may look at besides the bytes: the catalogue (XSDs and body models), the size and
    depth limits for this sender, the sender's partner id and its ``adapter_options``."""

    catalogue: Catalogue
    limits: Limits
    sender: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EncodeContext:
    """The recipient's partner id, the content type its registry entry asks for (``receive_format``), its
    ``adapter_options``, and the delivery's id (stable across retries: envelopes that carry a control
    reference derive it from this)."""

    catalogue: Catalogue
    recipient: str
    wanted: str
    delivery_id: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Encoded:
    content_type: str
    body: bytes


class Codec(Protocol):
    """A pure codec: bytes in a partner's format to a canonical body and back. No I/O, no clock."""

    def decode(self, payload: bytes, content_type: str, msg_type: str, ctx: DecodeContext) -> Body: ...

    def encode(self, body: Body, ctx: EncodeContext) -> Encoded: ...

    def shared_key(self, body: Body, ctx: EncodeContext) -> str | None:
        """A key under which ``encode``'s result may be reused for other recipients of the same message
        (the content type, for an encoding that names no recipient), or None when each recipient's bytes
        differ (an EDIFACT interchange addressed to it)."""
        ...


@dataclass(frozen=True)
class Adapter:
    """One partner system's way of talking to the hub.

    ``formats``: the content types it sends (anything else is refused with CONTENT_TYPE_UNSUPPORTED);
    ``receive_format``: what its deliveries are asked for in unless its registry entry says otherwise;
    ``options``: the names of the ``adapter_options`` it understands (others are a configuration error);
    ``fixture``: a message in its own format (of ``fixture_type``, decoded with ``fixture_options``), which
    ``hub adapter list --check`` decodes and its tests use.
    """

    name: str
    summary: str
    codec: Codec
    formats: tuple[str, ...]
    receive_format: str
    ack_format: AckFormat = "json"
    transports: tuple[TransportKind, ...] = ("amqp",)
    serves: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    required_options: tuple[str, ...] = ()
    passthrough: bool = True  # what it sends is the canonical profile: its bytes may be forwarded unchanged
    fixture: Path | None = None
    fixture_type: str = ""
    fixture_content_type: str = ""
    fixture_options: Mapping[str, Any] = field(default_factory=dict)  # adapter_options the fixture needs

    def check_options(self, options: Mapping[str, Any]) -> list[str]:
        """Problems with a registry entry's ``adapter_options`` for this adapter (empty when fine)."""
        problems = [f"unknown option {k!r} (the {self.name} adapter takes: {', '.join(self.options) or 'none'})"
                    for k in options if k not in self.options]
        problems += [f"option {k!r} is required by the {self.name} adapter" for k in self.required_options
                     if k not in options]
        return problems
