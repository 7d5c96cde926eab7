"""Registry scale benchmark: what the registry and routing cost with 10, 100 and 1,000 partners, and routing
with about 10,000 access rules ("the registry must stay fast with 1,000 partners"; "the cost of routing alone
with 10, 100 and 1,000 partners and 10,000 rules"). No broker is used.

For each N, a config directory is generated: a copy of config/ with partners.yaml replaced by N partners.

Registry (partners.yaml), "uniform" mix: partner i holds profile i mod 17 (the 17 columns of ACCESS.md,
``hub.config.Profile``), so every profile has N/17 partners (59 of each at N = 1,000). With N < 17 (N = 10)
the 17 profiles are dealt round-robin over the N partners (seven of the ten hold two). The first partners of
each profile are the example registry's own (config/partners.yaml: kra-icms, msc-ke, mfano-clearing, ...),
with their identifiers, so the parties the example messages name match; the others are generated like the
first example partner of their profile (adapter, receive format, sends), each with a unique KRA PIN
(P07nnnnnnnX) and the identifier of its kind (BIC for banks, agency code, CFS, terminal, carrier code,
customs office). ``load_config`` checks every one of them, as at start-up.
A second registry, the "trade" mix, weights the profiles as a trade community would (per 1,000: 400 clearing
agents, 330 importers/exporters, 45 insurers, 40 shipping lines, 40 consolidators, 40 banks, 25 CFSs, 22
e-seal vendors, 20 agencies, ... 2 customs, 1 KenTrade, 1 Treasury; every profile at least once); only
route() is measured on it.

Messages: every valid example of every routed type (examples/<type>/valid, XML, JSON and EDIFACT; not
maintenance.notice, which the hub sends itself through its own ``aff`` cells), one per message (a message's
XML and JSON forms count once), decoded by ``hub.catalogue.Catalogue().decode``; their ``body.keys()`` and
parties are what route() gets. The sender is the example partner that sends the type (the one the message
names, if several do); if that partner is not in a registry of N, the first partner of its profile.

Measured, each as median and p95 over repeated runs:
  load_config        the generated config directory (every file, every partner checked)
  build              ``RoutingTable.from_config`` (what ``hub run`` does at start and on a status change)
  route              ``route(type, sender, keys, table)`` over the message mix, in microseconds per decision
                     (a run routes the whole mix in a loop for >= 50 ms, 10 ms with --quick; the per-run mean is
                     one sample);
                     decisions/s = 1e6 / median; the mean recipients and candidates (recipients + exclusions:
                     every partner of a routed profile gets one or the other) per decision, and the cost per
                     recipient and per candidate
  registry refresh   ``hub.registry.statuses(store)`` then ``hub.registry.apply(partners, overrides)``: what
                     ``hub run`` does every ``REFRESH_EVERY`` (2 s); with min(50, N/2) status overrides
                     recorded by ``registry.change`` (one in five deregister, the others suspend); also
                     ``registry.holds(store)``, which the delivery monitor reads every tick
  credentials        ``hub.credentials.all_credentials(store)`` (the one query ``hub partners list`` reads all
                     credential rows with), N rows recorded by ``record_first_issue``
  on SQLite (a file in a temporary directory, the hub's own migrations) and on PostgreSQL (127.0.0.1:5432,
  user postgres, a database created for the run and dropped after) when it answers.
  10k rules          generated schema-only types added to the config directory of the largest registry
                     (config/types.yaml, each with its own XSD, a UCR XPath and a parties XPath, and its rows in
                     routes.yaml and access.yaml) until access.yaml holds >= 10,000 rules. A rule is one cell of
                     access.yaml: one (message type, profile) pair with its cell (all / own / deny, drawn in the
                     proportions of ACCESS.md's own cells, 3 to 9 profiles per type as the real types have);
                     routes.yaml routes each type to its all and own profiles. Measured: load_config of it (the
                     first, XSDs compiled; then repeated, without --quick), and for each N a RoutingTable of
                     the N partners with those routes and rules: its build, route() over the example mix (the
                     same messages: the effect of the table's size alone) and over messages of generated
                     types (an XML document each, decoded by the Catalogue built from the config's schema
                     types, naming 1 to 3 of the N partners by KRA PIN): 128 messages of 64 types; and the same
                     mix on a table that already keeps the plans of hub.routing.engine.PLAN_TYPES (128) other
                     types, so that every decision builds its type's plan: the worst case.

route() is timed in steady state (the mix routed once before). A table works out what each candidate of a type
gets on the type's first message (``RoutingTable.plan``); that first decision of each type on a fresh table is
reported apart ("first decision of a type", median and p95 over fresh tables), since ``hub run`` builds a new
table whenever a partner's status changes.

The ratio 1,000 vs 10 partners of route()'s time per decision is reported with the per-candidate and
per-recipient ratios: each decision lists every candidate (recipient or exclusion with its rule), so its work
grows with the partners of the routed profiles.

Usage: .venv/bin/python -m benchmarks.registry_scale [--json] [--quick] [--no-postgres] [--sizes 10,100,1000]
--json: print the JSON document instead of the table. --quick: fewer repeats (under 30 s).
"""

from __future__ import annotations

