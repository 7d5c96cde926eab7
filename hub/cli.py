"""The ``hub`` command line (typer). Exit codes are part of the interface and documented per command."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hub import logs
from hub.config import HubConfig, load_config
from hub.errors import ConfigError, HubError, MessageRejected

app = typer.Typer(no_args_is_help=True, add_completion=False, help="The single-window messaging hub.")
broker_app = typer.Typer(no_args_is_help=True, help="Broker set-up.")
config_app = typer.Typer(no_args_is_help=True, help="Configuration.")
partners_app = typer.Typer(no_args_is_help=True, help="The partner registry.")
app.add_typer(broker_app, name="broker")
app.add_typer(config_app, name="config")
app.add_typer(partners_app, name="partners")
catalogue_app = typer.Typer(no_args_is_help=True, help="The message catalogue.")
app.add_typer(catalogue_app, name="catalogue")

_state: dict[str, Any] = {"config_dir": "config"}


@app.callback()
def main(
    config: Annotated[
        str, typer.Option("--config", "-c", envvar="HUB_CONFIG", help="Configuration directory.")
    ] = "config",
) -> None:
    _state["config_dir"] = config


def _config() -> HubConfig:
    try:
        cfg = load_config(_state["config_dir"])
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"config: {problem}", err=True)
        raise typer.Exit(2) from exc
    logs.configure(cfg.settings.log.format, cfg.settings.log.level)
    return cfg


def _secrets(cfg: HubConfig) -> Any:
    from hub.secrets import Secrets

    return Secrets(cfg.secrets_path())


# ------------------------------------------------------------------ config


@config_app.command("check")
def config_check() -> None:
    """Check every config file and report every problem at once (exit 0 valid, 2 invalid)."""
    try:
        cfg = load_config(_state["config_dir"])
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem)
        typer.echo(f"{len(exc.problems)} problem(s)")
        raise typer.Exit(2) from exc
    typer.echo(
        f"ok: {len(cfg.partners)} partners, {len(cfg.routes)} routes, {len(cfg.access)} access rows, "
        f"{len(cfg.schema_types)} schema-only types"
    )


# ------------------------------------------------------------------ broker


@broker_app.command("provision")
def broker_provision() -> None:
    """Create users, permissions, queues, policies and the topology from the registry (idempotent)."""
    from hub.provision import provision

    cfg = _config()
    try:
        report = provision(cfg, _secrets(cfg))
    except HubError as exc:
        typer.echo(f"provision failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"provisioned vhost {cfg.settings.broker.vhost!r}: {len(report.users)} users, "
        f"{len(report.queues)} queues, {len(report.policies)} policies; secrets in {cfg.secrets_path()}"
    )


# ------------------------------------------------------------------ partners


@partners_app.command("list")
def partners_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the registry."""
    cfg = _config()
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "profiles": [str(x) for x in p.profiles],
            "status": str(p.status),
            "sends": list(p.sends),
            "receive_format": p.receive_format,
        }
        for p in cfg.partners
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    typer.echo(f"{'ID':<18} {'PROFILES':<10} {'STATUS':<12} {'RECEIVES':<18} SENDS")
    for r in rows:
        typer.echo(
            f"{r['id']:<18} {','.join(r['profiles']):<10} {r['status']:<12} "
            f"{r['receive_format']:<18} {','.join(r['sends']) or '-'}"
        )


# ------------------------------------------------------------------ validate


def _infer_type(data: bytes, content_type: str, catalogue: Any = None) -> str | None:
    from hub import codec
    from hub.catalogue import Catalogue

    try:
        if content_type == codec.EDIFACT_CT:  # the message type of the first UNH, e.g. CUSCAR -> manifest.sea
            import re

            from hub.edifact import MESSAGES

            found = re.search(rb"UNH\+[^+']*\+([A-Z]{6})", data[:4096])
            entry = MESSAGES.get(found.group(1).decode()) if found else None
            return entry[0] if entry else None
        if content_type == codec.JSON_CT:
            doc = codec.parse_json(data)
            return doc.get("messageType") if isinstance(doc, dict) else None
        root = codec.parse_xml(data)
        return (catalogue or Catalogue()).type_of_root(root.tag)
    except MessageRejected:
        return None


