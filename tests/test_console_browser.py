"""The operations console driven in headless Chromium (Debian's /usr/bin/chromium through Playwright; no
browser is downloaded) against a real ``hub run`` serving it (``console.port``), on a throw-away vhost.

The registry: a clearing agent sending customs entries, the importer it names, iCMS by HTTP webhook (a real
server on loopback that refuses one delivery with HTTP 400, making a dead letter) and KenTrade by AMQP.
An operator logs in; schedules a window for KenTrade in the maintenance calendar and watches KenTrade's held
count rise in the partner table while entries are sent, without the page reloading; finds the dead letter
with its reason and last error and replays it (confirmation page) once iCMS is fixed, and iCMS gets it; finds
a consignment by its container number; cancels the window. No page shows a KRA PIN or phone number in
clear, and no page can be reached without logging in. Every action is in the audit trail with the
operator's name. Screenshots of the main pages (laptop and phone widths) are saved in ``var/screenshots/``
(or ``$HUB_SCREENSHOTS``), printed at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.console.auth import Operators, operators_path
from hub.ids import delivery_id
from hub.provision import webhook_secret_name
from hub.testing import HubUnderTest
from hub.windows import EAT
from tests.conftest import REQUIRE, ROOT, example
from tests.webhook_server import Request, WebhookPartner

pytestmark = [pytest.mark.broker, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("HUB_SCREENSHOTS") or ROOT / "var" / "screenshots")
SENDER, IMPORTER, ICMS, KENTRADE = "mfano-clearing", "mfano-imports", "kra-icms", "kentrade"
PINS = ("P051234567A", "P051234568B")
PHONE = "0712345678"
PASSWORD = "a long operator password"
CONTAINER = "MSCU1234566"
ENTRIES = 24
POISON = "poison-1"


def registry(url: str) -> list[dict[str, Any]]:
    return [
        {"id": SENDER, "name": "Mfano Clearing", "profiles": ["CA"], "sends": ["customs.entry"],
         "identifiers": {"kra_pin": [PINS[0]]}},
        {"id": IMPORTER, "name": "Mfano Imports", "profiles": ["EXIM"], "identifiers": {"kra_pin": [PINS[1]]}},
        {"id": ICMS, "name": "iCMS", "profiles": ["CUS"], "transport": {"kind": "http", "url": url}},
        {"id": KENTRADE, "name": "KenTrade", "profiles": ["KT"]},
    ]


def entry(n: int) -> bytes:
    """The example entry (containers MSCU1234566, MEDU7654325) as consignment n: its own UCR and entry number."""
    doc = json.loads(example("customs.entry", "valid", ".json").read_bytes())
    return json.dumps(dict(doc, ucr=f"26KEP051234568R{n:06d}", declarationId=f"26MBAIM{n:09d}")).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Site:
    def __init__(self, hut: HubUnderTest, web: WebhookPartner, url: str, browser: Any) -> None:
        self.hut, self.web, self.url, self.browser = hut, web, url, browser
        self.fixed = False
        self.shots: list[Path] = []

    def shot(self, page: Any, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)

    def send(self, bodies: list[tuple[bytes, str]], pause: float = 0.0) -> None:
        async def go() -> None:
            async with self.hut.partner(SENDER) as c:
                for i, (body, mid) in enumerate(bodies):
                    await c.publish(body, "customs.entry", content_type="application/json", message_id=mid)
                    if pause and i % 4 == 3:
                        await asyncio.sleep(pause)

        asyncio.run(go())

    def audit(self) -> list[tuple[str, str, str]]:
        import sqlalchemy as sa

        from hub.store import Store, audit_log

        store = Store(self.hut.config.store_url())
        try:
            with store._tx() as conn:
                return [(r.msg_type, r.message_id, r.outcome) for r in conn.execute(
                    sa.select(audit_log).where(audit_log.c.msg_type.like("console.%")).order_by(audit_log.c.seq))]
        finally:
            store.close()


@pytest.fixture(scope="module")
def site(broker: None, tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Iterator[Site]:
    if not Path(CHROMIUM).exists():
        if REQUIRE:
            pytest.fail(f"{CHROMIUM} is required (Debian's chromium; scripts/test installs it)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    try:
        from playwright import sync_api
    except ImportError as exc:
        if REQUIRE:
            pytest.fail(f"Playwright's Python package is required (pip install -e '.[dev]'): {exc}")
        pytest.skip(f"Playwright not installed: {exc}")
    tmp = tmp_path_factory.mktemp("console-browser")
    web = WebhookPartner(secret=b"").start()
    port = free_port()
    hut = HubUnderTest(tmp, secrets_file=secrets_file, partners=registry(web.url), settings={
        "console": {"port": port, "operators_file": str(tmp / "operators.json"), "refresh_seconds": 1.0},
        "delivery": {"retry_base": 0.05, "retry_max": 0.2}})
    pw = browser = None
    try:
        hut.provision()
        web.secret = (hut.secrets.get(webhook_secret_name(ICMS)) or "").encode()
        Operators(operators_path(hut.config)).set_password("alice", PASSWORD)
        hut.start()
        pw = sync_api.sync_playwright().start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        s = Site(hut, web, f"http://127.0.0.1:{port}", browser)

        def decide(r: Request) -> int:
            return 400 if r.key == delivery_id(SENDER, POISON, ICMS) and not s.fixed else 200

        web.decide = decide
        yield s
        print(f"\nconsole screenshots: {SHOTS} ({', '.join(p.name for p in s.shots)})")
    finally:
        if browser is not None:
            browser.close()
        if pw is not None:
            pw.stop()
        hut.close()
        web.stop()


@pytest.fixture(scope="module")
def page(site: Site) -> Iterator[Any]:
    context = site.browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    p = context.new_page()
    p.goto("/login")
    p.fill("input[name=name]", "alice")
    p.fill("input[name=password]", PASSWORD)
    site.shot(p, "login")
    p.click("button[type=submit]")
    p.wait_for_url(re.compile(r"/$"))
    yield p
    context.close()


def wait_until(check: Callable[[], Any], within: float, what: str, every: float = 0.25) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def held_cell(page: Any, partner: str) -> int:
    text = page.inner_text(f'tr[data-partner="{partner}"] td[data-col="held"]')
    return int(text.strip())


def test_no_page_without_logging_in(site: Site) -> None:
    context = site.browser.new_context(base_url=site.url)
    try:
        p = context.new_page()
        for path in ("/", f"/partners/{KENTRADE}", "/windows", "/dlq", "/dlq/1", f"/track?ref={CONTAINER}",
                     "/no-such-page"):
            p.goto(path)
            assert p.url.startswith(site.url + "/login"), (path, p.url)
            assert p.inner_text("h1") == "Operator login"
            assert "data-partner" not in p.content() and "Log in" in p.inner_text("main")
        assert p.request.get("/api/partners").status == 401
        assert p.request.post("/windows", form={"target": KENTRADE}).status == 403
        assert p.request.post("/dlq/action", form={"action": "purge", "id": "1", "confirmed": "yes"}).status == 403
        p.fill("input[name=name]", "alice")
        p.fill("input[name=password]", "not the password")
        p.click("button[type=submit]")
        assert "Wrong name or password" in p.inner_text("main")
    finally:
        context.close()


def test_a_windows_held_count_rises_live_while_messages_are_sent(site: Site, page: Any) -> None:
    page.goto("/windows")
    now = datetime.now(EAT)
    page.select_option("select[name=target]", KENTRADE)
    page.fill("input[name=start]", (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=end]", (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("textarea[name=reason]", f"KenTrade upgrade; duty officer {PHONE}")
    page.click("#add-window button[type=submit]")
    assert re.search(r"window \d+: kentrade .* SHORT NOTICE", page.inner_text(".flash"))
    assert "07********" in page.inner_text("#windows") and PHONE not in page.content()
    site.shot(page, "windows")

    page.goto("/")
    page.evaluate("window.__notReloaded = true")
    page.wait_for_function(f"""() => {{
        const c = document.querySelector('tr[data-partner="{KENTRADE}"] td[data-col="state"]');
        return c && c.textContent.trim() === 'window'; }}""", timeout=20_000)
    assert held_cell(page, KENTRADE) == 0
    sender = threading.Thread(target=site.send, args=(
        [(entry(n), f"e-{n}") for n in range(ENTRIES)] + [(entry(ENTRIES), POISON)], 1.0))
    sender.start()
    seen = [0]
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and seen[-1] < ENTRIES + 1:
        value = held_cell(page, KENTRADE)
        if value != seen[-1]:
            seen.append(value)
        time.sleep(0.2)
    sender.join(30)
    assert seen[-1] >= ENTRIES + 1, seen  # (drain orders waiting in the queues count too: a few at most)
    assert len(set(seen)) >= 3 and seen[-1] == max(seen), f"the held count should rise in steps, saw {seen}"
    assert page.evaluate("window.__notReloaded") is True  # updated by the script, not by a reload
    assert page.inner_text('tr[data-partner="kentrade"] td[data-col="until"]').endswith("EAT")
    assert page.is_visible("#live")
    site.shot(page, "partners")


def test_replay_a_dead_letter(site: Site, page: Any) -> None:
    poison = delivery_id(SENDER, POISON, ICMS)

    def dead_row() -> bool:
        page.goto("/dlq")
        return page.locator("#dlq tbody tr[data-dead]").count() == 1

    wait_until(dead_row, 30, "the dead letter in the console")
    row = page.inner_text("#dlq tbody tr[data-dead]")
    assert ICMS in row and "refused_by_partner" in row and "HTTP 400" in row
    site.shot(page, "dead-letters")
    page.click("#dlq tbody tr[data-dead] a")
    assert "Dead letter" in page.inner_text("h1") and "refused_by_partner" in page.inner_text("main")
    site.shot(page, "dead-letter")
    site.fixed = True  # iCMS is fixed
    page.go_back()
    page.check("#dlq tbody input[name=id]")
    page.click("button[value=replay]")
    assert "Replay 1 dead letter(s)?" in page.inner_text("h1")
    site.shot(page, "dead-letter-confirm")
    assert not [r for r in site.web.accepted() if r.key == poison]  # nothing happens before the confirmation
    page.click("#confirm")
    assert "replaying 1 dead letter(s) in 1 consignment lane(s)" in page.inner_text(".flash")
    wait_until(lambda: [r for r in site.web.accepted() if r.key == poison], 30, "iCMS to get the replayed delivery")
    page.goto("/dlq")
    assert "no dead letters" in page.inner_text("#dlq")
    ops = site.audit()
    assert any(t == "console.dlq-replay" and who == "operator:alice" for t, who, _ in ops), ops
    assert any(t == "console.window-add" and who == "operator:alice" for t, who, _ in ops), ops


def test_find_a_consignment_by_container_number(site: Site, page: Any) -> None:
    page.goto("/track")
    page.fill("input[name=ref]", CONTAINER)
    page.click("#track-form button")
    section = page.locator("section.consignment").first
    text = section.inner_text()
    assert re.search(r"UCR 26KEP051234568R0000\d\d", text) and f"found by {CONTAINER}" in text
    assert "customs.entry" in text and SENDER in text and f"container {CONTAINER}" in text
    assert "P*********A" in text and PINS[0] not in page.content()
    site.shot(page, "track")


def test_no_personal_data_unmasked_on_any_page(site: Site, page: Any) -> None:
    pin, phone = re.compile(r"\b[A-Z]\d{9}[A-Z]\b"), re.compile(r"(?<!\d)(?:\+?254|0)7\d{8}(?!\d)")
    page.goto("/windows?all=1")
    ids = page.eval_on_selector_all("#windows tr[data-window]", "rows => rows.map(r => r.dataset.window)")
    paths = ["/", f"/partners/{KENTRADE}", f"/partners/{ICMS}", "/windows", "/windows?all=1", "/dlq",
             f"/track?ref={CONTAINER}", "/track?ref=26KEP051234568R000003"]
    for path in paths:
        page.goto(path)
        html, text = page.content(), page.inner_text("body")
        for raw in (*PINS, PHONE):
            assert raw not in html, (path, raw)
        assert not pin.search(text) and not phone.search(text), path
    assert ids


def test_cancel_the_window_and_the_backlog_drains(site: Site, page: Any) -> None:
    page.goto("/windows")
    page.once("dialog", lambda d: d.accept())
    page.click('#windows tr[data-state="active"] button')
    assert re.search(r"window \d+ \(kentrade\) cancelled", page.inner_text(".flash"))
    page.goto("/")
    page.wait_for_function(f"""() => {{
        const c = document.querySelector('tr[data-partner="{KENTRADE}"] td[data-col="held"]');
        return c && c.textContent.trim() === '0'; }}""", timeout=30_000)

    def delivered() -> bool:
        page.goto(f"/partners/{KENTRADE}")
        cells = page.eval_on_selector_all("#throughput tbody tr td:nth-child(2)", "cs => cs.map(c => c.textContent)")
        return sum(int(c) for c in cells) >= ENTRIES

    wait_until(delivered, 20, "the drained deliveries in the throughput history", every=1.0)
    assert page.locator("svg.chart rect.bar").count() >= 1
    site.shot(page, "partner")
    ops = site.audit()
    assert any(t == "console.window-cancel" and who == "operator:alice" for t, who, _ in ops), ops
    phone = site.browser.new_context(base_url=site.url, viewport={"width": 390, "height": 844}, is_mobile=True,
                                     storage_state=page.context.storage_state())
    try:
        p = phone.new_page()
        for path, name in (("/", "phone-partners"), ("/dlq", "phone-dead-letters"), (f"/partners/{KENTRADE}",
                                                                                       "phone-partner")):
            p.goto(path)
            assert p.evaluate("document.documentElement.scrollWidth") <= 400  # no sideways page scroll
            site.shot(p, name)
    finally:
        phone.close()
