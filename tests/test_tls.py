"""AMQP over TLS (amqps on 127.0.0.1:5671, hub.broker): a hub whose own broker url is amqps accepts and
delivers a message a partner sent over TLS; a client that does not trust the broker's CA is refused at once
with a certificate verification error; ``ssl_context`` and the ``broker.tls_*`` settings on their own.

The listener and its self-signed CA are made by scripts/lib.sh (ensure_rabbitmq); the CA is found at
``$HUB_TEST_TLS_CA`` (default /etc/rabbitmq/hub-tls/ca.pem).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from pydantic import ValidationError
from yarl import URL

from hub.broker import client_context, connect, dev_tls_ca, ssl_context
from hub.client import PartnerClient, broker_url
from hub.config import BrokerSettings, load_config
from hub.testing import HubUnderTest
from tests.conftest import REQUIRE, ROOT, example

pytestmark = [pytest.mark.broker]

TLS_URL = "amqps://127.0.0.1:5671/"
SENDER, RECIPIENT, MSG_TYPE = "mfano-clearing", "kentrade", "customs.entry"
REGISTRY: list[dict[str, Any]] = [
    {"id": SENDER, "name": "Mfano Clearing", "profiles": ["CA"], "sends": [MSG_TYPE],
     "identifiers": {"kra_pin": ["P051234567A"]}},
    {"id": "kra-icms", "name": "iCMS", "profiles": ["CUS"]},
    {"id": RECIPIENT, "name": "KenTrade", "profiles": ["KT"]},
]


def _cause_chain(exc: BaseException | None) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def tls_ca(broker: None) -> Path:
    """The broker's CA; a machine without the TLS listener fails (CI) or skips, naming the fix."""
    ca = dev_tls_ca()
    if not ca.is_file():
        why = f"no TLS CA at {ca}: run `source scripts/lib.sh; ensure_rabbitmq` (or set HUB_TEST_TLS_CA)"
        if REQUIRE:
            pytest.fail(why)
        pytest.skip(why)
    return ca


@pytest.fixture(scope="module")
def tls_hub(tls_ca: Path, tmp_path_factory: pytest.TempPathFactory, secrets_file: Path) -> Iterator[HubUnderTest]:
    hut = HubUnderTest(tmp_path_factory.mktemp("tls"), secrets_file=secrets_file, partners=REGISTRY,
                       settings={"broker": {"url": TLS_URL, "tls_ca_file": str(tls_ca)}})
    with hut.running():
        yield hut


def _entry() -> bytes:
    doc = json.loads(example(MSG_TYPE, "valid", ".json").read_bytes())
    return json.dumps(dict(doc, ucr="26KEP051234568T000001", declarationId="26MBAIM000000771")).encode()


def _connections(hut: HubUnderTest, until: Callable[[list[dict[str, Any]]], bool],
                 within: float = 15.0) -> list[dict[str, Any]]:
    """The vhost's connections from the management API, polled until ``until`` holds (its stats lag ~5 s)."""
    mgmt = hut.management()
    try:
        deadline = time.monotonic() + within
        while True:
            conns: list[dict[str, Any]] = mgmt.get(f"/vhosts/{mgmt.v}/connections")
            if until(conns) or time.monotonic() > deadline:
                return conns
            time.sleep(0.5)
    finally:
        mgmt.close()


