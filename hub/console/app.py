"""The console's WSGI application and its server (wsgiref in threads, as the query API).

Every URL but ``/login`` and ``/static/*`` needs a session: a page without one is redirected to ``/login``
(303), ``/api/*`` answers 401, and a POST 403. Every POST carries the session's CSRF token (403 without it).
Pages are sent with a strict Content-Security-Policy (only the hub's own script and stylesheet), ``no-store``
caching and no referrer; nothing is loaded from outside the hub.

URLs: ``/`` partners (live table: ``/api/partners`` polled every few seconds), ``/partners/{id}`` one partner
with its throughput chart, ``/windows`` maintenance calendar (``POST /windows``, ``POST /windows/{id}/cancel``),
``/dlq`` and ``/dlq/{id}`` dead letters (``POST /dlq/action``: replay or purge, after a confirmation page),
``/track?ref=`` a consignment by any reference, ``/login``, ``POST /logout``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote
from wsgiref.simple_server import WSGIServer, make_server

from hub import logs
from hub.console import views
from hub.console.auth import COOKIE, LOGIN_COOKIE, Operators, Session, Sessions, Throttle, same
from hub.console.data import ActionRefused, ConsoleData
from hub.errors import StoreUnavailable

log = logs.get("hub.console")
FLASH_COOKIE = "hub_console_flash"
MAX_FORM = 256 * 1024
STATIC = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}
SECURITY_HEADERS = [
    ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"),
]
_PARTNER_URL = re.compile(r"^/partners/([^/]+)$")
_WINDOW_CANCEL = re.compile(r"^/windows/(\d{1,12})/cancel$")
_DEAD = re.compile(r"^/dlq/(\d{1,18})$")

Response = tuple[str, list[tuple[str, str]], bytes]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    cookies: dict[str, str]
    form: dict[str, list[str]] = field(default_factory=dict)
    address: str = ""
    https: bool = False

    def arg(self, name: str, default: str = "") -> str:
        return (self.query.get(name) or [default])[0]

    def field(self, name: str, default: str = "") -> str:
        return (self.form.get(name) or [default])[0]


def _request(environ: dict[str, Any]) -> Request:
    raw = environ.get("HTTP_COOKIE", "")
    cookies: dict[str, str] = {}
    if raw:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw)
        except CookieError:
            jar = SimpleCookie()
        cookies = {k: v.value for k, v in jar.items()}
    method = environ.get("REQUEST_METHOD", "GET").upper()
    form: dict[str, list[str]] = {}
    if method == "POST":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if 0 < length <= MAX_FORM and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8", "replace"), keep_blank_values=True)
    try:
        path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        path = "/"
    https = environ.get("wsgi.url_scheme") == "https" or environ.get("HTTP_X_FORWARDED_PROTO", "") == "https"
    return Request(method, path or "/", parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True), cookies,
                   form, str(environ.get("REMOTE_ADDR", "")), https)


def _html(status: str, page: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    body = page.encode("utf-8")
    return status, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                    ("Content-Length", str(len(body))), *SECURITY_HEADERS, *headers], body


def _json(status: str, doc: Any) -> Response:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return status, [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                    ("Content-Length", str(len(body))), ("X-Content-Type-Options", "nosniff")], body


def _redirect(location: str, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return "303 See Other", [("Location", location), ("Content-Length", "0"), ("Cache-Control", "no-store"),
                             *headers], b""


def _cookie(name: str, value: str, *, https: bool, max_age: int | None = None) -> tuple[str, str]:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if https:
        parts.append("Secure")
    return "Set-Cookie", "; ".join(parts)


def _local(target: str) -> str:
    """A redirect target after login: a path of this site only."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


