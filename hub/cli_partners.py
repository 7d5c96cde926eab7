"""``hub partners show|suspend|reinstate|deregister|rotate-credentials``: operators' changes to the registry,
each with a reason, recorded in the store (hub.registry) and applied by running hubs within seconds.

``hub partners held|release-held|cancel-held`` (a suspended or deregistered partner's held deliveries) and
``hub partners pending|settle`` (a deregistered partner's pending transactions, regulation 15(3)(b)): the
decisions are recorded the same way; running hubs apply them to the deliveries (hub.delivery), ``settle``
applies itself to the messages the partner sent that wait for correlation (hub.delivery.ops.settle_parked).

Exit codes: 0 done, 1 refused (unknown partner, no reason, a deregistered partner), 2 store or broker
unavailable.
"""

from __future__ import annotations

import asyncio
import json
import secrets as py_secrets
from collections.abc import Callable
from typing import Annotated, Any

import typer

from hub import clock as hub_clock
from hub.config import HubConfig, Partner

Reason = Annotated[str, typer.Option("--reason", "-r", help="Why (recorded with the change)")]


def _open(partner_id: str) -> tuple[HubConfig, Partner, Any]:
    from hub import cli

    cfg = cli._config()
    partner = cfg.partner_index().get(partner_id)
    if partner is None:
        typer.echo(f"unknown partner {partner_id!r}: not in the registry", err=True)
        raise typer.Exit(1)
    return cfg, partner, cli._open_store(cfg)


