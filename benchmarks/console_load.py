"""Console load benchmark: how long the console's pages take with 1,000 partners and 100,000 held deliveries
("the console's pages load in under a second with 1,000 partners and 100,000 held messages"). No broker.

Set-up (synthetic, deterministic): the registry of benchmarks/registry_scale.py at 1,000 partners (every one of
them checked by ``load_config``), and a store (SQLite file, or PostgreSQL with ``--postgres``) holding:

  - 100,000 rows in ``delivery_held``: 97,770 deliveries waiting for 300 partners (the first 30 with 1,000
    each, the others 251), in consignment lanes of 20: each lane's head being retried, the rest parked behind
    it; and 2,230 dead letters (their last errors quote a KRA PIN and a phone number, masked on the page);
  - the running hubs' snapshots: two hub processes reporting every partner (what ``hub status`` reads), with
    60,000 more deliveries waiting in the ``hub.out`` queues of 100 partners in a window;
  - 100 maintenance windows, and the example consignment's life (for the track page).

The management API points at a closed port (the figures then come from the store and the snapshots, as when
the hubs report). Measured, each as the median and the largest of ``--runs`` requests (after one warm-up):

  figures     ``hub.delivery.ops.status`` plus the snapshot read: what the console's thread does every
              ``console.refresh_seconds`` (pages never wait for it, but the first request after start does)
  pages       each page through the real HTTP server (wsgiref in threads, httpx as the client, logged in):
              partners (1,000 rows), the live table's JSON, one partner with its chart, the windows,
              the dead letters (2,230: the oldest 500 listed), one partner's dead letters, one dead letter,
              the confirmation page of a replay of 500, the track page

Usage: .venv/bin/python benchmarks/console_load.py [--runs 10] [--postgres] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import yaml  # noqa: E402

from benchmarks.registry_scale import partner_entries, write_config  # noqa: E402
from hub.config import HubConfig, load_config  # noqa: E402
from hub.delivery.records import DEAD, PARKED, RETRY, Snapshot, held_t, lanes_t  # noqa: E402
from hub.store import Store  # noqa: E402

PARTNERS = 1000
HELD = 100_000
DEAD_LETTERS = 2_000  # at least; the rounding of the per-partner counts adds 230
QUEUED = 60_000
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def make_config(tmp: Path, store_url: str) -> HubConfig:
    directory = write_config(tmp / "config", partner_entries(PARTNERS))
    settings = yaml.safe_load((directory / "hub.yaml").read_text())
    settings["store"] = {"url": store_url}
    settings["secrets_file"] = str(tmp / "secrets.json")
    settings["audit"]["head_file"] = str(tmp / "audit-head.json")
    settings["broker"] = {"management_url": "http://127.0.0.1:1"}
    settings["console"] = {"operators_file": str(tmp / "operators.json"), "refresh_seconds": 60}
    (directory / "hub.yaml").write_text(yaml.safe_dump(settings))
    return load_config(directory, env={})


def fill(store: Store, config: HubConfig) -> dict[str, Any]:
    from hub.delivery.records import DeliveryRecords

    ids = [p.id for p in config.partners]
    holders = ids[:300]
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    lanes: list[dict[str, Any]] = []
    per = {p: (1000 if i < 30 else (HELD - DEAD_LETTERS - 30_000) // 270) for i, p in enumerate(holders)}
    n = 0
    for p, count in per.items():
        for k in range(count):
            lane = f"ucr:26KEP0512345{n // 20:08d}"
            head = k % 20 == 0
            kind = RETRY if head else PARKED
            if head:
                lanes.append({"partner": p, "lane": lane, "partition": n % 4, "state": "blocked", "since": now})
            rows.append({"partner": p, "lane": lane, "partition": n % 4, "message_id": f"m-{n}", "kind": kind,
                         "sender": ids[-1], "correlation_id": f"c-{n}", "msg_type": "customs.entry",
                         "content_type": "application/json", "headers": "{}", "body": b"x" * 200,
                         "queued_at": now - timedelta(seconds=n % 7200), "at": now, "attempts": 1 if head else 0,
                         "reason": None, "last_error": "HTTP 503" if head else None})
            n += 1
    for d in range(HELD - len(rows)):
        p = holders[d % 300]
        lane = f"ucr:26KEP0599999{d:08d}"
        lanes.append({"partner": p, "lane": lane, "partition": d % 4, "state": "dead", "since": now})
        rows.append({"partner": p, "lane": lane, "partition": d % 4, "message_id": f"d-{d}", "kind": DEAD,
                     "sender": ids[-1], "correlation_id": f"cd-{d}", "msg_type": "customs.entry",
                     "content_type": "application/json", "headers": "{}", "body": b"x" * 200,
                     "queued_at": now - timedelta(hours=2), "at": now, "attempts": 10,
                     "reason": "attempts_exhausted",
                     "last_error": "HTTP 400: declarant P051234567A unknown; call 0712345678"})
    with store._tx() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(held_t.insert(), rows[i:i + 5000])
        for i in range(0, len(lanes), 5000):
            conn.execute(lanes_t.insert(), lanes[i:i + 5000])
    records = DeliveryRecords(store)
    windowed = ids[300:400]
    snaps = [Snapshot(p, proc, "window" if p in windowed else "up", ("window",) if p in windowed else (),
                      5 if p in windowed else 0, QUEUED // 100 if p in windowed else 0, 0, now - timedelta(hours=1),
                      40.0, 1000, now) for p in ids for proc in ("hub-a:1", "hub-b:2")]
    records.put_snapshots(snaps)
    for w in range(100):
        start = now + timedelta(hours=w - 50)
        records.add_window(ids[300 + w], start, start + timedelta(hours=60), emergency=False, short_notice=True,
                           reason=f"window {w}", announced_at=now - timedelta(days=1))
    seed_consignment(store, config)
    stored = sum(1 for r in rows if r["kind"] != DEAD)
    return {"partners": len(ids), "held_in_store": stored, "dead_letters": len(rows) - stored,
            "held_in_queues": QUEUED, "partners_holding": len(holders), "windows": 100}


def seed_consignment(store: Store, config: HubConfig) -> None:
    """The example consignment's life, as tests/test_console.py records it."""
    from hub.catalogue import Catalogue
    from hub.client import content_type_for
    from hub.routing import RoutingTable
    from hub.store import AcceptedRow
    from hub.timeline import observe

    life = [("kentrade", "ucr.issued/valid/26kep0512345680000412.xml", "ucr.issued"),
            ("kentrade", "idf/valid/tiles-e2600412743.xml", "idf"),
            ("mfano-clearing", "customs.entry/valid/26mbaim000412871.json", "customs.entry")]
    table, catalogue = RoutingTable.from_config(config), Catalogue()
    rows, observations = [], []
    for sender, rel, msg_type in life:
        data = (ROOT / "examples" / rel).read_bytes()
        body = catalogue.decode(data, content_type_for(Path(rel).name, data), msg_type)
        obs = observe(body, body.keys(), sender, rel, datetime.now(UTC), table.partner_of)
        if obs is not None:
            rows.append(AcceptedRow(sender, rel, "a" * 64, msg_type, body.keys().ucr, ()))
            observations.append(obs)
    store.commit_batch(rows, [], correlation=observations)


