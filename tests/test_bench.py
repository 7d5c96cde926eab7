"""``hub bench`` (hub.bench) in its smallest configuration (``Options.tiny()``), against the real RabbitMQ:
every key the issue asks for is there, the figures that must be positive are, the publishes per message are
the broker's own count (management API) and agree with the queue totals, the baselines made exactly that many
publishes per message, and the hub and both baselines ran in this one invocation, whose vhost is gone after.
No timing is asserted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub import bench_mix as mx
from hub.bench import Options, run_bench
from hub.bench_broker import copies_plan
from hub.bench_report import summarise_routing, table
from hub.catalogue import Catalogue, Limits

pytestmark = [pytest.mark.broker]

REQUIRED = ("baseline.msgs_per_s", "baseline_batched.msgs_per_s", "hub.msgs_per_s", "ratio", "fanout",
            "latency_ms.p50", "latency_ms.p95", "latency_ms.p99", "rss_mb.start", "rss_mb.end", "rss_mb.messages",
            "drain.msgs_per_s", "drain.eta_error", "drain.first_window.eta_error", "large.msgs_per_s",
            "publishes_per_msg", "cores", "quick", "size_sweep", "routing", "hub_processes.1.msgs_per_s",
            "hub_processes.2.msgs_per_s", "messages.main")
POSITIVE = ("baseline.msgs_per_s", "baseline_batched.msgs_per_s", "hub.msgs_per_s", "ratio", "fanout",
            "latency_ms.p50", "latency_ms.p95", "latency_ms.p99", "rss_mb.start", "rss_mb.end", "rss_mb.messages",
            "drain.msgs_per_s", "large.msgs_per_s", "publishes_per_msg", "cores", "hub_processes.2.msgs_per_s")


def get(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for key in path.split("."):
        assert isinstance(value, dict) and key in value, f"missing {path}"
        value = value[key]
    return value


@pytest.fixture(scope="module")
def doc(broker: None) -> dict[str, Any]:
    return run_bench(Options.tiny())


def test_every_key_of_the_issue_is_there(doc: dict[str, Any]) -> None:
    for path in REQUIRED:
        get(doc, path)
    for path in POSITIVE:
        value = get(doc, path)
        assert isinstance(value, int | float) and value > 0, (path, value)
    assert doc["quick"] is True
    eta_error = doc["drain"]["eta_error"]
    assert isinstance(eta_error, float) or doc["drain"]["eta_missing"], doc["drain"]
    assert get(doc, "latency_ms.p50") <= get(doc, "latency_ms.p95") <= get(doc, "latency_ms.p99")
    assert doc["latency_ms"]["offered_per_s"] == 1000.0
    assert [s["target_bytes"] for s in doc["size_sweep"]] == [t for t, _n in Options.tiny().sweep]
    assert all(s["msgs_per_s"] > 0 and s["complete"] for s in doc["size_sweep"])
    assert doc["routing"]["see"] == "benchmarks/registry_scale.py"  # not run by the tiny options
    assert "routing alone" in table(doc)


def test_every_run_was_complete(doc: dict[str, Any]) -> None:
    for run in (doc["hub"], doc["large"], doc["hub_processes"]["2"]):
        assert run["complete"], run
        assert run["acks"] == run["messages"]
        assert run["deliveries"] == run["deliveries_expected"] > 0
        assert run["hub_log_outcomes"].get("accepted") == run["messages"], run["hub_log_outcomes"]
    assert doc["latency_ms"]["acked"] == doc["latency_ms"]["messages"]
    for drain in (doc["drain"], doc["drain"]["first_window"]):  # every backlog message was accepted and held
        assert drain["backlog_outcomes"].get("accepted") == drain["backlog_messages"], drain
        assert drain["held_at_end"] == drain["messages"] > 0


def test_publishes_per_message_are_the_brokers_own_count(doc: dict[str, Any]) -> None:
    hub, broker = doc["hub"], doc["hub"]["broker"]
    assert broker["settled"] and broker["agrees_with_queue_totals"], broker
    assert broker["inbound"] == hub["messages"]
    assert broker["hub_out"] == broker["inbox"] == hub["deliveries"]
    assert broker["acks"] == hub["messages"]
    assert doc["publishes_per_msg"] == round(broker["hub_publishes"] / hub["messages"], 3)
    assert doc["publishes_per_msg"] == hub["publishes_per_msg_queue_totals"]
    # each delivery published twice (hub.out, then the inbox), plus the ack
    assert doc["publishes_per_msg"] == round((hub["acks"] + 2 * hub["deliveries"]) / hub["messages"], 3)
    for name in ("baseline", "baseline_batched"):
        base = doc[name]
        assert base["messages"] == hub["messages"]
        assert base["broker_publishes"] == base["copies_made"] == sum(copies_plan(hub["messages"],
                                                                                  doc["publishes_per_msg"]))
        assert abs(base["publishes_per_msg"] - doc["publishes_per_msg"]) <= 1 / hub["messages"]


def test_the_baselines_and_the_hub_ran_in_this_invocation(doc: dict[str, Any]) -> None:
    same = doc["same_invocation"]
    assert same["vhost"] == doc["vhost"] and same["runs"] == ["hub", "baseline", "baseline_batched"]
    assert doc["vhost_deleted"]
    r = httpx.get(f"http://127.0.0.1:15672/api/vhosts/{doc['vhost']}", auth=("guest", "guest"), timeout=10)
    assert r.status_code == 404  # nothing left behind


def test_the_mix_is_valid_and_about_its_sizes() -> None:
    catalogue = Catalogue()
    mix = mx.Mix(5)
    docs = [mix.ucr_issued(0), *mix.run(len(mx.GROUP))]
    for d in docs:
        catalogue.decode(d.body, d.content_type, d.msg_type)
    sizes = mx.sizes_of(docs)
    assert 2300 <= sizes["manifest_xml"]["bytes_mean"] <= 2700
    assert 2300 <= sizes["release_xml"]["bytes_mean"] <= 2700
    big = mx.generated(5 * 1024 * 1024 - 65_536, "BTEST1")
    assert len(big.body) < 5 * 1024 * 1024
    catalogue.decode(big.body, big.content_type, big.msg_type, Limits(5 * 1024 * 1024, 64))
    assert sum(copies_plan(1000, 14.6)) == 14_600


def test_the_routing_figures_are_taken_from_registry_scale_as_it_writes_them() -> None:
    rs = {"results": {"10": {"route": {"us_per_decision": {"median": 1.5}, "decisions_per_s": 666_666},
                             "rules_10k": {"route_examples": {"us_per_decision": {"median": 1.6}},
                                           "build_ms": {"median": 0.01}, "plan_types": 128}}},
          "rules_10k": {"access_cells": 10002, "load_config_ms": {"median": 3.0}},
          "route_ratio": {"us_per_decision": 9}}
    out = summarise_routing(rs)
    assert out["partners"]["10"] == {"us_per_decision": 1.5, "decisions_per_s": 666_666,
                                     "with_10k_rules": {"route_examples": 1.6, "build_ms": 0.01}}
    assert out["rules_10k"] == {"access_cells": 10002}
    assert summarise_routing({})["partners"] == {}
