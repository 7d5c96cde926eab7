"""The operations console without a broker (hub.console): password hashing and the operators file, signed
sessions, CSRF, login throttling, every URL refused without a login, personal data masked on every page,
the actions (windows, dead letters) going through the CLI's functions with the regulation 32 rules and an
audit entry naming the operator, the throughput history, and the Prometheus rules and Grafana dashboard in
docs/. A real HTTP server (wsgiref, port 0) on a SQLite store filled with example messages; the management
API and the broker point at closed ports (the figures then come from the store alone, drain orders fail
and the console says so). The browser-driven tests are in tests/test_console_browser.py.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from hub.audit import verify
from hub.config import HubConfig, load_config
from hub.console import auth
from hub.console.app import Console, serve_console
from hub.delivery.records import DeliveryRecords, HeldDelivery, Snapshot
from hub.logs import mask_text
from hub.secrets import Secrets
from hub.store import Store
from hub.windows import EAT
from tests.conftest import REQUIRE, ROOT

PINS = ("P051234567A", "P051234568B", "P051234569C")  # clearing agent, importer, insurer (tests/test_track_e2e.py)
PHONE, NATIONAL_ID = "0712345678", "23456789"
PASSWORD = "correct horse battery staple"
PAGES = ("/", "/api/partners", "/partners/kra-icms", "/windows", "/windows?all=1", "/dlq", "/dlq?partner=kra-icms",
         "/track?ref=MSCU1234566", "/track?ref=26KEP0512345680000412")


@dataclass
class Env:
    tmp: Path
    config: HubConfig
    store: Store
    console: Console
    url: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=20)

    def records(self) -> DeliveryRecords:
        return DeliveryRecords(self.store)


def make_config(tmp: Path) -> HubConfig:
    config_dir = tmp / "config"
    shutil.copytree(ROOT / "config", config_dir)
    settings = yaml.safe_load((config_dir / "hub.yaml").read_text())
    settings["store"] = {"url": f"sqlite:///{tmp / 'hub.db'}"}
    settings["secrets_file"] = str(tmp / "secrets.json")
    settings["audit"]["head_file"] = str(tmp / "audit-head.json")
    settings["broker"] = {"url": "amqp://127.0.0.1:1/", "management_url": "http://127.0.0.1:1"}  # nothing there
    settings["console"] = {"operators_file": str(tmp / "operators.json"), "refresh_seconds": 0.5}
    (config_dir / "hub.yaml").write_text(yaml.safe_dump(settings))
    return load_config(config_dir, env={})


def seed(store: Store, config: HubConfig) -> None:
    """The example consignment's life (parties with KRA PINs), and a dead letter whose last error and a window
    whose reason hold a PIN, a phone number and a national id."""
    from tests.test_queries import commit_life

    commit_life(store, config)
    records = DeliveryRecords(store)
    for n in range(3):
        records.dead_head(HeldDelivery(
            partner="kra-icms", lane=f"ucr:26KEP05123456800004{n:02d}", partition=0, message_id=f"d-{n}",
            sender="mfano-clearing", correlation_id=f"m-{n}", msg_type="customs.entry",
            content_type="application/json", body=b'{"declarant": {"id": "P051234567A"}}',
            queued_at=datetime.now(UTC) - timedelta(minutes=30), attempts=1, reason="refused_by_partner",
            last_error=f"HTTP 400: declarant {PINS[0]} unknown; call {PHONE}, id {NATIONAL_ID}"), datetime.now(UTC))
    start = datetime.now(UTC) + timedelta(days=5)
    records.add_window("kentrade", start, start + timedelta(hours=2),
                       emergency=False, short_notice=False, reason=f"upgrade; on call {PHONE} ({PINS[1]})",
                       announced_at=datetime.now(UTC))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("console")
    config = make_config(tmp)
    Secrets(config.secrets_path(), env={}).ensure(config.settings.broker.user)  # the hub's broker password
    store = Store(config.store_url())
    store.migrate()
    seed(store, config)
    auth.Operators(auth.operators_path(config)).set_password("alice", PASSWORD)
    console = serve_console(config, port=0, store=store)
    try:
        yield Env(tmp, config, store, console, f"http://127.0.0.1:{console.port}")
    finally:
        console.close()
        store.close()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def login(env: Env, name: str = "alice", password: str = PASSWORD) -> httpx.Client:
    c = env.client()
    form = c.get("/login")
    r = c.post("/login", data={"csrf": csrf_of(form.text), "name": name, "password": password})
    assert r.status_code == 303, r.text[:300]
    return c


@pytest.fixture(scope="module")
def alice(env: Env) -> Iterator[httpx.Client]:
    c = login(env)
    try:
        yield c
    finally:
        c.close()


def audit_ops(store: Store) -> list[tuple[str, str, str, str | None]]:
    """(msg_type, message_id, outcome, recipient) of the console's audit entries, oldest first."""
    import sqlalchemy as sa

    from hub.store import audit_log

    with store._tx() as conn:
        return [(r.msg_type, r.message_id, r.outcome, r.recipient) for r in conn.execute(
            sa.select(audit_log).where(audit_log.c.msg_type.like("console.%")).order_by(audit_log.c.seq))]