class ConsoleApp:
    """The WSGI application (``ConsoleApp(data, operators, sessions)``)."""

    def __init__(self, data: ConsoleData, operators: Operators, sessions: Sessions) -> None:
        self.data = data
        self.operators = operators
        self.sessions = sessions
        self.throttle = Throttle()

    # ------------------------------------------------------------ plumbing

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            req = _request(environ)
            status, headers, body = self.handle(req)
        except StoreUnavailable as exc:
            status, headers, body = _html("503 Service Unavailable", views.message_page(
                "Store unavailable", f"The hub's store cannot be read now ({exc}); try again shortly.",
                operator=None, csrf=None), [("Retry-After", "5")])
        except Exception:  # a bug: answered 500 and logged, never the traceback to the browser
            log.exception("unexpected error in the console")
            status, headers, body = _html("500 Internal Server Error", views.message_page(
                "Internal error", "Something went wrong in the console; it was logged.", operator=None, csrf=None))
        start_response(status, headers)
        return [body] if environ.get("REQUEST_METHOD", "GET").upper() != "HEAD" else [b""]

    def _flash_value(self, kind: str, text: str) -> str:
        payload = base64.urlsafe_b64encode(json.dumps([kind, text[:1000]]).encode()).decode().rstrip("=")
        sig = hmac.new(self.sessions.key, b"flash:" + payload.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{payload}.{sig}"

    def _flash(self, req: Request) -> tuple[str, str] | None:
        raw = req.cookies.get(FLASH_COOKIE)
        if not raw or "." not in raw:
            return None
        payload, _, sig = raw.partition(".")
        want = hmac.new(self.sessions.key, b"flash:" + payload.encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(want, sig):
            return None
        try:
            kind, text = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        except ValueError:
            return None
        return str(kind), str(text)

    def _with_flash(self, req: Request, location: str, kind: str, text: str) -> Response:
        return _redirect(location, [_cookie(FLASH_COOKIE, self._flash_value(kind, text), https=req.https,
                                            max_age=60)])

    def _page(self, req: Request, page: str, status: str = "200 OK") -> Response:
        clear = [_cookie(FLASH_COOKIE, "", https=req.https, max_age=0)] if FLASH_COOKIE in req.cookies else []
        return _html(status, page, clear)

    # ------------------------------------------------------------ routing

    def handle(self, req: Request) -> Response:
        if req.path.startswith("/static/"):
            return self.static(req.path.removeprefix("/static/"))
        if req.path == "/login":
            return self.login(req)
        if req.path == "/favicon.ico":
            return "404 Not Found", [("Content-Length", "0"), ("Cache-Control", "max-age=3600")], b""
        session = self.sessions.read(req.cookies.get(COOKIE))
        if session is None:
            if req.path.startswith("/api/"):
                return _json("401 Unauthorized", {"error": {"code": "UNAUTHORIZED", "message": "log in first"}})
            if req.method != "GET" and req.method != "HEAD":
                return _html("403 Forbidden", views.message_page("Not logged in", "Log in first.", operator=None,
                                                                 csrf=None))
            target = req.path + ("?" + "&".join(f"{quote(k)}={quote(v[0])}" for k, v in req.query.items())
                                 if req.query else "")
            return _redirect("/login?next=" + quote(target, safe=""))
        if req.method == "POST" and not same(req.field("csrf"), session.csrf):
            log.warning("console request refused: CSRF token missing or wrong", operator=session.operator,
                        path=req.path)
            return _html("403 Forbidden", views.message_page(
                "Refused", "The form's security token is missing or stale: reload the page and try again.",
                operator=session.operator, csrf=session.csrf))
        return self.route(req, session)

    def route(self, req: Request, s: Session) -> Response:
        path, method = req.path, req.method
        get = method in ("GET", "HEAD")
        if path == "/logout" and method == "POST":
            log.info("console logout", operator=s.operator)
            return _redirect("/login", [_cookie(COOKIE, "", https=req.https, max_age=0)])
        if path == "/" and get:
            return self._page(req, views.partners_page(self.data.figures.current(), operator=s.operator,
                                                       csrf=s.csrf, flash=self._flash(req)))
        if path == "/api/partners" and get:
            return _json("200 OK", views.api_partners(self.data.figures.current()))
        if (found := _PARTNER_URL.match(path)) and get:
            return self.partner(req, s, found.group(1))
        if path == "/windows":
            return self.windows(req, s) if get else self.add_window(req, s) if method == "POST" else self._405()
        if (found := _WINDOW_CANCEL.match(path)) and method == "POST":
            return self.cancel_window(req, s, int(found.group(1)))
        if path == "/dlq" and get:
            return self.dlq(req, s)
        if (found := _DEAD.match(path)) and get:
            d = self.data.dead_letter(int(found.group(1)))
            if d is None:
                return self._not_found(req, s, f"No dead letter {found.group(1)} (replayed or purged already?).")
            return self._page(req, views.dead_letter_page(d, operator=s.operator, csrf=s.csrf))
        if path == "/dlq/action" and method == "POST":
            return self.dlq_action(req, s)
        if path == "/track" and get:
            ref = req.arg("ref")
            doc = self.data.track(ref) if ref.strip() else None
            return self._page(req, views.track_page(ref, doc, operator=s.operator, csrf=s.csrf))
        return self._not_found(req, s, "There is no such page.")

    def _not_found(self, req: Request, s: Session, text: str) -> Response:
        return self._page(req, views.message_page("Not found", text, operator=s.operator, csrf=s.csrf),
                          "404 Not Found")

    @staticmethod
    def _405() -> Response:
        return "405 Method Not Allowed", [("Allow", "GET, POST"), ("Content-Length", "0")], b""

    @staticmethod
    def static(name: str) -> Response:
        if name not in STATIC:
            return "404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")], b"not found\n"
        body = resources.files("hub.console").joinpath("static", name).read_bytes()
        return "200 OK", [("Content-Type", STATIC[name]), ("Content-Length", str(len(body))),
                          ("Cache-Control", "max-age=300"), ("X-Content-Type-Options", "nosniff")], body

    # ------------------------------------------------------------ login

    def login(self, req: Request) -> Response:
        if req.method == "POST":
            nonce = req.cookies.get(LOGIN_COOKIE)
            name = req.field("name").strip().lower()[:64]
            if not self.sessions.check_login_token(nonce, req.field("csrf")):
                return self._login_form(req, "The login form expired: try again.", name, "403 Forbidden")
            keys = (f"name:{name}", f"addr:{req.address}")
            if self.throttle.blocked(*keys):
                log.warning("console login refused: too many failures", operator=name, address=req.address)
                return self._login_form(req, "Too many failed logins: wait a few minutes.", name,
                                        "429 Too Many Requests")
            if not self.operators.verify(name, req.field("password")):
                self.throttle.failed(*keys)
                log.warning("console login failed", operator=name, address=req.address)
                return self._login_form(req, "Wrong name or password.", name, "401 Unauthorized")
            self.throttle.succeeded(f"name:{name}")
            cookie, _session = self.sessions.issue(name)
            self.data.login(name, req.address)
            return _redirect(_local(req.arg("next", "/")), [
                _cookie(COOKIE, cookie, https=req.https, max_age=int(self.sessions.seconds)),
                _cookie(LOGIN_COOKIE, "", https=req.https, max_age=0)])
        if req.method not in ("GET", "HEAD"):
            return self._405()
        if self.sessions.read(req.cookies.get(COOKIE)) is not None:
            return _redirect(_local(req.arg("next", "/")))
        return self._login_form(req, None, "")

    def _login_form(self, req: Request, error: str | None, name: str, status: str = "200 OK") -> Response:
        nonce = req.cookies.get(LOGIN_COOKIE) or ""  # kept: another tab's (or a favicon's) form stays valid
        if not re.fullmatch(r"[A-Za-z0-9_-]{24}", nonce):
            nonce = secrets.token_urlsafe(18)
        return _html(status, views.login_page(self.sessions.login_token(nonce), error, name,
                                              _local(req.arg("next", "/"))),
                     [_cookie(LOGIN_COOKIE, nonce, https=req.https, max_age=3600)])

    # ------------------------------------------------------------ pages and actions

    def partner(self, req: Request, s: Session, partner_id: str) -> Response:
        partner = self.data.config.partner(partner_id)
        if partner is None:
            return self._not_found(req, s, "No such partner in the registry.")
        reading = self.data.figures.current()
        windows = [(w, self.data.window_state(w)) for w in self.data.windows(False) if w.target == partner_id]
        return self._page(req, views.partner_page(partner, reading.view(partner_id), reading,
                                                  self.data.figures.history(partner_id), windows,
                                                  operator=s.operator, csrf=s.csrf))

    def windows(self, req: Request, s: Session, *, flash: tuple[str, str] | None = None,
                form: dict[str, str] | None = None, status: str = "200 OK") -> Response:
        include_past = req.arg("all") == "1"
        rows = [(w, self.data.window_state(w)) for w in self.data.windows(include_past)]
        target = req.arg("target")
        return self._page(req, views.windows_page(rows, self.data.partner_ids, include_past=include_past,
                                                  operator=s.operator, csrf=s.csrf, flash=flash or self._flash(req),
                                                  target=target, form=form), status)

    def add_window(self, req: Request, s: Session) -> Response:
        form = {k: req.field(k) for k in ("target", "start", "end", "reason")}
        try:
            done = self.data.add_window(s.operator, form["target"], form["start"], form["end"],
                                        emergency=req.field("emergency") == "1", reason=form["reason"].strip() or None)
        except ActionRefused as exc:
            return self.windows(req, s, flash=("error", f"{exc.code}: {exc}"), form=form, status="400 Bad Request")
        return self._with_flash(req, "/windows", "ok", done.message)

    def cancel_window(self, req: Request, s: Session, window_id: int) -> Response:
        try:
            done = self.data.cancel_window(s.operator, window_id)
        except ActionRefused as exc:
            return self._with_flash(req, "/windows", "error", f"{exc.code}: {exc}")
        return self._with_flash(req, "/windows", "ok", done.message)

    def dlq(self, req: Request, s: Session) -> Response:
        partner = req.arg("partner") or None
        if partner is not None and self.data.config.partner(partner) is None:
            partner = None
        rows, total = self.data.dead_letters(partner)
        return self._page(req, views.dlq_page(rows, total, partner, self.data.partner_ids, self.data.parked_behind(),
                                              operator=s.operator, csrf=s.csrf, flash=self._flash(req)))

    def dlq_action(self, req: Request, s: Session) -> Response:
        action = req.field("action")
        partner = req.field("partner") or None
        if action in ("replay-partner", "purge-partner"):
            action, ids = action.removesuffix("-partner"), self.data.dead_ids([], partner)
        else:
            ids = self.data.dead_ids([int(i) for i in req.form.get("id", []) if i.isdigit() and len(i) < 19], None)
        if action not in ("replay", "purge"):
            return self._with_flash(req, "/dlq", "error", "unknown action")
        back = "/dlq" + (f"?partner={quote(partner, safe='')}" if partner else "")
        if not ids:
            return self._with_flash(req, back, "error", "DLQ_NOT_FOUND: no dead letters selected (or they are "
                                                        "replayed or purged already)")
        if req.field("confirmed") != "yes":
            rows = self.data.dead_by_ids(ids[:200])
            return self._page(req, views.confirm_page(action, rows, ids, operator=s.operator, csrf=s.csrf))
        try:
            done = self.data.replay(s.operator, ids) if action == "replay" else self.data.purge(s.operator, ids)
        except ActionRefused as exc:
            return self._with_flash(req, back, "error", f"{exc.code}: {exc}")
        text = done.message + (f". Warning: {done.warning}" if done.warning else "")
        return self._with_flash(req, back, "warning" if done.warning else "ok", text)


