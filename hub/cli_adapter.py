"""``hub adapter list|new``: the adapters this hub can load, and a scaffold for a new one.

``list`` shows each adapter with where it came from (a module of ``hub/adapters/`` or an entry point of
the group ``hub.adapters``), its formats, acknowledgement format, transports and the partner classes it
serves; ``--check`` decodes every adapter's fixture (exit 1 if one fails). ``new`` writes the files of
``hub.adapter_scaffold`` and refuses to overwrite anything. Exit codes: 0 done, 1 refused or a fixture
failed, 2 configuration unusable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

adapter_app = typer.Typer(no_args_is_help=True, help="Partner adapters: list them, scaffold a new one.")


@adapter_app.command("list")
def list_adapters(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    check: Annotated[bool, typer.Option("--check", help="decode every adapter's fixture")] = False,
) -> None:
    """Every adapter the hub can load, and the partners of the registry using each."""
    from hub import cli
    from hub.adapters import registry

    try:
        adapters = registry.adapters()
    except registry.AdapterError as exc:
        typer.echo(f"adapters: {exc}", err=True)
        raise typer.Exit(2) from exc
    cfg = cli._config()
    users: dict[str, list[str]] = {}
    for p in cfg.partners:
        users.setdefault(p.adapter, []).append(p.id)
    rows: list[dict[str, Any]] = []
    failed = False
    for name, a in sorted(adapters.items()):
        row: dict[str, Any] = {
            "name": name, "origin": registry.origin_of(name), "summary": a.summary, "formats": list(a.formats),
            "receive_format": a.receive_format, "ack_format": a.ack_format, "transports": list(a.transports),
            "serves": list(a.serves), "partners": users.get(name, []),
            "fixture": str(a.fixture) if a.fixture else None}
        if check:
            row["fixture_check"] = _check_fixture(a)
            failed = failed or row["fixture_check"] != "ok"
        rows.append(row)
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
    else:
        for r in rows:
            typer.echo(f"{r['name']:<14} {r['origin']}\n    {r['summary']}\n    in: {', '.join(r['formats'])}  "
                       f"out: {r['receive_format']}  acks: {r['ack_format']}  by: {', '.join(r['transports'])}\n"
                       f"    serves: {'; '.join(r['serves']) or '-'}\n    partners: {', '.join(r['partners']) or '-'}"
                       + (f"\n    fixture: {r['fixture_check']}" if check else ""))
    if failed:
        raise typer.Exit(1)


def _check_fixture(adapter: Any) -> str:
    from hub.adapters.base import DecodeContext
    from hub.catalogue import Catalogue, Limits
    from hub.errors import MessageRejected

    if adapter.fixture is None:
        return "no fixture"
    try:
        adapter.codec.decode(adapter.fixture.read_bytes(), adapter.fixture_content_type, adapter.fixture_type,
                             DecodeContext(Catalogue(), Limits(), "check", adapter.fixture_options))
    except MessageRejected as exc:
        return "rejected: " + "; ".join(f"{e.code} {e.message}" for e in exc.details)[:300]
    except OSError as exc:
        return f"unreadable: {exc}"
    return "ok"


@adapter_app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="adapter name, also the new partner's id (e.g. acme-tos)")],
    msg_type: Annotated[str, typer.Option("--type", help="a type the partner sends (its fixture's type)")],
    fmt: Annotated[str, typer.Option("--format", help="xml | json | edifact")] = "json",
    transport: Annotated[str, typer.Option("--transport", help="amqp | http")] = "amqp",
    profile: Annotated[str, typer.Option("--profile", help="the partner's ACCESS.md column, e.g. PGA")] = "CA",
    legal_name: Annotated[str, typer.Option("--name", help="the partner's legal name")] = "TODO legal name",
    package: Annotated[Path | None, typer.Option("--package", help="write a separate installable package here")] = None,
    root: Annotated[Path, typer.Option("--root", help="the hub's source tree (default: this one)")] = Path(),
) -> None:
    """Scaffold an adapter: module, registry entry, example message (fixture) and test."""
    from hub import adapter_scaffold as s
    from hub import cli
    from hub.adapters import registry
    from hub.catalogue import known_types
    from hub.config import Profile

    cfg = cli._config()
    if transport not in ("amqp", "http") or profile not in {p.value for p in Profile}:
        typer.echo(f"refused: --transport is amqp or http; --profile one of {', '.join(p.value for p in Profile)}",
                   err=True)
        raise typer.Exit(1)
    spec = s.Spec(name, msg_type, s.FORMATS.get(fmt, fmt), transport, profile, legal_name)
    try:
        s.check(name, msg_type, spec.fmt, known_types(), set(registry.adapters()) | {p.id for p in cfg.partners})
        fixture = s.example_for(msg_type, spec.fmt)
    except s.ScaffoldError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    files: dict[Path, str | bytes]
    if package is None:
        root = root.resolve()
        files = {
            root / "hub" / "adapters" / f"{spec.module}.py": s.module_text(
                spec, f'Path(__file__).resolve().parents[2] / "examples" / "adapters" / "{name}" / '
                      f'"{spec.fixture_name}"'),
            root / "examples" / "adapters" / name / spec.fixture_name: fixture.read_bytes(),
            root / "tests" / f"test_adapter_{spec.module}.py": s.test_text(spec),
        }
    else:
        pkg = package.resolve() / f"hub_adapter_{spec.module}"
        files = {
            package.resolve() / "pyproject.toml": s.pyproject_text(spec),
            pkg / "__init__.py": f'"""The {name} partner adapter (entry point hub.adapters:{name})."""\n',
            pkg / "adapter.py": s.module_text(spec, f'Path(__file__).resolve().parent / "{spec.fixture_name}"'),
            pkg / spec.fixture_name: fixture.read_bytes(),
            package.resolve() / "tests" / "test_adapter.py": s.test_text(spec),
            package.resolve() / "partner-entry.yaml": "partners:\n" + s.entry_text(spec),
        }
    existing = [str(p) for p in files if p.exists()]
    if existing:
        typer.echo(f"refused: would overwrite {', '.join(existing)}", err=True)
        raise typer.Exit(1)
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        typer.echo(f"wrote {path}")
    if package is None:
        registry_file = cfg.directory / "partners.yaml"
        text = registry_file.read_text()
        registry_file.write_text(text + ("" if text.endswith("\n") else "\n") + s.entry_text(spec))
        typer.echo(f"added partner {name} (adapter {name}) to {registry_file}")
    typer.echo("next: fill in the TODOs, make the codec speak the partner's format, run its test, then "
               "`hub config check`, `hub broker provision` and `hub adapter list --check` (docs/adapters.md)")


def register(app: typer.Typer) -> None:
    app.add_typer(adapter_app, name="adapter")
