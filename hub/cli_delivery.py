"""``hub windows``, ``hub dlq`` and ``hub status``: the operator's commands for deliveries (hub.delivery).

Times are East Africa Time (UTC+3) unless an offset is given. Exit codes: 0 done (``status``: every partner up
and no dead letters), 1 refused or nothing matched (``status``: something needs attention), 2 configuration,
store or broker unavailable.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from hub import clock as hub_clock
from hub.config import HubConfig
from hub.delivery.status import duration

_T = TypeVar("_T")
windows_app = typer.Typer(no_args_is_help=True, help="Maintenance windows (regulation 32), times in EAT.")
dlq_app = typer.Typer(no_args_is_help=True, help="Dead letters: deliveries that failed for good.")


def _setup() -> tuple[HubConfig, Any, Any]:
    from hub import cli
    from hub.delivery.records import DeliveryRecords

    cfg = cli._config()
    store = cli._open_store(cfg)
    return cfg, store, DeliveryRecords(store)


def _read(work: Callable[[Any], _T]) -> _T:
    """Run ``work(records)`` on the store and close it (the commands that change nothing on the broker)."""
    _cfg, store, records = _setup()
    try:
        return work(records)
    finally:
        store.close()


def _hub_password(cfg: HubConfig) -> str:
    from hub import cli

    password: str | None = cli._secrets(cfg).get(cfg.settings.broker.user)
    if password is None:
        typer.echo("no password for the hub's broker user: run `hub broker provision` first", err=True)
        raise typer.Exit(2)
    return password


def _drain(cfg: HubConfig, lanes: list[tuple[str, str, int]]) -> None:
    from hub.delivery.ops import order_drains
    from hub.errors import BrokerUnavailable

    try:
        asyncio.run(order_drains(cfg, _hub_password(cfg), lanes))
    except BrokerUnavailable as exc:
        typer.echo(f"{exc}; the store is updated: a running hub queues the drain orders itself within a "
                   "minute (it re-issues them for every blocked lane)", err=True)
        raise typer.Exit(2) from exc


# ------------------------------------------------------------------ windows


@windows_app.command("add")
def windows_add(
    target: Annotated[str, typer.Argument(help="A partner id, or 'hub' for the single window itself")],
    start: Annotated[str, typer.Argument(help="Start, e.g. '2026-02-07 18:00' (EAT)")],
    end: Annotated[str, typer.Argument(help="End, e.g. '2026-02-09 06:00' (EAT)")],
    emergency: Annotated[bool, typer.Option("--emergency", help="Emergency maintenance (reg. 32(3))")] = False,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Record a maintenance window. The running hub holds the target's deliveries during it and sends the
    maintenance.notice (and a reminder at the start) to the affected partners."""
    from hub.delivery.ops import add_window, window_dict
    from hub.windows import WindowRefused, parse_eat

    cfg, store, records = _setup()
    try:
        try:
            begin, finish = parse_eat(start), parse_eat(end)
        except ValueError as exc:
            typer.echo(f"WINDOW_TIME_INVALID: {exc}; write e.g. '2026-02-07 18:00' (EAT)", err=True)
            raise typer.Exit(1) from exc
        clock = hub_clock.from_env()
        try:
            wid, window, recipients = add_window(cfg, records, clock, target, begin, finish, emergency=emergency,
                                                 reason=reason)
        except WindowRefused as exc:
            typer.echo(f"{exc.code}: {exc}", err=True)
            raise typer.Exit(1) from exc
        [row] = [w for w in records.windows() if w.id == wid]
        doc = window_dict(row, clock.now()) | {"notified": recipients}
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(doc, indent=1))
        return
    flags = " SHORT NOTICE (under 48 hours)" if window.short_notice else ""
    flags += " EMERGENCY" if window.emergency else ""
    typer.echo(f"window {wid}: {target} {doc['start']} -> {doc['end']} ({doc['hours']} h){flags}")
    typer.echo(f"notice to {len(recipients)} partner(s): {', '.join(recipients) or '-'}")


@windows_app.command("list")
def windows_list(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    include_past: Annotated[bool, typer.Option("--all", help="Include windows already over")] = False,
) -> None:
    """Windows not yet over (all with --all), soonest first."""
    from hub.delivery.ops import window_dict

    now = hub_clock.from_env().now()
    rows = _read(lambda records: [window_dict(w, now) for w in records.windows(include_past, now)])
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        typer.echo("no maintenance windows")
    for r in rows:
        flags = " short-notice" if r["short_notice"] else ""
        flags += " emergency" if r["emergency"] else ""
        typer.echo(f"{r['id']:>4}  {r['target']:<16} {r['start']} -> {r['end']}  {r['state']}{flags}"
                   + (f"  ({r['reason']})" if r["reason"] else ""))


@windows_app.command("cancel")
def windows_cancel(window_id: Annotated[int, typer.Argument()]) -> None:
    """Cancel a window: deliveries resume (if it was active) and partners notified get a CANCELLED notice."""
    row = _read(lambda records: records.cancel_window(window_id, hub_clock.from_env().now()))
    if row is None:
        typer.echo(f"WINDOW_NOT_FOUND: no window {window_id} that is not already cancelled", err=True)
        raise typer.Exit(1)
    typer.echo(f"window {window_id} ({row.target}) cancelled")


