"""``hub bench``'s command line (the bench itself is hub.bench, imported only when the command runs, so that
the other commands do not pay for its imports)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def bench_command(
    quick: Annotated[bool, typer.Option("--quick", help="Smaller runs, the same keys (under two minutes)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON document instead of the table")] = False,
    output: Annotated[Path | None, typer.Option("--output", help="Where to write the JSON (default "
                                                "bench-results/hub_bench[-quick].json)")] = None,
    profile: Annotated[bool, typer.Option("--profile", help="py-spy on the hub process during the main run "
                                          "(pip install py-spy)")] = False,
) -> None:
    """Benchmark the hub against bare aio-pika forwarders on the local RabbitMQ (a throw-away vhost)."""
    from hub.bench import RESULTS, Options, run_bench
    from hub.bench_report import table

    opt = Options.quick_() if quick else Options.full()

    def say(line: str) -> None:
        typer.echo(line, err=True)

    doc = run_bench(opt, say, profile=profile)
    path = output or RESULTS / f"hub_bench{'-quick' if quick else ''}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(doc, indent=1))
    else:
        typer.echo(table(doc))
        typer.echo(f"\nJSON: {path}")
