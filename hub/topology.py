"""Names of every exchange and queue of the hub's broker topology (DESIGN.md section 3)."""

from __future__ import annotations

INBOUND_EXCHANGE = "hub.inbound"  # topic; partners publish <id>.<type>
UNROUTABLE_EXCHANGE = "hub.unroutable"  # fanout; alternate exchange of hub.inbound, DLX of hub.in.*
QUARANTINE_QUEUE = "hub.quarantine"
ACKS_DROPPED_EXCHANGE = "hub.acks.dropped"  # fanout; DLX of partner.*.acks (overflow drop-head)
ACKS_DROPPED_QUEUE = "hub.acks.dropped"
DEAD_EXCHANGE = "hub.dead"  # fanout; DLX of partner inboxes past their delivery limit
DEAD_QUEUE = "hub.dead"
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"


def inbound_queue(partner_id: str) -> str:
    return f"hub.in.{partner_id}"


def inbox(partner_id: str) -> str:
    return f"partner.{partner_id}.inbox"


def acks_queue(partner_id: str) -> str:
    return f"partner.{partner_id}.acks"