import argparse
import copy
import functools
import gc
import json
import math
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402

from hub import codec, credentials, registry  # noqa: E402
from hub.catalogue import Catalogue  # noqa: E402
from hub.config import HubConfig, Partner, Profile, SchemaType, load_config  # noqa: E402
from hub.routing import RoutingTable, engine, route  # noqa: E402
from hub.schemas.base import IdScheme, Keys, normalise_id  # noqa: E402
from hub.store import Store  # noqa: E402

CONFIG = ROOT / "config"
EXAMPLES = ROOT / "examples"
SIZES = (10, 100, 1000)
PROFILES: tuple[Profile, ...] = tuple(Profile)
RULES_TARGET = 10_000
PLAN_TYPES: int | None = getattr(engine, "PLAN_TYPES", None)  # message types whose plans a RoutingTable keeps
FEW_TYPES = 64  # generated types in the mix of messages of generated types
MAX_OVERRIDES = 50
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
CONTENT_TYPES = {".xml": codec.XML_CT, ".json": codec.JSON_CT, ".edi": codec.EDIFACT_CT}
NOT_ROUTED_HERE = frozenset({"maintenance.notice"})  # sent by the hub itself to the aff cells
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # writing the generated files is not measured
SIMPLE_ADAPTERS = frozenset({"canonical", "xml", "json", "edifact"})
# profiles of a trade community, per 1,000 partners ("trade" mix)
TRADE_WEIGHTS: dict[Profile, int] = {
    Profile.CUS: 2, Profile.KT: 1, Profile.KPA: 2, Profile.SHA: 40, Profile.GHA: 8, Profile.CON: 40,
    Profile.CFS: 25, Profile.CA: 400, Profile.EXIM: 330, Profile.BNK: 40, Profile.INS: 45, Profile.PGA: 20,
    Profile.NPA: 8, Profile.NT: 1, Profile.MS: 15, Profile.IRA: 1, Profile.ESV: 22,
}
# the identifier of its kind a generated partner gets besides its KRA PIN
KIND_ID: dict[Profile, tuple[IdScheme, Callable[[int], str]]] = {
    Profile.BNK: (IdScheme.BIC, lambda g: f"{g:04d}KEBX"),
    Profile.CUS: (IdScheme.CUSTOMS_OFFICE, lambda g: f"CO{g:05d}"),
    Profile.KPA: (IdScheme.TERMINAL, lambda g: f"TRM{g:05d}"),
    Profile.SHA: (IdScheme.CARRIER, lambda g: f"CR{g:05d}"),
    Profile.CFS: (IdScheme.CFS, lambda g: f"CFS{g:05d}"),
    Profile.PGA: (IdScheme.AGENCY, lambda g: f"AG{g:05d}"),
    Profile.NPA: (IdScheme.AGENCY, lambda g: f"AG{g:05d}"),
    Profile.NT: (IdScheme.AGENCY, lambda g: f"AG{g:05d}"),
    Profile.IRA: (IdScheme.AGENCY, lambda g: f"AG{g:05d}"),
}


@dataclass(frozen=True)
class Options:
    quick: bool
    postgres: bool = True
    sizes: tuple[int, ...] = SIZES
    seed: int = 2026

    # repeats (each one sample of the median and p95)
    @property
    def load_runs(self) -> int:
        return 3 if self.quick else 20

    @property
    def build_runs(self) -> int:
        return 50 if self.quick else 300

    @property
    def route_runs(self) -> int:
        return 7 if self.quick else 30

    @property
    def route_run_s(self) -> float:  # the least time one route() sample loops for
        return 0.01 if self.quick else 0.05

    @property
    def store_runs(self) -> int:
        return 30 if self.quick else 300

    @property
    def rules_load_runs(self) -> int:  # repeats after the first load (none with --quick: 3.5 s each)
        return 0 if self.quick else 5

    @property
    def rules_route_runs(self) -> int:
        return 5 if self.quick else 30


# ------------------------------------------------------------------ figures


def summary(samples: list[float], digits: int = 3) -> dict[str, Any]:
    """Median, p95 (nearest rank), min and max of the samples, and how many."""
    s = sorted(samples)
    p95 = s[max(0, math.ceil(0.95 * len(s)) - 1)]
    return {"median": round(statistics.median(s), digits), "p95": round(p95, digits), "min": round(s[0], digits),
            "max": round(s[-1], digits), "runs": len(s)}


def timed_load(directory: Path, runs: int) -> tuple[dict[str, Any], HubConfig]:
    """load_config of a directory ``runs`` times (no warm-up: each is what a start-up pays, with lxml and the
    modules imported); milliseconds, and the config loaded."""
    out = []
    cfg = None
    for _ in range(runs):
        t0 = time.perf_counter()
        cfg = load_config(directory, env={})
        out.append((time.perf_counter() - t0) * 1e3)
    assert cfg is not None
    return summary(out), cfg


