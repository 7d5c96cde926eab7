"""``hub bench [--quick] [--json] [--profile]``: the hub's throughput beside bare aio-pika forwarders, in one
invocation, against the local RabbitMQ, on quorum queues and the same message mix (issue 7).

Everything runs on one throw-away vhost (``hubbench-<id>``: the example registry of ``config/`` provisioned into
it, partner users with that vhost's permissions) and, for ``--quick`` and the full run, a throw-away PostgreSQL
database as the hubs' store (the store of several hubs; SQLite if PostgreSQL does not answer): both deleted at
the end, also on failure and on Ctrl-C. The hub is real ``hub run`` child processes (hub.testing), the load
the partners' own clients (hub.client), the counts the broker's (hub.bench_broker). In this order:

  prime        ucr.issued, a manifest and a permit for every consignment of the mix (hub.bench_mix), so that the
               parties are known: releases and payments are routed at once (not parked ``pending``), and every
               message of a kind makes the same deliveries
  calibrate    one message of each kind; every inbox read back, so each kind's deliveries per recipient are
               known; every kind must be acknowledged ``accepted``
  hub          the main run, 1 process: N messages of the mix published as fast as the senders' confirms allow;
               timed until every acknowledgement is in its sender's acks queue and every delivery in its
               recipient's inbox (queue totals: declare-ok/purge-ok counts, in real time)
  publishes    the management API's per-queue ``message_stats.publish`` before and after the main run (waited
               for until they agree with the queue totals): publishes into hub.out.*, partner.*.inbox,
               partner.*.acks (and quarantine, dead letters) per inbound message
  latency      a paced publisher offering 1,000 messages/s; publish -> the sender's acknowledgement
  rss          VmRSS of the hub process after priming and calibration, and after the runs above (full: after
               200,000 more messages); read again after the large manifests and the drain
  large, sizes 1 MB manifests; manifests of 1.5 KB to just under 5 MiB
  drain        a window for one recipient (kma), a backlog sent while it is active, the window ended by the
               hub's file clock (HUB_CLOCK_FILE): the drain rate (unlimited) and how far the ETA ``hub status
               --json`` showed at the end was from the real drain time; measured on the second window, after a
               first (smaller) one, reported as ``drain.first_window``, let the hub measure its delivery capacity
  processes    the main run again with 2 ``hub run`` processes started together (single-active-consumer queues
               are taken by one process each), with each one's CPU seconds
  baselines    (hubs stopped) a bare aio-pika forwarder consuming a quorum queue pre-filled with the same mix
               bytes and publishing per inbound message as many persistent copies, with confirms, as the main
               run made publishes per inbound message: one message at a time, and batched (100); and both with
               one publish per message (the setting of DESIGN.md section 6)
  routing      benchmarks/registry_scale.py (routing alone with 10, 100 and 1,000 partners, 10,000 rules),
               run as it is (``--quick --no-postgres`` for --quick)

``hub.msgs_per_s`` is end to end (acknowledged AND delivered into the inboxes), so that the hub has made all
the publishes the baselines make; ``ingest_msgs_per_s`` stops at the last acknowledgement (deliveries then
queued in hub.out). ``ratio`` = hub.msgs_per_s / baseline.msgs_per_s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from hub import bench_mix as mx
from hub.bench_broker import delta, forward, settled_stats
from hub.bench_hub import HubBench, RunResult
from hub.bench_profile import Profile
from hub.bench_report import LATENCY_RATE, rate_line, summarise_routing
from hub.testing import ROOT

REGISTRY_SCALE = ROOT / "benchmarks" / "registry_scale.py"
RESULTS = ROOT / "bench-results"  # git-ignored
PROFILE_RAW = RESULTS / "hub_bench-py-spy.txt"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Options:
    """Sizes of the runs. ``full()`` is the issue's (about an hour here); ``quick_()`` the same keys from
    smaller runs (about 70 s on this idle 2-core machine, under two minutes with the test suite running beside
    it); ``tiny()`` the test's (tests/test_bench.py: SQLite store, no registry_scale, about 30 s)."""

    name: str
    consignments: int
    messages: int  # the main run, and the run with 2 processes
    latency_seconds: float
    rss_messages: int  # 0: the rss figures span the runs made by the first process
    drain_messages: int
    first_drain_messages: int  # the backlog of an earlier window (the hub's first drain)
    large_messages: int
    sweep: tuple[tuple[int, int], ...]  # (target bytes, messages)
    partitions: int
    store: str = "postgres"  # the store of several hubs (README); sqlite: the default config's file
    routing: bool = True
    routing_args: tuple[str, ...] = ("--quick", "--no-postgres")
    warmup: int = 100

    @property
    def quick(self) -> bool:
        return self.name != "full"

    @staticmethod
    def full() -> Options:
        return Options("full", consignments=2000, messages=20_000, latency_seconds=30, rss_messages=200_000,
                       drain_messages=100_000, first_drain_messages=5_000, large_messages=100,
                       sweep=((1_000, 2000), (10_000, 1000), (100_000, 300), (1_000_000, 30), (5 * MiB - 65_536, 5)),
                       partitions=4, routing_args=(), warmup=1000)

    @staticmethod
    def quick_() -> Options:
        return Options("quick", consignments=80, messages=800, latency_seconds=0.4, rss_messages=0,
                       drain_messages=2_000, first_drain_messages=1_500, large_messages=2,
                       sweep=((1_000, 40), (10_000, 20), (100_000, 8), (1_000_000, 1), (5 * MiB - 65_536, 1)),
                       partitions=2, warmup=0)

    @staticmethod
    def tiny() -> Options:
        return Options("tiny", consignments=10, messages=60, latency_seconds=0.1, rss_messages=0,
                       drain_messages=30, first_drain_messages=30, large_messages=1,
                       sweep=((1_000, 5), (100_000, 1)), partitions=2,
                       routing=False, warmup=10, store="sqlite")


