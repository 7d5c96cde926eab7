"""Connections to RabbitMQ, in clear (``amqp://``) or over TLS (``amqps://``): the one wrapper of ``aio_pika.connect``.

Why one place: the hub's connections (ingest, replies, delivery, drain orders) and the partner client must
all trust the same CA and check the broker's host name the same way; a TLS context left out at one call
site would make that connection fail against a private CA, or trust too much.

aio-pika takes an ``ssl.SSLContext`` as ``aio_pika.connect(url, ssl_context=...)``; aiormq uses it only
when the URL's scheme is ``amqps`` (with ``amqp`` it is silently ignored, which ``connect`` refuses). The
broker's listener on 127.0.0.1:5671 and its development CA are made by ``scripts/lib.sh`` (ensure_rabbitmq);
``dev_tls_ca()`` is where tests find that CA.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any

import aio_pika
from aio_pika.abc import AbstractConnection
from yarl import URL

from hub.config import BrokerSettings

DEV_TLS_CA = Path("/etc/rabbitmq/hub-tls/ca.pem")  # written by scripts/lib.sh; HUB_TEST_TLS_CA overrides it


def dev_tls_ca() -> Path:
    """The development/CI broker's CA certificate, for tests: ``$HUB_TEST_TLS_CA`` or ``DEV_TLS_CA``."""
    return Path(os.environ.get("HUB_TEST_TLS_CA") or DEV_TLS_CA)


def is_tls(url: str) -> bool:
    """True when ``url`` asks for AMQP over TLS (``amqps://``)."""
    return URL(url).scheme == "amqps"


def client_context(
    ca_file: str | Path | None = None,
    cert_file: str | Path | None = None,
    key_file: str | Path | None = None,
    *,
    verify: bool = True,
) -> ssl.SSLContext:
    """A client TLS context, for the hub and for partners.

    Trusts ``ca_file`` (the system's CAs when None), presents ``cert_file``/``key_file`` when given (mutual
    TLS), and checks the broker's certificate and host name (the URL's host must be in its subjectAltName)
    unless ``verify`` is False, which is for a development machine only. TLS 1.2 at least.
    """
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file) if ca_file else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file is not None:
        ctx.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def ssl_context(settings: BrokerSettings) -> ssl.SSLContext | None:
    """The hub's TLS context from ``broker.tls_*`` when ``broker.url`` is amqps://; None for amqp://.

    Made at each connect (reconnects are rare), so replaced certificate files are read without a restart.
    A missing or unreadable file raises OSError, which the hub's session loops log and retry.
    """
    if not is_tls(settings.url):
        return None
    return client_context(settings.tls_ca_file, settings.tls_cert_file, settings.tls_key_file,
                          verify=settings.tls_verify)


async def connect(
    url: str,
    settings: BrokerSettings | None = None,
    *,
    context: ssl.SSLContext | None = None,
    **kwargs: Any,
) -> AbstractConnection:
    """``aio_pika.connect(url, **kwargs)`` with the TLS context of ``settings`` (or ``context``, which wins).

    Raises ValueError when a TLS context is given for an ``amqp://`` URL: aiormq would ignore it and
    connect in clear text. A broker certificate that does not verify raises (an ``AMQPConnectionError``
    caused by ``ssl.SSLCertVerificationError``) at once, it does not hang.
    """
    if context is None and settings is not None:
        context = ssl_context(settings)
    if context is not None and not is_tls(url):
        raise ValueError("a TLS context was given for an amqp:// URL; use amqps:// (port 5671)")
    connection: AbstractConnection = await aio_pika.connect(url, ssl_context=context, **kwargs)
    return connection