def timed(fn: Callable[[], Any], runs: int, scale: float = 1e3, warmup: int = 1) -> dict[str, Any]:
    """``fn`` run ``runs`` times after ``warmup`` calls; milliseconds by default (scale 1e3)."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * scale)
    return summary(out)


# ------------------------------------------------------------------ the registry


@functools.cache
def example_registry() -> tuple[dict[str, Any], ...]:
    """config/partners.yaml's entries, as written (read once: copy an entry before changing it)."""
    data = yaml.safe_load((CONFIG / "partners.yaml").read_text(encoding="utf-8"))
    return tuple(data["partners"])


def trade_counts(n: int) -> dict[Profile, int]:
    """Partners per profile in the trade mix: the weights scaled to n, every profile at least once."""
    total = sum(TRADE_WEIGHTS.values())
    raw = {p: TRADE_WEIGHTS[p] * n / total for p in PROFILES}
    counts = {p: max(1, math.floor(raw[p])) for p in PROFILES}
    while sum(counts.values()) < n:
        p = max(PROFILES, key=lambda q: (raw[q] - counts[q], TRADE_WEIGHTS[q]))
        counts[p] += 1
    while sum(counts.values()) > n:
        p = max(PROFILES, key=lambda q: counts[q])
        counts[p] -= 1
    return counts


def profile_slots(n: int, mix: str = "uniform") -> list[tuple[Profile, ...]]:
    """The profiles of each of the n partners (all 17 profiles held by someone)."""
    if n < len(PROFILES):  # deal the profiles round-robin: some partners hold two
        slots: list[list[Profile]] = [[] for _ in range(n)]
        for j, prof in enumerate(PROFILES):
            slots[j % n].append(prof)
        return [tuple(s) for s in slots]
    if mix == "uniform":
        return [(PROFILES[i % len(PROFILES)],) for i in range(n)]
    if mix == "trade":
        return [(p,) for p, c in trade_counts(n).items() for _ in range(c)]
    raise ValueError(f"unknown mix {mix!r}")


def kra_pin(g: int) -> str:
    """A KRA PIN no example partner holds: P, 07, 7 digits, a letter."""
    return f"P07{g:07d}{LETTERS[g % len(LETTERS)]}"


def partner_entries(n: int, mix: str = "uniform") -> list[dict[str, Any]]:
    """The n partners.yaml entries of a generated registry (deterministic)."""
    templates: dict[Profile, list[dict[str, Any]]] = {p: [] for p in PROFILES}
    for entry in example_registry():
        templates[Profile(entry["profiles"][0])].append(entry)
    taken = dict.fromkeys(PROFILES, 0)
    out: list[dict[str, Any]] = []
    g = 0
    for profs in profile_slots(n, mix):
        base: dict[str, Any] | None = None
        for prof in profs:
            k = taken[prof]
            taken[prof] += 1
            template = templates[prof][k] if k < len(templates[prof]) else None
            if template is None:
                continue
            if base is None:
                base = copy.deepcopy(template)
            else:  # a second profile's example partner: its identifiers and the types it sends join in
                for scheme, values in template.get("identifiers", {}).items():
                    base.setdefault("identifiers", {}).setdefault(scheme, [])
                    base["identifiers"][scheme] = [*base["identifiers"][scheme], *values]
                base["sends"] = list(dict.fromkeys([*base.get("sends", []), *template.get("sends", [])]))
        if base is None:
            prof = profs[0]
            model = templates[prof][0]
            g += 1
            ids: dict[str, list[str]] = {IdScheme.KRA_PIN.value: [kra_pin(g)]}
            if prof in KIND_ID:
                scheme, make = KIND_ID[prof]
                ids[scheme.value] = [make(g)]
            adapter = model.get("adapter", "canonical")
            base = {"id": f"{prof.value.lower()}-bench-{taken[prof] - 1:04d}",
                    "name": f"Generated {prof.value} partner {taken[prof] - 1}",
                    "adapter": adapter if adapter in SIMPLE_ADAPTERS else "canonical",
                    "sends": list(model.get("sends", [])),
                    "receive_format": model.get("receive_format", "application/xml"),
                    "identifiers": ids}
        base["profiles"] = [p.value for p in profs]
        out.append(base)
    return out


def write_config(directory: Path, entries: list[dict[str, Any]]) -> Path:
    """A copy of config/ with this partners.yaml."""
    shutil.copytree(CONFIG, directory)
    (directory / "partners.yaml").write_text(yaml.dump({"partners": entries}, Dumper=DUMPER, sort_keys=False,
                                                                      default_flow_style=None, width=120),
                                             encoding="utf-8")
    return directory


def profile_counts(partners: tuple[Partner, ...]) -> dict[str, int]:
    counts = dict.fromkeys((p.value for p in PROFILES), 0)
    for p in partners:
        for prof in p.profiles:
            counts[prof.value] += 1
    return counts


# ------------------------------------------------------------------ the messages


@dataclass(frozen=True)
class Msg:
    msg_type: str
    sender: str  # the example registry's partner that sends it
    keys: Keys
    source: str  # examples/<type>/valid/<file>, or a generated type


