"""``hub broker provision``: create users, permissions, queues, policies and the topology, idempotently.

Talks to RabbitMQ's management HTTP API (``rabbitmq_management``) as the admin user. Every request is a
PUT or an idempotent POST, so running it twice changes nothing. Permissions follow DESIGN.md section 3:
a partner may write only ``hub.inbound`` with routing keys ``<id>.*``, read only its own inbox and acks,
configure nothing, and has no tags; the hub's own user reads its inbound queues and writes only through
the default exchange.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from hub import credentials, registry
from hub import topology as t
from hub.config import HubConfig, PartnerStatus
from hub.errors import ProvisionError
from hub.secrets import Secrets
from hub.tokens import provision_tokens

QUORUM = {"x-queue-type": "quorum"}
INBOUND_DELIVERY_LIMIT = 50
INBOX_DELIVERY_LIMIT = 1000
# hub.out.*: the delivery worker counts its own attempts (hub.delivery); this broker-side limit only stops a
# delivery that kills the hub process every time it is taken (returned by a dead connection) from looping
OUT_DELIVERY_LIMIT = 1000
# single active consumer is a queue argument (no policy can set it): with several hub processes one of them
# takes a sender's queue (hub.in.<id>) and one a delivery partition (hub.out.<id>.<k>) at a time, so that a
# sender's messages are accepted, and a consignment's deliveries made, in the order they came; the other hubs
# stand by and take over when it goes
ORDERED_QUEUE_ARGS = {**QUORUM, "x-single-active-consumer": True}


@dataclass
class ProvisionReport:
    users: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    api_tokens: list[str] = field(default_factory=list)  # subjects given a new query API token (hub.tokens)


class Management:
    """A thin client of the management API for one virtual host."""

    def __init__(self, base_url: str, user: str, password: str, vhost: str) -> None:
        self.client = httpx.Client(base_url=base_url.rstrip("/") + "/api", auth=(user, password), timeout=30)
        self.vhost = vhost
        self.v = quote(vhost, safe="")

    def close(self) -> None:
        self.client.close()

    def request(self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        try:
            resp = self.client.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            raise ProvisionError(f"management API unreachable ({type(exc).__name__}): is "
                                 "rabbitmq_management enabled?") from exc
        if resp.status_code >= 400:
            raise ProvisionError(f"{method} {path} -> HTTP {resp.status_code}: {resp.text[:300]}")
        return resp.json() if resp.content else None

    def put(self, path: str, body: dict[str, Any]) -> None:
        self.request("PUT", path, body)

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def queue(self, name: str, arguments: dict[str, Any] | None = None) -> None:
        path = f"/queues/{self.v}/{quote(name, safe='')}"
        body = {"durable": True, "auto_delete": False, "arguments": arguments or QUORUM}
        try:
            self.put(path, body)
        except ProvisionError as exc:
            if "inequivalent arg" not in str(exc):
                raise
            # declared earlier with other arguments (e.g. before single active consumer): an empty queue is
            # re-created; one holding messages is left for the operator to drain first
            depth = int(self.get(path).get("messages", 0) or 0)
            if depth:
                raise ProvisionError(
                    f"queue {name} was declared with other arguments and holds {depth} messages: let the running "
                    f"hubs drain it (or move its messages), then run provision again") from exc
            self.request("DELETE", path + "?if-empty=true")
            self.put(path, body)

    def exchange(self, name: str, kind: str, arguments: dict[str, Any] | None = None) -> None:
        self.put(f"/exchanges/{self.v}/{quote(name, safe='')}",
                 {"type": kind, "durable": True, "auto_delete": False, "internal": False,
                  "arguments": arguments or {}})

    def bind(self, exchange: str, queue: str, routing_key: str) -> None:
        self.request("POST", f"/bindings/{self.v}/e/{quote(exchange, safe='')}/q/{quote(queue, safe='')}",
                     {"routing_key": routing_key, "arguments": {}})

    def policy(self, name: str, pattern: str, definition: dict[str, Any], priority: int = 0) -> None:
        self.put(f"/policies/{self.v}/{quote(name, safe='')}",
                 {"pattern": pattern, "definition": definition, "priority": priority, "apply-to": "queues"})

    def user(self, name: str, password: str) -> None:
        self.put(f"/users/{quote(name, safe='')}", {"password": password, "tags": ""})

    def permissions(self, user: str, configure: str, write: str, read: str) -> None:
        self.put(f"/permissions/{self.v}/{quote(user, safe='')}",
                 {"configure": configure, "write": write, "read": read})

    def topic_permissions(self, user: str, exchange: str, write: str, read: str) -> None:
        self.put(f"/topic-permissions/{self.v}/{quote(user, safe='')}",
                 {"exchange": exchange, "write": write, "read": read})

    def queue_info(self, name: str) -> dict[str, Any]:
        info: dict[str, Any] = self.get(f"/queues/{self.v}/{quote(name, safe='')}")
        return info


def management_for(config: HubConfig) -> Management:
    b = config.settings.broker
    return Management(b.management_url, b.admin_user, b.admin_password, b.vhost)


def provision(config: HubConfig, secrets: Secrets) -> ProvisionReport:
    """Create or update everything the registry implies. Safe to run any number of times.

    Broker credentials (hub.credentials): a partner without a recorded credential gets one issued now; one
    whose credential expired keeps a password nobody knows (never its old one from the secrets file, which
    would undo the revocation) until ``hub partners rotate-credentials``, and is revoked and warned about."""
    report = ProvisionReport()
    store = credentials.open_store(config)  # raises StoreUnavailable before the broker is touched
    mgmt = management_for(config)
    b = config.settings.broker
    now = datetime.now(UTC)
    try:
        known = credentials.all_credentials(store)
        gone = {pid for pid, st in registry.statuses(store).items() if st is PartnerStatus.DEREGISTERED}
        warn_days = config.settings.credentials.warn_days
        live = {p.id for p in config.partners if p.status is not PartnerStatus.DEREGISTERED}
        mgmt.put(f"/vhosts/{mgmt.v}", {})
        mgmt.permissions(b.admin_user, ".*", ".*", ".*")
        _policies(mgmt, config, report)
        _topology(mgmt, config, report)
        hub_password = secrets.ensure(b.user)
        mgmt.user(b.user, hub_password)
        mgmt.permissions(
            b.user,
            configure="^$",
            write=r"^amq\.default$",
            read=rf"^(hub\.in\..+|hub\.out\..+|{re.escape(t.ACKS_DROPPED_QUEUE)})$",
        )
        report.users.append(b.user)
        for partner in config.partners:
            cred = known.get(partner.id)
            expired = cred is not None and cred.state(now, 0) == "expired"
            # an expired credential's old password stays out of the broker (hub.credentials)
            _partner(mgmt, partner.id, credentials.throwaway_password() if expired else secrets.ensure(partner.id),
                     report)
            if partner.transport.kind == "http":  # the webhook signing secret (docs/partners.md 7a)
                secrets.ensure(webhook_secret_name(partner.id))
        secrets.save()
        credentials.record_first_issue(store, [p.id for p in config.partners],
                                       config.settings.credentials.valid_days, now)
        credentials.revoke_expired(store, mgmt, now)
        for pid, cred in credentials.all_credentials(store).items():  # regulation 9(4): warn ahead
            notice = credentials.warning(pid, cred, now, warn_days)
            if notice and pid not in gone and pid in live:
                report.warnings.append(notice)
        report.warnings.extend(file_limit_warnings(mgmt))
    finally:
        mgmt.close()
        store.close()
    # the query API's bearer tokens (hub.tokens): into the secrets file, their hashes into the hub's store
    tokens = provision_tokens(config, secrets)
    report.api_tokens.extend(tokens.issued)
    report.warnings.extend(tokens.warnings)
    return report


# Seen here: a quorum queue keeps about five files open on its node. Once a node runs out, RabbitMQ stops
# accepting connections without an error (clients time out), so the hub cannot connect or reconnect.
FILES_PER_QUORUM_QUEUE = 5


def file_limit_warnings(mgmt: Management) -> list[str]:
    """Warn when the broker's quorum queues (all vhosts) would leave a node under 25 % of its file limit."""
    try:
        nodes = mgmt.get("/nodes?columns=name,fd_total,fd_used")
        queues = mgmt.get("/queues?columns=type")
    except ProvisionError:
        return []
    quorum = sum(1 for q in queues if q.get("type") == "quorum")
    warnings = []
    for node in nodes:
        total = int(node.get("fd_total") or 0)
        if total and quorum * FILES_PER_QUORUM_QUEUE > total * 3 // 4:
            warnings.append(
                f"broker node {node.get('name')} may open only {total} files and the broker holds {quorum} "
                f"quorum queues (~{FILES_PER_QUORUM_QUEUE} files each): when it runs out it stops accepting "
                "connections; raise its open-file limit (docs/operations.md, 'Broker file limit')")
    return warnings


