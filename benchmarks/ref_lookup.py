"""Reference lookup benchmark: how long finding a consignment by each kind of reference takes, with N
consignments (default 1,000,000) in SQLite and in PostgreSQL.

The operation is the one ``hub track REF`` and the partner API perform: ``Store.resolve(ref)`` (a reference of
any kind -> UCRs), then ``Store.consignment(ucr)`` for each UCR found (events, with the vessel-level events of
the consignment's vessel call, parties and references). Both are called on one long-lived ``Store`` (a warm
connection pool, as in the partner API; ``hub track`` also pays for opening the store).

Steps, per backend:
  1 a fresh store: an SQLite file in a temporary directory, or the PostgreSQL database ``hub_bench`` dropped
    and created again; ``Store(url).migrate()`` (the hub's own Alembic migrations, indexes included)
  2 bulk load of N synthetic consignments (below), indexes in place: SQLite ``executemany`` through a plain
    sqlite3 connection, one transaction per 10,000 consignments, ``synchronous=OFF`` while loading;
    PostgreSQL ``COPY FROM STDIN`` through psycopg, one transaction per 10,000 consignments, then
    ``VACUUM ANALYZE`` of the three tables (what autovacuum would do soon after). SQLite gets no ANALYZE (the
    hub never runs it).
  3 lookups, all kinds interleaved in random order after 200 warm-up lookups: ``--lookups`` random existing
    values of each kind (one random container of a consignment for ``container``) plus as many misses
    (well-formed values of every shape that exist nowhere). For each: the time of ``resolve`` alone and of
    ``resolve`` + ``consignment`` ("track"), and whether the UCRs found are exactly the expected one and the
    consignment read carries the reference (a wrong answer is counted, never timed away).
  4 vessel calls separately (each names ~500 consignments): ``--vessel-lookups`` random calls, resolve alone
    and resolve + the ~500 consignment reads.
  5 query plans: the SELECT statements ``Store.resolve`` and ``Store.consignment`` really issue (captured with
    a SQLAlchemy cursor event, so a change to hub/store.py is measured as it is), explained with the values of
    one lookup of each kind: ``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN (ANALYZE, FORMAT JSON)`` on PostgreSQL
    (rows read and removed by a filter, too). Verdict: whether every statement finds its rows through an index.

Synthetic consignments, deterministic for a seed: 80 % sea, 20 % air. Each has a UCR (EAC form), an IDF
number, an iCMS entry number, a payment registration number (PRN), an insurance certificate; sea: a master and
a house bill of lading, 1 to 3 ISO 6346 container numbers (valid check digits), an e-seal id for half of them,
and a vessel call (IMO/voyage) shared with 400 to 600 others; air: an AWB and a master AWB (valid mod-7 check
digits); a permit number for 30 %. 8 to 12 events (ucr.issued ... gate and e-seal events; for sea the manifest
event carries the vessel call) and 3 to 5 parties; each vessel call also has two vessel-level events (arrival
report, bayplan) without a UCR, as the hub records them. Rows of a chunk are inserted in event-time order, so a
consignment's events are spread over pages as when they arrive over weeks.

Usage: .venv/bin/python benchmarks/ref_lookup.py [--consignments N] [--backend sqlite|postgres|both]
           [--json PATH] [--quick] [--lookups 2000] [--vessel-lookups 50] [--what-if] [--keep]
--json: default bench-results/ref_lookup.json (--quick: bench-results/ref_lookup-quick.json).
--quick: 20,000 consignments, both backends, 80 lookups per kind, 2 vessel calls (about a minute).
--what-if: then add the indexes of WHAT_IF and measure again with a quarter of the lookups (both are in the
           hub's migrations since 0008: with them there already, this measures nothing new).
PostgreSQL: the server of the tests (127.0.0.1:5432, user postgres, trust), database ``hub_bench``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import random
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from hub.identifiers import awb_check_digit, imo_check_digit, iso6346_check_digit  # noqa: E402
from hub.store import Store  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
PG_DB = "hub_bench"
DEFAULT_JSON = ROOT / "bench-results" / "ref_lookup.json"
CHUNK = 10_000  # consignments per generated chunk and per load transaction
SAMPLE = 15_000  # consignments whose references are kept for the probes
WARMUP = 200

# the kinds a consignment of this data set is found by, in the order of the report
KINDS = ("ucr", "idf", "entry", "master_bl", "house_bl", "awb", "master_awb", "container", "permit", "prn",
         "insurance_cert", "eseal")
MISS = "miss"
VESSEL_CALL = "vessel_call"

AIR_SHARE, PERMIT_SHARE, ESEAL_SHARE = 0.20, 0.30, 0.50
CALL_SIZE = (400, 600)
START = 1_735_689_600  # 2025-01-01T00:00:00Z
SPAN = 420 * 86_400  # the consignments' first events spread over 14 months
STATIONS_SEA, STATION_AIR = ("MBA", "MBA", "MBA", "ICD", "NBO"), "JKA"
LINES = (("MEDU", "msc-ke", "MSC"), ("MAEU", "maersk-ke", "MAERSK"), ("CMDU", None, "CMACGM"),
         ("HLCU", None, "HAPAG"), ("ONEY", None, "ONE"))
FORWARDERS = ("MFCKE", "SGLKE", "BOLKE", "DHLKE", "KNTKE")
OWNERS = ("MSCU", "MSMU", "MEDU", "MAEU", "MRKU", "CMAU", "HLXU", "ONEU", "TCLU", "TGHU", "SEGU", "GESU")
AIRLINES = ("706", "176", "157", "074", "020", "235")
INSURERS = ("MIC", "JUB", "BRI", "CIC", "APA")
PERMITS = (("KEPHIS", "PIP", "kephis"), ("KEBS", "COC", "kebs"), ("PCPB", "IP", "pcpb"), ("PPB", "IMP", None))
BANKS = (("MFNOKENA", "mfano-bank"), ("KCBLKENX", None), ("EQBLKENA", None), ("SCBLKENX", None))
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def sqlite_stamp(epoch: int) -> str:
    """How SQLAlchemy stores a DateTime on SQLite (UTC components, microseconds)."""
    return time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime(epoch))


def pg_stamp(epoch: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(epoch))


# ------------------------------------------------------------------ the synthetic consignments


@dataclass
class Chunk:
    refs: list[tuple[str, str, str, str]]  # kind, value, ucr, first_seen
    parties: list[tuple[str, str, str, str, str | None]]  # ucr, role, scheme, party_id, partner
    events: list[tuple[str | None, str | None, str, str, str, str, str | None, str | None]]
    # ucr, vessel_call, at, msg_type, sender, message_id, status, subject
    consignments: int = 0


@dataclass(frozen=True)
class Spec:
    """A sampled consignment: its UCR, its references and its vessel call (None: air)."""

    ucr: str
    refs: tuple[tuple[str, str], ...]
    vessel_call: str | None


@dataclass(frozen=True)
class Probe:
    kind: str
    value: str
    expected: tuple[str, ...]  # the UCRs resolve must give, sorted


class Synth:
    """N consignments generated chunk by chunk; keeps the references of a sample of them for the probes."""

    def __init__(self, n: int, *, seed: int = 2026, stamp: Callable[[int], str] = sqlite_stamp,
                 chunk: int = CHUNK, sample: int = SAMPLE) -> None:
        self.n, self.seed, self.stamp, self.chunk = n, seed, stamp, chunk
        self.rng = random.Random(seed)
        picker = random.Random(seed + 1)
        self.sample_ids = set(picker.sample(range(n), min(n, sample)))
        max_calls = n // CALL_SIZE[0] + 2
        self.sample_calls = set(picker.sample(range(max_calls), min(max_calls, 400)))
        self.samples: list[Spec] = []
        self.calls: dict[str, list[str]] = {}  # sampled vessel call -> its UCRs
        self.rows = {"consignment_refs": 0, "consignment_parties": 0, "consignment_events": 0}
        self.vessel_calls = 0
        self.generate_s = 0.0
        self._container = 0
        self._call_left = 0
        self._call: tuple[str, str, str, str, int] | None = None  # vessel call, carrier sender, manifest id, ...

    # identifiers ------------------------------------------------------------------------------------
    def _uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _kra_pin(self, n: int) -> str:
        return f"P{n:09d}{LETTERS[n % len(LETTERS)]}"

    def _container_no(self) -> str:
        c = self._container
        self._container += 1
        prefix = f"{OWNERS[c % len(OWNERS)]}{c // len(OWNERS) % 1_000_000:06d}"
        return f"{prefix}{iso6346_check_digit(prefix)}"

    @staticmethod
    def awb(k: int) -> str:
        serial = f"{k // len(AIRLINES) % 10_000_000:07d}"
        return f"{AIRLINES[k % len(AIRLINES)]}{serial}{awb_check_digit(serial)}"

    @staticmethod
    def vessel_call(k: int) -> str:
        first6 = f"{900_000 + k % 60_000:06d}"
        return f"{first6}{imo_check_digit(first6)}/{k:05d}{'NS'[k % 2]}"

    # generation -------------------------------------------------------------------------------------
    def _next_call(self, chunk: Chunk, at: int) -> tuple[str, str, str, str, int]:
        if self._call is None or self._call_left == 0:
            k = self.vessel_calls
            self.vessel_calls += 1
            self._call_left = self.rng.randint(*CALL_SIZE)
            line = LINES[k % 2]  # the two lines of the example registry carry the calls
            call = self.vessel_call(k)
            manifest_at = self.stamp(at + 9 * 86_400)
            self._call = (call, line[1] or "msc-ke", self._uuid(), manifest_at, k)
            if k in self.sample_calls:
                self.calls[call] = []
            # the vessel-level events the hub records without a UCR (arrival.iar and bayplan)
            chunk.events.append((None, call, self.stamp(at + 7 * 86_400), "arrival.iar", self._call[1], self._uuid(),
                                 None, None))
            chunk.events.append((None, call, self.stamp(at + 10 * 86_400), "bayplan", self._call[1], self._uuid(),
                                 None, "KEMBA"))
        self._call_left -= 1
        return self._call

    def _consignment(self, i: int, chunk: Chunk) -> None:
        r = self.rng
        base = START + i * SPAN // self.n + r.randrange(86_400)
        trader = self._kra_pin(r.randrange(50_000))
        ucr = f"26KE{trader[:10]}{i:07d}"
        sea = r.random() >= AIR_SHARE
        first = self.stamp(base)
        entry = f"26{r.choice(STATIONS_SEA) if sea else STATION_AIR}IM{i:09d}"
        prn = f"2026ICMS{i:09d}"
        idf = f"E26{i:08d}"
        insurer = r.randrange(len(INSURERS))
        cert = f"{INSURERS[insurer]}/2026/{i:07d}"
        refs: list[tuple[str, str]] = [("ucr", ucr), ("idf", idf), ("entry", entry), ("prn", prn),
                                       ("insurance_cert", cert)]
        call = None
        containers: list[str] = []
        seal = None
        line = LINES[r.randrange(len(LINES))]
        if sea:
            call = self._next_call(chunk, base)
            refs.append(("master_bl", f"{line[0]}KE{i:09d}"))
            refs.append(("house_bl", f"{FORWARDERS[i % len(FORWARDERS)]}26{i:08d}"))
            containers = [self._container_no() for _ in range(r.randint(1, 3))]
            refs += [("container", c) for c in containers]
            if r.random() < ESEAL_SHARE:
                seal = f"MES-{i:07d}"
                refs.append(("eseal", seal))
        else:
            refs.append(("awb", self.awb(2 * i)))
            refs.append(("master_awb", self.awb(2 * i + 1)))
        permit = None
        if r.random() < PERMIT_SHARE:
            agency, ptype, sender = PERMITS[r.randrange(len(PERMITS))]
            permit = (f"{agency}/{ptype}/2026/{i:07d}", f"{agency}:{agency}/APP/2026/{i:07d}", sender or "kentrade")
            refs.append(("permit", permit[0]))
        chunk.refs += [(kind, value, ucr, first) for kind, value in refs]

        # parties: consignee, clearing agent, carrier, then financing bank and insurer
        importer, agent = r.randrange(50_000), r.randrange(2_000)
        bank = BANKS[r.randrange(len(BANKS))]
        parties = [
            ("consignee", "kra_pin", self._kra_pin(importer), "mfano-imports" if importer == 0 else None),
            ("clearing_agent", "kra_pin", self._kra_pin(1_000_000 + agent), "mfano-clearing" if agent < 40 else None),
            ("carrier", "carrier", line[2] if sea else "KQ", line[1] if sea else None),
            ("financing_bank", "bic", bank[0], bank[1]),
            ("insurer", "kra_pin", self._kra_pin(2_000_000 + insurer), "mfano-insurance" if insurer == 0 else None),
        ][: r.randint(3, 5)]
        chunk.parties += [(ucr, role, scheme, pid, partner) for role, scheme, pid, partner in parties]

        # events, in the order of a consignment's life
        t = base
        ev: list[tuple[str | None, str | None, int | str, str, str, str, str | None, str | None]] = []

        def add(dt: int, msg_type: str, sender: str, status: str | None = None, subject: str | None = None,
                vessel: str | None = None, at: str | None = None) -> None:
            nonlocal t
            t += dt
            ev.append((ucr, vessel, at or t, msg_type, sender, self._uuid(), status, subject))

        add(0, "ucr.issued", "kentrade")
        add(3_600 + r.randrange(86_400), "idf", "kentrade", subject=idf)
        add(r.randrange(172_800), "insurance.certificate", "mfano-insurance", subject=cert)
        if permit is not None:
            add(r.randrange(86_400), "permit.application", "kentrade", subject=permit[1])
            add(r.randrange(259_200), "permit.status", permit[2], "APPROVED", permit[1])
        if call is not None:
            vc, carrier, manifest_id, manifest_at, _ = call
            t += r.randrange(86_400)
            ev.append((ucr, vc, manifest_at, "manifest.sea", carrier, manifest_id, None, None))
            if vc in self.calls:
                self.calls[vc].append(ucr)
        else:
            add(r.randrange(86_400), "manifest.air", "mfano-gha")
        add(r.randrange(86_400), "customs.entry", "mfano-clearing", subject=entry)
        add(r.randrange(7_200), "duty.assessment", "kra-icms", subject=prn)
        add(r.randrange(172_800), "payment.confirmation", "mfano-bank", "DUTY", prn)
        add(r.randrange(172_800), "customs.release", "kra-icms", "RELEASED", entry)
        add(r.randrange(86_400), "delivery.order", (line[1] or "msc-ke") if sea else "mfano-gha",
            subject=f"DO{i:09d}")
        target = r.randint(8, 12)
        k = 0
        while len(ev) < target:  # gate and e-seal events of the containers, or the air cargo's release
            if sea:
                c = containers[k % len(containers)]
                add(r.randrange(43_200), "gate.event", "kpa", "GATE_OUT", c)
                if seal is not None and len(ev) < target:
                    add(r.randrange(43_200), "eseal.event", "mfano-eseal", "POSITION", seal)
            else:
                add(r.randrange(43_200), "gate.event", "mfano-gha", "GATE_OUT", f"ULD{i:07d}")
            k += 1
        del ev[target:]
        for row in ev:
            at = row[2]
            chunk.events.append((*row[:2], at if isinstance(at, str) else self.stamp(at), *row[3:]))
        if i in self.sample_ids:
            self.samples.append(Spec(ucr, tuple(refs), call[0] if call else None))

    def chunks(self) -> Iterator[Chunk]:
        for start in range(0, self.n, self.chunk):
            t0 = time.perf_counter()
            chunk = Chunk([], [], [])
            for i in range(start, min(self.n, start + self.chunk)):
                self._consignment(i, chunk)
            chunk.consignments = min(self.n, start + self.chunk) - start
            chunk.events.sort(key=lambda e: e[2])  # arrival order: a consignment's events spread over pages
            chunk.refs.sort(key=lambda e: e[3])
            self.rows["consignment_refs"] += len(chunk.refs)
            self.rows["consignment_parties"] += len(chunk.parties)
            self.rows["consignment_events"] += len(chunk.events)
            self.generate_s += time.perf_counter() - t0
            yield chunk

    # probes -----------------------------------------------------------------------------------------
    def probes(self, lookups: int, seed: int | None = None) -> list[Probe]:
        """``lookups`` random existing values of each kind plus as many misses, shuffled together."""
        rng = random.Random(self.seed + 7 if seed is None else seed)
        by_kind: dict[str, list[Probe]] = defaultdict(list)
        for spec in self.samples:
            kinds: dict[str, list[str]] = defaultdict(list)
            for kind, value in spec.refs:
                kinds[kind].append(value)
            for kind, values in kinds.items():
                by_kind[kind].append(Probe(kind, rng.choice(values), (spec.ucr,)))
        out: list[Probe] = []
        for kind in KINDS:
            pool = by_kind.get(kind, [])
            out += rng.sample(pool, min(lookups, len(pool)))
        out += self.misses(lookups, rng)
        rng.shuffle(out)
        return out

    def misses(self, count: int, rng: random.Random) -> list[Probe]:
        """Well-formed values of every shape that no consignment has (numbers past N, unused prefixes)."""
        n = self.n
        makers: list[Callable[[int], str]] = [
            lambda k: f"26KEP000000000{n + k:07d}",
            lambda k: f"E26{n + k:08d}",
            lambda k: f"26MBAIM{n + k:09d}",
            lambda k: f"MEDUKE{n + k:09d}",
            lambda k: f"MFCKE26{n + k:08d}",
            lambda k: self.awb(2 * (n + k)),
            lambda k: "ZZZU" + f"{k % 1_000_000:06d}" + str(iso6346_check_digit("ZZZU" + f"{k % 1_000_000:06d}")),
            lambda k: f"KEPHIS/PIP/2026/{n + k:07d}",
            lambda k: f"2026ICMS{n + k:09d}",
            lambda k: f"MIC/2026/{n + k:07d}",
            lambda k: f"MES-{n + k:07d}",
            lambda k: self.vessel_call(n + k),
        ]
        return [Probe(MISS, makers[k % len(makers)](rng.randrange(1_000_000)), ()) for k in range(count)]

    def vessel_probes(self, count: int, seed: int | None = None) -> list[Probe]:
        rng = random.Random(self.seed + 11 if seed is None else seed)
        calls = sorted(self.calls)
        chosen = rng.sample(calls, min(count, len(calls)))
        return [Probe(VESSEL_CALL, c, tuple(sorted(self.calls[c]))) for c in chosen]


# ------------------------------------------------------------------ fresh stores and bulk loads


def fresh_sqlite(directory: Path) -> tuple[Store, Path]:
    path = directory / "hub_bench.db"
    for p in directory.glob("hub_bench.db*"):
        p.unlink()
    store = Store(f"sqlite:///{path}")
    store.migrate()
    return store, path


def fresh_postgres(db: str = PG_DB) -> Store:
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{db}"')
    store = Store(PG_URL.format(db=db))
    store.migrate()
    return store


def drop_postgres(db: str = PG_DB) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


REF_COLS = "kind, value, ucr, first_seen"
PARTY_COLS = "ucr, role, scheme, party_id, partner"
EVENT_COLS = "ucr, vessel_call, at, msg_type, sender, message_id, status, subject"


def load_sqlite(path: Path, synth: Synth) -> dict[str, Any]:
    """executemany through a plain sqlite3 connection, one transaction per chunk."""
    t0 = time.perf_counter()
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA synchronous=OFF")  # a bulk load, redone from scratch if it fails
        con.execute("PRAGMA cache_size=-262144")  # 256 MiB while loading
        for chunk in synth.chunks():
            con.execute("BEGIN")
            con.executemany(f"INSERT INTO consignment_refs ({REF_COLS}) VALUES (?, ?, ?, ?)", chunk.refs)
            con.executemany(f"INSERT INTO consignment_parties ({PARTY_COLS}) VALUES (?, ?, ?, ?, ?)", chunk.parties)
            con.executemany(f"INSERT INTO consignment_events ({EVENT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            chunk.events)
            con.execute("COMMIT")
        t1 = time.perf_counter()
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    t2 = time.perf_counter()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return {"seconds": round(t2 - t0, 1), "generate_s": round(synth.generate_s, 1),
            "insert_s": round(t1 - t0 - synth.generate_s, 1), "finish_s": round(t2 - t1, 1),
            "finish": "wal_checkpoint(TRUNCATE)", "rows": dict(synth.rows), "vessel_calls": synth.vessel_calls,
            "db_bytes": size}


def load_postgres(db: str, synth: Synth) -> dict[str, Any]:
    """COPY FROM STDIN through psycopg, one transaction per chunk, then VACUUM ANALYZE."""
    t0 = time.perf_counter()
    conninfo = PG_ADMIN.replace("dbname=postgres", f"dbname={db}")
    with psycopg.connect(conninfo) as con:
        con.execute("SET synchronous_commit = off")
        for chunk in synth.chunks():
            with con.cursor() as cur:
                for table, cols, rows in (("consignment_refs", REF_COLS, chunk.refs),
                                          ("consignment_parties", PARTY_COLS, chunk.parties),
                                          ("consignment_events", EVENT_COLS, chunk.events)):
                    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            con.commit()
    t1 = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as con:
        con.execute("VACUUM ANALYZE consignment_refs, consignment_parties, consignment_events")
        size = con.execute("SELECT pg_database_size(current_database())").fetchone()
    t2 = time.perf_counter()
    return {"seconds": round(t2 - t0, 1), "generate_s": round(synth.generate_s, 1),
            "insert_s": round(t1 - t0 - synth.generate_s, 1), "finish_s": round(t2 - t1, 1),
            "finish": "VACUUM ANALYZE", "rows": dict(synth.rows), "vessel_calls": synth.vessel_calls,
            "db_bytes": int(size[0]) if size else None}


# ------------------------------------------------------------------ lookups


def check(probe: Probe, ucrs: list[str], consignments: list[Any]) -> bool:
    """The UCRs are exactly the expected ones, and each consignment read is the one asked for and names the
    reference looked up (a vessel call: its events carry the call)."""
    if ucrs != list(probe.expected) or [c.ucr for c in consignments] != ucrs:
        return False
    if probe.kind == VESSEL_CALL:
        return all(any(e.vessel_call == probe.value for e in c.events) for c in consignments)
    return all((probe.kind, probe.value) in c.references for c in consignments)


def summarise(ns: list[int]) -> dict[str, float] | None:
    if not ns:
        return None
    s = sorted(ns)

    def q(p: float) -> float:
        return round(s[min(len(s) - 1, max(0, math.ceil(p * len(s)) - 1))] / 1000, 1)

    return {"p50": q(0.50), "p95": q(0.95), "p99": q(0.99), "mean": round(sum(s) / len(s) / 1000, 1),
            "max": round(s[-1] / 1000, 1)}


def run_lookups(store: Store, probes: list[Probe], warmup: int = WARMUP) -> dict[str, dict[str, Any]]:
    """Time resolve and resolve + consignment for each probe; figures per kind in microseconds."""
    for p in probes[:warmup]:
        for u in store.resolve(p.value):
            store.consignment(u)
    resolve_ns: dict[str, list[int]] = defaultdict(list)
    track_ns: dict[str, list[int]] = defaultdict(list)
    wrong: dict[str, list[str]] = defaultdict(list)
    found: dict[str, int] = defaultdict(int)
    cpu_ns: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    gc.collect()
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    for p in probes:
        c0, t0 = cpu(), clock()
        ucrs = store.resolve(p.value)
        t1, c1 = clock(), cpu()
        consignments = [store.consignment(u) for u in ucrs]
        t2, c2 = clock(), cpu()
        resolve_ns[p.kind].append(t1 - t0)
        track_ns[p.kind].append(t2 - t0)
        cpu_ns[p.kind][0] += c1 - c0
        cpu_ns[p.kind][1] += c2 - c0
        found[p.kind] += len(ucrs)
        if not check(p, ucrs, consignments):
            wrong[p.kind].append(p.value)
    return {kind: {"n": len(resolve_ns[kind]), "wrong": len(wrong[kind]), "wrong_values": wrong[kind][:5],
                   "ucrs_per_lookup": round(found[kind] / len(resolve_ns[kind]), 1),
                   "resolve": summarise(resolve_ns[kind]), "track": summarise(track_ns[kind]),
                   # this process's CPU per lookup (SQLAlchemy, driver, SQLite itself): the rest is waiting
                   "client_cpu_mean": {"resolve": round(cpu_ns[kind][0] / len(resolve_ns[kind]) / 1000, 1),
                                       "track": round(cpu_ns[kind][1] / len(resolve_ns[kind]) / 1000, 1)}}
            for kind in resolve_ns}


# ------------------------------------------------------------------ query plans


def captured(store: Store, fn: Callable[[], object]) -> list[tuple[str, Any]]:
    """The SELECT statements (and their DBAPI parameters) ``fn`` sends on the store's engine."""
    out: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "consignment_" in statement:
            out.append((statement, parameters))

    sa.event.listen(store.engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", before)
    return out


def describe(statement: str) -> str:
    """A short name for a statement: its table and the columns of its WHERE clause."""
    table = re.search(r"FROM (\w+)", statement)
    where = statement.split("WHERE", 1)[1] if "WHERE" in statement else ""
    cols = list(dict.fromkeys(re.findall(r"\w+\.(\w+) (?:IN|=|IS)", where)))
    return f"{table.group(1) if table else '?'}({', '.join(cols)})"


SQLITE_ACCESS = re.compile(
    r"(SCAN|SEARCH) (\w+)(?: AS \w+)?(?: USING (?:COVERING )?INDEX (\w+)| USING (INTEGER PRIMARY KEY))?")


def explain_sqlite(store: Store, statement: str, params: Any) -> dict[str, Any]:
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        rows = raw.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()
    lines = [str(r[3]) for r in rows]
    indexes, scans = [], []
    for d in lines:
        m = SQLITE_ACCESS.match(d)
        if not m or not m.group(2).startswith("consignment_"):
            continue
        if m.group(1) == "SEARCH":
            indexes.append(m.group(3) or m.group(4))
        else:
            scans.append(d)
    return {"plan": lines, "indexes": indexes, "full_scans": scans, "indexed": bool(indexes) and not scans}


def _pg_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _pg_nodes(child)


def explain_postgres(store: Store, statement: str, params: Any) -> dict[str, Any]:
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params)
        row = cur.fetchone()
        cur.close()
        raw.rollback()
    assert row is not None
    doc = row[0] if isinstance(row[0], list) else json.loads(row[0])
    lines, indexes, scans = [], [], []
    read = removed = 0
    for n in _pg_nodes(doc[0]["Plan"]):
        kind, rel = n["Node Type"], n.get("Relation Name")
        text = f"{kind}" + (f" using {n['Index Name']}" if "Index Name" in n else "") + (f" on {rel}" if rel else "")
        text += f" (rows {n.get('Actual Rows', 0) * n.get('Actual Loops', 1)}"
        rm = int(n.get("Rows Removed by Filter", 0)) + int(n.get("Rows Removed by Index Recheck", 0))
        if rm:
            text += f", removed by filter {rm}"
        if "Index Cond" in n:
            text += f", cond {n['Index Cond']}"
        if "Filter" in n:
            text += f", filter {n['Filter']}"
        lines.append(text + ")")
        if kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan"):
            indexes.append(n["Index Name"])
        if kind == "Seq Scan" and rel and rel.startswith("consignment_"):
            scans.append(text)
        if rel and rel.startswith("consignment_") and kind != "Bitmap Index Scan":
            read += int(n.get("Actual Rows", 0) * n.get("Actual Loops", 1)) + rm
            removed += rm
    return {"plan": lines, "indexes": indexes, "full_scans": scans, "indexed": bool(indexes) and not scans,
            "rows_read": read, "rows_removed_by_filter": removed}


