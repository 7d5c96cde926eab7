"""``hub route FILE --as SENDER [--json]``: the dry run prints the recipients the access table allows (checked
against the hand-written ACCESS.md table), the exclusions with their rules, and ``held`` for a message the
hub would hold for correlation; with the consignment's IDF in the store, the parties it recorded count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.catalogue import Catalogue
from hub.client import content_type_for
from hub.config import load_config
from hub.routing import RoutingTable
from hub.store import Store
from hub.timeline import observe
from tests.access_table import expected_recipients
from tests.conftest import EXAMPLES, ROOT
from tests.test_contract import PROFILES

IDF = EXAMPLES / "idf" / "valid" / "tiles-e2600412743.json"
RELEASE = EXAMPLES / "customs.release" / "valid" / "released-26mbaim000412871.xml"


def hub_route(tmp_path: Path, *args: str) -> tuple[int, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_CONFIG=str(ROOT / "config"), HUB_STORE_URL=f"sqlite:///{tmp_path / 'hub.db'}")
    out = subprocess.run([sys.executable, "-m", "hub", "route", *args], capture_output=True, text=True, env=env,
                         timeout=60, check=False)
    try:
        return out.returncode, json.loads(out.stdout)
    except json.JSONDecodeError:
        return out.returncode, out.stdout + out.stderr


def test_idf_dry_run_matches_access_md_and_names_every_exclusion(tmp_path: Path) -> None:
    code, doc = hub_route(tmp_path, str(IDF), "--as", "kentrade", "--json")
    assert code == 0, doc
    got = {r["id"] for r in doc["recipients"]}
    # the IDF names mfano-imports (importer), mfano-clearing (agent) and mfano-bank (financing bank)
    assert got == expected_recipients("idf", "kentrade", PROFILES, {"mfano-imports", "mfano-clearing", "mfano-bank"})
    assert doc["held"] is None
    excluded = {e["id"]: e["rule"] for e in doc["excluded"]}
    assert set(excluded) | got | {"kentrade"} >= {p for p, prof in PROFILES.items() if prof & {"PGA", "BNK"}}
    assert excluded["kebs"] == "access:idf:PGA:own: not a named party"
    formats = {r["id"]: r["format"] for r in doc["recipients"]}
    assert formats["kra-icms"] == "application/xml" and formats["mfano-bank"] == "application/json"


def test_a_release_for_an_unknown_consignment_is_held_and_routed_once_its_idf_is_recorded(tmp_path: Path) -> None:
    code, doc = hub_route(tmp_path, str(RELEASE), "--as", "kra-icms", "--json")
    assert code == 0, doc
    assert doc["held"] == {"reason": "PARTIES_UNKNOWN", "waiting_for": [{"kind": "ucr", "value": doc["ucr"]}]}
    assert doc["recipients"] == []
    # the IDF recorded (as the running hub would have): the release goes to the parties it named
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    table = RoutingTable.from_config(load_config(ROOT / "config"))
    data = IDF.read_bytes()
    body = Catalogue().decode(data, content_type_for(IDF.name, data), "idf")
    obs = observe(body, body.keys(), "kentrade", "idf-1", datetime.now(UTC), table.partner_of)
    assert obs is not None
    store.commit_batch([], [], correlation=[obs])
    store.close()
    code, doc = hub_route(tmp_path, str(RELEASE), "--as", "kra-icms", "--json")
    assert code == 0 and doc["held"] is None
    assert {r["id"] for r in doc["recipients"]} == expected_recipients(
        "customs.release", "kra-icms", PROFILES, {"mfano-imports", "mfano-clearing", "mfano-bank"})
    code, text = hub_route(tmp_path, str(RELEASE), "--as", "kra-icms")
    assert code == 0 and "-> mfano-clearing" in text and "x  pwani-cfs" in text


def test_refusals(tmp_path: Path) -> None:
    code, doc = hub_route(tmp_path, str(RELEASE), "--as", "mfano-bank", "--json")
    assert code == 1 and doc["errors"][0]["code"] == "TYPE_NOT_ALLOWED"
    code, text = hub_route(tmp_path, str(RELEASE), "--as", "nobody", "--json")
    assert code == 2 and "unknown sender" in text
    bad = EXAMPLES / "customs.release" / "invalid"
    invalid = sorted(p for p in bad.iterdir() if p.suffix == ".xml")[0]
    code, doc = hub_route(tmp_path, str(invalid), "--as", "kra-icms", "--json", "--type", "customs.release")
    assert code == 1 and doc["errors"]
