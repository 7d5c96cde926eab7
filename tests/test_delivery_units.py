"""Fast tests of the delivery stage's parts: partitions, backoff, circuit breaker, gate, drain ETA, notices
due, and the durable lane records on SQLite and PostgreSQL (the ``store`` fixture)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub import topology as t
from hub.config import Partner
from hub.delivery.gate import CLOSED, HALF_OPEN, OPEN, Circuit, PartnerGate, RateLimit
from hub.delivery.notices import due
from hub.delivery.records import BLOCKED, DEAD, PARKED, RETRY, DeliveryRecords, HeldDelivery, WindowRow
from hub.delivery.status import BusyRate, partner_view, rate_estimate
from hub.delivery.worker import Runtime, backoff
from hub.store import Store

NOW = datetime(2026, 2, 9, 3, 0, tzinfo=UTC)


# ---------------------------------------------------------------- partitions


@given(st.text(min_size=1, max_size=60), st.integers(min_value=1, max_value=64))
def test_a_consignment_always_maps_to_the_same_partition_in_range(key: str, n: int) -> None:
    k = t.partition_of(key, n)
    assert 0 <= k < n
    assert t.partition_of(key, n) == k  # stable (no per-process hash seed)


def test_partitions_spread_consignments() -> None:
    counts = [0] * 4
    for i in range(4000):
        counts[t.partition_of(f"ucr:26KEP051234568F{i:06d}", 4)] += 1
    assert min(counts) > 800, counts  # each of 4 gets a fair share (expected 1000)


@given(st.sampled_from(["kra-icms", "mfano-bank", "a1", "x-y-z"]), st.integers(min_value=0, max_value=63))
def test_out_queue_names_give_back_their_partner(pid: str, k: int) -> None:
    assert t.out_recipient(t.out_queue(pid, k)) == pid


# ---------------------------------------------------------------- backoff


@given(st.integers(min_value=1, max_value=40), st.floats(min_value=0.01, max_value=5), st.floats(min_value=0.5,
                                                                                                 max_value=120))
def test_backoff_is_jittered_exponential_and_capped(attempt: int, base: float, cap: float) -> None:
    top = min(cap, base * 2 ** (attempt - 1))
    wait = backoff(attempt, base, cap)
    assert min(base / 2, top) <= wait <= top


# ---------------------------------------------------------------- circuit breaker


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_circuit_opens_after_consecutive_failures_and_closes_on_a_successful_probe() -> None:
    clock = FakeTime()
    c = Circuit(3, 30.0, clock=clock)
    assert c.allow()
    assert not c.failure("503") and not c.failure("503")
    c.success()  # a success in between resets the count
    assert not c.failure("503") and not c.failure("503")
    assert c.failure("503") and c.state == OPEN
    assert not c.allow()
    clock.now = 29.9
    assert not c.allow()
    clock.now = 30.0
    assert c.allow() and c.state == HALF_OPEN and c.is_probe()
    assert not c.allow()  # only one probe at a time
    c.failure("timeout")  # the probe failed: open again, next probe waits twice as long
    assert c.state == OPEN and c.wait == 60.0
    clock.now = 89.0
    assert not c.allow()
    clock.now = 90.0
    assert c.allow()
    assert c.success() and c.state == CLOSED and c.allow()


def test_an_idle_inbox_opens_the_circuit_whatever_the_failures() -> None:
    c = Circuit(5, 30.0)
    c.idle_open = True
    assert c.open and not c.allow()
    c.idle_open = False
    assert not c.open and c.allow()


async def test_gate_holds_for_each_reason_and_releases_when_none_is_left() -> None:
    gate = PartnerGate("kra-icms", Circuit(5, 30.0))
    gate.window_until = NOW
    gate.inbox_full = True
    assert gate.reasons() == ["window", "inbox_full"]
    waiter = asyncio.create_task(gate.wait(recheck=0.05))
    await asyncio.sleep(0.1)
    assert not waiter.done()
    gate.window_until = None
    gate.notify()
    await asyncio.sleep(0.1)
    assert not waiter.done()  # still over its depth
    gate.inbox_full = False
    gate.notify()
    assert await asyncio.wait_for(waiter, 1) is False  # not a probe
    gate.status_reason = "suspended"
    assert gate.held()


# ---------------------------------------------------------------- status and ETA


def partner(**kw: object) -> Partner:
    return Partner.model_validate({"id": "kra-icms", "name": "iCMS", "profiles": ["CUS"], **kw})


def test_drain_eta_is_backlog_over_rate_plus_the_rest_of_the_window() -> None:
    p = partner()
    v = partner_view(p, reasons=("window",), inbox_depth=0, held=5000, dead=0, oldest_at=NOW - timedelta(hours=1),
                     observed_rate=250.0, window_until=NOW + timedelta(hours=3), now=NOW)
    assert v.state == "window" and v.drain_eta_seconds == pytest.approx(3 * 3600 + 20)
    assert v.oldest_waiting_seconds == 3600
    capped = partner(drain_rate=50)
    v = partner_view(capped, reasons=(), inbox_depth=0, held=5000, dead=0, oldest_at=None, observed_rate=250.0,
                     window_until=None, now=NOW)
    assert v.state == "up" and v.rate == 50 and v.drain_eta_seconds == 100
    unknown = partner_view(p, reasons=(), inbox_depth=None, held=10, dead=0, oldest_at=None, observed_rate=None,
                           window_until=None, now=NOW)
    assert unknown.drain_eta_seconds is None
    fallback = partner_view(p, reasons=(), inbox_depth=None, held=10, dead=0, oldest_at=None, observed_rate=None,
                            window_until=None, now=NOW, fallback_rate=5.0)
    assert fallback.drain_eta_seconds == 2
    empty = partner_view(p, reasons=("circuit_open",), inbox_depth=0, held=0, dead=3, oldest_at=None,
                         observed_rate=None, window_until=None, now=NOW)
    assert empty.state == "circuit_open" and empty.drain_eta_seconds == 0 and empty.dead_letters == 3
    ticking = partner_view(p, reasons=("window",), inbox_depth=0, held=500, dead=0, oldest_at=None,
                           observed_rate=250.0, window_until=NOW + timedelta(seconds=60), now=NOW, window_end_delay=0.5)
    assert ticking.drain_eta_seconds == pytest.approx(60 + 0.5 + 2)  # the hub starts at its first tick after it
    after = partner_view(p, reasons=(), inbox_depth=0, held=500, dead=0, oldest_at=None, observed_rate=250.0,
                         window_until=None, now=NOW, window_end_delay=0.5)
    assert after.drain_eta_seconds == 2  # no window: nothing to wait for


def test_busy_rate_counts_only_deliveries_made_while_the_consumers_were_full() -> None:
    meter = BusyRate(100, sample=20, span=0.25)
    # a flow bounded by ingest: 10 waiting, 1 delivery every 10 ms (100/s): no capacity measured
    for i in range(500):
        meter.delivered(10, i * 0.01)
    assert meter.rate is None
    # a backlog: 200 waiting, a delivery every 1 ms (1,000/s) for 0.3 s
    start = 10.0
    for i in range(300):
        meter.delivered(200, start + i * 0.001)
    assert meter.rate == pytest.approx(1000, rel=0.01)


def test_busy_rate_needs_a_span_so_a_burst_of_confirms_is_not_a_rate() -> None:
    meter = BusyRate(100, sample=20, span=0.25)
    for i in range(100):  # 100 confirms back within 10 ms
        meter.delivered(150, 1.0 + i * 0.0001)
    assert meter.rate is None
    for i in range(1, 300):  # then steady at 500/s: the burst is averaged into a 0.25 s measurement or more
        meter.delivered(150, 1.01 + i * 0.002)
    assert meter.rate is not None and 500 <= meter.rate < 1000


def test_busy_rate_does_not_count_a_pause_or_the_time_below_full() -> None:
    meter = BusyRate(100, sample=20, span=0.25)
    for i in range(200):
        meter.delivered(150, i * 0.002)  # 500/s
    first = meter.rate
    assert first == pytest.approx(500, rel=0.01)
    meter.paused()  # a window: an hour without a delivery
    meter.delivered(150, 3600.0)
    for i in range(1, 200):
        meter.delivered(150, 3600.0 + i * 0.002)
    assert meter.rate == pytest.approx(500, rel=0.01)  # the hour is not in it
    meter.delivered(150, 3600.0 + 200 * 0.002)
    meter.delivered(5, 3700.0)  # the backlog ran out, then came back 100 s later
    for i in range(1, 200):
        meter.delivered(150, 3700.0 + i * 0.002)
    assert meter.rate == pytest.approx(500, rel=0.01)


def test_rate_estimate_prefers_a_measured_capacity_over_a_lower_bound() -> None:
    assert rate_estimate(900.0, 1200.0, 100.0, 150.0) == 900.0  # this partner's own capacity
    assert rate_estimate(None, 1200.0, 100.0, 150.0) == 1200.0  # another partner's on the same transport
    assert rate_estimate(None, None, 100.0, 150.0) == 100.0  # lower bounds: deliveries came no faster
    assert rate_estimate(None, None, None, 150.0) == 150.0
    assert rate_estimate(None, None, None, None) is None
    assert rate_estimate(0.0, None, 0.0, 7.0) == 7.0


def test_without_a_reporting_hub_the_state_is_unknown_unless_the_registry_or_a_window_says() -> None:
    v = partner_view(partner(), reasons=None, inbox_depth=None, held=0, dead=0, oldest_at=None,
                     observed_rate=None, window_until=None, now=NOW)
    assert v.state == "unknown"
    v = partner_view(partner(status="suspended"), reasons=None, inbox_depth=None, held=0, dead=0, oldest_at=None,
                     observed_rate=None, window_until=NOW + timedelta(hours=1), now=NOW)
    assert v.state == "suspended" and v.reasons == ("suspended", "window")


# ---------------------------------------------------------------- notices due


def window(**kw: object) -> WindowRow:
    base: dict[str, object] = {
        "id": 1, "target": "kra-icms", "start": NOW, "end": NOW + timedelta(hours=36), "emergency": False,
        "short_notice": True, "reason": None, "announced_at": NOW - timedelta(hours=24), "cancelled_at": None,
        "notice_sent_at": None, "reminder_sent_at": None, "cancel_sent_at": None,
    }
    base.update(kw)
    return WindowRow(**base)  # type: ignore[arg-type]


def test_notices_due_through_a_windows_life() -> None:
    before = NOW - timedelta(hours=1)
    assert [c.value for c, _ in due(window(), before)] == ["SCHEDULED"]
    assert [c.value for c, _ in due(window(notice_sent_at=before), before)] == []
    assert [c.value for c, _ in due(window(notice_sent_at=before), NOW)] == ["REMINDER"]
    # a hub that was down at the announcement sends both once the window has begun, notice first
    assert [c.value for c, _ in due(window(), NOW)] == ["SCHEDULED", "REMINDER"]
    assert due(window(notice_sent_at=before, reminder_sent_at=NOW), NOW + timedelta(hours=1)) == []
    assert due(window(), NOW + timedelta(hours=36)) == []  # over: nothing more
    cancelled = window(notice_sent_at=before, cancelled_at=NOW)
    assert [c.value for c, _ in due(cancelled, NOW)] == ["CANCELLED"]
    assert due(window(cancelled_at=before), before) == []  # never announced: nothing to call off


# ---------------------------------------------------------------- lane records (SQLite and PostgreSQL)


def held(mid: str, lane: str = "ucr:A", **kw: object) -> HeldDelivery:
    return HeldDelivery(partner="kra-icms", lane=lane, partition=1, message_id=mid, sender="mfano-clearing",
                        correlation_id="in-" + mid, msg_type="customs.entry", content_type="application/xml",
                        body=b"<x/>", headers={"x-ucr": "A"}, **kw)  # type: ignore[arg-type]


def test_a_blocked_lane_keeps_its_head_first_and_parks_the_rest_in_order(store: Store) -> None:
    r = DeliveryRecords(store)
    assert r.lane_states("kra-icms", ["ucr:A"]) == {}
    r.block(held("m1", attempts=1, last_error="503"), NOW)
    r.block(held("m1", attempts=1), NOW)  # repeated after a crash: one row, one block
    r.park(held("m2"), NOW)
    r.park(held("m2"), NOW)
    r.park(held("m3"), NOW)
    r.park(held("x1", lane="ucr:B"), NOW)  # another lane is not blocked by this
    assert r.lane_states("kra-icms", ["ucr:A", "ucr:B"]) == {"ucr:A": BLOCKED}
    rows = r.lane_rows("kra-icms", "ucr:A")
    assert [(d.message_id, d.kind) for d in rows] == [("m1", RETRY), ("m2", PARKED), ("m3", PARKED)]
    assert rows[0].headers == {"x-ucr": "A"} and rows[0].body == b"<x/>" and rows[0].attempts == 1
    assert r.blocked_lanes() == [("kra-icms", "ucr:A", 1)]
    assert rows[0].id is not None
    r.delivered(rows[0].id)
    assert not r.unblock_if_empty("kra-icms", "ucr:A")  # m2, m3 still held
    for d in rows[1:]:
        assert d.id is not None
        r.delivered(d.id)
    assert r.unblock_if_empty("kra-icms", "ucr:A")
    assert r.lane_states("kra-icms", ["ucr:A"]) == {}


def test_dead_letters_replay_and_purge(store: Store) -> None:
    r = DeliveryRecords(store)
    head = held("m1", attempts=10, last_error="HTTP 503", reason="attempts_exhausted")
    r.block(held("m1", attempts=1), NOW)
    r.park(held("m2"), NOW)
    r.dead_head(head, NOW)
    assert r.lane_states("kra-icms", ["ucr:A"]) == {"ucr:A": DEAD}
    assert r.blocked_lanes() == []  # a dead lane waits for an operator, not for a drain order
    [dead] = r.dead_letters("kra-icms")
    assert (dead.message_id, dead.attempts, dead.reason, dead.last_error) == ("m1", 10, "attempts_exhausted",
                                                                              "HTTP 503")
    assert r.dead_letters("someone-else") == []
    assert r.held_counts() == {"kra-icms": {DEAD: 1, PARKED: 1}}
    assert dead.id is not None and r.dead_letter(dead.id) is not None
    # replay: the dead letter becomes the head again (attempts from zero), before what was parked behind it
    assert r.replay([dead.id], NOW) == [("kra-icms", "ucr:A", 1)]
    assert r.lane_states("kra-icms", ["ucr:A"]) == {"ucr:A": BLOCKED}
    assert [(d.message_id, d.kind, d.attempts) for d in r.lane_rows("kra-icms", "ucr:A")] == [
        ("m1", RETRY, 0), ("m2", PARKED, 0)]
    # dies again, then purged: what waited behind it may go
    r.dead_head(held("m1", attempts=10, reason="attempts_exhausted"), NOW)
    [dead] = r.dead_letters()
    assert dead.id is not None
    assert r.purge([dead.id], NOW) == (1, [("kra-icms", "ucr:A", 1)])
    assert [d.message_id for d in r.lane_rows("kra-icms", "ucr:A")] == ["m2"]
    assert r.lane_states("kra-icms", ["ucr:A"]) == {"ucr:A": BLOCKED}
    assert r.purge([dead.id], NOW) == (0, [])  # already gone


def test_windows_are_recorded_listed_cancelled_and_marked(store: Store) -> None:
    r = DeliveryRecords(store)
    wid = r.add_window("kra-icms", NOW, NOW + timedelta(hours=36), emergency=False, short_notice=True,
                       reason="upgrade", announced_at=NOW - timedelta(hours=24))
    [w] = r.windows()
    assert (w.id, w.target, w.start, w.end, w.short_notice) == (wid, "kra-icms", NOW, NOW + timedelta(hours=36),
                                                                 True)
    assert w.active(NOW) and not w.active(NOW + timedelta(hours=36))
    assert r.windows(include_past=False, now=NOW + timedelta(hours=37)) == []
    r.mark_window(wid, "notice_sent_at", NOW)
    assert r.windows()[0].notice_sent_at == NOW
    cancelled = r.cancel_window(wid, NOW)
    assert cancelled is not None and cancelled.cancelled_at == NOW and not cancelled.active(NOW)
    assert r.cancel_window(wid, NOW) is None  # already cancelled
    assert r.cancel_window(999, NOW) is None


async def test_a_paused_gate_sends_waiting_lanes_back_and_an_open_http_circuit_is_never_paused() -> None:
    from hub.delivery.gate import LaneYield

    gate = PartnerGate("kra-icms", Circuit(1, 30.0))
    assert not gate.pausable()  # not held
    gate.window_until = NOW
    assert gate.pausable()
    waiter = asyncio.create_task(gate.wait(recheck=0.05))
    await asyncio.sleep(0.1)
    gate.paused = True
    gate.notify()
    with pytest.raises(LaneYield):
        await asyncio.wait_for(waiter, 1)
    gate.window_until = None
    gate.circuit.failure("503")  # an HTTP circuit closes only on a probe delivery: never paused for it
    assert gate.held() and not gate.pausable()
    gate.circuit.idle_open = True  # an AMQP inbox nobody consumes: the monitor closes it, so pausable
    assert gate.pausable()


class _NodesAndQueues:
    """Stands in for the management API's /nodes and /queues answers."""

    def __init__(self, fd_total: int, quorum: int) -> None:
        self.answers = {"/nodes": [{"name": "rabbit@x", "fd_total": fd_total, "fd_used": 40}],
                        "/queues": [{"type": "quorum"}] * quorum + [{"type": "classic"}] * 50}

    def get(self, path: str) -> object:
        return self.answers[path.split("?")[0]]