def explain_all(store: Store, probes: list[Probe]) -> dict[str, Any]:
    """Explain the statements of resolve (one probe per kind) and of consignment (one sea and one air UCR)."""
    explain = explain_postgres if store.engine.dialect.name == "postgresql" else explain_sqlite
    first: dict[str, Probe] = {}
    for p in probes:
        first.setdefault(p.kind, p)
    out: dict[str, Any] = {"resolve": {}, "consignment": {}}
    for kind, p in first.items():
        stmts = captured(store, partial(store.resolve, p.value))
        out["resolve"][kind] = [{"query": describe(s), "sql": " ".join(s.split()), **explain(store, s, prm)}
                                for s, prm in stmts]
    targets = {}
    if VESSEL_CALL in first:
        targets["sea"] = first[VESSEL_CALL].expected[0]
    for p in probes:
        if p.kind in ("awb", "master_awb"):
            targets["air"] = p.expected[0]
            break
    for label, ucr in targets.items():
        stmts = captured(store, partial(store.consignment, ucr))
        out["consignment"][label] = [{"query": describe(s), "sql": " ".join(s.split()), **explain(store, s, prm)}
                                     for s, prm in stmts]
    every = [q for group in out.values() for qs in group.values() for q in qs]
    out["every_statement_indexed"] = all(q["indexed"] for q in every)
    out["not_indexed"] = sorted({f"{q['query']}: {'; '.join(q['full_scans'])}" for q in every if not q["indexed"]})
    return out


