"""HTTP webhook transport against a real HTTP server on loopback; signatures verified with `hmac`.

The verifier below follows docs/partners.md ("HTTP webhook deliveries") only: it does not import the
hub's signing code.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hub.adapters.http_webhook import HttpWebhookTransport
from hub.adapters.transport import OutboundDelivery, PermanentDeliveryError, TransientDeliveryError

SECRET = b"partner-shared-secret"


class Partner(BaseHTTPRequestHandler):
    """A partner's endpoint: verifies signatures as a partner would and answers as scripted."""

    received: list[dict[str, object]] = []
    script: list[int] = []
    delay = 0.0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ts = self.headers["X-Hub-Timestamp"]
        expected = "v1=" + hmac.new(SECRET, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(expected, self.headers["X-Hub-Signature"])
        fresh = abs(time.time() - int(ts)) < 300
        Partner.received.append({"key": self.headers["Idempotency-Key"], "ok": ok, "fresh": fresh,
                                 "body": body, "type": self.headers["X-Hub-Type"],
                                 "ucr": self.headers.get("X-Hub-UCR")})
        if Partner.delay:
            time.sleep(Partner.delay)
        status = Partner.script.pop(0) if Partner.script else 200
        self.send_response(status if ok else 401)
        self.end_headers()
        self.wfile.write(b"no" if status >= 400 else b"ok")

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[str]:
    Partner.received, Partner.script, Partner.delay = [], [], 0.0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Partner)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hub"
    httpd.shutdown()
    httpd.server_close()


def delivery(i: int = 1) -> OutboundDelivery:
    return OutboundDelivery(message_id=f"d-{i}", correlation_id=f"m-{i}", msg_type="customs.release",
                            content_type="application/json", body=b'{"x":%d}' % i, source_partner="kra-icms",
                            ucr="26KEP0512345680000412")


async def test_signed_idempotent_post_verifies_with_hmac(server: str) -> None:
    t = HttpWebhookTransport(server, SECRET)
    try:
        await t.send(delivery(1))
    finally:
        await t.aclose()
    [got] = Partner.received
    assert got["ok"] and got["fresh"] and got["key"] == "d-1" and got["body"] == b'{"x":1}'
    assert got["type"] == "customs.release" and got["ucr"] == "26KEP0512345680000412"


async def test_a_tampered_body_fails_verification(server: str) -> None:
    t = HttpWebhookTransport(server, b"another-secret")  # the partner verifies with SECRET
    try:
        with pytest.raises(PermanentDeliveryError, match="401"):
            await t.send(delivery(2))
    finally:
        await t.aclose()
    assert Partner.received[0]["ok"] is False


@pytest.mark.parametrize(("status", "error"), [(500, TransientDeliveryError), (503, TransientDeliveryError),
                                               (429, TransientDeliveryError), (408, TransientDeliveryError),
                                               (400, PermanentDeliveryError), (404, PermanentDeliveryError)])
async def test_status_codes_map_to_transient_or_permanent(server: str, status: int, error: type) -> None:
    Partner.script = [status]
    t = HttpWebhookTransport(server, SECRET)
    try:
        with pytest.raises(error, match=str(status)):
            await t.send(delivery(3))
        await t.send(delivery(3))  # the retry carries the same Idempotency-Key
    finally:
        await t.aclose()
    assert [r["key"] for r in Partner.received] == ["d-3", "d-3"]


async def test_timeout_and_refused_connection_are_transient(server: str) -> None:
    Partner.delay = 1.0
    t = HttpWebhookTransport(server, SECRET, timeout=0.2)
    try:
        with pytest.raises(TransientDeliveryError, match="timeout"):
            await t.send(delivery(4))
    finally:
        await t.aclose()
    closed = HttpWebhookTransport("http://127.0.0.1:9/", SECRET, connect_timeout=0.5)
    try:
        with pytest.raises(TransientDeliveryError, match="cannot reach"):
            await closed.send(delivery(5))
    finally:
        await closed.aclose()


def test_secret_required_and_not_in_repr() -> None:
    with pytest.raises(ValueError, match="secret"):
        HttpWebhookTransport("http://127.0.0.1/", b"")
    assert "partner-shared-secret" not in repr(HttpWebhookTransport("http://127.0.0.1/", SECRET))