def timed(fn: Any, runs: int) -> dict[str, float]:
    fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return {"median_ms": round(statistics.median(samples), 1), "max_ms": round(max(samples), 1)}


def run(opt: argparse.Namespace) -> dict[str, Any]:
    import re

    from hub.console.app import serve_console
    from hub.console.auth import Operators, operators_path
    from hub.delivery.ops import status
    from hub.delivery.records import DeliveryRecords
    from hub.secrets import Secrets

    doc: dict[str, Any] = {"python": platform.python_version(), "machine": f"{os.cpu_count()} cores",
                           "runs": opt.runs}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        admin = None
        if opt.postgres:
            import psycopg

            dbname = f"hubbench_{uuid.uuid4().hex[:8]}"
            admin = psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True)
            admin.execute(f'CREATE DATABASE "{dbname}"')
            url = PG + dbname
        else:
            url = f"sqlite:///{tmp / 'hub.db'}"
        try:
            started = time.perf_counter()
            config = make_config(tmp, url)
            doc["load_config_s"] = round(time.perf_counter() - started, 2)
            store = Store(config.store_url())
            store.migrate()
            started = time.perf_counter()
            doc["data"] = fill(store, config)
            doc["store"] = store.engine.dialect.name
            doc["fill_s"] = round(time.perf_counter() - started, 1)
            Secrets(config.secrets_path(), env={}).ensure(config.settings.broker.user)
            Operators(operators_path(config)).set_password("bench", "a long benchmark password")
            records = DeliveryRecords(store)
            from hub.clock import SystemClock

            clock = SystemClock()
            doc["figures"] = timed(lambda: (status(config, records, clock), records.snapshots()), opt.runs)
            console = serve_console(config, clock, port=0, store=store, start_figures=False)
            try:
                reading = console.app.data.figures.refresh()
                doc["check"] = {"rows": len(reading.views), "held": sum(v.held for v in reading.views),
                                "dead": sum(v.dead_letters for v in reading.views)}
                client = httpx.Client(base_url=f"http://127.0.0.1:{console.port}", timeout=60)
                form = client.get("/login")
                token = re.search(r'name="csrf" value="([^"]+)"', form.text)
                assert token is not None
                r = client.post("/login", data={"csrf": token.group(1), "name": "bench",
                                                "password": "a long benchmark password"})
                assert r.status_code == 303, r.status_code
                csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
                assert csrf is not None
                busiest = config.partners[0].id
                first_dead = console.app.data.dead_letters(None, 1)[0][0].id
                dead_ids = [str(d.id) for d in console.app.data.dead_letters(None, 500)[0]]
                pages: dict[str, Any] = {}
                checks = {
                    "partners  /": lambda: client.get("/"),
                    "live JSON /api/partners": lambda: client.get("/api/partners"),
                    f"partner   /partners/{busiest}": lambda: client.get(f"/partners/{busiest}"),
                    "windows   /windows?all=1": lambda: client.get("/windows?all=1"),
                    "dead      /dlq": lambda: client.get("/dlq"),
                    f"dead      /dlq?partner={busiest}": lambda: client.get(f"/dlq?partner={busiest}"),
                    f"dead      /dlq/{first_dead}": lambda: client.get(f"/dlq/{first_dead}"),
                    "confirm   replay 500": lambda: client.post("/dlq/action", data={
                        "csrf": csrf.group(1), "action": "replay", "id": dead_ids}),
                    "track     /track?ref=MSCU1234566": lambda: client.get("/track?ref=MSCU1234566"),
                }
                for name, call in checks.items():
                    resp = call()
                    assert resp.status_code == 200, (name, resp.status_code)
                    assert "P051234567A" not in resp.text and "0712345678" not in resp.text, name
                    pages[name] = timed(call, opt.runs) | {"kib": round(len(resp.content) / 1024, 1)}
                doc["pages"] = pages
                client.close()
            finally:
                console.close()
            store.close()
        finally:
            if admin is not None:
                admin.execute(f'DROP DATABASE "{dbname}" WITH (FORCE)')
                admin.close()
    return doc