def _policies(mgmt: Management, config: HubConfig, report: ProvisionReport) -> None:
    # at-least-once dead-lettering (DESIGN.md section 8) needs overflow reject-publish on the source queue
    mgmt.policy("hub-inbound", r"^hub\.in\.",
                {"delivery-limit": INBOUND_DELIVERY_LIMIT, "dead-letter-exchange": t.UNROUTABLE_EXCHANGE,
                 "dead-letter-strategy": "at-least-once", "overflow": "reject-publish"})
    mgmt.policy("hub-acks", r"^partner\.[a-z0-9-]+\.acks$",
                {"max-length": config.settings.acks.max_length, "overflow": "drop-head",
                 "dead-letter-exchange": t.ACKS_DROPPED_EXCHANGE})
    mgmt.policy("hub-inbox", r"^partner\.[a-z0-9-]+\.inbox$",
                {"delivery-limit": INBOX_DELIVERY_LIMIT, "dead-letter-exchange": t.DEAD_EXCHANGE,
                 "dead-letter-strategy": "at-least-once", "overflow": "reject-publish"})
    mgmt.policy("hub-out", r"^hub\.out\.",
                {"delivery-limit": OUT_DELIVERY_LIMIT, "dead-letter-exchange": t.DEAD_EXCHANGE,
                 "dead-letter-strategy": "at-least-once", "overflow": "reject-publish"})
    mgmt.policy("hub-quarantine", rf"^{re.escape(t.QUARANTINE_QUEUE)}$",
                {"max-length": config.settings.quarantine_queue_max, "overflow": "reject-publish"})
    report.policies += ["hub-inbound", "hub-acks", "hub-inbox", "hub-out", "hub-quarantine"]


