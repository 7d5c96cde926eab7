"""The reference lookup benchmark (benchmarks/ref_lookup.py) on a few thousand consignments, on SQLite and on
PostgreSQL: its data are well formed, its bulk loads store every row, and a lookup by each kind of reference
gives the right UCR (correctness only; no timing is asserted)."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from hub.identifiers import check_awb, check_container, check_entry_number, check_imo, check_ucr
from hub.store import Store
from tests.conftest import REQUIRE, ROOT

N = 3000


def _load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_ref_lookup", ROOT / "benchmarks" / "ref_lookup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


rl = _load_module()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Any]]:
    """A fresh store with N synthetic consignments bulk-loaded the benchmark's way, and its generator."""
    if request.param == "sqlite":
        store, path = rl.fresh_sqlite(tmp_path_factory.mktemp("bench"))
        store.close()
        synth = rl.Synth(N, stamp=rl.sqlite_stamp, chunk=1000)
        rl.load_sqlite(path, synth)
        s = Store(f"sqlite:///{path}")
        yield s, synth
        s.close()
        return
    db = f"hubtest_bench_{uuid.uuid4().hex[:10]}"
    try:
        store = rl.fresh_postgres(db)
    except psycopg.OperationalError as exc:
        if REQUIRE:
            pytest.fail(f"PostgreSQL is required (CI=true or HUB_REQUIRE_SERVICES=1): {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        store.close()
        synth = rl.Synth(N, stamp=rl.pg_stamp, chunk=1000)
        rl.load_postgres(db, synth)
        s = Store(rl.PG_URL.format(db=db))
        yield s, synth
        s.close()
    finally:
        rl.drop_postgres(db)


def test_the_bulk_load_stores_every_generated_row(loaded: tuple[Store, Any]) -> None:
    store, synth = loaded
    with store.engine.connect() as conn:
        for table, expected in synth.rows.items():
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == expected, table
        nulls = conn.execute(sa.text("SELECT count(*) FROM consignment_events WHERE ucr IS NULL")).scalar_one()
    assert nulls == 2 * synth.vessel_calls  # each call's arrival report and bayplan, recorded without a UCR
    per = synth.rows["consignment_events"] / N
    assert 8 <= per <= 12
    assert 3 <= synth.rows["consignment_parties"] / N <= 5


def test_generated_references_have_the_real_shapes(loaded: tuple[Store, Any]) -> None:
    _, synth = loaded
    checks = {"ucr": check_ucr, "container": check_container, "awb": check_awb, "master_awb": check_awb,
              "entry": check_entry_number}
    seen = set()
    for spec in synth.samples:
        for kind, value in spec.refs:
            if kind in checks:
                checks[kind](value)  # raises on a malformed value
            seen.add(kind)
            assert len(value) <= 35
        if spec.vessel_call:
            check_imo(spec.vessel_call.split("/")[0])
    assert seen == set(rl.KINDS)


def test_resolve_gives_the_right_ucr_for_every_kind(loaded: tuple[Store, Any]) -> None:
    store, synth = loaded
    probes = synth.probes(25)
    kinds = {p.kind for p in probes}
    assert kinds == {*rl.KINDS, rl.MISS}
    for p in probes:
        assert store.resolve(p.value) == list(p.expected), (p.kind, p.value)
        if p.kind != rl.MISS:
            (ucr,) = p.expected
            consignment = store.consignment(ucr)
            assert consignment.ucr == ucr
            assert (p.kind, p.value) in consignment.references
            assert consignment.events and consignment.parties


def test_the_benchmark_loop_counts_no_wrong_answer(loaded: tuple[Store, Any]) -> None:
    store, synth = loaded
    figures = rl.run_lookups(store, synth.probes(10), warmup=5)
    assert set(figures) == {*rl.KINDS, rl.MISS}
    for kind, f in figures.items():
        assert f["n"] == 10 and f["wrong"] == 0, (kind, f["wrong_values"])
        assert f["ucrs_per_lookup"] == (0 if kind == rl.MISS else 1)


def test_a_vessel_call_names_all_its_consignments(loaded: tuple[Store, Any]) -> None:
    store, synth = loaded
    probes = synth.vessel_probes(50)
    assert probes
    for p in probes:
        assert store.resolve(p.value) == list(p.expected)
    p = probes[0]
    events = store.consignment(p.expected[0]).events
    assert {e.msg_type for e in events if e.ucr is None} == {"arrival.iar", "bayplan"}
    assert any(e.msg_type == "manifest.sea" and e.vessel_call == p.value for e in events)
    figures = rl.run_lookups(store, [rl.Probe(p.kind, p.value, p.expected)], warmup=0)
    assert figures[rl.VESSEL_CALL]["wrong"] == 0


def test_the_plans_of_every_statement_are_gathered(loaded: tuple[Store, Any]) -> None:
    store, synth = loaded
    probes = synth.probes(2) + synth.vessel_probes(1)
    plans = rl.explain_all(store, probes)
    assert set(plans["resolve"]) == {*rl.KINDS, rl.MISS, rl.VESSEL_CALL}
    assert set(plans["consignment"]) == {"sea", "air"}
    for group in ("resolve", "consignment"):
        for statements in plans[group].values():
            assert statements
            assert all(q["plan"] for q in statements)