def example_messages() -> list[Msg]:
    """One message per example of every type routes.yaml routes (maintenance notices aside), decoded."""
    catalogue = Catalogue()
    routed = yaml.safe_load((CONFIG / "routes.yaml").read_text(encoding="utf-8"))["routes"]
    originals = example_registry()
    by_identifier = {(IdScheme(s), normalise_id(IdScheme(s), v)): e["id"]
                     for e in originals for s, vs in e.get("identifiers", {}).items() for v in vs}
    out: list[Msg] = []
    seen: set[tuple[str, str]] = set()
    for directory in sorted(EXAMPLES.glob("*/valid")):
        msg_type = directory.parent.name
        if msg_type not in routed or msg_type in NOT_ROUTED_HERE:
            continue
        senders = [e["id"] for e in originals if msg_type in e.get("sends", [])]
        for path in sorted(directory.iterdir()):
            if path.suffix not in CONTENT_TYPES or (msg_type, path.stem) in seen:
                continue
            seen.add((msg_type, path.stem))
            keys = catalogue.decode(path.read_bytes(), CONTENT_TYPES[path.suffix], msg_type).keys()
            named = [by_identifier.get((p.scheme, normalise_id(p.scheme, p.id))) for p in keys.parties]
            sender = next((s for s in senders if s in named), senders[0] if senders else "kentrade")
            out.append(Msg(msg_type, sender, keys, str(path.relative_to(ROOT))))
    return out


def sender_in(registry_ids: dict[str, Partner], by_profile: dict[Profile, list[str]], sender: str) -> str:
    """The message's sender in a registry of N: the example partner itself, else the first of its profile."""
    if sender in registry_ids:
        return sender
    prof = next(Profile(e["profiles"][0]) for e in example_registry() if e["id"] == sender)
    return by_profile[prof][0]


def messages_for(partners: tuple[Partner, ...], msgs: list[Msg]) -> list[Msg]:
    index = {p.id: p for p in partners}
    by_profile: dict[Profile, list[str]] = {}
    for p in partners:
        for prof in p.profiles:
            by_profile.setdefault(prof, []).append(p.id)
    return [Msg(m.msg_type, sender_in(index, by_profile, m.sender), m.keys, m.source) for m in msgs]


# ------------------------------------------------------------------ route()


def route_figures(table: RoutingTable, msgs: list[Msg], runs: int, run_s: float,
                  fresh: Callable[[], RoutingTable] | None = None) -> dict[str, Any]:
    """route() over the mix: microseconds per decision (median, p95 of per-run means), decisions/s, fan-out;
    with ``fresh`` (a new table each call), also the first decision of each type on a fresh table."""
    calls = [(m.msg_type, m.sender, m.keys) for m in msgs]
    gc.collect()  # once: with the 10,000-rule config in memory a full collection takes ~100 ms
    first: dict[str, Any] | None = None
    if fresh is not None:
        one_per_type = list({c[0]: c for c in calls}.values())
        samples_first = []
        for _ in range(runs):
            t = fresh()
            t0 = time.perf_counter_ns()
            for msg_type, sender, keys in one_per_type:
                route(msg_type, sender, keys, t)
            samples_first.append((time.perf_counter_ns() - t0) / 1e3 / len(one_per_type))
        first = summary(samples_first)
    recipients = candidates = 0
    for msg_type, sender, keys in calls:  # also the warm-up
        d = route(msg_type, sender, keys, table)
        recipients += len(d.recipients)
        candidates += len(d.recipients) + len(d.excluded)
    t0 = time.perf_counter()
    for msg_type, sender, keys in calls:
        route(msg_type, sender, keys, table)
    once = max(time.perf_counter() - t0, 1e-6)
    loops = max(1, math.ceil(run_s / once))
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        for _ in range(loops):
            for msg_type, sender, keys in calls:
                route(msg_type, sender, keys, table)
        samples.append((time.perf_counter_ns() - t0) / 1e3 / (loops * len(calls)))
    us = summary(samples)
    mean_r, mean_c = recipients / len(calls), candidates / len(calls)
    return {"us_per_decision": us, "decisions_per_s": round(1e6 / us["median"]),
            "recipients_per_decision": round(mean_r, 2), "candidates_per_decision": round(mean_c, 2),
            "us_per_recipient": round(us["median"] / mean_r, 4) if mean_r else None,
            "us_per_candidate": round(us["median"] / mean_c, 4) if mean_c else None,
            "messages": len(calls), "decisions_per_run": loops * len(calls), "first_us_per_type": first}


def sample_decisions(table: RoutingTable, msgs: list[Msg], count: int = 8) -> list[dict[str, Any]]:
    """A few decisions as data, for checking them against an independent recomputation."""
    picked: list[Msg] = []
    types: set[str] = set()
    for m in msgs:  # the first message of each type that names parties
        if m.msg_type not in types and m.keys.parties:
            picked.append(m)
            types.add(m.msg_type)
    picked = picked[:count]
    out = []
    for m in picked:
        d = route(m.msg_type, m.sender, m.keys, table)
        out.append({"msg_type": m.msg_type, "sender": m.sender, "source": m.source,
                    "parties": [[p.scheme.value, p.id] for p in m.keys.parties],
                    "recipients": sorted(d.recipient_ids()), "excluded": len(d.excluded)})
    return out


# ------------------------------------------------------------------ the store part