def statement_times(store: Store, probes: list[Probe], per_kind: int = 200) -> dict[str, dict[str, Any]]:
    """The database's share: each statement resolve and consignment issue for a probe, run again through the
    bare driver cursor (no SQLAlchemy, no pool), p50/p95 in microseconds per kind and statement."""
    by_kind: dict[str, list[Probe]] = defaultdict(list)
    for p in probes:
        if len(by_kind[p.kind]) < per_kind:
            by_kind[p.kind].append(p)
    out: dict[str, dict[str, Any]] = {}
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        for kind, ps in by_kind.items():
            work: list[tuple[str, str, Any]] = []
            for p in ps:
                stmts = captured(store, partial(store.resolve, p.value))
                work += [(f"resolve {describe(s)}", s, prm) for s, prm in stmts]
                if p.kind != VESSEL_CALL:
                    for ucr in p.expected:
                        stmts = captured(store, partial(store.consignment, ucr))
                        work += [(f"consignment {describe(s)}", s, prm) for s, prm in stmts]
            times: dict[str, list[int]] = defaultdict(list)
            for label, s, prm in work:
                t0 = time.perf_counter_ns()
                cur.execute(s, prm)
                cur.fetchall()
                times[label].append(time.perf_counter_ns() - t0)
            raw.rollback()
            out[kind] = {label: summarise(ns) for label, ns in times.items()}
        cur.close()
    return out


