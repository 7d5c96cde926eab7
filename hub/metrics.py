"""Prometheus metrics exported by ``hub run`` on ``metrics.port``."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("hub_messages_total", "Inbound messages by outcome", ["sender", "type", "outcome"])
QUEUED = Counter("hub_deliveries_queued_total", "Deliveries queued in hub.out.* (confirmed)", ["recipient", "type"])
DELIVERIES = Counter("hub_deliveries_total", "Deliveries handed to the partner (confirmed or 2xx)",
                     ["recipient", "type"])
QUARANTINED = Counter("hub_quarantined_total", "Messages moved to hub.quarantine", ["reason"])
ACK_DROPS = Counter("hub_ack_drops_total", "Acknowledgements dropped from a full acks queue", ["partner"])
LAST_BATCH = Gauge("hub_last_batch_timestamp_seconds", "Unix time the last inbound batch was processed (0: none yet)")


class _BatchTimer:
    """``hub_batch_seconds``, and the heartbeat ``hub_last_batch_timestamp_seconds`` moved by each batch."""

    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram

    def observe(self, amount: float) -> None:
        self.histogram.observe(amount)
        LAST_BATCH.set(time.time())


BATCH_SECONDS = _BatchTimer(Histogram("hub_batch_seconds", "Time to process one batch end to end"))
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

# liveness of this hub process (docs/prometheus-alerts.yml: "the hub is not consuming")
INGEST_CONSUMING = Gauge("hub_ingest_consuming", "1 while this hub's ingest consumes every hub.in queue, else 0")
DELIVERY_CONNECTED = Gauge("hub_delivery_connected", "1 while this hub's delivery side is connected, else 0")


def track_liveness(ingest: Callable[[], bool], delivery: Callable[[], bool]) -> None:
    """``hub run``: the two liveness gauges read these at each scrape."""
    INGEST_CONSUMING.set_function(lambda: 1.0 if ingest() else 0.0)
    DELIVERY_CONNECTED.set_function(lambda: 1.0 if delivery() else 0.0)
