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

OUT_PREFIX = "hub.out."  # hub-owned quorum queues holding deliveries until the partner can take them


def out_queue(partner_id: str, partition: int) -> str:
    """``hub.out.<partner>.<k>``: one of the partner's delivery partitions (single active consumer)."""
    return f"{OUT_PREFIX}{partner_id}.{partition}"


def partition_of(order_key: str, partitions: int) -> int:
    """The partition a consignment's deliveries go to: stable across processes and restarts."""
    import hashlib

    digest = hashlib.blake2b(order_key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


def out_recipient(queue: str) -> str:
    """The partner of ``hub.out.<partner>.<k>`` (other names are returned unchanged)."""
    if queue.startswith(OUT_PREFIX):
        return queue[len(OUT_PREFIX) :].rsplit(".", 1)[0]
    return queue
