"""A partner's webhook endpoint for tests: a real HTTP server on loopback (standard library, in a thread).

It verifies each request's signature as docs/partners.md section 7a tells a partner to (HMAC-SHA256 with
Python's ``hmac`` over ``<X-Hub-Timestamp>.<raw body>``, compared in constant time, timestamp within five
minutes), without the hub's code; records every request; and answers what ``decide`` says (200 by default).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    key: str  # Idempotency-Key
    correlation_id: str
    ucr: str
    body: bytes
    status: int
    signature_ok: bool
    at: float


@dataclass
class WebhookPartner:
    secret: bytes
    decide: Callable[[Request], int] = lambda _r: 200
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/hub"

    def verify(self, headers: Any, body: bytes) -> bool:
        stamp = headers.get("X-Hub-Timestamp", "")
        given = headers.get("X-Hub-Signature", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300 or not given.startswith("v1="):
            return False
        expected = hmac.new(self.secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, given[3:])

    def accepted(self) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.status == 200]

    def start(self) -> WebhookPartner:
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                ok = partner.verify(self.headers, body)
                probe = Request(self.headers.get("Idempotency-Key", ""),
                                self.headers.get("X-Hub-Correlation-Id", ""), self.headers.get("X-Hub-UCR", ""),
                                body, 0, ok, time.monotonic())
                with partner.lock:
                    status = 401 if not ok else partner.decide(probe)
                    partner.requests.append(Request(probe.key, probe.correlation_id, probe.ucr, body, status, ok,
                                                    probe.at))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
