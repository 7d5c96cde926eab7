"""``hub console``: serve the operations console on its own, and manage its operators.

``hub console [--host H] [--port P]`` serves it until SIGINT or SIGTERM (reading the store and the management
API; no ingest, no delivery). ``hub run`` serves it too when ``console.port`` is set. Exit codes: 0 stopped,
2 configuration or store unavailable, or the port cannot be bound. ``add-operator NAME`` (prompted, or one
line from standard input with ``--password-stdin``), ``remove-operator NAME``, ``list-operators``: exit 0
done, 1 refused (a name or password that cannot be used, an unknown operator).
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from hub.console.auth import Operators

DEFAULT_PORT = 8490
console_app = typer.Typer(help="The operations console (docs/console.md): serve it, manage its operators.",
                          invoke_without_command=True)


def _operators() -> Operators:
    from hub import cli
    from hub.console.auth import Operators, operators_path

    return Operators(operators_path(cli._config()))


@console_app.callback()
def console(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Default: console.host")] = None,
    port: Annotated[int | None, typer.Option("--port", help=f"Default: console.port, or {DEFAULT_PORT} if 0")] = None,
) -> None:
    """Serve the console in the foreground (without ingest or delivery) until SIGINT or SIGTERM."""
    if ctx.invoked_subcommand is not None:
        return
    from hub import cli
    from hub import clock as hub_clock
    from hub.console.app import serve_console
    from hub.console.auth import Operators, operators_path

    cfg = cli._config()
    store = cli._open_store(cfg)
    chosen = port if port is not None else (cfg.settings.console.port or DEFAULT_PORT)
    try:
        running = serve_console(cfg, hub_clock.from_env(), host=host, port=chosen, store=store)
    except OSError as exc:
        store.close()
        typer.echo(f"cannot serve the console on port {chosen}: {exc}", err=True)
        raise typer.Exit(2) from exc
    where = f"http://{running.server.server_address[0]!s}:{running.port}/"
    typer.echo(f"console: {where} (Ctrl-C stops it)")
    if not Operators(operators_path(cfg)).names():
        typer.echo("warning: no operators yet: hub console add-operator NAME", err=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    running.close()
    store.close()


@console_app.command("add-operator")
def add_operator(
    name: Annotated[str, typer.Argument(help="Login name: lower-case letters, digits, '.', '_', '-'")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input "
                                                                           "(its first line)")] = False,
) -> None:
    """Add an operator, or give one a new password (which ends its sessions). Stored as an scrypt hash."""
    from hub.console.auth import OperatorError

    ops = _operators()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        new = ops.set_password(name, password)
    except OperatorError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"operator {name} {'added' if new else 'given a new password'} in {ops.path}")


@console_app.command("remove-operator")
def remove_operator(name: Annotated[str, typer.Argument()]) -> None:
    """Remove an operator: its sessions end at their next request."""
    ops = _operators()
    if not ops.remove(name):
        typer.echo(f"no operator {name}", err=True)
        raise typer.Exit(1)
    typer.echo(f"operator {name} removed")


@console_app.command("list-operators")
def list_operators() -> None:
    """The operators' names."""
    ops = _operators()
    for name in ops.names():
        typer.echo(name)


def register(app: typer.Typer) -> None:
    app.add_typer(console_app, name="console")
