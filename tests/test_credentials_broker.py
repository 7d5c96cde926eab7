"""Broker credentials expire (regulation 9, hub.credentials), against the real RabbitMQ: an expired
credential works until the hub revokes it, then the broker refuses it (ACCESS_REFUSED) and its open
connection is closed; provisioning again does not bring the old password back; ``rotate-credentials``
issues a working one. No ``hub run`` is needed: the test calls what its monitor calls once a minute."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from hub import credentials, registry
from hub.client import broker_url
from hub.credentials import partner_credentials
from hub.secrets import Secrets
from hub.store import Store
from hub.testing import HubUnderTest

pytestmark = [pytest.mark.broker]

# broker users are broker-wide: this partner id belongs to no other test module
PROBE = "cred-probe"
REGISTRY: list[dict[str, Any]] = [{"id": PROBE, "name": "Credential expiry probe", "profiles": ["NT"]}]


@pytest.fixture(scope="module")
def cred_hub(broker: None, tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Iterator[HubUnderTest]:
    hut = HubUnderTest(tmp_path_factory.mktemp("credentials"), secrets_file=secrets_file, partners=REGISTRY)
    try:
        hut.provision()
        yield hut
    finally:
        hut.close()


def password(hut: HubUnderTest) -> str:
    found = Secrets(hut.config.secrets_path(), env=hut.env).get(PROBE)
    assert found
    return found


async def connect(hut: HubUnderTest, pw: str) -> aio_pika.abc.AbstractConnection:
    b = hut.config.settings.broker
    return await aio_pika.connect(broker_url(b.url, hut.vhost, PROBE, pw), timeout=10)


async def listed(hut: HubUnderTest, within: float = 20) -> None:
    """Wait until the management API lists a connection of the probe (the sweep closes what it lists)."""
    mgmt = hut.management()
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if any(c.get("user") == PROBE for c in mgmt.get("/connections?columns=name,user")):
                return
            await asyncio.sleep(0.3)
    finally:
        mgmt.close()
    raise AssertionError("the management API never listed the probe's connection")


async def test_an_expired_credential_is_revoked_and_rotation_issues_a_new_one(cred_hub: HubUnderTest) -> None:
    hut = cred_hub
    store = Store(hut.config.store_url())
    try:
        cred = credentials.credential(store, PROBE)
        assert cred is not None and cred.state(datetime.now(UTC), 30) == "valid"  # recorded by provision
        assert cred.expires_at - cred.issued_at == timedelta(days=365)
        now = datetime.now(UTC)
        with store._tx() as conn:  # a year has passed
            conn.execute(partner_credentials.update().where(partner_credentials.c.partner == PROBE)
                         .values(issued_at=now - timedelta(days=366), expires_at=now - timedelta(days=1)))
        old = password(hut)
        # expired but not revoked yet: the broker still accepts it (RabbitMQ has no password expiry)
        open_conn = await connect(hut, old)
        await (await open_conn.channel()).get_queue(f"partner.{PROBE}.inbox", ensure=False)
        await listed(hut)

        mgmt = hut.management()
        try:
            assert credentials.revoke_expired(store, mgmt) == [PROBE]
        finally:
            mgmt.close()
        deadline = time.monotonic() + 15
        while open_conn.connected.is_set() and time.monotonic() < deadline:  # cleared on the server's close
            await asyncio.sleep(0.2)
        assert not open_conn.connected.is_set(), "the open connection of the expired credential was not closed"
        with contextlib.suppress(Exception):
            await open_conn.close()
        with pytest.raises(aio_pika.exceptions.ProbableAuthenticationError):  # ACCESS_REFUSED
            await connect(hut, old)
        cred = credentials.credential(store, PROBE)
        assert cred is not None and cred.revoked_at is not None
        assert [(c.action, c.by) for c in registry.history(store, PROBE)] == [("credential-expired", "hub")]

        # provisioning again neither restores the old password nor records a new issue
        await asyncio.to_thread(hut.provision)
        with pytest.raises(aio_pika.exceptions.ProbableAuthenticationError):
            await connect(hut, old)
        assert credentials.credential(store, PROBE) == cred
        listing = json.loads(hut.cli("partners", "list", "--json").stdout)
        assert listing[0]["credential_state"] == "expired"

        # the annual access fee paid: a new credential, valid for a year, that works
        out = await asyncio.to_thread(hut.cli, "partners", "rotate-credentials", PROBE, "-r", "annual fee paid")
        assert out.returncode == 0, out.stdout + out.stderr
        new = password(hut)
        assert new != old
        conn = await connect(hut, new)
        await conn.close()
        cred = credentials.credential(store, PROBE)
        assert cred is not None and cred.revoked_at is None and cred.state(datetime.now(UTC), 30) == "valid"
        assert cred.issued_at > now - timedelta(minutes=5)
        assert [c.action for c in registry.history(store, PROBE)] == ["credential-expired", "rotate-credentials"]
        mgmt = hut.management()
        try:  # the next sweep leaves it alone
            assert credentials.revoke_expired(store, mgmt) == []
        finally:
            mgmt.close()
        conn = await connect(hut, new)
        await conn.close()
        listed_out = hut.cli("partners", "list")
        assert listed_out.returncode == 0 and "warning" not in listed_out.stderr
    finally:
        store.close()


async def test_a_running_hub_revokes_an_expired_credential_by_itself(cred_hub: HubUnderTest) -> None:
    """The delivery monitor's sweep (at start, then once a minute) does the same without anyone's help."""
    hut = cred_hub
    store = Store(hut.config.store_url())
    try:
        now = datetime.now(UTC)
        with store._tx() as conn:
            conn.execute(partner_credentials.update().where(partner_credentials.c.partner == PROBE)
                         .values(issued_at=now - timedelta(days=366), expires_at=now - timedelta(days=1),
                                 revoked_at=None))
        current = password(hut)
        await asyncio.to_thread(hut.start)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            cred = credentials.credential(store, PROBE)
            if cred is not None and cred.revoked_at is not None:
                break
            await asyncio.sleep(0.5)
        else:
            raise AssertionError(f"the running hub did not revoke the credential; log: {hut.tail_log()}")
        with pytest.raises(aio_pika.exceptions.ProbableAuthenticationError):
            await connect(hut, current)
        assert hut.logged("broker credential expired: password replaced") == 1
        out = await asyncio.to_thread(hut.cli, "partners", "rotate-credentials", PROBE, "-r", "annual fee paid")
        assert out.returncode == 0, out.stdout + out.stderr
        conn = await connect(hut, password(hut))
        await conn.close()
    finally:
        hut.stop()
        store.close()