# ------------------------------------------------------------------ dead letters


@dlq_app.command("list")
def dlq_list(
    partner: Annotated[str | None, typer.Option("--partner", help="Only this recipient's")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Dead letters, oldest first: recipient, message, attempts, reason, last error."""
    from hub.delivery.ops import dead_letter_dict

    rows, parked = _read(lambda records: ([dead_letter_dict(d) for d in records.dead_letters(partner)],
                                          records.held_counts()))
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    if not rows:
        typer.echo("no dead letters")
    for r in rows:
        typer.echo(f"{r['id']:>6}  {r['partner']:<16} {r['type']:<22} from {r['sender']:<14} attempts {r['attempts']}"
                   f"  {r['reason']}: {(r['last_error'] or '')[:80]}")
    waiting = {p: k.get("parked", 0) for p, k in parked.items() if k.get("parked")}
    for p, n in sorted(waiting.items()):
        typer.echo(f"{p}: {n} later deliveries wait behind a dead letter or a delivery being retried")


@dlq_app.command("show")
def dlq_show(
    dead_id: Annotated[int, typer.Argument()],
    body: Annotated[bool, typer.Option("--body", help="Also print headers and body")] = False,
) -> None:
    """One dead letter in full."""
    from hub.delivery.ops import dead_letter_dict

    d = _read(lambda records: records.dead_letter(dead_id))
    if d is None:
        typer.echo(f"DLQ_NOT_FOUND: no dead letter {dead_id}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(dead_letter_dict(d, body=body), indent=1))


def _select(records: Any, ids: list[int], partner: str | None, every: bool) -> list[int]:
    if ids:
        return ids
    if partner is None and not every:
        typer.echo("name dead letter ids, or --partner ID, or --all", err=True)
        raise typer.Exit(1)
    return [d.id for d in records.dead_letters(partner)]


@dlq_app.command("replay")
def dlq_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids")] = None,
    partner: Annotated[str | None, typer.Option("--partner", help="Every dead letter of this recipient")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead letter")] = False,
) -> None:
    """Deliver dead letters again (attempts from zero), each consignment's in their original order, followed
    by the deliveries that waited behind them."""
    cfg, store, records = _setup()
    try:
        chosen = _select(records, ids or [], partner, every)
        lanes = records.replay(chosen, hub_clock.from_env().now())
    finally:
        store.close()
    if not lanes:
        typer.echo("DLQ_NOT_FOUND: nothing to replay", err=True)
        raise typer.Exit(1)
    _drain(cfg, lanes)
    typer.echo(f"replaying {len(chosen)} dead letter(s) in {len(lanes)} consignment lane(s)")


@dlq_app.command("purge")
def dlq_purge(
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids")] = None,
    partner: Annotated[str | None, typer.Option("--partner", help="Every dead letter of this recipient")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead letter")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
) -> None:
    """Delete dead letters for good; deliveries that waited behind them then go."""
    cfg, store, records = _setup()
    try:
        chosen = _select(records, ids or [], partner, every)
        if not chosen:
            typer.echo("DLQ_NOT_FOUND: nothing to purge", err=True)
            raise typer.Exit(1)
        if not yes and not typer.confirm(f"delete {len(chosen)} dead letter(s) for good?"):
            raise typer.Exit(1)
        n, lanes = records.purge(chosen, hub_clock.from_env().now())
    finally:
        store.close()
    if not n:
        typer.echo("DLQ_NOT_FOUND: nothing to purge", err=True)
        raise typer.Exit(1)
    _drain(cfg, lanes)
    typer.echo(f"purged {n} dead letter(s); {len(lanes)} lane(s) resume")


# ------------------------------------------------------------------ status


def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Per partner: state (up, window, circuit_open, suspended...), inbox depth, held deliveries, age of the
    oldest waiting one, dead letters and the expected drain time."""
    from hub.delivery.ops import status as collect

    cfg, store, records = _setup()
    try:
        views, processes = collect(cfg, records, hub_clock.from_env())
    finally:
        store.close()
    attention = any(v.state != "up" or v.dead_letters for v in views)
    if as_json:
        typer.echo(json.dumps({"hubs": processes, "partners": [v.as_dict() for v in views]}, indent=1))
        raise typer.Exit(1 if attention else 0)
    typer.echo(f"running hubs reporting: {', '.join(processes) or 'none (states unknown)'}")
    typer.echo(f"{'partner':<18}{'state':<14}{'inbox':>7}{'held':>8}{'oldest':>10}{'dead':>6}{'drain ETA':>12}")
    for v in views:
        typer.echo(f"{v.partner:<18}{v.state:<14}{_n(v.inbox_depth):>7}{v.held:>8}"
                   f"{duration(v.oldest_waiting_seconds):>10}{v.dead_letters:>6}{duration(v.drain_eta_seconds):>12}")
    raise typer.Exit(1 if attention else 0)


def _n(value: int | None) -> str:
    return "-" if value is None else str(value)