def _topology(mgmt: Management, config: HubConfig, report: ProvisionReport) -> None:
    mgmt.exchange(t.UNROUTABLE_EXCHANGE, "fanout")
    mgmt.exchange(t.INBOUND_EXCHANGE, "topic", {"alternate-exchange": t.UNROUTABLE_EXCHANGE})
    mgmt.exchange(t.ACKS_DROPPED_EXCHANGE, "fanout")
    mgmt.exchange(t.DEAD_EXCHANGE, "fanout")
    for queue, exchange in ((t.QUARANTINE_QUEUE, t.UNROUTABLE_EXCHANGE),
                            (t.ACKS_DROPPED_QUEUE, t.ACKS_DROPPED_EXCHANGE),
                            (t.DEAD_QUEUE, t.DEAD_EXCHANGE)):
        mgmt.queue(queue)
        mgmt.bind(exchange, queue, "")
        report.queues.append(queue)
    for partner in config.partners:
        mgmt.queue(t.inbound_queue(partner.id), ORDERED_QUEUE_ARGS)
        mgmt.bind(t.INBOUND_EXCHANGE, t.inbound_queue(partner.id), f"{partner.id}.#")
        mgmt.queue(t.inbox(partner.id))
        mgmt.queue(t.acks_queue(partner.id))
        report.queues += [t.inbound_queue(partner.id), t.inbox(partner.id), t.acks_queue(partner.id)]
        for k in range(config.settings.delivery.partitions):
            mgmt.queue(t.out_queue(partner.id, k), ORDERED_QUEUE_ARGS)
            report.queues.append(t.out_queue(partner.id, k))


def webhook_secret_name(partner_id: str) -> str:
    """The secrets-file entry of an HTTP partner's signing secret (env ``HUB_SECRET_<ID>_WEBHOOK``)."""
    return f"{partner_id}.webhook"


def _partner(mgmt: Management, pid: str, password: str, report: ProvisionReport) -> None:
    mgmt.user(pid, password)
    mgmt.permissions(
        pid,
        configure="^$",
        write=rf"^{re.escape(t.INBOUND_EXCHANGE)}$",
        read=rf"^partner\.{re.escape(pid)}\.(inbox|acks)$",
    )
    mgmt.topic_permissions(pid, t.INBOUND_EXCHANGE, write=rf"^{re.escape(pid)}\.", read="^$")
    report.users.append(pid)