def report(doc: dict[str, Any]) -> str:
    d = doc["data"]
    out = [f"console load: {d['partners']} partners, {d['held_in_store'] + d['held_in_queues']:,} held "
           f"({d['held_in_store']:,} in the store over {d['partners_holding']} partners, {d['held_in_queues']:,} "
           f"in hub.out queues per the hubs' snapshots), {d['dead_letters']:,} dead letters, {d['windows']} windows; "
           f"store {doc['store']}; Python {doc['python']}, {doc['machine']}; median / max of {doc['runs']} runs",
           f"  (load_config {doc['load_config_s']} s, fill {doc['fill_s']} s; the figures show "
           f"{doc['check']['rows']} partners, {doc['check']['held']:,} held, {doc['check']['dead']:,} dead)",
           f"  {'figures (status + snapshots, background thread)':<48} {doc['figures']['median_ms']:>8} ms "
           f"{doc['figures']['max_ms']:>8} ms"]
    for name, v in doc["pages"].items():
        out.append(f"  {name:<48} {v['median_ms']:>8} ms {v['max_ms']:>8} ms  {v['kib']:>7} KiB")
    worst = max(v["max_ms"] for v in doc["pages"].values())
    out.append(f"  slowest page: {worst} ms ({'under' if worst < 1000 else 'OVER'} one second)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--postgres", action="store_true", help="on PostgreSQL (127.0.0.1:5432, user postgres)")
    parser.add_argument("--json", action="store_true")
    opt = parser.parse_args(argv)
    doc = run(opt)
    print(json.dumps(doc, indent=1) if opt.json else report(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
