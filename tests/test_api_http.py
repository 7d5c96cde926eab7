"""The partner query API over real HTTP (hub.api_http): a SQLite store filled with example messages, tokens
issued the way ``hub broker provision`` issues them (hub.tokens.provision_tokens), and httpx as the client."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub import tokens
from hub.api_http import serve_api
from hub.config import HubConfig, PartnerStatus, load_config
from hub.queries import consignment_view
from hub.secrets import Secrets
from hub.store import Store
from tests.conftest import ROOT
from tests.test_queries import NO_BANK, UCR, commit_life


class Hub:
    def __init__(self, tmp: Path) -> None:
        self.db = tmp / "hub.db"
        self.config = load_config(ROOT / "config", env={"HUB_STORE_URL": f"sqlite:///{self.db}"})
        self.secrets_path = tmp / "secrets.json"
        self.secrets = Secrets(self.secrets_path, env={})
        self.report = tokens.provision_tokens(self.config, self.secrets)  # creates and migrates the store
        self.store = Store(self.config.store_url())
        self.servers: list[Any] = []

    def token(self, subject: str) -> str:
        value = self.secrets.get(tokens.secret_name(subject))
        assert value is not None
        return value

    def serve(self, config: HubConfig | None = None) -> httpx.Client:
        server = serve_api("127.0.0.1", 0, self.store, config or self.config)
        self.servers.append(server)
        return httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=10)

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
        self.store.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    h = Hub(tmp_path_factory.mktemp("api"))
    commit_life(h.store, h.config)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture(scope="module")
def client(api: Hub) -> Iterator[httpx.Client]:
    with api.serve() as c:
        yield c


def get(client: httpx.Client, ref: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get(f"/v1/consignments/{ref}", headers=headers)


# ------------------------------------------------------------------ tokens


def test_provision_issues_one_token_per_partner_and_the_operator_and_stores_only_hashes(api: Hub) -> None:
    partners = [p.id for p in api.config.partners if p.status is not PartnerStatus.DEREGISTERED]
    assert sorted(api.report.issued) == sorted([*partners, "operator"])
    assert api.report.warnings == []
    on_file = Secrets(api.secrets_path, env={})  # saved to the file, mode 0600
    assert on_file.get("mfano-bank.api") == api.token("mfano-bank") and on_file.get("operator.api")
    assert api.secrets_path.stat().st_mode & 0o077 == 0
    with sqlite3.connect(api.db) as conn:
        rows = conn.execute("SELECT token_sha256, subject, issued_at, expires_at FROM api_tokens").fetchall()
    dump = api.db.read_bytes() + b"".join(p.read_bytes() for p in api.db.parent.glob("hub.db-*"))
    for subject in ("mfano-bank", "operator", "kra-icms"):
        plain = api.token(subject)
        assert plain.encode() not in dump
        assert (hashlib.sha256(plain.encode()).hexdigest(), subject) in {(r[0], r[1]) for r in rows}
    bank = tokens.tokens_of(api.store, "mfano-bank")[0]
    assert bank.expires_at == tokens.one_year_after(bank.issued_at)  # regulation 9(2)
    assert tokens.tokens_of(api.store, "operator")[0].expires_at is None
    # provisioning again changes nothing
    again = tokens.provision_tokens(api.config, Secrets(api.secrets_path, env={}))
    assert again.issued == [] and again.warnings == []
    assert len(tokens.tokens_of(api.store, "mfano-bank")) == 1
    # rotation: the entry removed from the file, provisioning issues a new token and revokes the old one
    data = json.loads(api.secrets_path.read_text())
    old = data.pop("treasury.api")
    api.secrets_path.write_text(json.dumps(data))
    rotated = tokens.provision_tokens(api.config, Secrets(api.secrets_path, env={}))
    new = Secrets(api.secrets_path, env={}).get("treasury.api")
    assert rotated.issued == ["treasury"] and new is not None and new != old
    assert tokens.authenticate(api.store, old) is None and tokens.authenticate(api.store, new) == "treasury"


def test_expiry_and_renewal_are_reported_not_done_by_provisioning(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'api.db'}")
    store.migrate()
    issued = datetime(2025, 1, 10, tzinfo=UTC)
    assert tokens.record(store, {"kebs": "tok-kebs", "kephis": "tok-kephis", "operator": "tok-op"}, issued).issued
    soon = tokens.record(store, {"kebs": "tok-kebs"}, datetime(2025, 12, 20, tzinfo=UTC))
    assert soon.issued == [] and "expires on 2026-01-10" in soon.warnings[0]
    later = datetime(2026, 1, 10, tzinfo=UTC)
    report = tokens.record(store, {"kebs": "tok-kebs", "operator": "tok-op"}, later)
    assert report.issued == [] and len(report.warnings) == 1 and "expired on 2026-01-10" in report.warnings[0]
    assert "tok-kebs" not in report.warnings[0]
    assert tokens.authenticate(store, "tok-kebs", later - timedelta(seconds=1)) == "kebs"
    assert tokens.authenticate(store, "tok-kebs", later) is None
    assert tokens.authenticate(store, "tok-op", datetime(2040, 1, 1, tzinfo=UTC)) == "operator"
    assert tokens.revoke(store, "kephis", later) == 1
    assert tokens.authenticate(store, "tok-kephis", later) is None
    assert "revoked" in tokens.record(store, {"kephis": "tok-kephis"}, later).warnings[0]
    # one token given to two subjects is recorded for the first only
    twice = tokens.record(store, {"kpa": "same", "kma": "same"}, later)
    assert twice.issued == ["kpa"] and "kma" in twice.warnings[0]
    unusable = tokens.record(store, {"kpa": "not a token!"}, later)
    assert unusable.issued == [] and "not usable" in unusable.warnings[0] and "not a token" not in unusable.warnings[0]
    assert tokens.one_year_after(datetime(2028, 2, 29, tzinfo=UTC)) == datetime(2029, 2, 28, tzinfo=UTC)
    store.close()


# ------------------------------------------------------------------ the API


def test_a_partner_gets_its_view_and_the_operator_everything(api: Hub, client: httpx.Client) -> None:
    r = get(client, UCR, api.token("mfano-bank"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == consignment_view(api.store, api.config, UCR, "mfano-bank")
    assert [e["type"] for e in r.json()["consignments"][0]["events"]] == ["idf", "ucr.issued"]
    r = get(client, UCR, api.token("operator"))
    assert r.status_code == 200 and r.json()["viewer"] == "operator"
    assert r.json() == consignment_view(api.store, api.config, UCR, None)
    assert len(r.json()["consignments"][0]["events"]) > 10
    # a vessel call, its "/" URL-encoded or not; the scheme name in any case
    for ref in ("9839430%2FJE608A", "9839430/JE608A"):
        r = client.get(f"/v1/consignments/{ref}", headers={"Authorization": f"bearer {api.token('msc-ke')}"})
        assert r.status_code == 200 and r.json()["reference"] == "9839430/JE608A"
        assert {e["type"] for e in r.json()["consignments"][0]["events"]} == {"manifest.sea", "arrival.iar",
                                                                              "bayplan"}


def test_401_for_a_missing_wrong_expired_or_revoked_token(api: Hub, client: httpx.Client) -> None:
    now = datetime.now(UTC)
    surveyor = api.token("mfano-surveyor")  # MS: all cells for insurance certificates
    assert get(client, UCR, surveyor).status_code == 200
    tokens.record(api.store, {"mfano-surveyor": "a-token-of-last-month"}, now - timedelta(days=30))
    assert get(client, UCR, surveyor).status_code == 401  # superseded: revoked by the newer one
    assert get(client, UCR, "a-token-of-last-month").status_code == 200
    tokens.record(api.store, {"ira": "an-old-token"}, now - timedelta(days=366))
    old = tokens.lookup(api.store, "an-old-token")
    assert old is not None and old.revoked_at is None and old.expires_at is not None and old.expires_at < now
    cases: dict[str, dict[str, str]] = {
        "missing": {},
        "not bearer": {"Authorization": f"Basic {api.token('mfano-bank')}"},
        "no token": {"Authorization": "Bearer"},
        "wrong": {"Authorization": "Bearer " + api.token("mfano-bank")[:-1] + "x"},
        "too long": {"Authorization": "Bearer " + "a" * 600},
        "expired": {"Authorization": "Bearer an-old-token"},
    }
    bodies = {}
    for case, headers in cases.items():
        r = client.get(f"/v1/consignments/{UCR}", headers=headers)
        assert r.status_code == 401, case
        assert r.headers["www-authenticate"].startswith("Bearer"), case
        assert r.json()["error"]["code"] == "UNAUTHORIZED", case
        bodies[case] = r.content
    assert bodies["wrong"] == bodies["expired"] == bodies["too long"]  # nothing tells them apart
    assert 'error="invalid_token"' in client.get(f"/v1/consignments/{UCR}",
                                                 headers=cases["expired"]).headers["www-authenticate"]
    # revoked: refused from the next request on
    kentrade = api.token("kentrade")
    assert get(client, UCR, kentrade).status_code == 200
    tokens.revoke(api.store, "kentrade")
    assert get(client, UCR, kentrade).status_code == 401
    # a partner suspended in the registry (regulation 11) is refused too
    c = api.config
    suspended = HubConfig(directory=c.directory, settings=c.settings, routes=c.routes, access=c.access,
                          schema_types=c.schema_types, partners=tuple(
                              p.model_copy(update={"status": PartnerStatus.SUSPENDED}) if p.id == "mfano-imports"
                              else p for p in c.partners))
    with api.serve(suspended) as other:
        assert get(other, UCR, api.token("mfano-imports")).status_code == 401
        assert get(other, UCR, api.token("mfano-bank")).status_code == 200
    assert get(client, UCR, api.token("mfano-imports")).status_code == 200


def test_404_is_the_same_for_unknown_and_not_visible(api: Hub, client: httpx.Client) -> None:
    bank = api.token("mfano-bank")
    unknown = get(client, "NOSUCHREF", bank)
    hidden = get(client, NO_BANK, bank)  # exists; the bank only collected its UCR fee
    by_container = get(client, "MSCU1234566", bank)  # its own consignment, by a reference it may not see
    too_long = get(client, "A" * 65, bank)
    for r in (unknown, hidden, by_container, too_long):
        assert r.status_code == 404
        assert r.content == unknown.content
        assert {k: v for k, v in r.headers.items() if k not in ("date",)} == {
            k: v for k, v in unknown.headers.items() if k not in ("date",)}
    assert unknown.json()["error"]["code"] == "CONSIGNMENT_NOT_FOUND"
    assert get(client, NO_BANK, api.token("operator")).status_code == 200
    assert get(client, "A" * 64, bank).status_code == 404
    # without a token, even an unknown reference is 401 first: nothing is looked up
    assert get(client, "NOSUCHREF", None).status_code == 401


def test_405_and_other_paths(api: Hub, client: httpx.Client) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = client.request(method, f"/v1/consignments/{UCR}",
                           headers={"Authorization": f"Bearer {api.token('operator')}"})
        assert r.status_code == 405, method
        assert r.headers["allow"] == "GET" and r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    r = client.get("/v1/other", headers={"Authorization": f"Bearer {api.token('operator')}"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
