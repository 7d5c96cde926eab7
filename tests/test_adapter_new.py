"""``hub adapter new``: two new partners join a running hub with no change to any existing module.

One adapter is scaffolded into this tree (``hub/adapters/<name>.py``, its fixture, its test, its registry
entry); the other as a separate package, built and installed with pip into a directory of its own and found
through the entry-point group ``hub.adapters``. Their generated tests pass, ``hub adapter list --check``
decodes both fixtures, and through the real hub the first sends its fixture and the second's e-seal event
reaches the first, in the first's format.

Marked ``disruptive``: it writes a module into ``hub/adapters/`` (removed afterwards), which every other
test process would pick up while it exists, so it runs alone after the other broker tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.adapters import registry
from hub.client import content_type_for
from hub.testing import HubUnderTest
from tests.conftest import ROOT

pytestmark = [pytest.mark.broker, pytest.mark.disruptive]


def hub_cli(*args: str, config: Path, pythonpath: str = "", cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_CONFIG=str(config), PYTHONPATH=pythonpath)
    return subprocess.run([sys.executable, "-m", "hub", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def scaffolded(tmp_path: Path) -> Iterator[tuple[Path, Path, str, str]]:
    """(config dir, site dir, in-tree adapter name, packaged adapter name); the in-tree files removed after."""
    tag = uuid.uuid4().hex[:6]
    local, packaged = f"acme-tos-{tag}", f"acme-seal-{tag}"
    module = local.replace("-", "_")
    created = [ROOT / "hub" / "adapters" / f"{module}.py", ROOT / "examples" / "adapters" / local,
               ROOT / "tests" / f"test_adapter_{module}.py"]
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    try:
        yield config, tmp_path / "site", local, packaged
    finally:
        for path in created:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        registry.reload()


def test_new_adapters_in_tree_and_packaged_send_and_receive(
    broker: None, scaffolded: tuple[Path, Path, str, str], tmp_path: Path, secrets_file: Path
) -> None:
    config, site, local, packaged = scaffolded
    made = hub_cli("adapter", "new", local, "--type", "customs.release", "--format", "xml", "--profile", "CUS",
                   "--name", "Acme Terminal Customs Gateway", config=config)
    assert made.returncode == 0, made.stderr
    pkg_dir = tmp_path / "pkg"
    made = hub_cli("adapter", "new", packaged, "--type", "eseal.event", "--format", "json", "--profile", "ESV",
                   "--name", "Acme Seals", "--package", str(pkg_dir), config=config)
    assert made.returncode == 0, made.stderr
    again = hub_cli("adapter", "new", local, "--type", "customs.release", config=config)
    assert again.returncode == 1 and "already exists" in again.stderr  # never overwrites
    # the package: built and installed as an operator would, into a directory of its own
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                          "--target", str(site), str(pkg_dir)], capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, pip.stderr
    entry = (pkg_dir / "partner-entry.yaml").read_text().split("\n", 1)[1]
    with (config / "partners.yaml").open("a") as f:
        f.write(entry)
    # their generated tests pass as they are
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}  # not this run's HUB_TEST_SHARD
    env.update(PYTHONPATH=str(site))
    for test in (ROOT / "tests" / f"test_adapter_{local.replace('-', '_')}.py", pkg_dir / "tests"):
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout[-2000:]
    listed = hub_cli("adapter", "list", "--json", "--check", config=config, pythonpath=str(site))
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows[local]["origin"] == f"hub.adapters.{local.replace('-', '_')}" and rows[local]["partners"] == [local]
    assert rows[packaged]["origin"].startswith(f"entry point '{packaged}'") and rows[packaged]["partners"] == [packaged]
    assert rows[local]["fixture_check"] == rows[packaged]["fixture_check"] == "ok"
    assert hub_cli("config", "check", config=config, pythonpath=str(site)).returncode == 0

    # through the running hub
    sys.path.insert(0, str(site))
    registry.reload()
    try:
        asyncio_run_through_hub(config, site, local, packaged, tmp_path, secrets_file)
    finally:
        sys.path.remove(str(site))


def asyncio_run_through_hub(config: Path, site: Path, local: str, packaged: str, tmp_path: Path,
                            secrets_file: Path) -> None:
    import asyncio

    hut = HubUnderTest(tmp_path / "hub", source=config, secrets_file=secrets_file)
    hut.env["PYTHONPATH"] = str(site)
    try:
        hut.provision()
        hut.start()

        async def run() -> None:
            seal_fixture = registry.get(packaged).fixture
            tos_fixture = registry.get(local).fixture
            assert seal_fixture is not None and tos_fixture is not None
            async with hut.partner(local) as tos:
                data = tos_fixture.read_bytes()
                ack = await tos.send(data, "customs.release", content_type=content_type_for(tos_fixture.name, data),
                                     timeout=30)
                assert ack is not None and ack["status"] in ("accepted", "pending"), ack
            async with hut.partner(packaged) as seal:
                ack = await seal.send(seal_fixture.read_bytes(), "eseal.event", content_type="application/json",
                                      timeout=30)
                assert ack is not None and ack["status"] == "accepted", ack
                mid = ack["correlation_id"]
            async with hut.partner(local) as tos:  # customs (CUS) receives every e-seal event, in its format
                got = [d for d in await tos.inbox(20, idle=3.0) if d.correlation_id == mid]
            assert len(got) == 1 and got[0].content_type == "application/xml", got

        asyncio.run(run())
    finally:
        hut.close()
        mgmt = hut.management()  # broker users are global: these two are this run's own (unique names)
        try:
            for user in (local, packaged):
                with contextlib.suppress(Exception):
                    mgmt.request("DELETE", f"/users/{user}")
        finally:
            mgmt.close()