@contextmanager
def stores(opt: Options, workdir: Path) -> Iterator[dict[str, Store | str]]:
    """A migrated SQLite store, and a PostgreSQL one if the server answers (else the reason it is missing)."""
    out: dict[str, Store | str] = {}
    sqlite = Store(f"sqlite:///{workdir / 'registry_scale.db'}")
    sqlite.migrate()
    out["sqlite"] = sqlite
    db = f"hub_bench_registry_{os.getpid()}"
    pg_made = False
    if opt.postgres:
        try:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
                admin.execute(f'CREATE DATABASE "{db}"')
            pg_made = True
            pg = Store(PG_URL.format(db=db))
            pg.migrate()
            out["postgresql"] = pg
        except Exception as exc:  # noqa: BLE001 - any failure: the PostgreSQL figures are left out, with why
            out["postgresql"] = f"not measured: {type(exc).__name__}: {str(exc)[:160]}"
    else:
        out["postgresql"] = "not measured: --no-postgres"
    try:
        yield out
    finally:
        for s in out.values():
            if isinstance(s, Store):
                s.close()
        if pg_made:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def reset(store: Store) -> None:
    with store.engine.begin() as conn:
        for table in (registry.partner_status, registry.partner_changes, credentials.partner_credentials):
            conn.execute(table.delete())


