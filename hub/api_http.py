"""The partner query API on ``api.host:api.port``: ``GET /v1/consignments/{ref}`` (docs/partners.md,
"Asking where a consignment stands").

- ``Authorization: Bearer <token>``: a partner's token or the operator's (hub.tokens, issued by
  ``hub broker provision``). A missing, unknown, expired or revoked token, or the token of a partner that is
  not ``active`` in the registry (suspended under regulation 11, or deregistered), gets 401
  ``UNAUTHORIZED`` with ``WWW-Authenticate: Bearer``.
- ``{ref}``: any reference ``hub track`` takes, URL-encoded (a ``/`` in a vessel call may be sent as ``%2F``
  or as it is), at most 64 characters.
- 200: the consignments as the viewer may see them (hub.queries); 404 ``CONSIGNMENT_NOT_FOUND``, the same
  bytes whether nothing has the reference or the viewer may see nothing of it; 405 for a method other than
  GET; 503 ``STORE_UNAVAILABLE`` when the store cannot be read.

Plain HTTP (``wsgiref``) in threads beside ``hub run``, behind the operator's TLS-terminating proxy. Tokens
and personal identifiers never reach the log; a request line is logged with the viewer and the outcome.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from hub.clock import Clock
from hub.config import HubConfig, PartnerStatus
from hub.errors import StoreUnavailable
from hub.logs import get as get_logger
from hub.queries import consignment_view
from hub.store import Store
from hub.tokens import OPERATOR, authenticate

PREFIX = "/v1/consignments/"
MAX_REF = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_log = get_logger("hub.api")

Response = tuple[str, list[tuple[str, str]], bytes]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def _json(status: str, doc: dict[str, Any], headers: Iterable[tuple[str, str]] = ()) -> Response:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return status, [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                    ("Content-Length", str(len(body))), *headers], body


def _error(status: str, code: str, message: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return _json(status, {"error": {"code": code, "message": message}}, headers)


NOT_FOUND = _error("404 Not Found", "CONSIGNMENT_NOT_FOUND",
                   "no consignment you may see has this reference")


def _unauthorized(missing: bool) -> Response:
    if missing:
        return _error("401 Unauthorized", "UNAUTHORIZED", "a bearer token is required (Authorization: Bearer ...)",
                      [("WWW-Authenticate", 'Bearer realm="hub"')])
    return _error("401 Unauthorized", "UNAUTHORIZED", "the bearer token is not valid (unknown, expired or revoked)",
                  [("WWW-Authenticate", 'Bearer realm="hub", error="invalid_token"')])


def _bearer(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive), else None."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _ref(path_info: str) -> str | None:
    """The reference of ``/v1/consignments/{ref}``. wsgiref has already URL-decoded the path (as ISO 8859-1
    characters), so its bytes are read back as UTF-8."""
    if not path_info.startswith(PREFIX):
        return None
    try:
        return path_info[len(PREFIX):].encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return ""


def make_app(store: Store, config: HubConfig, now: Callable[[], datetime]) -> Callable[..., Iterable[bytes]]:
    """The WSGI application (also usable without ``serve_api``, e.g. under another WSGI server)."""

    def viewer_of(token: str) -> str | None:
        subject = authenticate(store, token, now())
        if subject is None or subject == OPERATOR:
            return subject
        partner = config.partner(subject)
        return subject if partner is not None and partner.status is PartnerStatus.ACTIVE else None

    def handle(environ: dict[str, Any]) -> tuple[Response, str | None]:
        ref = _ref(environ.get("PATH_INFO", ""))
        if ref is None:
            return _error("404 Not Found", "NOT_FOUND", "the API serves GET /v1/consignments/{ref}"), None
        if environ.get("REQUEST_METHOD", "GET") != "GET":
            return _error("405 Method Not Allowed", "METHOD_NOT_ALLOWED", "only GET is allowed",
                          [("Allow", "GET")]), None
        token = _bearer(environ.get("HTTP_AUTHORIZATION", ""))
        if token is None:
            return _unauthorized(missing=True), None
        subject = viewer_of(token)
        if subject is None:
            return _unauthorized(missing=False), None
        if not ref.strip() or len(ref) > MAX_REF or _CONTROL.search(ref):
            return NOT_FOUND, subject
        doc = consignment_view(store, config, ref, None if subject == OPERATOR else subject)
        if not doc["consignments"]:
            return NOT_FOUND, subject
        return _json("200 OK", doc), subject

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.monotonic()
        try:
            (status, headers, body), viewer = handle(environ)
        except StoreUnavailable:
            (status, headers, body), viewer = _error("503 Service Unavailable", "STORE_UNAVAILABLE",
                                                     "the hub's store is unavailable; try again later",
                                                     [("Retry-After", "5")]), None
        except Exception:  # noqa: BLE001 - a bug: answered 500 and logged, never the traceback to the client
            _log.exception("unexpected error in the query API")
            (status, headers, body), viewer = _error("500 Internal Server Error", "INTERNAL_ERROR",
                                                     "internal error"), None
        _log.info("api request", method=environ.get("REQUEST_METHOD"), status=int(status[:3]), viewer=viewer,
                  ms=round((time.monotonic() - started) * 1000, 1))
        start_response(status, headers)
        return [body]

    return app


def serve_api(host: str, port: int, store: Store, config: HubConfig, clock: Clock | None = None) -> WSGIServer:
    """Serve the query API from a daemon thread, one thread per request; ``port`` 0 takes a free port
    (``server.server_port``). Stop it with ``shutdown()`` then ``server_close()``. ``clock``: the hub's
    (hub.clock), for token expiry; the system clock by default."""
    now: Callable[[], datetime] = clock.now if clock is not None else (lambda: datetime.now(UTC))
    server = make_server(host, port, make_app(store, config, now), server_class=ThreadingWSGIServer,
                         handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="hub-api-http", daemon=True).start()
    return server
