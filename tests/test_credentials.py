"""Broker credentials expire one year after issue (regulation 9, hub.credentials): the record on SQLite and
PostgreSQL, the date logic, the revocation against a recording stand-in for the management API, and the
``hub partners list`` warnings, also with 1,000 partners. The real broker is in test_credentials_broker.py."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
import yaml

from hub import credentials, registry
from hub.config import load_config
from hub.credentials import Credential, partner_credentials
from hub.errors import ProvisionError
from hub.store import Store
from tests.conftest import ROOT

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class FakeManagement:
    """Records what the hub asks of the management API; lists the connections it is given."""

    def __init__(self, connections: list[dict[str, str]] | None = None) -> None:
        self.passwords: dict[str, list[str]] = {}
        self.connections = list(connections or [])
        self.closed: list[str] = []
        self.on_user: Any = None

    def user(self, name: str, password: str) -> None:
        self.passwords.setdefault(name, []).append(password)
        if self.on_user is not None:
            self.on_user(name)

    def get(self, path: str) -> Any:
        assert path.startswith("/connections")
        return [c for c in self.connections if c["name"] not in self.closed]

    def request(self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        assert method == "DELETE" and path.startswith("/connections/")
        name = unquote(path.removeprefix("/connections/"))
        if name not in {c["name"] for c in self.connections} or name in self.closed:
            raise ProvisionError("HTTP 404")
        self.closed.append(name)
        return None


def _set(store: Store, partner: str, issued: datetime, expires: datetime, revoked: datetime | None = None) -> None:
    with store._tx() as conn:
        conn.execute(partner_credentials.delete().where(partner_credentials.c.partner == partner))
        conn.execute(partner_credentials.insert().values(partner=partner, issued_at=issued, expires_at=expires,
                                                         revoked_at=revoked))


# ------------------------------------------------------------------ the record and the dates


def test_provisioning_records_a_first_issue_once_and_rotation_replaces_it(store: Store) -> None:
    assert credentials.record_first_issue(store, ["kma", "kentrade", "kma"], 365, NOW) == ["kma", "kentrade"]
    later = NOW + timedelta(days=30)
    assert credentials.record_first_issue(store, ["kma", "msc-ke"], 365, later) == ["msc-ke"]  # kma kept
    got = credentials.all_credentials(store)
    assert set(got) == {"kma", "kentrade", "msc-ke"}
    assert got["kma"] == Credential("kma", NOW, NOW + timedelta(days=365), None)
    assert got["msc-ke"].issued_at == later and got["msc-ke"].expires_at.tzinfo is not None
    _set(store, "kma", NOW - timedelta(days=400), NOW - timedelta(days=35), revoked=NOW - timedelta(days=34))
    assert credentials.credential(store, "kma") is not None
    rotated = credentials.issue(store, "kma", 365, NOW)  # rotate-credentials after the fee is paid
    assert rotated == Credential("kma", NOW, NOW + timedelta(days=365), None)
    assert credentials.credential(store, "kma") == rotated
    assert credentials.credential(store, "nobody") is None


def test_states_at_the_boundaries() -> None:
    cred = Credential("kma", NOW - timedelta(days=335), NOW + timedelta(days=30), None)
    assert cred.state(NOW, 30) == "expiring"  # exactly warn_days ahead warns
    assert cred.state(NOW - timedelta(seconds=1), 30) == "valid"
    assert cred.state(NOW + timedelta(days=30) - timedelta(microseconds=1), 30) == "expiring"
    assert cred.state(NOW + timedelta(days=30), 30) == "expired"  # from expires_at on
    assert cred.state(NOW, 0) == "valid"
    revoked = Credential("kma", NOW, NOW + timedelta(days=365), NOW)
    assert revoked.state(NOW, 30) == "expired"
    assert credentials.state_of(None, NOW, 30) == "unknown"
    naive = NOW.replace(tzinfo=None) + timedelta(days=31)  # a naive "now" is taken as UTC
    assert cred.state(naive, 30) == "expired"


def test_warning_lines() -> None:
    expiring = Credential("kma", NOW - timedelta(days=353), NOW + timedelta(days=12, hours=3), None)
    assert credentials.warning("kma", expiring, NOW, 30) == (
        "kma broker credential expires 2026-12-04 (in 12 days): hub partners rotate-credentials kma -r ...")
    expired = Credential("kma", NOW - timedelta(days=400), NOW - timedelta(days=35), None)
    assert credentials.warning("kma", expired, NOW, 30) == (
        "kma broker credential expired 2026-10-18 (35 days ago, not revoked yet): "
        "hub partners rotate-credentials kma -r ...")
    revoked = Credential("kma", NOW - timedelta(days=366), NOW - timedelta(days=1), NOW)
    assert "(1 day ago)" in (credentials.warning("kma", revoked, NOW, 30) or "")
    assert credentials.warning("kma", Credential("kma", NOW, NOW + timedelta(days=365), None), NOW, 30) is None
    doc = credentials.as_dict(expired, 30, NOW)
    assert doc["state"] == "expired" and doc["expires_at"].startswith("2026-10-18") and doc["revoked_at"] is None
    assert credentials.as_dict(None, 30, NOW)["state"] == "unknown"
    assert credentials.describe(revoked, 30, NOW).endswith(f"revoked {NOW:%Y-%m-%d}")


def test_settings_default_to_one_year_and_thirty_days(tmp_path: Path) -> None:
    cfg = load_config(ROOT / "config", env={})
    assert (cfg.settings.credentials.valid_days, cfg.settings.credentials.warn_days) == (365, 30)
    cfg = load_config(ROOT / "config", env={"HUB_CREDENTIALS_VALID_DAYS": "30", "HUB_CREDENTIALS_WARN_DAYS": "7"})
    assert (cfg.settings.credentials.valid_days, cfg.settings.credentials.warn_days) == (30, 7)


# ------------------------------------------------------------------ revocation


def test_revoke_expired_replaces_the_password_closes_connections_and_records_it(store: Store) -> None:
    _set(store, "kma", NOW - timedelta(days=400), NOW - timedelta(days=35))  # expired
    _set(store, "kentrade", NOW - timedelta(days=365), NOW)  # expires this instant
    _set(store, "msc-ke", NOW - timedelta(days=10), NOW + timedelta(days=355))  # valid
    conns = [{"name": "10.0.0.7:50111 -> 10.0.0.1:5672", "user": "kma"},
             {"name": "10.0.0.8:50112 -> 10.0.0.1:5672", "user": "msc-ke"},
             {"name": "10.0.0.9:50113 -> 10.0.0.1:5672", "user": "kentrade"}]
    mgmt = FakeManagement(conns)
    assert sorted(credentials.revoke_expired(store, mgmt, NOW)) == ["kentrade", "kma"]  # type: ignore[arg-type]
    assert set(mgmt.passwords) == {"kma", "kentrade"}
    assert all(len(p) >= 32 for pw in mgmt.passwords.values() for p in pw)
    assert sorted(mgmt.closed) == sorted(c["name"] for c in conns if c["user"] != "msc-ke")
    got = credentials.all_credentials(store)
    assert got["kma"].revoked_at == NOW and got["kentrade"].revoked_at == NOW and got["msc-ke"].revoked_at is None
    kma = registry.history(store, "kma")
    assert [(c.action, c.by) for c in kma] == [("credential-expired", "hub")]
    assert "regulation 9" in kma[0].reason and "2026-10-18" in kma[0].reason
    # the next sweep revokes nothing again and records nothing, but closes a connection the API lists late
    mgmt2 = FakeManagement([{"name": "10.0.0.7:50999 -> 10.0.0.1:5672", "user": "kma"}])
    assert credentials.revoke_expired(store, mgmt2, NOW + timedelta(minutes=1)) == []  # type: ignore[arg-type]
    assert mgmt2.passwords == {} and len(mgmt2.closed) == 1
    assert len(registry.history(store, "kma")) == 1
    # rotation afterwards: a new credential, no longer swept
    credentials.issue(store, "kma", 365, NOW + timedelta(hours=1))
    mgmt3 = FakeManagement([{"name": "10.0.0.7:51000 -> 10.0.0.1:5672", "user": "kma"}])
    credentials.revoke_expired(store, mgmt3, NOW + timedelta(hours=2))  # type: ignore[arg-type]
    assert mgmt3.closed == [] and credentials.all_credentials(store)["kma"].state(NOW, 30) == "valid"


def test_a_rotation_during_the_revocation_is_not_recorded_as_revoked(store: Store) -> None:
    _set(store, "kma", NOW - timedelta(days=400), NOW - timedelta(days=35))
    mgmt = FakeManagement()
    # rotate-credentials records its new credential between the sweep's read and its update
    mgmt.on_user = lambda name: credentials.issue(store, name, 365, NOW)
    assert credentials.revoke_expired(store, mgmt, NOW) == []  # type: ignore[arg-type]
    assert credentials.all_credentials(store)["kma"].revoked_at is None
    assert registry.history(store, "kma") == []


def test_no_expired_credential_means_no_management_call(store: Store) -> None:
    _set(store, "kma", NOW, NOW + timedelta(days=365))

    class Refuses(FakeManagement):
        def get(self, path: str) -> Any:
            raise AssertionError("no call expected")

    assert credentials.revoke_expired(store, Refuses(), NOW) == []  # type: ignore[arg-type]


async def test_the_sweeper_runs_one_sweep_at_a_time_once_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[float] = []
    sweeper = credentials.Sweeper(load_config(ROOT / "config", env={}), Store("sqlite://"), every=60)
    monkeypatch.setattr(sweeper, "sweep", lambda: calls.append(time.monotonic()) or [])
    sweeper.due()
    sweeper.due()  # under way or not due: nothing more
    await asyncio.sleep(0.2)
    sweeper.due()
    await asyncio.sleep(0.1)
    assert len(calls) == 1

    def fails() -> list[str]:
        raise ProvisionError("management API unreachable")

    monkeypatch.setattr(sweeper, "sweep", fails)
    sweeper._last = None
    sweeper.due()
    await asyncio.sleep(0.2)  # logged, not raised
    assert sweeper._task is not None and sweeper._task.done() and sweeper._task.exception() is None


# ------------------------------------------------------------------ hub partners list


def _config_dir(tmp_path: Path, partners: list[dict[str, Any]] | None = None) -> Path:
    cfg_dir = tmp_path / "config"
    shutil.copytree(ROOT / "config", cfg_dir)
    hub_yaml = yaml.safe_load((cfg_dir / "hub.yaml").read_text())
    hub_yaml["store"] = {"url": f"sqlite:///{tmp_path / 'hub.db'}"}
    (cfg_dir / "hub.yaml").write_text(yaml.safe_dump(hub_yaml))
    if partners is not None:
        (cfg_dir / "partners.yaml").write_text(yaml.safe_dump({"partners": partners}))
    return cfg_dir


def hub_cli(cfg_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_CONFIG"] = str(cfg_dir)
    return subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_partners_list_shows_expiries_and_warns(tmp_path: Path) -> None:
    cfg_dir = _config_dir(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    now = datetime.now(UTC)
    _set(store, "kma", now - timedelta(days=353), now + timedelta(days=12, hours=1))
    _set(store, "kentrade", now - timedelta(days=400), now - timedelta(days=35, hours=1))
    _set(store, "msc-ke", now, now + timedelta(days=365))
    _set(store, "kpa", now - timedelta(days=400), now - timedelta(days=35))
    registry.change(store, load_config(cfg_dir, env={}).partner_index()["kpa"], "deregister", "ceased", by="op")
    store.close()
    out = hub_cli(cfg_dir, "partners", "list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:4] == ["ID", "PROFILES", "STATUS", "EXPIRES"]
    by_id = {line.split()[0]: line.split() for line in lines[1:]}
    assert by_id["kma"][3] == f"{now + timedelta(days=12, hours=1):%Y-%m-%d}"
    assert by_id["kra-icms"][3] == "-"
    warnings = out.stderr.splitlines()
    assert warnings == [
        f"warning: kentrade broker credential expired {now - timedelta(days=35, hours=1):%Y-%m-%d} (35 days ago, "
        "not revoked yet): hub partners rotate-credentials kentrade -r ...",
        f"warning: kma broker credential expires {now + timedelta(days=12, hours=1):%Y-%m-%d} (in 12 days): "
        "hub partners rotate-credentials kma -r ...",
    ]  # none for the deregistered kpa, in registry order
    out = hub_cli(cfg_dir, "partners", "list", "--json")
    assert out.returncode == 0 and out.stderr.count("warning:") == 2
    doc = {r["id"]: r for r in json.loads(out.stdout)}
    assert {k: doc[k]["credential_state"] for k in ("kma", "kentrade", "msc-ke", "kra-icms")} == {
        "kma": "expiring", "kentrade": "expired", "msc-ke": "valid", "kra-icms": "unknown"}
    assert doc["msc-ke"]["credential_expires_at"].startswith(f"{now + timedelta(days=365):%Y-%m-%d}")
    assert doc["kra-icms"]["credential_expires_at"] is None
    show = json.loads(hub_cli(cfg_dir, "partners", "show", "kentrade", "--json").stdout)
    assert show["credential"]["state"] == "expired"


def test_partners_list_with_1000_partners(tmp_path: Path) -> None:
    """One query for all partners: 1,000 partners list and warn in one short run (the time is printed, not
    asserted)."""
    n = 1000
    partners = [{"id": f"p{i:04d}", "name": f"Partner {i}", "profiles": ["NT"]} for i in range(n)]
    cfg_dir = _config_dir(tmp_path, partners)
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    now = datetime.now(UTC)
    rows = []
    for i in range(n):  # every 10th expired, every 10th expiring in 1 to 29 days, the rest valid
        days = -5 if i % 10 == 0 else (1 + i % 29 if i % 10 == 1 else 200)
        expires = now + timedelta(days=days, hours=1)
        rows.append({"partner": f"p{i:04d}", "issued_at": expires - timedelta(days=365), "expires_at": expires,
                     "revoked_at": now if i % 20 == 0 else None})
    with store._tx() as conn:
        conn.execute(sa.insert(partner_credentials), rows)
    store.close()
    started = time.monotonic()
    out = hub_cli(cfg_dir, "partners", "list")
    took = time.monotonic() - started
    print(f"\nhub partners list, {n} partners: {took:.2f} s")
    assert out.returncode == 0, out.stderr[-2000:]
    assert len(out.stdout.splitlines()) == n + 1
    warnings = out.stderr.splitlines()
    assert len(warnings) == 200 and all(w.startswith("warning: p") for w in warnings)
    assert sum("expired" in w for w in warnings) == 100
    started = time.monotonic()
    out = hub_cli(cfg_dir, "partners", "list", "--json")
    print(f"hub partners list --json, {n} partners: {time.monotonic() - started:.2f} s")
    states = [r["credential_state"] for r in json.loads(out.stdout)]
    assert (states.count("expired"), states.count("expiring"), states.count("valid")) == (100, 100, 800)
