"""The ``hub`` command line (typer). Exit codes are part of the interface and documented per command."""

from __future__ import annotations

import asyncio
import contextlib
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
audit_app = typer.Typer(no_args_is_help=True, help="The audit trail: verify the hash chain, apply body retention.")
app.add_typer(audit_app, name="audit")

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


def _open_store(cfg: HubConfig) -> Any:
    """The store, migrated; exit 2 with ``store unavailable: ...`` if it cannot be reached (every command that
    reads or writes the store starts so)."""
    from hub.errors import StoreUnavailable
    from hub.store import Store

    store = Store(cfg.store_url())
    try:
        store.migrate()
    except StoreUnavailable as exc:
        store.close()
        typer.echo(f"store unavailable: {exc}", err=True)
        raise typer.Exit(2) from exc
    return store


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
        f"{len(report.queues)} queues, {len(report.policies)} policies, {len(report.api_tokens)} new query API "
        f"tokens; secrets in {cfg.secrets_path()}"
    )
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)


# ------------------------------------------------------------------ partners


@partners_app.command("list")
def partners_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the registry, with each partner's broker credential expiry (hub.credentials): a warning on stderr
    for every one expiring within ``credentials.warn_days`` or expired (regulation 9(4)). The store is read
    once for all partners; if it is unavailable, the expiries show as unknown."""
    from datetime import UTC, datetime

    from hub import credentials
    from hub.config import PartnerStatus

    cfg = _config()
    now, warn_days = datetime.now(UTC), cfg.settings.credentials.warn_days
    recorded = credentials.listing(cfg)
    if recorded is None:
        typer.echo("warning: store unavailable: broker credential expiries unknown", err=True)
    creds, gone = recorded if recorded is not None else ({}, set())
    rows: list[dict[str, Any]] = [
        {
            "id": p.id,
            "name": p.name,
            "profiles": [str(x) for x in p.profiles],
            "status": str(p.status),
            "sends": list(p.sends),
            "receive_format": p.receive_format,
            "transport": p.transport.kind if p.transport.kind == "amqp" else f"http {p.transport.url}",
            "inbox_depth": p.inbox_depth,
            "drain_rate": p.drain_rate,
            "max_attempts": p.max_attempts or cfg.settings.delivery.max_attempts,
            "credential_expires_at": creds[p.id].expires_at.isoformat() if p.id in creds else None,
            "credential_state": credentials.state_of(creds.get(p.id), now, warn_days),
        }
        for p in cfg.partners
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
    else:
        typer.echo(f"{'ID':<18} {'PROFILES':<10} {'STATUS':<12} {'EXPIRES':<10} {'RECEIVES':<18} {'BY':<6} SENDS")
        for r in rows:
            expires = str(r["credential_expires_at"] or "-")[:10]
            typer.echo(
                f"{r['id']:<18} {','.join(r['profiles']):<10} {r['status']:<12} {expires:<10} "
                f"{r['receive_format']:<18} {str(r['transport']).split(' ')[0]:<6} {','.join(r['sends']) or '-'}"
            )
    for p in cfg.partners:  # after the listing, where an operator sees them
        line = credentials.warning(p.id, creds[p.id], now, warn_days) if p.id in creds else None
        if line and p.id not in gone and p.status is not PartnerStatus.DEREGISTERED:
            typer.echo(f"warning: {line}", err=True)


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


# ------------------------------------------------------------------ track


@app.command("track")
def track(
    ref: Annotated[str, typer.Argument(help="Any reference: UCR, IDF, entry, bill of lading, AWB, container, "
                                            "permit, PRN, insurance certificate, e-seal id, vessel call IMO/voyage")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Where a consignment stands: its timeline (times in EAT), status, what it waits for and since when.

    Exit 0 found; 1 no consignment has this reference; 2 config error or store unreachable. KRA PINs of the
    parties are masked.
    """
    from hub import timeline
    from hub.errors import StoreUnavailable
    from hub.store import Store

    cfg = _config()
    store = Store(cfg.store_url())
    try:
        consignments = [store.consignment(ucr) for ucr in store.resolve(ref)]
    except StoreUnavailable as exc:
        typer.echo(f"store unavailable: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(timeline.as_json(ref, consignments), indent=1))
    elif consignments:
        typer.echo(timeline.render(ref, consignments))
    else:
        typer.echo(f"no consignment found for {ref}", err=True)
    raise typer.Exit(0 if consignments else 1)


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

    from hub.broker import ssl_context
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
        async with PartnerClient(url, as_partner, ssl_context=ssl_context(cfg.settings.broker)) as client:
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
    from hub.broker import ssl_context
    from hub.client import PartnerClient

    cfg = _config()
    url = _partner_url(cfg, partner)

    async def go() -> list[Any]:
        async with PartnerClient(url, partner, ssl_context=ssl_context(cfg.settings.broker)) as client:
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


# ------------------------------------------------------------------ audit


def _audit_store(cfg: HubConfig, migrate: bool) -> Any:
    from hub.errors import StoreUnavailable
    from hub.store import Store

    store = Store(cfg.store_url())
    if migrate:
        try:
            store.migrate()
        except StoreUnavailable as exc:
            typer.echo(f"store unavailable: {exc}", err=True)
            raise typer.Exit(2) from exc
    return store


@audit_app.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    head: Annotated[Path | None, typer.Option("--head", help="Head file (default: setting audit.head_file)")] = None,
    no_head: Annotated[bool, typer.Option("--no-head", help="Check the chain alone (misses truncation)")] = False,
) -> None:
    """Recompute the audit chain and compare it with the external head.

    Exit 0 intact; 1 broken (the first bad entry's seq and why); 2 config error or store unreachable.
    """
    import sqlalchemy as sa

    from hub.audit import verify
    from hub.errors import StoreUnavailable

    cfg = _config()
    store = _audit_store(cfg, migrate=False)  # read-only: an auditor's check changes nothing, not even the schema
    try:
        if not sa.inspect(store.engine).has_table("audit_log"):
            typer.echo("the store has no audit_log table: it predates the audit trail (migration 0002)", err=True)
            raise typer.Exit(2)
        report = verify(store, None if no_head else (head or cfg.audit_head_path()))
    except (StoreUnavailable, sa.exc.SQLAlchemyError) as exc:
        typer.echo(f"store unavailable: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=1))
    elif report.ok:
        where = f"; head at {report.head.seq}" if report.head else ""
        ahead = f", {report.ahead} entries after it (written after the last head update)" if report.ahead else ""
        typer.echo(f"audit log intact: {report.entries} entries{where}{ahead} ({report.seconds} s)")
    else:
        first = f"first bad entry: {report.first_bad}: " if report.first_bad is not None else ""
        typer.echo(f"audit log BROKEN: {first}{report.reason}")
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command("purge-bodies")
def audit_purge_bodies(
    before: Annotated[
        str | None, typer.Option("--before", help="ISO date or time (UTC unless an offset is given)")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count")] = False,
) -> None:
    """Delete message bodies older than the retention (audit.body_retention_days) or than --before.

    --before may not be later than the retention allows. The audit log is not touched but for one entry
    recording the purge. Exit 0 done; 2 a bad date or store unreachable.
    """
    from datetime import UTC, datetime

    from hub.audit import HeadKeeper, format_at, purge_bodies, retention_cutoff
    from hub.errors import StoreUnavailable

    cfg = _config()
    limit = retention_cutoff(cfg.settings.audit.body_retention_days)
    cutoff = limit
    if before is not None:
        try:
            cutoff = datetime.fromisoformat(before)
        except ValueError as exc:
            typer.echo(f"--before: not an ISO date or time: {before!r}", err=True)
            raise typer.Exit(2) from exc
        cutoff = cutoff.replace(tzinfo=UTC) if cutoff.tzinfo is None else cutoff
        if cutoff > limit:
            typer.echo(f"--before {format_at(cutoff)} would delete bodies younger than the retention period "
                       f"({cfg.settings.audit.body_retention_days} days: {format_at(limit)}); refused", err=True)
            raise typer.Exit(2)
    store = _audit_store(cfg, migrate=True)
    try:
        if dry_run:
            typer.echo(f"{store.count_bodies(cutoff)} message bodies received before {format_at(cutoff)}")
            return
        n = purge_bodies(store, cutoff, HeadKeeper(cfg.audit_head_path(), store))
    except StoreUnavailable as exc:
        typer.echo(f"store unavailable: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        store.close()
    typer.echo(f"deleted {n} message bodies received before {format_at(cutoff)}")


@audit_app.command("reset-head")
def audit_reset_head() -> None:
    """After investigating a head conflict: accept the store's chain and write a new external head.

    The chain must verify on its own; the reset is recorded in it. Exit 0 done; 1 chain broken; 2 store.
    """
    from hub.audit import reset_head
    from hub.errors import StoreUnavailable

    cfg = _config()
    store = _audit_store(cfg, migrate=True)
    try:
        report, new = reset_head(store, cfg.audit_head_path())
    except StoreUnavailable as exc:
        typer.echo(f"store unavailable: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        store.close()
    if new is None:
        typer.echo(f"refused: the chain is broken at entry {report.first_bad}: {report.reason}", err=True)
        raise typer.Exit(1)
    typer.echo(f"external head reset to entry {new.seq} ({new.entry_hash}) in {cfg.audit_head_path()}")


# ------------------------------------------------------------------ run


ROLES = ("all", "ingest", "delivery")


@app.command("run")
def run(
    demo: Annotated[bool, typer.Option("--demo", help="Play a short partner demo once ready")] = False,
    role: Annotated[str, typer.Option("--role", help="all (default), ingest or delivery: run ingest and "
                                      "delivery as separate processes, a core each")] = "all",
) -> None:
    """Run the hub in the foreground until SIGINT or SIGTERM."""
    if role not in ROLES:
        typer.echo(f"--role is one of {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    cfg = _config()
    asyncio.run(_run(cfg, demo, role))


async def _windows_for_acks(records: Any, delivery: Any, clock: Any, stop: asyncio.Event) -> None:
    """In an ingest-only process (``--role ingest``) no delivery monitor reads the maintenance windows, so this
    does, every 5 s, for the ``held_until`` of the acknowledgements (hub.delivery.worker.held_until)."""
    from hub.errors import StoreUnavailable

    while not stop.is_set():
        now = clock.now()
        try:
            rows = await asyncio.to_thread(records.windows, False, now)
        except StoreUnavailable:
            rows = None  # keep the last ends known
        if rows is not None:
            ends: dict[str, Any] = {}
            for w in rows:
                if w.active(now):
                    ends[w.target] = max(ends.get(w.target, w.end), w.end)
            delivery.window_ends = ends
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 5.0)


async def _run(cfg: HubConfig, demo: bool, role: str = "all") -> None:
    from hub import clock as hub_clock
    from hub.delivery.records import DeliveryRecords
    from hub.delivery.worker import DeliveryService
    from hub.ops_http import serve
    from hub.pipeline import Pipeline
    from hub.store import Store

    log = logs.get("hub")
    secrets = _secrets(cfg)
    password = secrets.get(cfg.settings.broker.user)
    if password is None:
        log.error("no password for the hub's broker user: run `hub broker provision` first")
        raise typer.Exit(2)
    store = Store(cfg.store_url())
    await asyncio.to_thread(store.migrate)
    clock = hub_clock.from_env()
    pipeline = Pipeline(cfg, store, password, clock=clock)
    records = DeliveryRecords(store)
    delivery = DeliveryService(cfg, records, password, clock, secrets.get, pipeline.catalogue)
    pipeline.held_until = delivery.held_until
    pipeline.queued = delivery.note_queued
    server = None
    if cfg.settings.metrics.port:
        server = serve(cfg.settings.metrics.host, cfg.settings.metrics.port, _health(pipeline, delivery))
    api = None
    if cfg.settings.api.port:  # the partner query API, GET /v1/consignments/{ref} (hub.api_http)
        from hub.api_http import serve_api

        api = serve_api(cfg.settings.api.host, cfg.settings.api.port, store, cfg, clock=clock)
    from hub import metrics  # liveness gauges (hub_ingest_consuming, hub_delivery_connected)

    metrics.track_liveness(pipeline.ready.is_set, delivery.ready.is_set)
    console = None
    if cfg.settings.console.port:  # the operations console (hub.console, docs/console.md)
        from hub.console.app import serve_console

        console = serve_console(cfg, clock)
    loop = asyncio.get_running_loop()

    stopped = asyncio.Event()

    def stop() -> None:
        pipeline.stop()
        delivery.stop()
        stopped.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    log.info("hub starting", pid=os.getpid(), config=str(cfg.directory), store=store.engine.dialect.name, role=role)
    main: list[Any] = []
    if role in ("all", "ingest"):
        main.append(pipeline.run())
    else:
        pipeline.ready.set()  # not this process's job: health and liveness report the delivery side only
    if role in ("all", "delivery"):
        main.append(delivery.run(pipeline._url()))
    else:
        delivery.ready.set()
        main.append(_windows_for_acks(records, delivery, clock, stopped))
    tasks = [asyncio.create_task(c) for c in main]
    if cfg.settings.audit.purge_every_hours:  # the retention of message bodies (hub.audit)
        from hub.audit import purge_periodically

        tasks.append(asyncio.create_task(purge_periodically(
            store, pipeline.audit_head, cfg.settings.audit.body_retention_days,
            cfg.settings.audit.purge_every_hours * 3600)))
    if demo:
        from hub.demo import play

        tasks.append(asyncio.create_task(play(cfg, pipeline)))
    await asyncio.gather(*tasks[:len(main)])
    for task in tasks[len(main):]:
        task.cancel()
    if server is not None:
        server.shutdown()
    if api is not None:
        api.shutdown()
        api.server_close()
    if console is not None:
        console.close()
    with contextlib.suppress(Exception):
        await asyncio.to_thread(records.drop_snapshots, delivery.process)
    store.close()
    log.info("hub stopped")


def _health(pipeline: Any, delivery: Any) -> Any:
    def health() -> tuple[bool, dict[str, Any]]:
        ok = pipeline.ready.is_set() and delivery.ready.is_set()
        views = delivery.monitor.views if delivery.monitor is not None else {}
        return ok, {
            "status": "ok" if ok else "unavailable",
            "ingest": "consuming" if pipeline.ready.is_set() else "disconnected",
            "delivery": "delivering" if delivery.ready.is_set() else "disconnected",
            "partners": [v.as_dict() for v in views.values()],
        }

    return health


def _register_delivery_commands() -> None:
    from hub.cli_delivery import dlq_app, status, windows_app

    app.add_typer(windows_app, name="windows")
    app.add_typer(dlq_app, name="dlq")
    app.command("status")(status)
    from hub.cli_parked import parked_app
    from hub.cli_route import route_file

    app.add_typer(parked_app, name="parked")
    from hub.cli_adapter import register as register_adapter_commands

    register_adapter_commands(app)
    from hub.cli_partners import register

    register(partners_app)
    app.command("route")(route_file)
    from hub.console.cli import register as register_console

    register_console(app)
    from hub.bench_cli import bench_command  # hub bench (issue 7)

    app.command("bench")(bench_command)


_register_delivery_commands()


def entry() -> None:  # pragma: no cover - console script shim
    sys.exit(app())
