"""``hub parked list``: messages held for correlation (hub.parking), for operators.

A parked message was accepted and acknowledged ``pending``; it is delivered (and acknowledged ``accepted``)
when the message that links its consignment arrives, or rejected with ``UCR_UNRESOLVED`` when
``correlation.park_timeout_hours`` pass. Exit codes: 0 listed, 2 store unavailable.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from hub.store import EXPIRED, PARKED, RELEASED, ParkedRow
from hub.timeline import eat

parked_app = typer.Typer(no_args_is_help=True, help="Messages held for correlation (pending acknowledgement).")


def parked_dict(row: ParkedRow) -> dict[str, Any]:
    return {"id": row.id, "sender": row.sender, "message_id": row.message_id, "type": row.msg_type,
            "reason": row.reason, "ucr": row.ucr, "waiting_for": [{"kind": k, "value": v} for k, v in row.lookup],
            "parked_at": row.parked_at.isoformat(), "expires_at": row.expires_at.isoformat(), "state": row.state}


@parked_app.command("list")
def parked_list(
    show_all: Annotated[bool, typer.Option("--all", help="Also those released or rejected (UCR_UNRESOLVED)")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Parked messages, oldest first: sender, message, type, why, what would release it, when it expires."""
    from hub import cli
    from hub.errors import StoreUnavailable
    from hub.store import Store

    cfg = cli._config()
    store = Store(cfg.store_url())
    try:
        store.migrate()
        states = (PARKED, RELEASED, EXPIRED) if show_all else (PARKED,)
        rows = store.parked(every=True, states=states, limit=100_000)
    except StoreUnavailable as exc:
        typer.echo(f"store unavailable: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps([parked_dict(r) for r in rows], indent=1))
        return
    if not rows:
        typer.echo("no parked messages")
    for r in rows:
        waiting = ", ".join(f"{k} {v}" for k, v in r.lookup[:3])
        typer.echo(f"{r.id:>6}  {r.state:<8} {r.msg_type:<22} from {r.sender:<14} {r.message_id[:40]:<40} "
                   f"{r.reason:<16} waiting for {waiting}  expires {eat(r.expires_at)}")
