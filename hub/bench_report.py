"""The report of ``hub bench`` (hub.bench): the table it prints, and the figures it keeps of
benchmarks/registry_scale.py's JSON."""

from __future__ import annotations

from typing import Any

from hub.bench_hub import RunResult

LATENCY_RATE = 1000.0  # messages per second offered in the latency run (the fixed load)


def summarise_routing(rs: dict[str, Any]) -> dict[str, Any]:
    """The figures of registry_scale's JSON that answer the issue (its whole document is its own output):
    per registry size, route()'s microseconds per decision (median) and decisions per second, also with the
    generated 10,000-rule table; and the rule table's size. Read defensively: that script is its own."""
    out: dict[str, Any] = {"partners": {}}
    for n, r in (rs.get("results") or {}).items():
        route = r.get("route") or {}
        entry: dict[str, Any] = {"us_per_decision": _median(route.get("us_per_decision")),
                                 "decisions_per_s": route.get("decisions_per_s")}
        rules = r.get("rules_10k")
        if isinstance(rules, dict):
            entry["with_10k_rules"] = {k: _median(v.get("us_per_decision") if "us_per_decision" in v else v)
                                       for k, v in rules.items() if isinstance(v, dict)}
        out["partners"][n] = entry
    top = rs.get("rules_10k")
    out["rules_10k"] = {k: v for k, v in top.items() if isinstance(v, int | float | str)} if isinstance(
        top, dict) else None
    out["route_ratio"] = rs.get("route_ratio")
    out["units"] = "microseconds per route() decision (median); *_ms in milliseconds"
    return out


def _median(v: Any) -> Any:
    return v.get("median") if isinstance(v, dict) else v


def rate_line(r: RunResult) -> str:
    d = r.as_dict()
    return (f"{d['msgs_per_s']}/s end to end ({d['ingest_msgs_per_s']}/s acknowledged), {r.messages} messages, "
            f"{r.deliveries}/{r.deliveries_expected} deliveries")


# ------------------------------------------------------------------ the report


def table(doc: dict[str, Any]) -> str:
    def g(path: str) -> Any:
        v: Any = doc
        for k in path.split("."):
            v = v.get(k) if isinstance(v, dict) else None
        return "-" if v is None else v

    rows = [
        ("baseline (one at a time)", g("baseline.msgs_per_s"), g("baseline.publishes_per_msg"), g("baseline.messages")),
        ("baseline (batched 100)", g("baseline_batched.msgs_per_s"), g("baseline_batched.publishes_per_msg"),
         g("baseline_batched.messages")),
        ("hub, 1 process", g("hub.msgs_per_s"), g("hub.broker.publishes_per_msg"), g("hub.messages")),
        ("hub, 2 processes", g("hub_processes.2.msgs_per_s"), g("hub_processes.2.publishes_per_msg_queue_totals"),
         g("hub_processes.2.messages")),
        ("hub, 1 MB manifests", g("large.msgs_per_s"), g("large.publishes_per_msg_queue_totals"), g("large.messages")),
        ("drain after a window", g("drain.msgs_per_s"), g("drain.publishes_per_msg_queue_totals"),
         g("drain.messages")),
    ]
    out = [f"hub bench{' --quick' if doc.get('quick') else ''}: {doc.get('cores')} cores, vhost {doc.get('vhost')} "
           f"(deleted), {g('seconds')} s", "",
           f"{'run':<28}{'msgs/s':>10}{'publishes/msg':>15}{'messages':>10}"]
    out += [f"{a:<28}{b!s:>10}{c!s:>15}{d!s:>10}" for a, b, c, d in rows]
    out += ["", f"ratio hub / baseline: {g('ratio')} (batched: {g('ratio_batched')}); fan-out {g('fanout')} "
                f"deliveries per message; publishes per message {g('publishes_per_msg')} (broker counters; agree "
                f"with queue totals: {g('hub.broker.agrees_with_queue_totals')})",
            f"latency at {LATENCY_RATE:.0f}/s offered (publish -> ack): p50 {g('latency_ms.p50')} ms, "
            f"p95 {g('latency_ms.p95')} ms, p99 {g('latency_ms.p99')} ms",
            f"rss: {g('rss_mb.start')} MB -> {g('rss_mb.end')} MB over {g('rss_mb.messages')} messages",
            f"drain: {g('drain.messages')} held deliveries in {g('drain.seconds')} s; ETA shown at the window's "
            f"end {g('drain.eta_at_end_s')} s (error {g('drain.eta_error')})", "",
            f"{'size sweep (bytes)':>20}{'msgs/s':>10}{'MB/s':>8}{'messages':>10}"]
    for s in doc.get("size_sweep", []):
        out.append(f"{s['bytes']:>20,}{s['msgs_per_s']!s:>10}{s['mb_per_s']!s:>8}{s['messages']:>10}")
    routing = doc.get("routing") or {}
    out.append("")
    if routing.get("partners"):
        out.append("routing alone (benchmarks/registry_scale.py), us per decision: " + ", ".join(
            f"{n} partners {v['us_per_decision']}" for n, v in routing["partners"].items()))
        rules = {n: (v.get("with_10k_rules") or {}).get("route_examples") for n, v in routing["partners"].items()}
        if any(r is not None for r in rules.values()):
            out.append("  with 10,000 access rules (the example messages): " + ", ".join(
                f"{n} partners {r}" for n, r in rules.items()))
    else:
        why = routing.get("skipped") or routing.get("error")
        out.append(f"routing alone: see benchmarks/registry_scale.py ({why})")
    return "\n".join(out)