def _change(partner_id: str, action: str, reason: str) -> None:
    from hub import registry
    from hub.errors import StoreUnavailable

    _cfg, partner, store = _open(partner_id)
    try:
        # the hub's clock (hub.clock): the delivery worker compares the change's time with queued times
        done = registry.change(store, partner, action, reason, now=hub_clock.from_env().now())
    except registry.RegistryError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    except StoreUnavailable as exc:
        typer.echo(f"store unavailable: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        store.close()
    status = registry.ACTION_STATUS.get(action)
    typer.echo(f"{partner_id}: {action} recorded" + (f", status {status.value}" if status else "")
               + f" (by {done.by}); running hubs apply it within {registry.REFRESH_EVERY:g} s")


def suspend(partner_id: Annotated[str, typer.Argument()], reason: Reason) -> None:
    """Suspend a partner: its messages are refused (PARTNER_SUSPENDED), deliveries to it are held in order."""
    _change(partner_id, "suspend", reason)


def reinstate(partner_id: Annotated[str, typer.Argument()], reason: Reason) -> None:
    """Reinstate a suspended partner: its messages are accepted again, its held deliveries go, in order."""
    _change(partner_id, "reinstate", reason)


def deregister(partner_id: Annotated[str, typer.Argument()], reason: Reason) -> None:
    """Deregister a partner for good (regulation 15): refused, never routed to again."""
    _change(partner_id, "deregister", reason)


def rotate_credentials(partner_id: Annotated[str, typer.Argument()], reason: Reason) -> None:
    """A new broker password for the partner (secrets file and broker); its old one stops working at once."""
    from hub import cli, credentials, registry
    from hub.errors import HubError
    from hub.provision import management_for

    cfg, partner, store = _open(partner_id)
    try:
        registry.change(store, partner, "rotate-credentials", reason)
        cred = credentials.issue(store, partner_id, cfg.settings.credentials.valid_days)  # before the broker's
    except registry.RegistryError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        store.close()
    secrets = cli._secrets(cfg)
    password = py_secrets.token_urlsafe(32)
    mgmt = management_for(cfg)
    try:
        mgmt.user(partner_id, password)
    except HubError as exc:
        typer.echo(f"broker unavailable: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        mgmt.close()
    secrets.set(partner_id, password)
    secrets.save()
    typer.echo(f"{partner_id}: new broker password in {cfg.secrets_path()} (give it to the partner); the old one "
               "no longer authenticates new connections")
    typer.echo(f"{partner_id}: broker credential valid until {cred.expires_at:%Y-%m-%d} (regulation 9)")


def show(partner_id: Annotated[str, typer.Argument()],
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One partner: the registry entry, its status now, and the changes operators made."""
    from hub import credentials, registry

    _cfg, partner, store = _open(partner_id)
    try:
        status = registry.statuses(store).get(partner_id, partner.status)
        changes = registry.history(store, partner_id)
        cred = credentials.credential(store, partner_id)
    finally:
        store.close()
    profiles = [str(p) for p in partner.profiles]
    doc: dict[str, Any] = {
        "id": partner.id, "name": partner.name, "profiles": profiles, "status": status.value,
        "sends": list(partner.sends), "receive_format": partner.receive_format, "transport": partner.transport.kind,
        "identifiers": {str(k): list(v) for k, v in partner.identifiers.items()},
        "changes": [{"at": c.at.isoformat(), "action": c.action, "reason": c.reason, "by": c.by} for c in changes]}
    doc["credential"] = credentials.as_dict(cred, _cfg.settings.credentials.warn_days)
    if as_json:
        typer.echo(json.dumps(doc, indent=1))
        return
    typer.echo(f"{partner.id}  {partner.name}\nprofiles: {', '.join(profiles)}   status: {status.value}"
               f"\nsends: {', '.join(partner.sends) or '-'}\nreceives: {partner.receive_format} by "
               f"{partner.transport.kind}")
    typer.echo(f"broker credential: {credentials.describe(cred, _cfg.settings.credentials.warn_days)}")
    for c in changes:
        typer.echo(f"  {c.at.isoformat()}  {c.action:<19} by {c.by}: {c.reason}")


# ------------------------------------------------------------------ held deliveries, pending transactions


def held(partner_id: Annotated[str, typer.Argument()],
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What the hub holds for a partner: stored deliveries per consignment, its hub.out queues, dead letters."""
    from hub.delivery.ops import held_report

    doc = _report(partner_id, held_report)
    if as_json:
        typer.echo(json.dumps(doc, indent=1))
        return
    _print_held(doc)


def _report(partner_id: str, build: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """``build(cfg, records, partner_id, now)`` on the store (exit 2 if it is unavailable)."""
    from hub.delivery.records import DeliveryRecords
    from hub.errors import StoreUnavailable

    cfg, _partner, store = _open(partner_id)
    try:
        return build(cfg, DeliveryRecords(store), partner_id, hub_clock.from_env().now())
    except StoreUnavailable as exc:
        typer.echo(f"store unavailable: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        store.close()


def _print_held(doc: dict[str, Any]) -> None:
    pid, status = doc["partner"], doc["status"]
    line = f"{pid}: {status}"
    if status != "active":
        line += f" since {doc['status_since']}" if doc["status_since"] else " (in partners.yaml)"
        line += (f"; a delivery held for it {doc['hold_limit_hours']:g} h (from then, or from its queued time if "
                 "later) becomes a dead letter")
    typer.echo(line)
    if doc["decision"]:
        typer.echo(f"latest decision: {doc['decision']['decision']} of the deliveries queued before "
                   f"{doc['decision']['recorded_at']}")
    queues = doc["queues"]
    if queues is None:
        typer.echo("hub.out queues: management API unreachable (not counted)")
    else:
        parts = ", ".join(f"{k}: {n}" for k, n in queues["partitions"].items())
        typer.echo(f"hub.out queues: {queues['messages']} message(s) ({parts}): deliveries not yet taken or taken "
                   "and not yet acknowledged by a running hub, and drain orders; consignments not known")
    hubs = doc["running_hubs"]
    if hubs is not None:
        typer.echo(f"running hubs ({', '.join(hubs['processes'])}): {hubs['queued']} waiting in the queues, "
                   f"{hubs['taken']} taken and waiting at the gate ({', '.join(hubs['reasons']) or 'not held'})")
    stored = doc["store"]
    typer.echo(f"in the store: {stored['deliveries']} deliveries in {len(stored['lanes'])} consignment lane(s)")
    for x in stored["lanes"]:
        head = {"dead": "behind a dead letter", "blocked": "behind a delivery being retried"}.get(x["state"], "")
        typer.echo(f"  {x['lane'][:64]:<40} partition {x['partition']}  {x['retry'] + x['parked']:>5} {head}"
                   f"  oldest queued {x['oldest_queued_at'] or '?'}")
    typer.echo(f"oldest queued: {doc['oldest_queued_at'] or '-'}; dead letters: {doc['dead_letters']}"
               + (f" (hub dlq list --partner {pid})" if doc["dead_letters"] else ""))


def release_held(partner_id: Annotated[str, typer.Argument()], reason: Reason) -> None:
    """Deliver now what is held for a suspended or deregistered partner; it stays suspended, and deliveries
    queued after this is recorded are held again."""
    _change(partner_id, "release-held", reason)


def cancel_held(partner_id: Annotated[str, typer.Argument()], reason: Reason) -> None:
    """Dead-letter everything held now for a suspended or deregistered partner (HELD_CANCELLED; each sender
    gets delivery_failed); hub dlq replay|purge acts on them."""
    _change(partner_id, "cancel-held", reason)


def pending(partner_id: Annotated[str, typer.Argument()],
            as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A partner's pending transactions (regulation 15(3)(b)): messages it sent waiting for correlation,
    deliveries held for it, its dead letters."""
    from hub.delivery.ops import pending_report

    doc = _report(partner_id, pending_report)
    if as_json:
        typer.echo(json.dumps(doc, indent=1))
        return
    typer.echo(f"sent by {partner_id}, waiting for correlation (hub parked): {len(doc['parked'])}")
    for r in doc["parked"]:
        typer.echo(f"  {r['id']:>6}  {r['type']:<22} {r['message_id'][:40]:<40} {r['reason']}  parked {r['parked_at']}")
    _print_held(doc["held"])
    for d in doc["dead_letters"]:
        typer.echo(f"  dead letter {d['id']:>6}  {d['type']:<22} from {d['sender']:<14} {d['reason']}")


def settle(
    partner_id: Annotated[str, typer.Argument()],
    reason: Reason,
    reject: Annotated[bool, typer.Option("--reject", help="Reject its parked messages (PARTNER_DEREGISTERED) "
                                         "and dead-letter what is held for it")] = False,
    cancel: Annotated[bool, typer.Option("--cancel", help="Cancel its parked messages (no acknowledgement) and "
                                         "dead-letter what is held for it (HELD_CANCELLED)")] = False,
    complete: Annotated[bool, typer.Option("--complete", help="Route its parked messages now and deliver what is "
                                           "held for it")] = False,
) -> None:
    """Regulation 15(3)(b): one decision on all of a deregistered partner's pending transactions."""
    from hub import registry
    from hub.cli_delivery import _hub_password
    from hub.delivery.ops import settle_parked
    from hub.errors import BrokerUnavailable, StoreUnavailable

    chosen = [name for name, on in (("reject", reject), ("cancel", cancel), ("complete", complete)) if on]
    if len(chosen) != 1:
        typer.echo("give exactly one of --reject, --cancel, --complete", err=True)
        raise typer.Exit(1)
    decision = chosen[0]
    cfg, partner, store = _open(partner_id)
    clock = hub_clock.from_env()
    try:
        try:
            registry.change(store, partner, f"settle-{decision}", reason, now=clock.now())
        except registry.RegistryError as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(1) from exc
        held_word = {"reject": "dead-lettered (PARTNER_DEREGISTERED)", "cancel": "dead-lettered (HELD_CANCELLED)",
                     "complete": "delivered"}[decision]
        typer.echo(f"{partner_id}: settle-{decision} recorded; deliveries held for it are {held_word} by running "
                   f"hubs within {registry.REFRESH_EVERY:g} s (hub partners held {partner_id})")
        done = asyncio.run(settle_parked(cfg, store, _hub_password(cfg), clock, partner_id, decision))
    except BrokerUnavailable as exc:
        typer.echo(f"{exc}: its parked messages were not settled; run the command again", err=True)
        raise typer.Exit(2) from exc
    except StoreUnavailable as exc:
        typer.echo(f"store unavailable: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        store.close()
    verb = {"reject": "rejected (PARTNER_DEREGISTERED)", "cancel": "cancelled (no acknowledgement)",
            "complete": f"routed now ({done.deliveries} deliveries queued)"}[decision]
    typer.echo(f"{partner_id}: {done.settled} of {done.parked} message(s) it sent that waited for correlation {verb}")
    if done.settled < done.parked:
        typer.echo(f"{done.parked - done.settled} could not be routed (no longer decodes, or the broker returned a "
                   "delivery): still parked, see hub parked list", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("show")(show)
    app.command("suspend")(suspend)
    app.command("reinstate")(reinstate)
    app.command("deregister")(deregister)
    app.command("rotate-credentials")(rotate_credentials)
    app.command("held")(held)
    app.command("release-held")(release_held)
    app.command("cancel-held")(cancel_held)
    app.command("pending")(pending)
    app.command("settle")(settle)
