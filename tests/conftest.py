"""Shared fixtures. Integration tests use the real RabbitMQ on 127.0.0.1; each module gets a fresh vhost.

With CI=true or HUB_REQUIRE_SERVICES=1 a missing service fails the run; otherwise those tests are
skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from hub.store import Store
from hub.testing import HubUnderTest, services_available

REQUIRE = os.environ.get("HUB_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/"


@pytest.fixture(scope="session")
def broker() -> None:
    reason = services_available()
    if reason:
        if REQUIRE:
            pytest.fail(f"RabbitMQ is required (CI=true or HUB_REQUIRE_SERVICES=1): {reason}")
        pytest.skip(f"RabbitMQ not available: {reason}")


@pytest.fixture(scope="session")
def secrets_file() -> Path:
    """The project's own secrets file: broker users are global to the broker, so every test session and
    the demo must agree on their passwords (a private file per session would overwrite them)."""
    return ROOT / "var" / "secrets.json"


def canonical_registry() -> list[dict[str, Any]]:
    """The example registry with every partner on the canonical adapter (it takes XML, JSON or EDIFACT as
    sent). Most broker tests send the examples in whichever form they need from a type's usual sender, which
    the example registry's adapters would refuse (kentrade: json only, kra-icms: xml only); the adapters'
    own limits are tested with the registry as it is in tests/test_adapters_hub.py and test_examples_hub.py."""
    partners: list[dict[str, Any]] = yaml.safe_load((ROOT / "config" / "partners.yaml").read_text())["partners"]
    return [{k: v for k, v in p.items() if k not in ("adapter", "adapter_options")} for p in partners]


@pytest.fixture(scope="module")
def hub(broker: None, tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Iterator[HubUnderTest]:
    """A provisioned vhost and a running ``hub run`` process with the example configuration, its registry on
    the canonical adapter (``canonical_registry``)."""
    # retries capped at 2 s (production: 60 s): a test that deletes an inbox sees it recreated and delivered
    # to within seconds instead of waiting out a production backoff
    with HubUnderTest(tmp_path_factory.mktemp("hub"), secrets_file=secrets_file, partners=canonical_registry(),
                      settings={"delivery": {"retry_max": 2.0}}).running() as hut:
        yield hut


def example(msg_type: str, kind: str = "valid", suffix: str = ".xml", index: int = 0) -> Path:
    files = sorted((EXAMPLES / msg_type / kind).glob(f"*{suffix}"))
    assert files, f"no {kind} {suffix} example for {msg_type}"
    return files[index]


# The same store code and migrations on SQLite and on a throw-away PostgreSQL database per test.
@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'hub.db'}")
        s.migrate()
        yield s
        s.close()
        return
    name = f"hubtest_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if REQUIRE:
            pytest.fail(f"PostgreSQL is required (CI=true or HUB_REQUIRE_SERVICES=1): {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")
    admin.execute(f'CREATE DATABASE "{name}"')
    s = Store(PG + name)
    try:
        s.migrate()
        yield s
    finally:
        s.close()
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.close()


# ------------------------------------------------------------------ sharding the broker tests (scripts/test)

# Seconds each slow module takes (measured here); any other module counts as MODULE_COST. Used only to
# balance the shards; a wrong figure makes the shards uneven, never skips a test.
MODULE_COST = 12
MODULE_COSTS = {
    "tests/test_crash.py": 170, "tests/test_delivery_faults.py": 70, "tests/test_outage_feb2026.py": 55,
    "tests/test_acks_cli_logs.py": 60, "tests/test_dlq.py": 65, "tests/test_correlation_hub.py": 50,
    "tests/test_holding.py": 55, "tests/test_track_e2e.py": 40, "tests/test_http_partner.py": 40,
    "tests/test_own_cells.py": 65, "tests/test_registry.py": 50, "tests/test_contract.py": 60,
    "tests/test_examples_hub.py": 45, "tests/test_store_outage.py": 40, "tests/test_audit.py": 30,
    "tests/test_suspended_holds.py": 80,
    "tests/test_console_browser.py": 45,
    "tests/test_bench.py": 45,
}


def shard_of_modules(modules: list[str], shards: int) -> dict[str, int]:
    """Modules to shards, heaviest first onto the least loaded: deterministic for a given set of modules."""
    load = [0] * shards
    out: dict[str, int] = {}
    for module in sorted(modules, key=lambda m: (-MODULE_COSTS.get(m, MODULE_COST), m)):
        i = load.index(min(load))
        out[module] = i
        load[i] += MODULE_COSTS.get(module, MODULE_COST)
    return out


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``HUB_TEST_SHARD=i/n``: keep only the modules of shard i of n (by module, so module-scoped hubs are
    set up once); ``disruptive`` tests are kept only with ``HUB_TEST_SHARD=disruptive``."""
    shard = os.environ.get("HUB_TEST_SHARD")
    if not shard:
        return
    if shard == "disruptive":
        keep = [it for it in items if it.get_closest_marker("disruptive")]
    else:
        index, count = (int(x) for x in shard.split("/"))
        plan = shard_of_modules(sorted({it.nodeid.split("::")[0] for it in items}), count)
        keep = [it for it in items if plan[it.nodeid.split("::")[0]] == index
                and not it.get_closest_marker("disruptive")]
    dropped = [it for it in items if it not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