def store_figures(store: Store, partners: tuple[Partner, ...], runs: int) -> dict[str, Any]:
    """Registry refresh (statuses + apply), holds, and the credential listing, with this registry recorded."""
    reset(store)
    overrides = min(MAX_OVERRIDES, len(partners) // 2)
    step = max(1, len(partners) // max(overrides, 1))
    chosen = [partners[i * step] for i in range(overrides)]
    for i, p in enumerate(chosen):
        action = "deregister" if i % 5 == 4 else "suspend"
        registry.change(store, p, action, f"registry_scale benchmark: {action}", by="bench")
    credentials.record_first_issue(store, [p.id for p in partners], 365)
    statuses_ms: list[float] = []
    apply_ms: list[float] = []
    total_ms: list[float] = []
    result: tuple[Partner, ...] = ()
    for i in range(runs + 1):  # the first is a warm-up
        t0 = time.perf_counter()
        got = registry.statuses(store)
        t1 = time.perf_counter()
        result = registry.apply(partners, got)
        t2 = time.perf_counter()
        if i:
            statuses_ms.append((t1 - t0) * 1e3)
            apply_ms.append((t2 - t1) * 1e3)
            total_ms.append((t2 - t0) * 1e3)
    changed = sum(1 for a, b in zip(partners, result, strict=True) if a.status is not b.status)
    creds: dict[str, credentials.Credential] = {}

    def read_creds() -> None:
        nonlocal creds
        creds = credentials.all_credentials(store)

    return {"overrides": overrides, "statuses_applied": changed,
            "refresh_ms": summary(total_ms), "statuses_ms": summary(statuses_ms), "apply_ms": summary(apply_ms),
            "holds_ms": timed(lambda: registry.holds(store), runs),
            "credentials_ms": timed(read_creds, runs), "credential_rows": len(creds)}


# ------------------------------------------------------------------ 10,000 rules


ACCESS_CELLS = (("all", 54), ("own", 46), ("deny", 9))  # ACCESS.md's own cells, maintenance notices aside
XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:bench:{name}"
           elementFormDefault="unqualified">
  <xs:element name="{root}">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="ucr" type="xs:string" minOccurs="0"/>
        <xs:element name="party" type="xs:string" minOccurs="0" maxOccurs="10"/>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


def rule_type_name(j: int) -> str:
    return f"bench.rules{j:04d}"


def add_rule_types(directory: Path, seed: int, target: int = RULES_TARGET) -> dict[str, Any]:
    """Schema-only types with their XSDs, routes and access rows added to a config directory until
    access.yaml holds at least ``target`` cells. The counts."""
    rng = random.Random(seed)
    access_doc = yaml.safe_load((directory / "access.yaml").read_text(encoding="utf-8"))
    routes_doc = yaml.safe_load((directory / "routes.yaml").read_text(encoding="utf-8"))
    types_doc = yaml.safe_load((directory / "types.yaml").read_text(encoding="utf-8")) or {"types": []}
    cells = sum(len(row) for row in access_doc["access"].values())
    base_cells, base_routes = cells, sum(len(r["to"]) for r in routes_doc["routes"].values())
    schemas = directory / "schemas" / "bench-rules"
    schemas.mkdir(parents=True)
    kinds, weights = zip(*ACCESS_CELLS, strict=True)
    j = 0
    while cells < target:
        name = rule_type_name(j)
        profiles = rng.sample(PROFILES, rng.randint(3, 9))
        row = {p.value: {"cell": rng.choices(kinds, weights)[0], "basis": "registry_scale benchmark"}
               for p in profiles}
        routed = [p for p, rule in row.items() if rule["cell"] != "deny"]
        if not routed:
            row[profiles[0].value]["cell"] = "all"
            routed = [profiles[0].value]
        access_doc["access"][name] = row
        routes_doc["routes"][name] = {"to": routed}
        root = f"BenchRules{j:04d}"
        (schemas / f"{name}.xsd").write_text(XSD.format(name=name, root=root), encoding="utf-8")
        types_doc["types"].append({"name": name, "schema": f"schemas/bench-rules/{name}.xsd", "ucr_xpath": "ucr",
                                   "parties": [{"role": "consignee", "scheme": "kra_pin", "xpath": "party"}]})
        cells += len(row)
        j += 1
    for fname, doc in (("access.yaml", access_doc), ("routes.yaml", routes_doc), ("types.yaml", types_doc)):
        text = yaml.dump(doc, Dumper=DUMPER, sort_keys=False, default_flow_style=None, width=120)
        (directory / fname).write_text(text, encoding="utf-8")
    return {"types": j, "message_types": len(access_doc["access"]), "access_cells": cells,
            "access_cells_example": base_cells,
            "route_entries": sum(len(r["to"]) for r in routes_doc["routes"].values()),
            "route_entries_example": base_routes}


def rule_type_messages(schema_types: tuple[SchemaType, ...], partners: tuple[Partner, ...], catalogue: Catalogue,
                       count: int, types: int, seed: int) -> list[Msg]:
    """``count`` XML documents of ``types`` generated types (spread over all of them), each naming 1 to 3 of
    these partners by KRA PIN, decoded by the Catalogue; the sender a random partner."""
    rng = random.Random(seed)
    generated = [st for st in schema_types if st.name.startswith("bench.rules")]
    chosen = [generated[k * len(generated) // types] for k in range(types)]
    pins = [pin for p in partners for pin in p.identifiers.get(IdScheme.KRA_PIN, ())]
    out = []
    for i in range(count):
        st = chosen[i % types]
        named = rng.sample(pins, min(len(pins), rng.randint(1, 3)))
        ucr = f"26KE{named[0][:10]}{i:07d}"
        parties = "".join(f"<party>{pin}</party>" for pin in named)
        root = f"BenchRules{int(st.name[-4:]):04d}"
        doc = f'<b:{root} xmlns:b="urn:bench:{st.name}"><ucr>{ucr}</ucr>{parties}</b:{root}>'.encode()
        keys = catalogue.decode(doc, codec.XML_CT, st.name).keys()
        out.append(Msg(st.name, rng.choice(partners).id, keys, f"generated {st.name}"))
    return out


def rule_config(workdir: Path, n: int, opt: Options) -> tuple[HubConfig, Catalogue, dict[str, Any]]:
    """The config directory with n partners and >= 10,000 rules: loaded once cold, then again (warm)."""
    directory = write_config(workdir / f"n{n}-rules", partner_entries(n))
    counts = add_rule_types(directory, opt.seed)
    t0 = time.perf_counter()
    cfg = load_config(directory, env={})
    cold = (time.perf_counter() - t0) * 1e3
    warm = timed_load(directory, opt.rules_load_runs)[0] if opt.rules_load_runs else None
    return cfg, Catalogue(cfg.schema_types), {**counts, "partners": n, "load_config_cold_ms": round(cold, 1),
                                              "load_config_ms": warm}


def rules_figures(rules: HubConfig, catalogue: Catalogue, cfg: HubConfig, msgs: list[Msg],
                  opt: Options) -> dict[str, Any]:
    """route() with this registry and the routes and access rules of ``rules`` (>= 10,000 rules, loaded by
    load_config), over the example mix and over messages of the generated types naming this registry's
    partners."""
    def table() -> RoutingTable:
        return RoutingTable(cfg.partners, rules.routes, rules.access)

    few = rule_type_messages(rules.schema_types, cfg.partners, catalogue, 2 * FEW_TYPES, FEW_TYPES,
                             opt.seed + len(cfg.partners))
    full = table()  # the plans of PLAN_TYPES other types kept first: every decision of the mix builds its own
    mixed = {m.msg_type for m in few}
    for st in [st for st in rules.schema_types if st.name not in mixed][:PLAN_TYPES or 0]:
        route(st.name, "nobody", Keys(), full)
    return {"build_ms": timed(table, opt.build_runs),
            "route_examples": route_figures(table(), messages_for(cfg.partners, msgs), opt.rules_route_runs,
                                            opt.route_run_s),
            "route_generated_types": route_figures(table(), few, opt.rules_route_runs, opt.route_run_s),
            "route_beyond_plans": route_figures(full, few, opt.rules_route_runs, opt.route_run_s),
            "generated_types_in_mix": FEW_TYPES, "plan_types": PLAN_TYPES}


# ------------------------------------------------------------------ one registry size


def bench_size(n: int, msgs: list[Msg], opt: Options, workdir: Path,
               backends: dict[str, Store | str]) -> tuple[dict[str, Any], HubConfig]:
    directory = write_config(workdir / f"n{n}", partner_entries(n))
    load, cfg = timed_load(directory, opt.load_runs)
    build = timed(lambda: RoutingTable.from_config(cfg), opt.build_runs)
    table = RoutingTable.from_config(cfg)
    mine = messages_for(cfg.partners, msgs)
    out: dict[str, Any] = {
        "partners": len(cfg.partners), "partners_per_profile": profile_counts(cfg.partners),
        "load_config_ms": load, "build_ms": build,
        "route": route_figures(table, mine, opt.route_runs, opt.route_run_s,
                               fresh=lambda: RoutingTable.from_config(cfg)),
        "sample_decisions": sample_decisions(table, mine),
    }
    trade_dir = write_config(workdir / f"n{n}-trade", partner_entries(n, "trade"))
    trade_cfg = load_config(trade_dir, env={})
    out["trade"] = {"partners_per_profile": profile_counts(trade_cfg.partners),
                    "route": route_figures(RoutingTable.from_config(trade_cfg), messages_for(trade_cfg.partners, msgs),
                                           opt.route_runs, opt.route_run_s)}
    out["store"] = {name: (store_figures(s, cfg.partners, opt.store_runs) if isinstance(s, Store) else s)
                    for name, s in backends.items()}
    return out, cfg


def run(opt: Options) -> dict[str, Any]:
    t0 = time.perf_counter()
    msgs = example_messages()
    load_config(CONFIG, env={})  # imports done and the example schema-only XSDs compiled, as in a running hub
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="registry_scale-") as tmp:
        workdir = Path(tmp)
        configs: dict[int, HubConfig] = {}
        with stores(opt, workdir) as backends:
            for n in opt.sizes:
                results[str(n)], configs[n] = bench_size(n, msgs, opt, workdir, backends)
        rules, catalogue, rules_loading = rule_config(workdir, max(opt.sizes), opt)
        for n in opt.sizes:
            results[str(n)]["rules_10k"] = rules_figures(rules, catalogue, configs[n], msgs, opt)
    doc: dict[str, Any] = {
        "benchmark": "registry_scale", "quick": opt.quick, "sizes": list(opt.sizes), "seed": opt.seed,
        "units": {"load_config_ms": "ms", "build_ms": "ms", "us_per_decision": "microseconds per route() call",
                  "store": "ms per call"},
        "definitions": {
            "rule": "one cell of access.yaml: a (message type, profile) pair with its cell all/own/deny; "
                    "routes.yaml routes each generated type to its all and own profiles",
            "candidate": "a partner of a profile the type is routed to, other than the sender: each decision "
                         "lists it as a recipient or as an exclusion with its rule",
            "uniform_mix": "partner i holds profile i mod 17; with fewer than 17 partners the profiles are "
                           "dealt round-robin (some hold two); the example registry's partners come first",
            "trade_mix": "profiles weighted per 1,000 partners: " + ", ".join(
                f"{p.value} {w}" for p, w in TRADE_WEIGHTS.items()) + " (every profile at least once)",
            "messages": "every valid example of every routed type but maintenance.notice, one per message "
                        f"({len(msgs)}), decoded by Catalogue().decode; keys and parties as decoded",
            "registry_refresh": "registry.statuses(store) + registry.apply(partners, overrides), with "
                                f"min({MAX_OVERRIDES}, N/2) overrides (1 in 5 deregistered, others suspended)",
            "credentials": "credentials.all_credentials(store): the one query hub partners list reads with",
        },
        "message_types": sorted({m.msg_type for m in msgs}),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "sqlalchemy": sa.__version__},
        "rules_10k": rules_loading,
        "results": results,
    }
    first, last = str(min(opt.sizes)), str(max(opt.sizes))
    if first != last:
        a, b = results[first]["route"], results[last]["route"]

        def ratio(key: str) -> float | None:
            x, y = a[key], b[key]
            if isinstance(x, dict):
                x, y = x["median"], y["median"]
            return round(y / x, 2) if x and y else None

        doc["route_ratio"] = {
            "between": [int(first), int(last)], "target": 1.2,
            "us_per_decision": ratio("us_per_decision"), "us_per_candidate": ratio("us_per_candidate"),
            "us_per_recipient": ratio("us_per_recipient"),
            "candidates_per_decision": ratio("candidates_per_decision"),
            "recipients_per_decision": ratio("recipients_per_decision"),
        }
        r = doc["route_ratio"]["us_per_decision"]
        doc["route_ratio"]["within_target"] = r is not None and r <= 1.2
    doc["seconds"] = round(time.perf_counter() - t0, 1)
    return doc


# ------------------------------------------------------------------ the report


def _ms(s: dict[str, Any] | None, digits: int = 2) -> str:
    if not s:
        return "-"
    return f"{s['median']:.{digits}f} / {s['p95']:.{digits}f}"


def report(doc: dict[str, Any]) -> str:
    res = doc["results"]
    cols = list(res)
    width = 22
    head = f"{'':<44}" + "".join(f"{int(c):>{width},}" for c in cols)
    out = [f"registry_scale{' (--quick)' if doc['quick'] else ''}: {len(doc['message_types'])} message types, "
           f"{doc['definitions']['messages'].split('(')[1].split(')')[0]} example messages; "
           "cells: median / p95 over repeated runs", "", "partners" + head[8:]]

    def row(label: str, get: Callable[[dict[str, Any]], str]) -> None:
        cells = []
        for c in cols:
            try:
                cells.append(get(res[c]))
            except (KeyError, TypeError):
                cells.append("-")
        out.append(f"{label:<44}" + "".join(f"{x:>{width}}" for x in cells))

    row("load_config, ms", lambda r: _ms(r["load_config_ms"], 1))
    row("RoutingTable.from_config, ms", lambda r: _ms(r["build_ms"], 3))
    out.append("route(), uniform mix (every profile N/17)")
    row("  us per decision", lambda r: _ms(r["route"]["us_per_decision"], 1))
    row("  decisions/s (median)", lambda r: f"{r['route']['decisions_per_s']:,}")
    row("  recipients per decision (mean)", lambda r: f"{r['route']['recipients_per_decision']:.1f}")
    row("  candidates per decision (mean)", lambda r: f"{r['route']['candidates_per_decision']:.1f}")
    row("  us per recipient", lambda r: f"{r['route']['us_per_recipient']:.3f}")
    row("  us per candidate", lambda r: f"{r['route']['us_per_candidate']:.3f}")
    row("  first decision of a type, fresh table, us", lambda r: _ms(r["route"]["first_us_per_type"], 1))
    out.append("route(), trade mix (mostly clearing agents and importers)")
    row("  us per decision", lambda r: _ms(r["trade"]["route"]["us_per_decision"], 1))
    row("  decisions/s (median)", lambda r: f"{r['trade']['route']['decisions_per_s']:,}")
    row("  recipients / candidates per decision", lambda r: f"{r['trade']['route']['recipients_per_decision']:.1f}"
        f" / {r['trade']['route']['candidates_per_decision']:.1f}")
    row("  us per candidate", lambda r: f"{r['trade']['route']['us_per_candidate']:.3f}")
    for backend in ("sqlite", "postgresql"):
        sample = next(iter(res.values()))["store"][backend]
        if isinstance(sample, str):
            out.append(f"store, {backend}: {sample}")
            continue
        out.append(f"store, {backend}, ms")
        row("  status overrides recorded", lambda r, b=backend: str(r["store"][b]["overrides"]))
        row("  refresh: statuses + apply", lambda r, b=backend: _ms(r["store"][b]["refresh_ms"], 3))
        row("    registry.statuses(store)", lambda r, b=backend: _ms(r["store"][b]["statuses_ms"], 3))
        row("    registry.apply(partners, overrides)", lambda r, b=backend: _ms(r["store"][b]["apply_ms"], 3))
        row("  registry.holds(store)", lambda r, b=backend: _ms(r["store"][b]["holds_ms"], 3))
        row("  credentials.all_credentials(store)", lambda r, b=backend: _ms(r["store"][b]["credentials_ms"], 3))
    rl = doc["rules_10k"]
    out.append(f"{rl['access_cells']:,} rules: access.yaml cells of {rl['message_types']:,} message types "
               f"({rl['types']:,} generated schema-only types), {rl['route_entries']:,} route entries")
    again = f", again {_ms(rl['load_config_ms'], 0)} ms" if rl["load_config_ms"] else " (not repeated with --quick)"
    out.append(f"  load_config with them and {rl['partners']:,} partners: first {rl['load_config_cold_ms']:,.0f} ms "
               f"(XSDs compiled){again}")
    row("  RoutingTable build, ms", lambda r: _ms(r["rules_10k"]["build_ms"], 3))
    row("  route() examples, us per decision", lambda r: _ms(r["rules_10k"]["route_examples"]["us_per_decision"], 1))
    row(f"  route() {FEW_TYPES} generated types, us per decision",
        lambda r: _ms(r["rules_10k"]["route_generated_types"]["us_per_decision"], 1))
    row("    recipients / candidates per decision",
        lambda r: f"{r['rules_10k']['route_generated_types']['recipients_per_decision']:.1f} / "
                  f"{r['rules_10k']['route_generated_types']['candidates_per_decision']:.1f}")
    if PLAN_TYPES is not None:
        row(f"  the same, {PLAN_TYPES} other types' plans kept, us",
            lambda r: _ms(r["rules_10k"]["route_beyond_plans"]["us_per_decision"], 1))
        out.append(f"    (a table keeps the plans of the first {PLAN_TYPES} types routed: past them, every decision "
                   "builds its type's plan, the worst case)")
    ratio = doc.get("route_ratio")
    if ratio:
        a, b = ratio["between"]
        verdict = "within" if ratio["within_target"] else "NOT within"
        out += ["", f"route() {b:,} vs {a:,} partners (uniform mix): {ratio['us_per_decision']}x per decision "
                    f"({verdict} the 1.2x target); candidates per decision {ratio['candidates_per_decision']}x, "
                    f"recipients {ratio['recipients_per_decision']}x; per candidate {ratio['us_per_candidate']}x, "
                    f"per recipient {ratio['us_per_recipient']}x"]
    out += ["", "A rule: " + doc["definitions"]["rule"] + ".",
            "A candidate: " + doc["definitions"]["candidate"] + "."]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--json", action="store_true", help="print the JSON document instead of the table")
    ap.add_argument("--quick", action="store_true", help="fewer repeats (under 30 s)")
    ap.add_argument("--no-postgres", action="store_true", help="SQLite only")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="registry sizes (default 10,100,1000)")
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args(argv)
    sizes = tuple(int(s) for s in a.sizes.split(","))
    doc = run(Options(quick=a.quick, postgres=not a.no_postgres, sizes=sizes, seed=a.seed))
    if a.json:
        print(json.dumps(doc, indent=1))
    else:
        print(report(doc))
        print(f"\n({doc['seconds']} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