@pytest.mark.parametrize(("fd_total", "quorum", "warned"), [
    (1024, 143, False),   # 715 files of 1024: under three quarters
    (1024, 154, True),    # 770 > 768
    (1024, 250, True),    # two test vhosts beside the demo's: the stall seen in CI
    (16384, 250, False),
    (0, 500, False),      # limit not reported yet: nothing to say
])
def test_provision_warns_when_quorum_queues_would_exhaust_the_brokers_files(
        fd_total: int, quorum: int, warned: bool) -> None:
    from hub.provision import file_limit_warnings

    warnings = file_limit_warnings(_NodesAndQueues(fd_total, quorum))  # type: ignore[arg-type]
    assert bool(warnings) is warned
    if warned:
        assert f"only {fd_total} files" in warnings[0] and f"{quorum} quorum queues" in warnings[0]


def test_a_measured_capacity_is_kept_in_the_store_and_read_back_after_a_restart(store: Store) -> None:
    from types import SimpleNamespace

    from hub.delivery.monitor import Monitor

    def monitor(*pids: str) -> tuple[Monitor, dict[str, SimpleNamespace]]:
        runtimes = {pid: SimpleNamespace(busy=BusyRate(100)) for pid in pids}
        service = SimpleNamespace(records=DeliveryRecords(store), runtimes=runtimes, config=None)
        return Monitor(service, None), runtimes  # type: ignore[arg-type]

    first, rts = monitor("kra-icms", "kentrade")
    asyncio.run(first._keep_capacities(NOW))
    assert DeliveryRecords(store).capacities() == {}  # nothing measured, nothing written
    rts["kra-icms"].busy.rate = 812.5
    asyncio.run(first._keep_capacities(NOW))
    rts["kra-icms"].busy.rate = 790.0  # a newer measurement replaces it
    asyncio.run(first._keep_capacities(NOW))
    assert DeliveryRecords(store).capacities() == {"kra-icms": 790.0}
    # a new process: the stored capacity is its estimate until it measures one of its own
    second, rts2 = monitor("kra-icms", "kentrade")
    asyncio.run(second._keep_capacities(NOW))
    assert rts2["kra-icms"].busy.rate == 790.0 and rts2["kentrade"].busy.rate is None


def test_deliveries_taken_are_counted_per_partition_queue_for_the_capacity_measurement() -> None:
    rt = Runtime(partner(), PartnerGate("kra-icms", Circuit(5, 30.0)), RateLimit(None), 10)
    for i in range(25):  # four partitions holding 25 each: no consumer is full at a prefetch of 100
        for k in range(4):
            rt.take(f"m{k}-{i}", None, k)
    rt.take("m0-0", NOW, 0)  # the same delivery again (its timestamp known now): still one
    assert rt.taken == {0: 25, 1: 25, 2: 25, 3: 25} and len(rt.waiting) == 100 and rt.waiting["m0-0"] == NOW
    rt.untake("m1-3", 1)
    rt.untake("m1-3", 1)  # acked, then given back in a race: counted once
    rt.untake("never-taken", 2)
    assert rt.taken == {0: 25, 1: 24, 2: 25, 3: 25} and len(rt.waiting) == 99
