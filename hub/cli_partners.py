"""``hub partners show|suspend|reinstate|deregister|rotate-credentials``: operators' changes to the registry,
each with a reason, recorded in the store (hub.registry) and applied by running hubs within seconds.

Exit codes: 0 done, 1 refused (unknown partner, no reason, a deregistered partner), 2 store or broker
unavailable.
"""

from __future__ import annotations

import json
import secrets as py_secrets
from typing import Annotated, Any

import typer

from hub.config import HubConfig, Partner

Reason = Annotated[str, typer.Option("--reason", "-r", help="Why (recorded with the change)")]


def _open(partner_id: str) -> tuple[HubConfig, Partner, Any]:
    from hub import cli
    from hub.errors import StoreUnavailable
    from hub.store import Store

    cfg = cli._config()
    partner = cfg.partner_index().get(partner_id)
    if partner is None:
        typer.echo(f"unknown partner {partner_id!r}: not in the registry", err=True)
        raise typer.Exit(1)
    store = Store(cfg.store_url())
    try:
        store.migrate()
    except StoreUnavailable as exc:
        typer.echo(f"store unavailable: {exc}", err=True)
        raise typer.Exit(2) from exc
    return cfg, partner, store


def _change(partner_id: str, action: str, reason: str) -> None:
    from hub import registry
    from hub.errors import StoreUnavailable

    _cfg, partner, store = _open(partner_id)
    try:
        done = registry.change(store, partner, action, reason)
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
    from hub import cli, registry
    from hub.errors import HubError
    from hub.provision import management_for

    cfg, partner, store = _open(partner_id)
    try:
        registry.change(store, partner, "rotate-credentials", reason)
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


def show(partner_id: Annotated[str, typer.Argument()],
         as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One partner: the registry entry, its status now, and the changes operators made."""
    from hub import registry

    _cfg, partner, store = _open(partner_id)
    try:
        status = registry.statuses(store).get(partner_id, partner.status)
        changes = registry.history(store, partner_id)
    finally:
        store.close()
    profiles = [str(p) for p in partner.profiles]
    doc: dict[str, Any] = {
        "id": partner.id, "name": partner.name, "profiles": profiles, "status": status.value,
        "sends": list(partner.sends), "receive_format": partner.receive_format, "transport": partner.transport.kind,
        "identifiers": {str(k): list(v) for k, v in partner.identifiers.items()},
        "changes": [{"at": c.at.isoformat(), "action": c.action, "reason": c.reason, "by": c.by} for c in changes]}
    if as_json:
        typer.echo(json.dumps(doc, indent=1))
        return
    typer.echo(f"{partner.id}  {partner.name}\nprofiles: {', '.join(profiles)}   status: {status.value}"
               f"\nsends: {', '.join(partner.sends) or '-'}\nreceives: {partner.receive_format} by "
               f"{partner.transport.kind}")
    for c in changes:
        typer.echo(f"  {c.at.isoformat()}  {c.action:<19} by {c.by}: {c.reason}")


def register(app: typer.Typer) -> None:
    app.command("show")(show)
    app.command("suspend")(suspend)
    app.command("reinstate")(reinstate)
    app.command("deregister")(deregister)
    app.command("rotate-credentials")(rotate_credentials)
