"""The operations endpoint of ``hub run`` on ``metrics.host:metrics.port``: ``/metrics`` (Prometheus) and
``/healthz`` (JSON: whether ingest and delivery are connected, and per partner the figures of
``hub status``; HTTP 200 when both are connected, 503 otherwise). Served from a thread (wsgiref), reading
state the event loop updates; it never blocks the hub.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


def serve(host: str, port: int, health: Callable[[], tuple[bool, dict[str, Any]]]) -> WSGIServer:
    metrics_app = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            ok, doc = health()
            body = json.dumps(doc, default=str).encode()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if path in ("/metrics", "/"):
            result: Iterable[bytes] = metrics_app(environ, start_response)
            return result
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    server = make_server(host, port, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="hub-ops-http", daemon=True).start()
    return server