@dataclass
class Bench:
    opt: Options
    say: Callable[[str], None] = lambda _m: None
    doc: dict[str, Any] = field(default_factory=dict)
    vhost: str | None = None
    profile: bool = False  # py-spy on the hub process during the main run (hub.bench_profile)

    async def run(self) -> dict[str, Any]:
        t_all = time.monotonic()
        opt = self.opt
        doc = self.doc
        doc.update({"benchmark": "hub bench", "quick": opt.quick, "options": opt.name, "cores": os.cpu_count(),
                    "machine": {"python": platform.python_version(), "platform": platform.platform(),
                                "loadavg_start": os.getloadavg()}})
        store_url, db = None, None
        if opt.store == "postgres":
            db, reason = await asyncio.to_thread(create_database)
            if db is None:
                self.say(f"PostgreSQL unavailable ({reason}): the store is SQLite")
            store_url = PG_URL.format(db=db) if db else None
        doc["store"] = "postgresql" if store_url else "sqlite"
        try:
            with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
                bench = HubBench(Path(tmp), partitions=opt.partitions, store_url=store_url, say=self.say)
                self.vhost = bench.vhost
                doc["vhost"] = bench.vhost
                try:
                    await self._hub_runs(bench)
                    await self._baselines(bench)
                finally:
                    await bench.close()
            doc["vhost_deleted"] = True
        finally:
            if db:
                await asyncio.to_thread(drop_database, db)
        doc["routing"] = await asyncio.to_thread(self._routing)
        doc["machine"]["loadavg_end"] = os.getloadavg()
        doc["seconds"] = round(time.monotonic() - t_all, 1)
        return doc

    # ------------------------------------------------------------ the hub

    async def _hub_runs(self, bench: HubBench) -> None:
        opt, doc, say = self.opt, self.doc, self.say
        t = time.monotonic()
        await bench.open()
        say(f"vhost {bench.vhost} provisioned, hub started ({time.monotonic() - t:.1f} s)")
        mix = mx.Mix(opt.consignments)
        prime = await bench.prime(mix)
        cal = await bench.calibrate(mix, [mx.generated(1_000, "BCAL1")])
        offset = 0
        warmup = 0
        if opt.warmup:  # priming and calibration have run every kind already
            warmup = (await bench.load(mix.run(opt.warmup, offset), "warm-up")).messages
            offset += opt.warmup
        say(f"primed {opt.consignments} consignments ({prime} messages); calibrated: {cal['deliveries_per_kind']}; "
            f"warm-up {warmup} messages")
        rss_start, cpu_start, handled_from = bench.rss(), bench.cpu_seconds(), bench.sent
        mgmt = bench.hut.management()
        try:
            inboxes, acks = bench.inboxes, bench.acks
            assert inboxes is not None and acks is not None
            await inboxes.poll()
            await acks.poll()
            known = (bench.sent, inboxes.total(), acks.total())
            before = await asyncio.to_thread(settled_stats, mgmt, 1.0, 30.0, _agrees(*known))
            docs = mix.run(opt.messages, offset)
            offset += opt.messages
            spy = None
            if self.profile:
                PROFILE_RAW.parent.mkdir(parents=True, exist_ok=True)
                spy = Profile(bench.pid, PROFILE_RAW)
            main = await bench.load(docs, "main")
            if spy is not None:
                doc["profile"] = await asyncio.to_thread(spy.stop)
            say(f"hub, 1 process: {rate_line(main)}")
            known = (bench.sent, inboxes.total(), acks.total())
            after = await asyncio.to_thread(settled_stats, mgmt, 1.0, 30.0, _agrees(*known))
        finally:
            mgmt.close()
        doc["mix"] = {"group": list(mx.GROUP), "kinds": {k: vars(mx.KINDS[k]) for k in mx.MIX_KINDS},
                      "sizes": mx.sizes_of(docs), "consignments": opt.consignments, **cal}
        broker = _broker_publishes(before, after, main)
        hub = main.as_dict()
        hub["broker"] = broker
        doc["hub"] = hub
        doc["publishes_per_msg"] = broker["publishes_per_msg"]
        doc["fanout"] = hub["fanout"]
        doc["messages"] = {"main": opt.messages, "primed": prime, "warmup": warmup}

        lat_docs = mix.run(max(1, round(LATENCY_RATE * opt.latency_seconds)), offset)
        offset += len(lat_docs)
        lat = await bench.latency(lat_docs, LATENCY_RATE, "latency")
        say(f"latency at {LATENCY_RATE:.0f}/s offered: p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms")
        doc["latency_ms"] = lat

        if opt.rss_messages:
            rss_docs = mix.run(opt.rss_messages, offset)
            offset += opt.rss_messages
            r = await bench.load(rss_docs, "rss", timeout=7200)
            doc["rss_run"] = r.as_dict()
            say(f"rss run: {rate_line(r)}")
        # read before the large manifests: decoding 5 MB raises the allocator's high-water mark for good, which
        # would hide a slow leak of the mix (the reading after them is given too)
        cpu_end = bench.cpu_seconds()
        doc["rss_mb"] = {"start": rss_start, "end": bench.rss(), "messages": bench.sent - handled_from,
                         "hub_cpu_seconds": round(cpu_end - cpu_start, 1) if cpu_end and cpu_start else None,
                         "pid": bench.pid, "measured": "VmRSS of the first hub process (/proc/<pid>/status) after "
                         "priming and calibration, and after the mix's messages counted here (main, latency, rss runs)"}
        say(f"rss {rss_start} -> {doc['rss_mb']['end']} MB over {doc['rss_mb']['messages']} messages")

        large_docs = [mx.generated(1_000_000, f"BL{i:06d}") for i in range(opt.large_messages)]
        large = await bench.load(large_docs, "large", timeout=1800)
        say(f"1 MB manifests: {rate_line(large)}")
        doc["large"] = {**large.as_dict(), "bytes_each": len(large_docs[0].body)}

        sweep = []
        for target, n in opt.sweep:
            sdocs = [mx.generated(target, f"BS{target % 9_999_991:07d}{i:04d}"[:17]) for i in range(n)]
            r = await bench.load(sdocs, f"size-{target}", timeout=1800)
            sweep.append({"target_bytes": target, "bytes": len(sdocs[0].body), **r.as_dict()})
            say(f"  {len(sdocs[0].body):>9,} B x {n}: {rate_line(r)}")
        doc["size_sweep"] = sweep

        # the drains, in the process that has run everything above: the ETA's rate is what this hub measured
        # delivering. A first window, when no backlog has ever been big enough to measure the hub's delivery
        # capacity, shows an ETA from the rate deliveries arrived at (a lower bound of the capacity), then the
        # window measured: a hub that has drained once (iCMS's windows recur)
        first_docs = mix.run(opt.first_drain_messages, offset)
        offset += opt.first_drain_messages
        first = await bench.drain(first_docs, "first-drain-backlog")
        say(f"first window's drain: {first['msgs_per_s']}/s, ETA error {first['eta_error']}")
        drain_docs = mix.run(opt.drain_messages, offset)
        offset += opt.drain_messages
        doc["drain"] = await bench.drain(drain_docs)
        doc["drain"]["first_window"] = first
        say(f"drain: {doc['drain']['msgs_per_s']}/s, ETA error {doc['drain']['eta_error']}")
        doc["rss_mb"]["after_large_and_drain"] = bench.rss()

        await asyncio.to_thread(bench.stop_all)
        pids = await bench.start(2)
        cpu0 = [bench.cpu_seconds(p) for p in pids]
        two = await bench.load(mix.run(opt.messages, offset), "two-processes")
        cpu1 = [bench.cpu_seconds(p) for p in pids]
        offset += opt.messages
        say(f"hub, 2 processes: {rate_line(two)}")
        # how the work was shared out (single active consumer: each queue is taken by one of them)
        shares = [round(b - a, 2) if a is not None and b is not None else None for a, b in zip(cpu0, cpu1, strict=True)]
        doc["hub_processes"] = {"1": {"msgs_per_s": hub["msgs_per_s"], "messages": main.messages},
                                "2": {**two.as_dict(), "pids": pids, "cpu_seconds_per_process": shares}}
        await asyncio.to_thread(bench.stop_all)

        doc["messages"]["total_sent"] = bench.sent

    # ------------------------------------------------------------ the baselines

    async def _baselines(self, bench: HubBench) -> None:
        doc, say = self.doc, self.say
        per_message = doc["publishes_per_msg"]
        bodies = [d.body for d in mx.Mix(self.opt.consignments).run(self.opt.messages, 0)]
        one = await forward(bench.admin_url(), bodies, per_message, batch=1, name="one")
        doc["baseline"] = one.as_dict(per_message)
        say(f"baseline, one at a time: {doc['baseline']['msgs_per_s']}/s")
        batched = await forward(bench.admin_url(), bodies, per_message, batch=100, name="batched")
        doc["baseline_batched"] = batched.as_dict(per_message)
        say(f"baseline, batched: {doc['baseline_batched']['msgs_per_s']}/s")
        # the forwarders of DESIGN.md section 6 as they were measured there (one publish per message), on the
        # same bytes: what the broker and aio-pika give here and now, beside the figures above
        single = {}
        for label, batch in (("one_at_a_time", 1), ("batched", 100)):
            r = await forward(bench.admin_url(), bodies, 1.0, batch=batch, name=f"single-{label}")
            single[label] = r.as_dict(1.0)["msgs_per_s"]
        doc["baseline_one_publish_per_msg"] = {**single, "messages": len(bodies)}
        say(f"forwarders with 1 publish per message: {single}")
        hub_rate = doc["hub"]["msgs_per_s"]
        doc["ratio"] = round(hub_rate / doc["baseline"]["msgs_per_s"], 3) if hub_rate else None
        doc["ratio_batched"] = round(hub_rate / doc["baseline_batched"]["msgs_per_s"], 3) if hub_rate else None
        doc["same_invocation"] = {"pid": os.getpid(), "vhost": bench.vhost,
                                  "runs": ["hub", "baseline", "baseline_batched"]}

    # ------------------------------------------------------------ routing (benchmarks/registry_scale.py)

    def _routing(self) -> dict[str, Any]:
        placeholder: dict[str, Any] = {"see": "benchmarks/registry_scale.py", "partners": None, "rules_10k": None}
        if not self.opt.routing:
            return {**placeholder, "skipped": "not run with these options"}
        if not REGISTRY_SCALE.exists():
            return {**placeholder, "skipped": "benchmarks/registry_scale.py does not exist yet"}
        self.say("routing: benchmarks/registry_scale.py " + " ".join(self.opt.routing_args))
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, "-m", "benchmarks.registry_scale", "--json", *self.opt.routing_args],
                           cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False)
        if r.returncode != 0:
            return {**placeholder, "error": r.stderr[-2000:]}
        return {"see": "benchmarks/registry_scale.py", "args": list(self.opt.routing_args),
                "seconds": round(time.monotonic() - t0, 1), **summarise_routing(json.loads(r.stdout))}


