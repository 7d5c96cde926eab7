"""Test helpers for the hub and for adapter authors: a real hub on a throw-away virtual host.

``HubUnderTest`` copies a config directory, points it at a fresh RabbitMQ vhost, a fresh SQLite store
and a private secrets file, provisions the broker, and starts ``hub run`` as a real child process (so
tests can kill it with SIGKILL). ``partner(id)`` gives a connected ``PartnerClient`` using that
partner's own credentials. Nothing here is in-memory: it is the same broker and code as production.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from hub.broker import ssl_context
from hub.client import PartnerClient, broker_url
from hub.clock import FileClock
from hub.config import HubConfig, load_config
from hub.provision import Management, file_limit_warnings, management_for, provision
from hub.secrets import Secrets

ROOT = Path(__file__).resolve().parent.parent


def services_available() -> str | None:
    """None if RabbitMQ (AMQP and management API) answers, else the reason."""
    try:
        r = httpx.get("http://127.0.0.1:15672/api/overview", auth=("guest", "guest"), timeout=3)
        if r.status_code != 200:
            return f"RabbitMQ management API answered {r.status_code}"
    except httpx.HTTPError as exc:
        return f"RabbitMQ management API unreachable: {type(exc).__name__}"
    return None


class HubUnderTest:
    def __init__(
        self,
        workdir: Path,
        *,
        source: Path = ROOT / "config",
        settings: dict[str, Any] | None = None,
        secrets_file: Path | None = None,
        partners: list[dict[str, Any]] | None = None,
        clock_file: Path | None = None,
    ) -> None:
        self.workdir = workdir
        self.vhost = f"hubtest-{uuid.uuid4().hex[:10]}"
        self.config_dir = workdir / "config"
        shutil.copytree(source, self.config_dir, dirs_exist_ok=True)
        hub_yaml = yaml.safe_load((self.config_dir / "hub.yaml").read_text()) or {}
        hub_yaml.setdefault("broker", {})["vhost"] = self.vhost
        hub_yaml.setdefault("store", {})["url"] = f"sqlite:///{workdir / 'hub.db'}"
        hub_yaml.setdefault("metrics", {})["port"] = 0
        hub_yaml.setdefault("api", {})["port"] = 0  # the query API (hub.api_http): off unless a test turns it on
        hub_yaml.setdefault("log", {})["format"] = "json"
        # two delivery partitions per partner unless a test asks for more: every test module provisions a
        # vhost of its own, and each partition is a quorum queue to create and delete (4 in production)
        hub_yaml.setdefault("delivery", {}).setdefault("partitions", 2)
        hub_yaml["secrets_file"] = str(secrets_file or workdir / "secrets.json")
        for section, values in (settings or {}).items():
            if isinstance(values, dict):
                hub_yaml.setdefault(section, {}).update(values)
            else:
                hub_yaml[section] = values
        (self.config_dir / "hub.yaml").write_text(yaml.safe_dump(hub_yaml))
        if partners is not None:
            (self.config_dir / "partners.yaml").write_text(yaml.safe_dump({"partners": partners}))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        self.clock: FileClock | None = None
        if clock_file is not None:  # the hub's "now" is what the test writes there (hub.clock)
            self.env["HUB_CLOCK_FILE"] = str(clock_file)
            self.clock = FileClock(clock_file)
        self.config: HubConfig = load_config(self.config_dir, env=self.env)
        self.secrets = Secrets(self.config.secrets_path(), env=self.env)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "hub.log"
        self.starts = 0
        self._since = 0

    # ------------------------------------------------------------ broker

    def provision(self) -> None:
        provision(self.config, self.secrets)

    def management(self) -> Management:
        return management_for(self.config)

    def queue_depth(self, name: str) -> int:
        mgmt = self.management()
        try:
            return int(mgmt.queue_info(name).get("messages", 0))
        finally:
            mgmt.close()

    def wait_depth(self, name: str, expected: int, timeout: float = 20.0) -> int:
        """Poll the management API until the queue holds ``expected`` messages (its stats lag ~1-5 s)."""
        deadline = time.monotonic() + timeout
        depth = -1
        while time.monotonic() < deadline:
            depth = self.queue_depth(name)
            if depth == expected:
                return depth
            time.sleep(0.5)
        return depth

    def delete_vhost(self) -> None:
        mgmt = self.management()
        try:
            mgmt.request("DELETE", f"/vhosts/{mgmt.v}")
        finally:
            mgmt.close()

    def url_for(self, partner_id: str) -> str:
        b = self.config.settings.broker
        return broker_url(b.url, b.vhost, partner_id, self.secrets.get(partner_id) or "")

    def partner(self, partner_id: str) -> PartnerClient:
        """An unconnected client: use ``async with hut.partner("msc-ke") as c``. With an amqps:// broker url
        (``settings={"broker": {"url": "amqps://127.0.0.1:5671/", "tls_ca_file": ...}}``) it trusts the hub's CA."""
        return PartnerClient(self.url_for(partner_id), partner_id, ssl_context=ssl_context(self.config.settings.broker))

    # ------------------------------------------------------------ the hub process

    def start(self, wait: float = 90.0) -> None:
        # 90 s: seen here, the broker sometimes accepts no AMQP connection for 20-40 s right after a vhost of
        # ~100 quorum queues was created or deleted (the hub retries by itself: connect timeout 10 s). A node
        # out of files accepts none at all until some close: scripts/lib.sh starts it with 16384.
        self.proc = self.spawn()
        self.wait_consuming(wait, since=self._since)

    def spawn(self, *args: str) -> subprocess.Popen[bytes]:
        """Start one more ``hub run`` process (several may run at once) logging into ``hub.log``; ``args`` go
        to ``hub run`` (e.g. ``--role``, ``ingest``)."""
        env = dict(self.env, HUB_CONFIG=str(self.config_dir), PYTHONUNBUFFERED="1")
        self._since = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.starts += 1
        return subprocess.Popen(
            [sys.executable, "-m", "hub", "run", *args], cwd=self.workdir, env=env, stdout=log, stderr=log
        )

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run a ``hub`` command against this hub's config, store and clock (e.g. ``hub.cli("dlq", "list")``)."""
        env = dict(self.env, HUB_CONFIG=str(self.config_dir))
        return subprocess.run([sys.executable, "-m", "hub", *args], cwd=self.workdir, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)

    def logged(self, event: str, since: int = 0) -> int:
        """How many log lines carry this event (JSON logs) after the byte offset ``since``."""
        with self.log_path.open("rb") as f:
            f.seek(since)
            return f.read().count(f'"event": "{event}"'.encode())

    def wait_consuming(self, timeout: float, since: int | None = None) -> None:
        """Wait until the hub consumes every inbound queue (so nothing sent next is missed).

        With ``since`` (an offset in the hub log), wait until the process logged ``consuming`` after it
        (it does once the broker confirmed all its consumers): the management API's consumer counts lag by
        up to its stats interval, so after ``kill()`` they still show the dead process, then 0 for seconds.
        """
        deadline = time.monotonic() + timeout
        mgmt = self.management()
        try:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"hub exited with {self.proc.returncode}; log: {self.tail_log()}")
                if since is not None:
                    if self._logged_consuming(since):
                        return
                    time.sleep(0.05)
                    continue
                queues = mgmt.get(f"/queues/{mgmt.v}?columns=name,consumers")
                inbound = [q for q in queues if q["name"].startswith("hub.in.")]
                if inbound and all(q.get("consumers", 0) >= 1 for q in inbound):
                    return
                time.sleep(0.2)
            files = file_limit_warnings(mgmt)
        finally:
            mgmt.close()
        raise TimeoutError(f"hub not consuming after {timeout} s; {' '.join(files)} log: {self.tail_log()}")

    def _logged_consuming(self, since: int) -> bool:
        with self.log_path.open("rb") as f:
            f.seek(since)
            return b'"event": "consuming"' in f.read()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)
        self.proc = None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        proc = self.proc
        self.kill(signal.SIGTERM)
        return proc.returncode

    def tail_log(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"

    def close(self) -> None:
        self.kill()
        self.delete_vhost()

    @contextlib.contextmanager
    def running(self) -> Iterator[HubUnderTest]:
        """Provisioned and started for the ``with`` block (a test fixture's body); closed after, even on error."""
        try:
            self.provision()
            self.start()
            yield self
        finally:
            self.close()


async def collect(client: PartnerClient, queue: str, expected: int, within: float = 30.0) -> list[Any]:
    """Drain ``queue`` until ``expected`` messages arrived or ``within`` seconds passed; returns what came."""
    out: list[Any] = []
    deadline = time.monotonic() + within
    while len(out) < expected and time.monotonic() < deadline:
        out += await client.drain(queue, expected - len(out), idle=0.5)
        if len(out) < expected:
            await asyncio.sleep(0.2)
    return out