# ------------------------------------------------------------------ operators, hashing, sessions


def test_passwords_are_scrypt_hashed_salted_and_the_file_holds_no_password(tmp_path: Path) -> None:
    stored = auth.hash_password("s3cret-enough-yes")
    assert stored.startswith("scrypt$16384$8$1$") and "s3cret" not in stored
    assert auth.check_password("s3cret-enough-yes", stored) and not auth.check_password("s3cret-enough-no", stored)
    assert auth.hash_password("s3cret-enough-yes") != stored  # a fresh salt each time
    assert not auth.check_password("x", "md5$abc") and not auth.check_password("x", "garbage")
    ops = auth.Operators(tmp_path / "var" / "ops.json")
    assert ops.names() == [] and not ops.verify("alice", "whatever")
    assert ops.set_password("alice", "a long password 1") is True
    assert ops.set_password("alice", "a long password 2") is False  # a new password for the same operator
    assert (tmp_path / "var" / "ops.json").stat().st_mode & 0o077 == 0
    assert "a long password" not in (tmp_path / "var" / "ops.json").read_text()
    assert ops.verify("alice", "a long password 2") and not ops.verify("alice", "a long password 1")
    for bad_name in ("Alice", "", "a b", "-x", "x" * 33, "../etc"):
        with pytest.raises(auth.OperatorError):
            ops.set_password(bad_name, "a long password 1")
    with pytest.raises(auth.OperatorError, match="at least 12"):
        ops.set_password("bob", "short")
    other = auth.Operators(tmp_path / "var" / "ops.json")  # another process sees changes at once
    assert other.names() == ["alice"]
    time.sleep(0.01)
    ops.set_password("bob", "a long password 3")
    assert other.names() == ["alice", "bob"]
    assert ops.remove("bob") and not ops.remove("bob") and other.names() == ["alice"]