def _agrees(sent: int, inbox_total: int, acks_total: int) -> Callable[[dict[str, Any]], bool]:
    """The management API's counters have caught up with what the queue totals counted."""

    def check(stats: dict[str, Any]) -> bool:
        q = stats["queues"]
        return bool(sum(v for n, v in q.items() if n.startswith("hub.in.")) == sent
                and sum(v for n, v in q.items() if n.endswith(".inbox")) == inbox_total
                and sum(v for n, v in q.items() if n.endswith(".acks") and n.startswith("partner.")) == acks_total)

    return check


def _broker_publishes(before: dict[str, Any], after: dict[str, Any], run: RunResult) -> dict[str, Any]:
    """The main run's publishes by the broker's own counters (management API), against the queue totals."""
    n = run.messages
    inbound = delta(after, before, lambda q: q.startswith("hub.in."))
    out = delta(after, before, lambda q: q.startswith("hub.out."))
    inbox = delta(after, before, lambda q: q.startswith("partner.") and q.endswith(".inbox"))
    acks = delta(after, before, lambda q: q.startswith("partner.") and q.endswith(".acks"))
    other = delta(after, before, lambda q: q in ("hub.quarantine", "hub.dead", "hub.acks.dropped"))
    hub_publishes = out + inbox + acks + other
    vhost = after["vhost_publish"] - before["vhost_publish"]
    return {
        "source": "management API message_stats.publish per queue, before and after the main run",
        "settled": bool(before.get("settled") and after.get("settled")),
        "inbound": inbound, "hub_out": out, "inbox": inbox, "acks": acks, "quarantine_dead": other,
        "hub_publishes": hub_publishes,
        "publishes_per_msg": round(hub_publishes / n, 3) if n else None,
        "vhost_publishes": vhost,
        "vhost_publishes_per_msg": round((vhost - inbound) / n, 3) if n else None,
        "agrees_with_queue_totals": inbound == n and inbox == run.deliveries and acks == run.acks and out == inbox,
    }


PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{db}"


def create_database() -> tuple[str | None, str | None]:
    """A throw-away PostgreSQL database for the hubs' store (the server of the tests); (name, None) or
    (None, why not)."""
    import uuid

    import psycopg

    name = f"hubbench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        return None, f"{type(exc).__name__}: {str(exc)[:200]}"
    return name, None


def drop_database(name: str) -> None:
    import psycopg

    with contextlib.suppress(psycopg.Error), psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def delete_vhost(vhost: str, base: str = "http://127.0.0.1:15672", auth: tuple[str, str] = ("guest", "guest"),
                 within: float = 120.0) -> bool:
    """The vhost and everything in it, for a run that failed or was interrupted: retried while the management
    API does not answer (a broker restarting), for up to ``within`` seconds. True once it is gone."""
    from urllib.parse import quote

    deadline = time.monotonic() + within
    while True:
        with contextlib.suppress(httpx.HTTPError):
            r = httpx.delete(f"{base}/api/vhosts/{quote(vhost, safe='')}", auth=auth, timeout=30)
            if r.status_code in (204, 404):
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(2.0)


def run_bench(opt: Options, say: Callable[[str], None] = lambda _m: None, *, profile: bool = False) -> dict[str, Any]:
    """Run the bench; the vhost is deleted whatever happens (also on KeyboardInterrupt)."""
    bench = Bench(opt, say, profile=profile)
    try:
        return asyncio.run(bench.run())
    finally:
        if bench.vhost and not bench.doc.get("vhost_deleted") and not delete_vhost(bench.vhost):
            say(f"could not delete vhost {bench.vhost}: delete it with the management API")