# ------------------------------------------------------------------ serving


class Console:
    """A running console: its server (``server.server_port``), figures thread and store."""

    def __init__(self, server: WSGIServer, app: ConsoleApp, own_store: bool) -> None:
        self.server = server
        self.app = app
        self._own_store = own_store

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.app.data.figures.stop()
        if self._own_store:
            self.app.data.store.close()


def build_app(config: Any, store: Any, clock: Any) -> ConsoleApp:
    """The application for a config, a store and a clock: operators from ``console.operators_file``, sessions
    signed with the secret ``console.session-key`` (made on first use)."""
    from hub.console.auth import SESSION_KEY_SECRET, operators_path
    from hub.console.data import ConsoleData
    from hub.secrets import Secrets

    operators = Operators(operators_path(config))
    key = Secrets(config.secrets_path()).ensure(SESSION_KEY_SECRET).encode()
    sessions = Sessions(key, operators, config.settings.console.session_hours)
    return ConsoleApp(ConsoleData(config, store, clock), operators, sessions)


def serve_console(config: Any, clock: Any = None, *, host: str | None = None, port: int | None = None,
                  store: Any = None, start_figures: bool = True) -> Console:
    """Serve the console from daemon threads (one per request); ``port`` 0 takes a free port. ``store``: a
    Store to share (default: its own, closed by ``close()``)."""
    from hub.api_http import ThreadingWSGIServer, _Quiet
    from hub.clock import SystemClock
    from hub.store import Store

    own = store is None
    store = store if store is not None else Store(config.store_url())
    app = build_app(config, store, clock or SystemClock())
    settings = config.settings.console
    server = make_server(host if host is not None else settings.host, settings.port if port is None else port, app,
                         server_class=ThreadingWSGIServer, handler_class=_Quiet)
    if start_figures:
        app.data.figures.start()
    threading.Thread(target=server.serve_forever, name="hub-console-http", daemon=True).start()
    log.info("console serving", host=server.server_address[0], port=server.server_port)
    return Console(server, app, own)