def test_sessions_are_signed_expire_and_end_with_a_new_password_or_removal(tmp_path: Path) -> None:
    ops = auth.Operators(tmp_path / "ops.json")
    ops.set_password("alice", "a long password 1")
    sessions = auth.Sessions(b"k" * 32, ops, hours=8)
    cookie, session = sessions.issue("alice")
    assert sessions.read(cookie) == session and session.csrf
    body, _, sig = cookie.partition(".")
    forged = auth._b64(json.dumps({"o": "mallory", "e": 2**40, "c": "x", "f": None}).encode())
    for bad in (None, "", "x", f"{forged}.{sig}", f"{body}.{sig[:-2]}AA", cookie + "x"):
        assert sessions.read(bad) is None, bad
    assert auth.Sessions(b"j" * 32, ops, hours=8).read(cookie) is None  # another key
    assert sessions.read(cookie, now=session.expires + 1) is None
    ops.set_password("alice", "a long password 2")
    assert sessions.read(cookie) is None  # the password changed: every session of alice ends
    cookie, _ = sessions.issue("alice")
    assert sessions.read(cookie) is not None
    ops.remove("alice")
    assert sessions.read(cookie) is None
    nonce = "n0nce"
    assert sessions.check_login_token(nonce, sessions.login_token(nonce))
    assert not sessions.check_login_token("other", sessions.login_token(nonce))
    assert not sessions.check_login_token(None, sessions.login_token(nonce))


