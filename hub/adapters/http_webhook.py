"""HTTP webhook transport: POST each delivery to the partner's URL, signed, idempotent, with timeouts.

Format: the recipient's own (XML/JSON/EDIFACT body as is). Envelope: HTTP headers (below). Transport:
HTTPS POST (HTTP on loopback for tests). Acknowledgement: any 2xx means the partner has the delivery.

Request headers (specified for partners in docs/partners.md, "HTTP webhook deliveries"):
- ``Idempotency-Key``: the delivery's message_id; the same delivery retried carries the same key.
- ``X-Hub-Timestamp``: Unix time in seconds when this attempt was signed.
- ``X-Hub-Signature``: ``v1=`` + hex HMAC-SHA256 with the partner's shared secret over the bytes
  ``<timestamp>.`` followed by the raw body.
- ``X-Hub-Type``, ``X-Hub-Correlation-Id``, ``X-Hub-Source-Partner``, ``X-Hub-Contract: 1``,
  ``X-Hub-UCR`` and ``X-Hub-Vessel-Call`` (when known), ``Content-Type``.

Responses: 2xx delivered; 408, 425, 429 and 5xx, timeouts and connection errors are transient (retried
with backoff by the delivery worker); other 4xx are permanent (dead-lettered with the status and the
first 200 characters of the response body as the reason).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

import httpx

from hub.adapters.transport import OutboundDelivery, PermanentDeliveryError, TransientDeliveryError

TRANSIENT_STATUS = frozenset({408, 425, 429})


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """``v1=<hex>``: HMAC-SHA256 over ``timestamp + "." + body``."""
    mac = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


class HttpWebhookTransport:
    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 3.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("an HTTP webhook partner needs a signing secret")
        self.url = url
        self._secret = secret
        self._clock = clock
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=connect_timeout), follow_redirects=False
        )

    def __repr__(self) -> str:
        return f"HttpWebhookTransport(url={self.url!r})"

    def headers_for(self, delivery: OutboundDelivery) -> dict[str, str]:
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": delivery.content_type,
            "Idempotency-Key": delivery.message_id,
            "X-Hub-Timestamp": timestamp,
            "X-Hub-Signature": signature(self._secret, timestamp, delivery.body),
            "X-Hub-Type": delivery.msg_type,
            "X-Hub-Correlation-Id": delivery.correlation_id,
            "X-Hub-Source-Partner": delivery.source_partner,
            "X-Hub-Contract": "1",
        }
        if delivery.ucr:
            headers["X-Hub-UCR"] = delivery.ucr
        if delivery.headers.get("x-vessel-call"):
            headers["X-Hub-Vessel-Call"] = delivery.headers["x-vessel-call"]
        return headers

    async def send(self, delivery: OutboundDelivery) -> None:
        try:
            resp = await self._client.post(self.url, content=delivery.body, headers=self.headers_for(delivery))
        except httpx.TimeoutException as exc:
            raise TransientDeliveryError(f"timeout posting to {self.url}: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise TransientDeliveryError(f"cannot reach {self.url}: {type(exc).__name__}") from exc
        if 200 <= resp.status_code < 300:
            return
        detail = f"HTTP {resp.status_code}: {resp.text[:200]}"
        if resp.status_code >= 500 or resp.status_code in TRANSIENT_STATUS:
            raise TransientDeliveryError(detail)
        raise PermanentDeliveryError(detail)

    async def aclose(self) -> None:
        await self._client.aclose()