# ------------------------------------------------------------------ one backend, end to end


@dataclass
class Options:
    consignments: int
    lookups: int = 2000
    vessel_lookups: int = 50
    seed: int = 2026
    keep: bool = False
    workdir: Path | None = None
    pg_db: str = PG_DB
    chunk: int = CHUNK
    what_if: bool = False
    warmup: int = WARMUP
    per_statement: int = 200  # lookups per kind whose statements are timed through the bare driver
    log: Callable[[str], None] = field(default=lambda m: print(m, file=sys.stderr, flush=True))


# Indexes this benchmark can add after the main measurements (--what-if), to measure what they would change.
# Nothing in hub/ creates them; see the module's report for why each would help.
WHAT_IF = (
    # Store.consignment: the vessel-level events (arrival report, bayplan) of the consignment's vessel call,
    # "ucr IS NULL AND vessel_call IN (...)": without it every read of a sea consignment walks all ~500
    # manifest events of its call (ix_consignment_events_vessel_call) to keep the 2 without a UCR
    ("ix_consignment_events_vessel_level",
     "CREATE INDEX IF NOT EXISTS ix_consignment_events_vessel_level ON consignment_events (vessel_call)"
     " WHERE ucr IS NULL"),
    # Store.resolve: "kind IN (21 kinds) AND value IN (...)" probes the (kind, value) key once per kind
    ("ix_consignment_refs_value", "CREATE INDEX IF NOT EXISTS ix_consignment_refs_value ON consignment_refs (value)"),
)