def test_add_operator_command_writes_the_hash_from_stdin(env: Env, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hub.cli import app

    runner = CliRunner()
    config_dir = env.config.directory
    r = runner.invoke(app, ["--config", str(config_dir), "console", "add-operator", "carol", "--password-stdin"],
                      input="carol's long password\n")
    assert r.exit_code == 0, r.output
    assert "operator carol added" in r.output
    r = runner.invoke(app, ["--config", str(config_dir), "console", "add-operator", "dave", "--password-stdin"],
                      input="short\n")
    assert r.exit_code == 1 and "at least 12" in r.output
    r = runner.invoke(app, ["--config", str(config_dir), "console", "list-operators"])
    assert r.exit_code == 0 and r.output.split() == ["alice", "carol"]
    c = login(env, "carol", "carol's long password")
    try:
        assert c.get("/").status_code == 200
        r = runner.invoke(app, ["--config", str(config_dir), "console", "remove-operator", "carol"])
        assert r.exit_code == 0
        assert c.get("/").status_code == 303  # removed: the session ends at once
    finally:
        c.close()


# ------------------------------------------------------------------ no page without a login


def test_every_url_without_a_login_is_refused(env: Env) -> None:
    with env.client() as c:
        for path in (*PAGES, "/partners/nobody", "/dlq/1", "/no/such/page"):
            r = c.get(path)
            if path.startswith("/api/"):
                assert r.status_code == 401 and r.json()["error"]["code"] == "UNAUTHORIZED"
                continue
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
            assert "kra-icms" not in r.text
        for path in ("/windows", "/windows/1/cancel", "/dlq/action", "/logout"):
            r = c.post(path, data={"csrf": "x", "id": "1", "action": "purge", "confirmed": "yes"})
            assert r.status_code == 403, path
        assert c.get("/static/console.css").status_code == 200  # the stylesheet and script hold no data
        c.cookies.set("hub_console", "eyJvIjoiYWxpY2UiLCJlIjo5OTk5OTk5OTk5LCJjIjoieCIsImYiOm51bGx9.AAAA")
        assert c.get("/").status_code == 303
    assert len(env.records().dead_letters()) >= 1  # the POSTs above changed nothing


def test_login_needs_the_form_token_the_right_password_and_is_throttled(env: Env) -> None:
    with env.client() as c:
        form = c.get("/login?next=%2Fdlq")
        assert form.status_code == 200 and "hub_console_login" in form.headers["set-cookie"]
        assert "HttpOnly" in form.headers["set-cookie"] and "SameSite=Strict" in form.headers["set-cookie"]
        r = c.post("/login", data={"name": "alice", "password": PASSWORD})  # no token
        assert r.status_code == 403
        r = c.post("/login?next=%2Fdlq", data={"csrf": csrf_of(c.get("/login").text), "name": "alice",
                                               "password": PASSWORD})
        assert r.status_code == 303 and r.headers["location"] == "/dlq"
        cookie = r.headers["set-cookie"]
        assert "hub_console=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert c.get("/login?next=%2Fwindows").headers["location"] == "/windows"  # logged in already
    with env.client() as c:
        r = c.post("/login?next=https%3A%2F%2Fevil.example%2F", data={"csrf": csrf_of(c.get("/login").text),
                                                                      "name": "alice", "password": PASSWORD})
        assert r.headers["location"] == "/"  # never redirected off the site
    with env.client() as c:
        for _ in range(auth.MAX_FAILURES):
            r = c.post("/login", data={"csrf": csrf_of(c.get("/login").text), "name": "zed", "password": "wrong!"})
            assert r.status_code == 401 and "Wrong name or password" in r.text
        r = c.post("/login", data={"csrf": csrf_of(c.get("/login").text), "name": "zed", "password": "wrong!"})
        assert r.status_code == 429
    env.console.app.throttle = auth.Throttle()  # the other tests log in from the same address


def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(env: Env, alice: httpx.Client) -> None:
    before = len(env.records().windows())
    start = (datetime.now(EAT) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    end = (datetime.now(EAT) + timedelta(days=3, hours=1)).strftime("%Y-%m-%dT%H:%M")
    for token in (None, "", "forged", csrf_of(env.client().get("/login").text)):
        data = {"target": "kpa", "start": start, "end": end}
        if token is not None:
            data["csrf"] = token
        r = alice.post("/windows", data=data)
        assert r.status_code == 403, token
    assert len(env.records().windows()) == before
    r = alice.get("/")
    assert r.status_code == 200
    headers = r.headers
    assert "default-src 'none'" in headers["content-security-policy"] and headers["cache-control"] == "no-store"


# ------------------------------------------------------------------ pages: masking, no outside resources


def test_pages_show_the_figures_and_mask_personal_data(env: Env, alice: httpx.Client) -> None:
    texts = {}
    for path in PAGES:
        r = alice.get(path)
        assert r.status_code == 200, path
        texts[path] = r.text
    texts["/dlq/1"] = alice.get("/dlq/1").text
    for path, text in texts.items():
        for raw in (*PINS, PHONE, NATIONAL_ID):
            assert raw not in text, (path, raw)
        assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", text.replace(env.url, "")), path
        assert not re.search(r'(?:src|href)="(?:https?:)?//', text), path
    assert "P*********A" in texts["/dlq"] and "07********" in texts["/dlq"] and "********" in texts["/dlq/1"]
    assert "07********" in texts["/windows"]
    track = texts["/track?ref=MSCU1234566"]
    assert "26KEP0512345680000412" in track and "P*********B" in track and "customs.release" in track
    partners = alice.get("/api/partners").json()
    icms = next(p for p in partners["partners"] if p["partner"] == "kra-icms")
    assert icms["dead"] == 3 and icms["held"] == 0 and partners["summary"]["dead"] == 3
    assert partners["partners"][0]["partner"] == "kra-icms" or partners["partners"][0]["dead"] >= 3
    assert "no consignment found" in alice.get("/track?ref=NOSUCHREF").text.lower()
    assert alice.get(f"/track?ref={PINS[0]}").text.count(PINS[0]) == 0


def test_static_files_are_served_and_small(env: Env) -> None:
    with env.client() as c:
        js, css = c.get("/static/console.js"), c.get("/static/console.css")
    assert js.status_code == css.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript") and len(js.content) < 16_000
    assert css.headers["content-type"].startswith("text/css") and len(css.content) < 16_000
    assert "http" not in js.text.replace("HTTP ", "") and "@import" not in css.text and "url(" not in css.text


# ------------------------------------------------------------------ actions: windows


def test_windows_follow_regulation_32_and_every_action_is_audited_with_the_operator(env: Env,
                                                                                    alice: httpx.Client) -> None:
    token = csrf_of(alice.get("/windows").text)
    soon = datetime.now(EAT) + timedelta(hours=5)

    def at(d: datetime) -> str:
        return d.strftime("%Y-%m-%dT%H:%M")

    r = alice.post("/windows", data={"csrf": token, "target": "hub", "start": at(soon),
                                     "end": at(soon + timedelta(hours=2)), "reason": "core switch"})
    assert r.status_code == 400 and "WINDOW_NOTICE_TOO_SHORT" in r.text and "32(2)" in r.text
    assert "core switch" in r.text  # the form keeps what was typed
    r = alice.post("/windows", data={"csrf": token, "target": "hub", "start": at(soon),
                                     "end": at(soon + timedelta(hours=2)), "emergency": "1", "reason": "core switch"})
    assert r.status_code == 303
    shown = alice.get("/windows").text
    assert re.search(r"window \d+: hub .* SHORT NOTICE \(under 48 hours\) EMERGENCY; notice to \d+ partner", shown)
    r = alice.post("/windows", data={"csrf": token, "target": "kpa", "start": at(soon), "end": at(soon),
                                     "reason": ""})
    assert r.status_code == 400 and "WINDOW_END_BEFORE_START" in r.text
    r = alice.post("/windows", data={"csrf": token, "target": "nobody", "start": at(soon),
                                     "end": at(soon + timedelta(hours=1))})
    assert r.status_code == 400 and "WINDOW_UNKNOWN_TARGET" in r.text
    r = alice.post("/windows", data={"csrf": token, "target": "kpa", "start": "tomorrow", "end": "later"})
    assert r.status_code == 400 and "WINDOW_TIME_INVALID" in r.text
    r = alice.post("/windows", data={"csrf": token, "target": "kpa", "start": at(soon),
                                     "end": at(soon + timedelta(hours=1)), "reason": "x" * 600})
    assert r.status_code == 400 and "WINDOW_REASON_INVALID" in r.text
    wid = max(w.id for w in env.records().windows() if w.target == "hub")
    r = alice.post(f"/windows/{wid}/cancel", data={"csrf": token})
    assert r.status_code == 303
    assert f"window {wid} (hub) cancelled" in alice.get("/windows").text
    assert "WINDOW_NOT_FOUND" in alice.post(f"/windows/{wid}/cancel", data={"csrf": token},
                                            follow_redirects=True).text
    ops = audit_ops(env.store)
    assert ("console.window-add", "operator:alice", f"window:{wid}", "hub") in ops
    assert ("console.window-cancel", "operator:alice", f"window:{wid} cancelled", "hub") in ops
    assert ("console.login", "operator:alice", "ok", None) in ops
    report = verify(env.store, env.config.audit_head_path())
    assert report.ok, report.reason


# ------------------------------------------------------------------ actions: dead letters


def test_replay_and_purge_ask_for_confirmation_then_act_and_are_audited(env: Env, alice: httpx.Client) -> None:
    records = env.records()
    dead = [d.id for d in records.dead_letters("kra-icms")]
    assert len(dead) == 3
    token = csrf_of(alice.get("/dlq").text)
    r = alice.post("/dlq/action", data={"csrf": token, "action": "replay", "id": [str(dead[0])]})
    assert r.status_code == 200 and "Replay 1 dead letter(s)?" in r.text and 'name="confirmed"' in r.text
    assert PINS[0] not in r.text and "P*********A" in r.text
    assert len(records.dead_letters("kra-icms")) == 3  # nothing done before the confirmation
    r = alice.post("/dlq/action", data={"csrf": token, "action": "replay", "id": [str(dead[0])], "confirmed": "yes"})
    assert r.status_code == 303
    page = alice.get(r.headers["location"]).text
    assert "replaying 1 dead letter(s) in 1 consignment lane(s)" in page
    assert "cannot reach the broker" in page and "a running hub queues the drain orders itself" in page
    assert [d.id for d in records.dead_letters("kra-icms")] == dead[1:]
    r = alice.post("/dlq/action", data={"csrf": token, "action": "purge-partner", "partner": "kra-icms"})
    assert "Purge 2 dead letter(s)?" in r.text
    r = alice.post("/dlq/action", data={"csrf": token, "action": "purge", "id": [str(i) for i in dead[1:]],
                                        "confirmed": "yes"}, follow_redirects=True)
    assert "purged 2 dead letter(s)" in r.text
    assert records.dead_letters("kra-icms") == []
    r = alice.post("/dlq/action", data={"csrf": token, "action": "purge", "id": [str(dead[1])], "confirmed": "yes"},
                   follow_redirects=True)
    assert "DLQ_NOT_FOUND" in r.text
    ops = audit_ops(env.store)
    assert ("console.dlq-replay", "operator:alice", f"replayed:1 ids:{dead[0]}", "kra-icms") in ops
    assert ("console.dlq-purge", "operator:alice", f"purged:2 ids:{dead[1]},{dead[2]}", "kra-icms") in ops
    assert verify(env.store, env.config.audit_head_path()).ok


# ------------------------------------------------------------------ throughput history


def test_throughput_sums_every_hubs_delivery_counters_per_minute(env: Env, alice: httpx.Client) -> None:
    from hub.console.data import Figures

    records = env.records()
    figures = Figures(env.config, records, env.console.app.data.clock, every=60)

    def snaps(delivered: dict[str, int]) -> None:
        records.put_snapshots([Snapshot("kpa", proc, "up", (), 0, 0, 0, None, None, n, datetime.now(UTC))
                               for proc, n in delivered.items()])

    snaps({"hub-a:1": 100, "hub-b:2": 7})
    figures.refresh()  # baselines
    snaps({"hub-a:1": 130, "hub-b:2": 10})
    figures.refresh()
    snaps({"hub-a:1": 131, "hub-b:2": 2})  # hub-b restarted: its new counter counts from 0
    figures.refresh()
    rows = figures.history("kpa")
    assert len(rows) == 60 and rows[-1][1] == 30 + 3 + 1 + 2 and rows[-1][2] == 0
    assert all(d is None for _at, d, _h in rows[:-2])
    records.drop_snapshots("hub-a:1")
    records.drop_snapshots("hub-b:2")
    page = alice.get("/partners/kpa").text
    assert '<svg class="chart"' in page and "deliveries per minute" in page


# ------------------------------------------------------------------ metrics, alert rules, dashboard


def test_liveness_gauges_and_the_batch_heartbeat() -> None:
    from prometheus_client import REGISTRY

    from hub import metrics

    ready = {"ingest": False, "delivery": True}
    metrics.track_liveness(lambda: ready["ingest"], lambda: ready["delivery"])
    assert REGISTRY.get_sample_value("hub_ingest_consuming") == 0.0
    ready["ingest"] = True
    assert REGISTRY.get_sample_value("hub_ingest_consuming") == 1.0
    assert REGISTRY.get_sample_value("hub_delivery_connected") == 1.0
    metrics.BATCH_SECONDS.observe(0.01)
    assert abs((REGISTRY.get_sample_value("hub_last_batch_timestamp_seconds") or 0) - time.time()) < 5


def exported_metric_names() -> set[str]:
    """Every series name hub/metrics.py exports (a counter's _total, a histogram's _bucket/_count/_sum)."""
    from prometheus_client import REGISTRY

    from hub import metrics  # noqa: F401 - registers the hub's metrics

    names: set[str] = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("hub_"):
            continue
        suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                    "summary": ("_count", "_sum", "_created")}.get(family.type, ("",))
        names.update(family.name + s for s in suffixes)
    return names


def test_the_grafana_dashboard_is_valid_and_uses_only_exported_metrics() -> None:
    doc = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    assert isinstance(doc["title"], str) and doc["title"]
    assert isinstance(doc["schemaVersion"], int) and doc["schemaVersion"] >= 30
    assert isinstance(doc.get("uid"), str) and isinstance(doc["panels"], list) and len(doc["panels"]) >= 6
    exported = exported_metric_names()
    used: set[str] = set()
    ids = set()
    for panel in doc["panels"]:
        assert {"id", "type", "title", "gridPos"} <= set(panel), panel
        assert panel["id"] not in ids
        ids.add(panel["id"])
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["refId"] and target["expr"]
            used.update(re.findall(r"\bhub_[a-z_]+\b", target["expr"]))
    assert used and used <= exported, used - exported
    assert {"hub_partner_held", "hub_partner_oldest_waiting_seconds", "hub_dead_letters_total",
            "hub_deliveries_total", "hub_partner_drain_eta_seconds"} <= used
    for var in doc.get("templating", {}).get("list", []):
        used_q = re.findall(r"\bhub_[a-z_]+\b", json.dumps(var.get("query", "")))
        assert set(used_q) <= exported


def test_the_alert_rules_pass_promtool_and_fire_when_they_should(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        if REQUIRE:
            pytest.fail("promtool is required (Debian's prometheus package; scripts/test installs it)")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    rules = ROOT / "docs" / "prometheus-alerts.yml"
    r = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = yaml.safe_load(rules.read_text())
    alerts = {rule["alert"]: rule for g in doc["groups"] for rule in g["rules"]}
    exported = exported_metric_names()
    for rule in alerts.values():
        assert set(re.findall(r"\bhub_[a-z_]+\b", rule["expr"])) <= exported, rule["alert"]
    for group in doc["groups"]:  # promtool compares annotations exactly: test the rules without them
        for rule in group["rules"]:
            rule.pop("annotations", None)
    bare = tmp_path / "alerts.yml"
    bare.write_text(yaml.safe_dump(doc))
    tests = {
        "rule_files": [str(bare)],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                {"series": 'hub_partner_oldest_waiting_seconds{partner="kra-icms",instance="a"}',
                 "values": "0+120x60"},
                {"series": 'hub_partner_oldest_waiting_seconds{partner="kpa",instance="a"}', "values": "0x60"},
                {"series": 'hub_dead_letters_total{recipient="kentrade",reason="refused_by_partner",instance="a"}',
                 "values": "0x10 1+1x50"},
                {"series": 'hub_ingest_consuming{instance="a"}', "values": "1x20 0x40"},
            ],
            "alert_rule_test": [
                {"eval_time": "20m", "alertname": "HubPartnerHeldOverAnHour", "exp_alerts": []},
                {"eval_time": "45m", "alertname": "HubPartnerHeldOverAnHour",
                 "exp_alerts": [{"exp_labels": {"partner": "kra-icms", "severity": "warning"}}]},
                {"eval_time": "5m", "alertname": "HubDeadLettersRising", "exp_alerts": []},
                {"eval_time": "20m", "alertname": "HubDeadLettersRising",
                 "exp_alerts": [{"exp_labels": {"recipient": "kentrade", "severity": "warning"}}]},
                {"eval_time": "15m", "alertname": "HubNotConsuming", "exp_alerts": []},
                {"eval_time": "30m", "alertname": "HubNotConsuming",
                 "exp_alerts": [{"exp_labels": {"instance": "a", "severity": "critical"}}]},
                {"eval_time": "30m", "alertname": "HubMetricsAbsent", "exp_alerts": []},
            ],
        }],
    }
    test_file = tmp_path / "alerts-test.yml"
    test_file.write_text(yaml.safe_dump(tests))
    r = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_operators_file_is_never_readable_by_others(env: Env) -> None:
    path = auth.operators_path(env.config)
    assert path.stat().st_mode & 0o077 == 0
    with sqlite3.connect(env.tmp / "hub.db") as conn:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert "console_sessions" not in tables  # sessions are cookies, nothing stored


def test_mask_text_is_what_the_logs_use() -> None:
    assert mask_text(f"{PINS[0]} {PHONE} {NATIONAL_ID}") == "P*********A 07******** ********"
