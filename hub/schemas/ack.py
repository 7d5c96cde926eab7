"""``ack``: the hub's acknowledgement of a partner's message, as a catalogue type partners can validate
(UN/EDIFACT CONTRL/APERAK analogue; DESIGN.md section 3, "Acknowledgements").

The hub publishes acknowledgements as the ``hub.ack/1`` JSON document that ``hub.acks.ack_document``
builds (snake_case keys, a ``"schema": "hub.ack/1"`` key, ``null`` for absent values). This type is the
same information in the catalogue's convention, so that it has an XSD and an XML form like every other
type; the two relate field for field:

=====================  ==============================  ====================================
hub.ack/1 (JSON)       catalogue JSON form             XML form (``xsd/ack.xsd``)
=====================  ==============================  ====================================
``schema``             ``messageType`` = ``"ack"``     root ``Acknowledgement`` + namespace
``correlation_id``     ``correlationId``               ``CorrelationId``
``status``             ``status``                      ``Status``
``errors`` (list)      ``error`` (list)                ``Error`` (repeated)
``errors[].code`` ...  ``error[].code``, ``message``,  ``Error/Code``, ``Message``, ``Path``,
                       ``path``, ``line``              ``Line``
``held_until``         ``heldUntil``                   ``HeldUntil``
``received_at``        ``receivedAt``                  ``ReceivedAt``
=====================  ==============================  ====================================

``null`` values and an empty ``errors`` list are left out of the catalogue forms. ``from_ack_document``
and ``to_ack_document`` convert between the two without loss. The conversion refuses what XML 1.0 cannot
carry (a control character, e.g. from an unknown JSON key named in an error path): the ``hub.ack/1``
document itself has no such limit. XSD: ``xsd/ack.xsd`` (namespace ``urn:ke:nesws:hub:ack:1``, root
``Acknowledgement``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field, StringConstraints

from hub.acks import ACK_SCHEMA, AckStatus
from hub.identifiers import XsdDateTime, check_xml_text
from hub.schemas.base import Body, Keys, Model

# The AMQP message_id of the acknowledged message (a short string: at most 255 characters); empty or
# absent when the message had none. XSD: xs:string, maxLength 255.
CorrelationId = Annotated[str, StringConstraints(max_length=255), AfterValidator(check_xml_text)]
# A hub error code (docs/errors.md), e.g. UCR_FORMAT. XSD: the same pattern, maxLength 64.
ErrorCode = Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Z][A-Z0-9_]+$")]
# Error text and paths: no length cap, since they may quote what the sender wrote (a messageType, an
# element name). XSD: xs:string (a message at least 1 character).
ErrorMessage = Annotated[str, StringConstraints(min_length=1), AfterValidator(check_xml_text)]
ErrorPath = Annotated[str, AfterValidator(check_xml_text)]


class AckError(Model):
    """One problem found in the message: UN/EDIFACT CONTRL/APERAK ERC (error code) with FTX (text), and
    the place it was found (``hub.errors.ErrorDetail``)."""

    code: ErrorCode
    message: ErrorMessage
    path: ErrorPath | None = None
    line: int | None = Field(default=None, ge=1)


class Acknowledgement(Body):
    """The hub's answer to one message a partner sent: accepted, rejected (with the errors), duplicate,
    pending (held for correlation, followed by a final ack) or delivery_failed."""

    TYPE: ClassVar[str] = "ack"
    ROOT: ClassVar[str] = "Acknowledgement"

    correlation_id: CorrelationId | None = None
    status: AckStatus
    error: tuple[AckError, ...] = ()
    held_until: XsdDateTime | None = None
    received_at: XsdDateTime

    @classmethod
    def from_ack_document(cls, doc: Mapping[str, Any]) -> Acknowledgement:
        """The model of a ``hub.ack/1`` document (as ``json.loads`` returns it). Raises ``ValueError``
        (``pydantic.ValidationError`` is one) for anything else."""
        if doc.get("schema") != ACK_SCHEMA:
            raise ValueError(f"not a {ACK_SCHEMA} document")
        data = {key: value for key, value in doc.items() if key not in ("schema", "errors")}
        errors = doc.get("errors", [])
        if not isinstance(errors, list):
            raise ValueError("errors must be a list")
        return cls.model_validate({**data, "error": errors})

    def to_ack_document(self) -> dict[str, Any]:
        """The ``hub.ack/1`` document this model stands for, key for key as ``hub.acks.ack_document``
        writes it (``json.dumps(..., separators=(",", ":"))`` of it gives the same bytes)."""
        return {
            "schema": ACK_SCHEMA,
            "correlation_id": self.correlation_id,
            "status": self.status.value,
            "errors": [{"code": e.code, "message": e.message, "path": e.path, "line": e.line} for e in self.error],
            "held_until": self.held_until.isoformat() if self.held_until else None,
            "received_at": self.received_at.isoformat(),
        }

    def keys(self) -> Keys:
        """Nothing to route by: an acknowledgement goes to the sender of the message it answers."""
        return Keys()


__all__ = ["AckError", "Acknowledgement"]