def measure(store: Store, probes: list[Probe], vessel: list[Probe], log: Callable[[str], None], tag: str,
            warmup: int = WARMUP, per_statement: int = 200) -> dict[str, Any]:
    log(f"[{tag}] {len(probes):,} lookups")
    kinds = run_lookups(store, probes, warmup)
    log(f"[{tag}] {len(vessel)} vessel-call lookups")
    vessel_figs = run_lookups(store, vessel, warmup=min(2, len(vessel))).get(VESSEL_CALL)
    log(f"[{tag}] query plans and statement times")
    plans = explain_all(store, probes + vessel[:1])
    db_times = statement_times(store, probes + vessel, per_statement)
    return {"kinds": kinds, "vessel_call": vessel_figs, "plans": plans, "statement_times": db_times}


def add_what_if(store: Store) -> dict[str, float]:
    took = {}
    with store.engine.begin() as conn:
        for name, ddl in WHAT_IF:
            t0 = time.perf_counter()
            conn.execute(sa.text(ddl))
            took[name] = round(time.perf_counter() - t0, 1)
        if store.engine.dialect.name == "postgresql":
            conn.execute(sa.text("ANALYZE consignment_events, consignment_refs"))
    return took


def bench_backend(backend: str, opt: Options) -> dict[str, Any]:
    log = opt.log
    stamp = pg_stamp if backend == "postgres" else sqlite_stamp
    synth = Synth(opt.consignments, seed=opt.seed, stamp=stamp, chunk=opt.chunk)
    tmp: Path | None = None
    if backend == "sqlite":
        tmp = Path(tempfile.mkdtemp(prefix="ref-lookup-", dir=opt.workdir))
        store, path = fresh_sqlite(tmp)
        store.close()
        log(f"[{backend}] loading {opt.consignments:,} consignments into {path}")
        load = load_sqlite(path, synth)
        url = f"sqlite:///{path}"
    else:
        store = fresh_postgres(opt.pg_db)
        store.close()
        log(f"[{backend}] loading {opt.consignments:,} consignments into database {opt.pg_db}")
        load = load_postgres(opt.pg_db, synth)
        url = PG_URL.format(db=opt.pg_db)
    log(f"[{backend}] loaded in {load['seconds']} s: {load['rows']}")
    store = Store(url)
    load_avg = os.getloadavg()
    what_if = None
    try:
        probes = synth.probes(opt.lookups)
        vessel = synth.vessel_probes(opt.vessel_lookups)
        figures = measure(store, probes, vessel, log, backend, opt.warmup, opt.per_statement)
        if opt.what_if:
            log(f"[{backend}] what-if: adding {', '.join(n for n, _ in WHAT_IF)}")
            took = add_what_if(store)
            store.close()
            store = Store(url)
            sub = probes[: max(len(probes) // 4, 1)]
            what_if = {"indexes": {n: ddl for n, ddl in WHAT_IF}, "create_s": took,
                       **measure(store, sub, vessel[: max(len(vessel) // 3, 1)], log, f"{backend} what-if",
                                 opt.warmup, opt.per_statement)}
    finally:
        store.close()
        if not opt.keep:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            elif backend == "postgres":
                drop_postgres(opt.pg_db)
    return {"backend": backend, "url": url if opt.keep else None, "load": load, **figures, "what_if": what_if,
            "load_average": {"before_lookups": load_avg, "after": os.getloadavg()}}


# ------------------------------------------------------------------ the report


def _cell(stats: dict[str, float] | None, key: str, scale: float = 1.0) -> str:
    if stats is None:
        return "-"
    v = stats[key] / scale
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def _normal(line: str) -> str:
    """A plan line without the values of one lookup (literals, row counts), to group kinds sharing a plan."""
    line = re.sub(r"'[^']*'", "?", line)
    return re.sub(r" ?\(rows \d+(, removed by filter \d+)?,? ?", " (", line).replace(" ()", "").replace("(, ", "(")


STATEMENT_ORDER = ("resolve consignment_refs(kind, value)", "resolve consignment_events(ucr)",
                   "resolve consignment_events(vessel_call, ucr)", "consignment consignment_events(ucr)",
                   "consignment consignment_events(ucr, vessel_call)", "consignment consignment_parties(ucr)",
                   "consignment consignment_refs(ucr)")
STATEMENT_SHORT = ("refs(kind,value)", "ev(ucr)", "ev(vessel_call)", "ev(ucr)", "ev(vc,ucr NULL)",
                   "parties(ucr)", "refs(ucr)")


def _stats_table(res: dict[str, Any], names: list[str], op: str) -> list[str]:
    head = f"{'kind':<15}{'n':>6}{'wrong':>6}"
    for n in names:
        head += f" | {n[:8] + ' p50':>13}{'p95':>8}{'p99':>8}{'mean':>8}{'cpu':>7}"
    out = [head]
    for kind in (*KINDS, MISS):
        rows = [res[n]["kinds"].get(kind) for n in names]
        if all(r is None for r in rows):
            continue
        first = next(r for r in rows if r is not None)
        line = f"{kind:<15}{first['n']:>6}{sum(r['wrong'] for r in rows if r):>6}"
        for r in rows:
            st = r[op] if r else None
            cpu = _cell(r["client_cpu_mean"], op) if r else "-"
            line += (f" | {_cell(st, 'p50'):>13}{_cell(st, 'p95'):>8}{_cell(st, 'p99'):>8}{_cell(st, 'mean'):>8}"
                     f"{cpu:>7}")
        out.append(line)
    return out


def _vessel_table(res: dict[str, Any], names: list[str]) -> list[str]:
    vc = [res[n]["vessel_call"] for n in names]
    if not any(vc):
        return []
    first = next(v for v in vc if v)
    out = [f"vessel call (IMO/voyage; {first['ucrs_per_lookup']:.0f} consignments per call on average; "
           f"{first['n']} calls), ms; 'track' reads every consignment of the call"]
    out.append(f"{'':<15}{'n':>6}{'wrong':>6}" + "".join(f" | {n[:8] + ' p50':>13}{'p95':>8}{'p99':>8}{'mean':>8}"
                                                    for n in names))
    for op in ("resolve", "track"):
        line = f"{op:<15}{first['n']:>6}{sum(v['wrong'] for v in vc if v):>6}"
        for v in vc:
            st = v[op] if v else None
            line += (f" | {_cell(st, 'p50', 1000):>13}{_cell(st, 'p95', 1000):>8}{_cell(st, 'p99', 1000):>8}"
                     f"{_cell(st, 'mean', 1000):>8}")
        out.append(line)
    return out


def _statement_table(name: str, st: dict[str, Any]) -> list[str]:
    out = [f"{name:<17}" + "".join(f"{h:>16}" for h in STATEMENT_SHORT)]
    for kind in (*KINDS, MISS, VESSEL_CALL):
        if kind in st:
            out.append(f"  {kind:<15}" + "".join(f"{_cell(st[kind].get(q), 'p50'):>16}" for q in STATEMENT_ORDER))
    return out


def _plans(name: str, plans: dict[str, Any]) -> list[str]:
    verdict = "every statement uses an index" if plans["every_statement_indexed"] else "NOT every statement"
    out = [f"{name}: {verdict}"]
    seen: dict[tuple[str, ...], list[str]] = {}
    for group in ("resolve", "consignment"):
        for label, qs in plans[group].items():
            for q in qs:
                key = (group, q["query"], *(_normal(line) for line in q["plan"]))
                seen.setdefault(key, []).append(label)
    for key, labels in seen.items():
        out.append(f"  {key[0]} {key[1]} [{', '.join(labels)}]")
        out += [f"      {line}" for line in key[2:]]
    for group in ("resolve", "consignment"):
        for label, qs in plans[group].items():
            for q in qs:
                if q.get("rows_removed_by_filter"):
                    out.append(f"  {group} {q['query']} [{label}]: {q['rows_read']} rows read, "
                               f"{q['rows_removed_by_filter']} removed by a filter")
    out += [f"  NO INDEX: {q}" for q in plans["not_indexed"]]
    return out


def report(doc: dict[str, Any]) -> str:
    res = doc["results"]
    names = list(res)
    out = [f"ref_lookup: {doc['consignments']:,} consignments; {doc['lookups_per_kind']:,} lookups per kind "
           f"(+ as many misses), {doc['vessel_lookups']} vessel calls; times in microseconds", ""]
    out.append(f"{'load':<28}" + "".join(f"{n:>16}" for n in names))
    load_rows: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
        ("seconds (total)", lambda r: f"{r['load']['seconds']:,.1f}"),
        ("  generating rows (Python)", lambda r: f"{r['load']['generate_s']:,.1f}"),
        ("  inserting", lambda r: f"{r['load']['insert_s']:,.1f}"),
        ("  finishing", lambda r: f"{r['load']['finish_s']:,.1f}"),
        ("consignment_refs rows", lambda r: f"{r['load']['rows']['consignment_refs']:,}"),
        ("consignment_parties rows", lambda r: f"{r['load']['rows']['consignment_parties']:,}"),
        ("consignment_events rows", lambda r: f"{r['load']['rows']['consignment_events']:,}"),
        ("vessel calls", lambda r: f"{r['load']['vessel_calls']:,}"),
        ("database size (MB)", lambda r: f"{(r['load']['db_bytes'] or 0) / 1e6:,.0f}"),
        ("rows per second (insert)",
         lambda r: f"{sum(r['load']['rows'].values()) / max(r['load']['insert_s'], 1e-9):,.0f}"),
        ("load average (1 min)", lambda r: f"{r['load_average']['before_lookups'][0]:.1f}"),
    )
    for label, get in load_rows:
        out.append(f"{label:<28}" + "".join(f"{get(res[n]):>16}" for n in names))
    out += ["", "Store.resolve(ref), us (cpu: this process's CPU per lookup, mean)"]
    out += _stats_table(res, names, "resolve")
    out += ["", "Store.resolve(ref) + Store.consignment(ucr) for each UCR (hub track, partner API), us"]
    out += _stats_table(res, names, "track")
    out += ["", *_vessel_table(res, names)]
    out += ["", "database time per statement (the same SQL and parameters through the bare driver), p50 us",
            f"{'':<17}{'<- Store.resolve':<48}{'<- Store.consignment':<64}"]
    for n in names:
        out += _statement_table(n, res[n].get("statement_times") or {})
    out += ["", "query plans (the statements of Store.resolve for one lookup of each kind, and of "
            "Store.consignment for a sea and an air consignment)"]
    for n in names:
        out += _plans(n, res[n]["plans"])
    slow = flag_slow(doc)
    if slow:
        out += ["", "far slower than the other kinds (p50 over 3x the median kind's):"] + [f"  {s}" for s in slow]
    wi = {n: res[n]["what_if"] for n in names if res[n].get("what_if")}
    if wi:
        first = next(iter(wi.values()))
        out += ["", "what-if: the same store with these indexes added (not in hub/; a quarter of the lookups):"]
        out += [f"  {ddl}" for ddl in first["indexes"].values()]
        for n, w in wi.items():
            out.append(f"  {n}: created in " + ", ".join(f"{k} {v} s" for k, v in w["create_s"].items()))
        out.append("p50 us, before -> after")
        head = f"{'kind':<15}" + "".join(f" | {n[:8] + ' resolve':>22}{'track':>22}" for n in wi)
        out.append(head)
        for kind in (*KINDS, MISS):
            line = f"{kind:<15}"
            for n, w in wi.items():
                b, a = res[n]["kinds"].get(kind), w["kinds"].get(kind)
                for op in ("resolve", "track"):
                    cell = f"{_cell(b[op], 'p50')} -> {_cell(a[op], 'p50')}" if b and a else "-"
                    line += f"{cell:>22}" if op == "track" else f" | {cell:>22}"
            out.append(line)
        line = f"{'vessel call ms':<15}"
        for n, w in wi.items():
            b, a = res[n]["vessel_call"], w["vessel_call"]
            for op in ("resolve", "track"):
                cell = f"{_cell(b[op], 'p50', 1000)} -> {_cell(a[op], 'p50', 1000)}" if b and a else "-"
                line += f"{cell:>22}" if op == "track" else f" | {cell:>22}"
        out.append(line)
        out += ["", "what-if database time per statement, p50 us"]
        for n, w in wi.items():
            out += _statement_table(n, w["statement_times"])
        out += ["", "what-if query plans"]
        for n, w in wi.items():
            out += _plans(n, w["plans"])
    return "\n".join(out)


def flag_slow(doc: dict[str, Any]) -> list[str]:
    out = []
    for name, r in doc["results"].items():
        for op in ("resolve", "track"):
            p50 = {k: v[op]["p50"] for k, v in r["kinds"].items() if k != MISS and v[op]}
            if not p50:
                continue
            median = sorted(p50.values())[len(p50) // 2]
            out += [f"{name} {op} {k}: p50 {v:.0f} us vs median {median:.0f} us" for k, v in p50.items()
                    if v > 3 * median]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--consignments", type=int, default=None, help="default 1,000,000 (--quick: 20,000)")
    ap.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    ap.add_argument("--json", type=Path, default=None,
                    help=f"default {DEFAULT_JSON.relative_to(ROOT)} (--quick: ref_lookup-quick.json beside it)")
    ap.add_argument("--quick", action="store_true", help="20,000 consignments, both backends, fewer lookups")
    ap.add_argument("--lookups", type=int, default=None, help="per kind (default 2000; --quick: 80)")
    ap.add_argument("--vessel-lookups", type=int, default=None, help="default 50 (--quick: 2)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--keep", action="store_true", help="keep the SQLite file and the hub_bench database")
    ap.add_argument("--what-if", action="store_true",
                    help="then add the indexes of WHAT_IF and measure again (a quarter of the lookups)")
    ap.add_argument("--workdir", type=Path, default=None, help="where the SQLite file goes (default: $TMPDIR)")
    a = ap.parse_args(argv)
    if a.quick:
        a.backend = "both"
    if a.json is None:  # a quick run does not overwrite the figures of a full one
        a.json = DEFAULT_JSON.with_name("ref_lookup-quick.json") if a.quick else DEFAULT_JSON
    n = a.consignments or (20_000 if a.quick else 1_000_000)
    opt = Options(n, lookups=a.lookups or (80 if a.quick else 2000),
                  vessel_lookups=a.vessel_lookups or (2 if a.quick else 50), seed=a.seed, keep=a.keep,
                  workdir=a.workdir, what_if=a.what_if, warmup=50 if a.quick else WARMUP,
                  per_statement=40 if a.quick else 200)
    backends = ("sqlite", "postgres") if a.backend == "both" else (a.backend,)
    t0 = time.perf_counter()
    results = {b: bench_backend(b, opt) for b in backends}
    doc = {"benchmark": "ref_lookup", "consignments": n, "lookups_per_kind": opt.lookups,
           "vessel_lookups": opt.vessel_lookups, "seed": opt.seed, "units": "microseconds",
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "sqlite": sqlite3.sqlite_version, "platform": platform.platform()},
           "seconds": round(time.perf_counter() - t0, 1), "results": results}
    doc["slow"] = flag_slow(doc)
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(doc, indent=1) + "\n")
    print(report(doc))
    print(f"\n({doc['seconds']} s in all; JSON: {a.json})")
    wrong = sum(r["wrong"] for res in results.values() for r in [*res["kinds"].values(), res["vessel_call"] or {}]
                if r)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
