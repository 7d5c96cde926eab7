"""Prometheus metrics exported by ``hub run`` on ``metrics.port``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("hub_messages_total", "Inbound messages by outcome", ["sender", "type", "outcome"])
QUEUED = Counter("hub_deliveries_queued_total", "Deliveries queued in hub.out.* (confirmed)", ["recipient", "type"])
DELIVERIES = Counter("hub_deliveries_total", "Deliveries handed to the partner (confirmed or 2xx)",
                     ["recipient", "type"])
QUARANTINED = Counter("hub_quarantined_total", "Messages moved to hub.quarantine", ["reason"])
ACK_DROPS = Counter("hub_ack_drops_total", "Acknowledgements dropped from a full acks queue", ["partner"])
BATCH_SECONDS = Histogram("hub_batch_seconds", "Time to process one batch end to end")
BATCH_SIZE = Histogram("hub_batch_size", "Messages per batch", buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500))
RECONNECTS = Counter("hub_broker_reconnects_total", "Broker sessions restarted after a failure")
INTERNAL_ERRORS = Counter("hub_internal_errors_total", "Unexpected errors (bugs) contained by the hub", ["where"])

# delivery (hub.delivery)
DELIVERY_ATTEMPTS = Counter("hub_delivery_attempts_total", "Delivery attempts by result", ["recipient", "result"])
DEAD_LETTERED = Counter("hub_dead_letters_total", "Deliveries dead-lettered", ["recipient", "reason"])
PARKED = Counter("hub_parked_total", "Deliveries parked behind a blocked consignment lane", ["recipient"])
HELD = Gauge("hub_partner_held", "Deliveries waiting for the partner (queues, memory and store)", ["partner"])
DEAD = Gauge("hub_partner_dead_letters", "Dead letters waiting for replay or purge", ["partner"])
INBOX_DEPTH = Gauge("hub_partner_inbox_depth", "Messages ready in partner.<id>.inbox", ["partner"])
OLDEST_WAITING = Gauge("hub_partner_oldest_waiting_seconds", "Age of the oldest waiting delivery", ["partner"])
DRAIN_ETA = Gauge("hub_partner_drain_eta_seconds", "Expected time until the partner's backlog is delivered",
                  ["partner"])
PARTNER_UP = Gauge("hub_partner_up", "1 if the partner takes deliveries now, 0 if held", ["partner"])

# correlation (hub.parking)
CORRELATION_PARKED = Gauge("hub_correlation_parked", "Messages held for correlation (pending acknowledgement sent)")
