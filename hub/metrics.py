"""Prometheus metrics exported by ``hub run`` on ``metrics.port``."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

MESSAGES = Counter("hub_messages_total", "Inbound messages by outcome", ["sender", "type", "outcome"])
DELIVERIES = Counter("hub_deliveries_total", "Deliveries published (confirmed)", ["recipient", "type"])
QUARANTINED = Counter("hub_quarantined_total", "Messages moved to hub.quarantine", ["reason"])
ACK_DROPS = Counter("hub_ack_drops_total", "Acknowledgements dropped from a full acks queue", ["partner"])
BATCH_SECONDS = Histogram("hub_batch_seconds", "Time to process one batch end to end")
BATCH_SIZE = Histogram("hub_batch_size", "Messages per batch", buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500))
RECONNECTS = Counter("hub_broker_reconnects_total", "Broker sessions restarted after a failure")
INTERNAL_ERRORS = Counter("hub_internal_errors_total", "Unexpected errors (bugs) contained by the hub", ["where"])
