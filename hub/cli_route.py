"""``hub route FILE --as SENDER [--json]``: who would receive this message, in which format, who would not
and by which rule, publishing nothing (a dry run of the pipeline's steps 3 to 5: the sender's adapter decodes, as
in hub.adapters; hub.routing routes; each recipient's adapter says the format it would write).

The parties of the message's consignment are those it names plus those the store has recorded for it
(read-only; without a store, only those it names). A message the running hub would hold for correlation
(hub.parking) is reported as ``held``: nobody would receive it yet. Exit codes: 0 routed (even to
nobody), 1 invalid or not allowed for this sender, 2 usage or configuration.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.errors import MessageRejected, StoreUnavailable


def route_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    sender: Annotated[str, typer.Option("--as", help="The sending partner's id")],
    msg_type: Annotated[str | None, typer.Option("--type", "-t", help="Message type (default: inferred)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    no_store: Annotated[bool, typer.Option("--no-store", help="Ignore the parties recorded in the store")] = False,
) -> None:
    """Dry run: the recipients (id, format, rule) and the exclusions (id, rule) of a message file."""
    from hub import cli, parking
    from hub.adapters import registry as adapter_registry
    from hub.adapters.base import EncodeContext
    from hub.catalogue import Catalogue, Limits
    from hub.client import content_type_for
    from hub.routing import RoutingTable, route
    from hub.store import Store
    from hub.timeline import observe

    cfg = cli._config()
    partners = cfg.partner_index()
    if sender not in partners:
        typer.echo(f"unknown sender {sender!r}: not in the registry", err=True)
        raise typer.Exit(2)
    data = file.read_bytes()
    content_type = content_type_for(file.name, data)
    catalogue = Catalogue(cfg.schema_types)
    found = msg_type or cli._infer_type(data, content_type, catalogue)
    try:
        if found is None:
            raise MessageRejected.one("TYPE_UNKNOWN", "cannot tell the message type; pass --type")
        if found not in partners[sender].sends:
            raise MessageRejected.one("TYPE_NOT_ALLOWED", f"{sender} is not registered to send {found}")
        body = adapter_registry.decode_from(partners[sender], adapter_registry.get(partners[sender].adapter),
                                            catalogue, data, content_type, found, Limits())
    except MessageRejected as exc:
        errors = {"errors": [d.as_dict() for d in exc.details]}
        typer.echo(json.dumps(errors) if as_json else "\n".join(f"{d.code}: {d.message}" for d in exc.details))
        raise typer.Exit(1) from exc
    table = RoutingTable.from_config(cfg)
    keys = body.keys()
    obs = observe(body, keys, sender, file.name, datetime.now(UTC), table.partner_of)
    ctx = parking.Context()
    if not no_store:
        store = Store(cfg.store_url())
        try:
            store.migrate()
            ctx = parking.load_context(store, [obs])
        except StoreUnavailable as exc:
            typer.echo(f"store unavailable ({exc}): only the parties the message names are used", err=True)
        finally:
            store.close()
    verdict = parking.decide(found, keys, obs, table, ctx, parking.sources_of(cfg.schema_types))
    # held: who would get it if it went now, with the parties it names (the release adds those recorded then)
    decision = route(found, sender, keys, table, verdict.parties if verdict.park is None else None)

    def fmt(rcpt: str, wanted: str) -> str:
        """The content type the recipient's adapter writes this message in (encoded here, never sent)."""
        ctx = EncodeContext(catalogue, rcpt, wanted, "dry-run", partners[rcpt].adapter_options)
        return adapter_registry.get(partners[rcpt].adapter).codec.encode(body, ctx).content_type

    doc: dict[str, Any] = {
        "type": found, "sender": sender, "ucr": keys.ucr,
        "held": None if verdict.park is None else {
            "reason": verdict.park, "waiting_for": [{"kind": k, "value": v} for k, v in verdict.lookup]},
        "recipients": [] if verdict.park else [
            {"id": r.id, "format": fmt(r.id, r.content_type), "adapter": partners[r.id].adapter, "rule": r.rule}
            for r in decision.recipients],
        "excluded": [{"id": e.id, "rule": e.rule} for e in decision.excluded],
    }
    if as_json:
        typer.echo(json.dumps(doc, indent=1))
        return
    typer.echo(f"{found} from {sender}" + (f" (UCR {keys.ucr})" if keys.ucr else ""))
    if verdict.park:
        waiting = ", ".join(f"{k} {v}" for k, v in verdict.lookup)
        typer.echo(f"HELD for correlation ({verdict.park}): acknowledged pending, delivered to nobody until "
                   f"the hub knows {waiting}; then it would go to:")
    for r in decision.recipients:
        typer.echo(f"  -> {r.id:<18} {fmt(r.id, r.content_type):<22} {r.rule}")
    for e in doc["excluded"]:
        typer.echo(f"  x  {e['id']:<18} {e['rule']}")