def _schema_types() -> tuple[Any, ...]:
    """The config's schema-only types (types.yaml alone; none without a config directory); exit 2 if wrong."""
    from hub.config import load_schema_types

    directory = Path(_state["config_dir"])
    if not directory.is_dir():
        return ()
    try:
        return load_schema_types(directory)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"config: {problem}", err=True)
        raise typer.Exit(2) from exc


@catalogue_app.command("export")
def catalogue_export(
    directory: Annotated[Path, typer.Argument(file_okay=False, help="Output directory (created if missing)")],
    examples: Annotated[
        Path | None, typer.Option("--examples", help="Examples directory (default: the repository's examples/)")
    ] = None,
) -> None:
    """Write the partner documentation: a page, XSD and JSON schema per type, index.md, and an AsyncAPI
    3.0.0 document of the whole contract (asyncapi.yaml, asyncapi.json). Exit codes: 0 written; 1 a valid
    example does not decode (the message names the file)."""
    from hub.catalogue_export import ExportError, export

    try:
        result = export(directory, examples)
    except ExportError as exc:
        typer.echo(f"export failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    planned = f"; not yet available: {', '.join(result.planned)}" if result.planned else ""
    typer.echo(f"wrote {len(result.files)} files for {len(result.types)} types to {directory}{planned}")


@app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    msg_type: Annotated[str | None, typer.Option("--type", "-t", help="Message type (default: inferred)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Validate a message file: exit 0 valid, 1 invalid (each error's code and path), 2 usage."""
    from hub.catalogue import Catalogue
    from hub.client import content_type_for

    data = file.read_bytes()
    content_type = content_type_for(file.name, data)
    catalogue = Catalogue(_schema_types())
    found_type = msg_type or _infer_type(data, content_type, catalogue)
    try:
        if found_type is None:
            raise MessageRejected.one("TYPE_UNKNOWN", "cannot tell the message type; pass --type")
        body = catalogue.decode(data, content_type, found_type)
    except MessageRejected as exc:
        if as_json:
            typer.echo(json.dumps({"valid": False, "type": found_type,
                                   "errors": [d.as_dict() for d in exc.details]}))
        else:
            for d in exc.details:
                where = f" at {d.path}" if d.path else ""
                line = f" (line {d.line})" if d.line else ""
                typer.echo(f"{d.code}{where}{line}: {d.message}")
        raise typer.Exit(1) from exc
    keys = body.keys()
    if as_json:
        typer.echo(json.dumps({"valid": True, "type": found_type, "ucr": keys.ucr,
                               "vessel_call": keys.vessel_call}))
    else:
        typer.echo(f"valid {found_type}" + (f" (UCR {keys.ucr})" if keys.ucr else ""))


# ------------------------------------------------------------------ send / inbox


def _partner_url(cfg: HubConfig, partner_id: str) -> str:
    from hub.client import broker_url

    if cfg.partner(partner_id) is None:
        typer.echo(f"unknown partner {partner_id!r}", err=True)
        raise typer.Exit(2)
    password = _secrets(cfg).get(partner_id)
    if password is None:
        typer.echo(f"no password for {partner_id}: run `hub broker provision` first", err=True)
        raise typer.Exit(2)
    b = cfg.settings.broker
    return broker_url(b.url, b.vhost, partner_id, password)


@app.command("send")
def send(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    as_partner: Annotated[str, typer.Option("--as", help="Send as this partner (its own credentials)")],
    msg_type: Annotated[str | None, typer.Option("--type", "-t")] = None,
    message_id: Annotated[str | None, typer.Option("--message-id")] = None,
    timeout: Annotated[float, typer.Option("--timeout")] = 10.0,
) -> None:
    """Publish a file as a partner and print its acknowledgement.

    Exit 0 accepted, 1 rejected, 3 duplicate, 4 no answer in time (or broker unreachable), 2 usage.
    """
    import aio_pika

    from hub.catalogue import Catalogue
    from hub.client import PartnerClient, content_type_for

    cfg = _config()
    url = _partner_url(cfg, as_partner)
    data = file.read_bytes()
    content_type = content_type_for(file.name, data)
    found_type = msg_type or _infer_type(data, content_type, Catalogue(cfg.schema_types))
    if found_type is None:
        typer.echo("cannot tell the message type; pass --type", err=True)
        raise typer.Exit(2)

    async def go() -> dict[str, Any] | None:
        async with PartnerClient(url, as_partner) as client:
            return await client.send(data, found_type, content_type=content_type, message_id=message_id,
                                     timeout=timeout)

    try:
        ack = asyncio.run(go())
    except (OSError, aio_pika.exceptions.AMQPError) as exc:
        typer.echo(f"broker unreachable or refused the connection: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(4) from exc
    if ack is None:
        typer.echo(f"no acknowledgement within {timeout} s", err=True)
        raise typer.Exit(4)
    typer.echo(json.dumps(ack, indent=1))
    raise typer.Exit({"accepted": 0, "pending": 0, "rejected": 1, "duplicate": 3}.get(ack["status"], 1))


@app.command("inbox")
def inbox(
    partner: Annotated[str, typer.Argument()],
    max_count: Annotated[int, typer.Option("--max")] = 10,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    idle: Annotated[float, typer.Option("--idle", help="Stop after this many quiet seconds")] = 1.0,
) -> None:
    """Consume and acknowledge up to N deliveries as PARTNER and print them."""
    from hub.client import PartnerClient

    cfg = _config()
    url = _partner_url(cfg, partner)

    async def go() -> list[Any]:
        async with PartnerClient(url, partner) as client:
            return await client.inbox(max_count, idle)

    deliveries = asyncio.run(go())
    if as_json:
        typer.echo(json.dumps([
            {"message_id": d.message_id, "correlation_id": d.correlation_id, "type": d.type,
             "content_type": d.content_type, "headers": d.headers, "body": d.body.decode("utf-8", "replace")}
            for d in deliveries], indent=1))
        return
    for d in deliveries:
        typer.echo(f"{d.type:<18} {d.content_type:<18} from {d.headers.get('x-source-partner')} "
                   f"id {d.message_id} (inbound {d.correlation_id}) {len(d.body)} bytes")
    typer.echo(f"{len(deliveries)} deliveries")


# ------------------------------------------------------------------ run


@app.command("run")
def run(demo: Annotated[bool, typer.Option("--demo", help="Play a short partner demo once ready")] = False) -> None:
    """Run the hub in the foreground until SIGINT or SIGTERM."""
    cfg = _config()
    asyncio.run(_run(cfg, demo))


async def _run(cfg: HubConfig, demo: bool) -> None:
    from prometheus_client import start_http_server

    from hub.pipeline import Pipeline
    from hub.store import Store

    log = logs.get("hub")
    password = _secrets(cfg).get(cfg.settings.broker.user)
    if password is None:
        log.error("no password for the hub's broker user: run `hub broker provision` first")
        raise typer.Exit(2)
    store = Store(cfg.store_url())
    await asyncio.to_thread(store.migrate)
    if cfg.settings.metrics.port:
        start_http_server(cfg.settings.metrics.port, addr=cfg.settings.metrics.host)
    pipeline = Pipeline(cfg, store, password)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, pipeline.stop)
    log.info("hub starting", pid=os.getpid(), config=str(cfg.directory), store=store.engine.dialect.name)
    tasks = [asyncio.create_task(pipeline.run())]
    if demo:
        from hub.demo import play

        tasks.append(asyncio.create_task(play(cfg, pipeline)))
    await tasks[0]
    for task in tasks[1:]:
        task.cancel()
    store.close()
    log.info("hub stopped")


def entry() -> None:  # pragma: no cover - console script shim
    sys.exit(app())
