"""The registry scale benchmark (benchmarks/registry_scale.py) run in-process the --quick way: its JSON has
every figure for 10, 100 and 1,000 partners and 10,000 rules, and the decisions it reports for 1,000 partners
are those an independent recomputation from the hand-written ACCESS.md table gives (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType
from typing import Any

import pytest

from tests.access_table import ALL, OWN, expected_recipients
from tests.conftest import ROOT


def _load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_registry_scale", ROOT / "benchmarks" / "registry_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


rs = _load_module()

STATS = {"median", "p95", "min", "max", "runs"}
ROUTE = {"us_per_decision", "decisions_per_s", "recipients_per_decision", "candidates_per_decision",
         "us_per_recipient", "us_per_candidate", "messages", "decisions_per_run", "first_us_per_type"}
STORE = {"overrides", "statuses_applied", "refresh_ms", "statuses_ms", "apply_ms", "holds_ms", "credentials_ms",
         "credential_rows"}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return run_quick()


def run_quick() -> dict[str, Any]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert rs.main(["--quick", "--json"]) == 0
    parsed: dict[str, Any] = json.loads(out.getvalue())
    return parsed


def test_the_json_has_every_figure(doc: dict[str, Any]) -> None:
    assert {"benchmark", "quick", "sizes", "units", "definitions", "message_types", "machine", "rules_10k",
            "results", "route_ratio", "seconds"} <= set(doc)
    assert doc["quick"] is True and doc["sizes"] == [10, 100, 1000]
    assert set(doc["definitions"]) >= {"rule", "candidate", "uniform_mix", "trade_mix", "messages"}
    for n in doc["sizes"]:
        r = doc["results"][str(n)]
        assert {"partners", "partners_per_profile", "load_config_ms", "build_ms", "route", "sample_decisions",
                "trade", "store", "rules_10k"} <= set(r)
        assert r["partners"] == n
        assert len(r["partners_per_profile"]) == 17 and all(c >= 1 for c in r["partners_per_profile"].values())
        assert sum(r["trade"]["partners_per_profile"].values()) >= n
        for figures in (r["load_config_ms"], r["build_ms"], r["route"]["us_per_decision"],
                        r["route"]["first_us_per_type"]):
            assert set(figures) == STATS and figures["runs"] >= 1 and figures["median"] > 0
        for route in (r["route"], r["trade"]["route"], r["rules_10k"]["route_examples"],
                      r["rules_10k"]["route_generated_types"], r["rules_10k"]["route_beyond_plans"]):
            assert set(route) == ROUTE
            assert route["recipients_per_decision"] <= route["candidates_per_decision"]
        sqlite = r["store"]["sqlite"]
        assert set(sqlite) == STORE
        assert sqlite["overrides"] == min(50, n // 2) == sqlite["statuses_applied"]
        assert sqlite["credential_rows"] == n
        pg = r["store"]["postgresql"]
        assert (isinstance(pg, dict) and set(pg) == STORE and pg["credential_rows"] == n) or (
            isinstance(pg, str) and pg.startswith("not measured"))
        assert {"build_ms", "route_examples", "route_generated_types", "route_beyond_plans"} <= set(r["rules_10k"])
    rules = doc["rules_10k"]
    assert rules["access_cells"] >= 10_000 and rules["types"] >= 1000 and rules["partners"] == 1000
    assert rules["load_config_cold_ms"] > 0
    assert rules["route_entries"] <= rules["access_cells"]
    ratio = doc["route_ratio"]
    assert {"between", "target", "us_per_decision", "us_per_candidate", "us_per_recipient", "within_target"} <= set(
        ratio)
    assert ratio["between"] == [10, 1000]
    # the same messages: the table of 10,000 rules routes the example types as the example table does
    for n in doc["sizes"]:
        r = doc["results"][str(n)]
        assert r["rules_10k"]["route_examples"]["recipients_per_decision"] == r["route"]["recipients_per_decision"]
        assert r["rules_10k"]["route_examples"]["candidates_per_decision"] == r["route"]["candidates_per_decision"]
    table = rs.report(doc)
    assert "route() 1,000 vs 10 partners" in table and "rules" in table


def _normal(scheme: str, value: str) -> str:
    value = value.strip().upper()
    return value[:8] if scheme == "bic" else value


def test_decisions_for_1000_partners_match_an_independent_recomputation(doc: dict[str, Any]) -> None:
    entries = rs.partner_entries(1000)
    assert len(entries) == 1000 and len({e["id"] for e in entries}) == 1000
    assert not any("status" in e for e in entries)  # all active: the table below knows no status
    profiles = {e["id"]: set(e["profiles"]) for e in entries}
    holder = {(scheme, _normal(scheme, v)): e["id"] for e in entries
              for scheme, values in e.get("identifiers", {}).items() for v in values}
    decisions = doc["results"]["1000"]["sample_decisions"]
    assert len({d["msg_type"] for d in decisions}) >= 5
    by_own = 0
    for d in decisions:
        named = {holder[(s, _normal(s, v))] for s, v in d["parties"] if (s, _normal(s, v)) in holder}
        want = expected_recipients(d["msg_type"], d["sender"], profiles, named)
        assert d["recipients"] == sorted(want), d["source"]
        candidates = {pid for pid, profs in profiles.items()
                      if pid != d["sender"] and profs & (ALL[d["msg_type"]] | OWN[d["msg_type"]])}
        assert d["excluded"] == len(candidates - want), d["source"]
        by_own += len({pid for pid in want if not profiles[pid] & ALL[d["msg_type"]]})
    assert by_own  # some were delivered through an own cell: the parties the examples name were matched