def _hub_connections(conns: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {(c.get("client_properties") or {}).get("connection_name") or "": c for c in conns if c.get("user") == "hub"}


# ------------------------------------------------------------------ end to end over TLS


async def test_message_sent_over_tls_is_accepted_and_delivered_by_a_hub_connected_over_tls(
        tls_hub: HubUnderTest, tls_ca: Path) -> None:
    hut = tls_hub
    url = hut.url_for(SENDER)
    assert (URL(url).scheme, URL(url).port) == ("amqps", 5671)
    async with PartnerClient(url, SENDER, ca_file=tls_ca) as c:
        ack = await c.send(_entry(), MSG_TYPE, content_type="application/json", message_id="tls-1", timeout=20)
    assert ack is not None, f"no acknowledgement over TLS; hub log: {hut.tail_log()}"
    assert ack["status"] == "accepted", ack
    async with hut.partner(RECIPIENT) as r:  # the recipient too reads its inbox over TLS
        got: list[str] = []
        deadline = time.monotonic() + 30
        while not got and time.monotonic() < deadline:
            got = [d.correlation_id or "" for d in await r.inbox(max_count=5, idle=0.5)]
    assert got == ["tls-1"], hut.tail_log()
    # the hub's own connections are TLS connections on 5671, not plain ones
    conns = _connections(hut, lambda cs: {"hub-ingest", "hub-delivery"} <= set(_hub_connections(cs)))
    hub_conns = _hub_connections(conns)
    assert {"hub-ingest", "hub-delivery"} <= set(hub_conns), conns
    for name in ("hub-ingest", "hub-delivery"):
        assert hub_conns[name]["ssl"] is True and hub_conns[name]["port"] == 5671, hub_conns[name]


async def test_client_certificate_is_accepted_for_mutual_tls(tls_hub: HubUnderTest, tls_ca: Path) -> None:
    cert, key = tls_ca.with_name("client.pem"), tls_ca.with_name("client.key")
    if not (cert.is_file() and os.access(key, os.R_OK)):
        pytest.skip(f"no readable client certificate next to {tls_ca} (scripts/lib.sh makes one for its user)")
    ctx = client_context(tls_ca, cert, key)
    async with PartnerClient(tls_hub.url_for(RECIPIENT), RECIPIENT, ssl_context=ctx) as c:
        assert await c.inbox(max_count=1, idle=0.2) == []  # the connection works
        conns = _connections(tls_hub, lambda cs: any(x.get("user") == RECIPIENT for x in cs))
    mine = [x for x in conns if x.get("user") == RECIPIENT]
    assert mine and all(x.get("ssl") is True for x in mine), mine
    assert any("hub-test-client" in (x.get("peer_cert_subject") or "") for x in mine), mine


# ------------------------------------------------------------------ refusals


async def test_client_not_trusting_the_ca_fails_with_a_verification_error_not_a_hang(tls_hub: HubUnderTest) -> None:
    url = tls_hub.url_for(SENDER)
    started = time.monotonic()
    with pytest.raises(aio_pika.exceptions.AMQPConnectionError) as err:
        async with PartnerClient(url, SENDER):  # amqps with the system's CAs only: the dev CA is not among them
            pass
    assert time.monotonic() - started < 5  # refused during the handshake, not after the 10 s connect timeout
    chain = _cause_chain(err.value)
    assert any(isinstance(e, ssl.SSLCertVerificationError) for e in chain), chain
    assert "CERTIFICATE_VERIFY_FAILED" in " ".join(str(e) for e in chain)


async def test_host_name_not_in_the_certificate_is_refused(tls_hub: HubUnderTest, tls_ca: Path) -> None:
    """The CA is trusted but the name asked for is not the certificate's (localhost, 127.0.0.1)."""
    ctx = client_context(tls_ca)
    loop = asyncio.get_running_loop()
    with pytest.raises(ssl.SSLCertVerificationError, match=r"[Hh]ostname mismatch"):
        await asyncio.wait_for(loop.create_connection(asyncio.Protocol, "127.0.0.1", 5671, ssl=ctx,
                                                      server_hostname="hub.example.ke"), 10)


# ------------------------------------------------------------------ ssl_context and settings (no broker)


@pytest.fixture(scope="module")
def own_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A throw-away CA and a client certificate it signed (openssl), independent of the broker's."""
    d = tmp_path_factory.mktemp("own-ca")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Unit CA",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=unit-client", "-keyout", "c.key", "-out", "c.csr")
    run("x509", "-req", "-days", "2", "-in", "c.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "c.pem")
    return d / "ca.pem", d / "c.pem", d / "c.key"


def test_plain_amqp_url_has_no_tls_context() -> None:
    assert ssl_context(BrokerSettings(url="amqp://127.0.0.1:5672/")) is None


def test_amqps_context_verifies_certificate_and_host_name_by_default() -> None:
    ctx = ssl_context(BrokerSettings(url=TLS_URL))
    assert ctx is not None
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_amqps_context_trusts_the_configured_ca_and_presents_the_client_certificate(
        own_ca: tuple[Path, Path, Path]) -> None:
    ca, cert, key = own_ca
    ctx = ssl_context(BrokerSettings(url=TLS_URL, tls_ca_file=str(ca), tls_cert_file=str(cert),
                                     tls_key_file=str(key)))
    assert ctx is not None and ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    subjects = [dict(x[0] for x in c["subject"]) for c in ctx.get_ca_certs()]
    assert {"commonName": "Unit CA"} in subjects  # only the configured CA: the system's are not loaded
    assert len(subjects) == 1


def test_tls_verify_false_checks_neither_certificate_nor_host_name() -> None:
    ctx = ssl_context(BrokerSettings(url=TLS_URL, tls_verify=False))
    assert ctx is not None and ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname


def test_missing_ca_file_fails_when_the_context_is_made(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        ssl_context(BrokerSettings(url=TLS_URL, tls_ca_file=str(tmp_path / "absent.pem")))


@pytest.mark.parametrize(("fields", "message"), [
    ({"url": "amqp://127.0.0.1:5672/", "tls_ca_file": "/ca.pem"}, "need an amqps:// url"),
    ({"url": "amqp://127.0.0.1:5672/", "tls_verify": False}, "need an amqps:// url"),
    ({"url": TLS_URL, "tls_cert_file": "/c.pem"}, "go together"),
    ({"url": TLS_URL, "tls_key_file": "/c.key"}, "go together"),
    ({"url": "http://127.0.0.1:5672/"}, "amqp:// or amqps://"),
])
def test_inconsistent_tls_settings_are_refused_at_load(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BrokerSettings(**fields)


def test_tls_settings_can_come_from_the_environment(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    cfg = load_config(tmp_path / "config", env={"HUB_BROKER_URL": TLS_URL, "HUB_BROKER_TLS_CA_FILE": "/etc/x/ca.pem",
                                                "HUB_BROKER_TLS_VERIFY": "true"})
    b = cfg.settings.broker
    assert (b.url, b.tls_ca_file, b.tls_cert_file, b.tls_verify) == (TLS_URL, "/etc/x/ca.pem", None, True)


async def test_plain_amqp_url_with_a_tls_context_is_refused_before_connecting(
        own_ca: tuple[Path, Path, Path]) -> None:
    """aiormq would ignore the context and connect in clear text: refused before any connection is made."""
    ca = own_ca[0]
    with pytest.raises(ValueError, match="amqps"):
        await connect("amqp://127.0.0.1:5672/", context=client_context(ca))
    with pytest.raises(ValueError, match="amqps"):
        async with PartnerClient(broker_url("amqp://127.0.0.1:5672/", "/", "x", "y"), "x", ca_file=ca):
            pass
