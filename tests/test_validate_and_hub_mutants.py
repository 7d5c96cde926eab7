"""Issue 3's walk: every example by the `hub validate` command, and mutants through the running hub.

`tests/test_mutants.py` checks all ~4,000 mutants against the catalogue; here one mutant of each kind
(check digit, dropped element, code list, swapped type) per valid example travels the whole contract
over the real broker and must come back `rejected` with the same code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.catalogue import Catalogue
from hub.cli import app
from hub.client import PartnerClient, content_type_for
from hub.testing import HubUnderTest
from tests.conftest import EXAMPLES, ROOT
from tests.test_examples_hub import CFG, HUB_OWN
from tests.test_mutants import mutants_for, valid_examples

RUNNER = CliRunner()


def all_examples() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*/*/*") if p.is_file() and p.parent.name in ("valid", "invalid"))


@pytest.mark.parametrize("path", all_examples(), ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.name}")
def test_hub_validate_command_on_every_example(path: Path) -> None:
    msg_type = path.parent.parent.name
    res = RUNNER.invoke(app, ["--config", str(ROOT / "config"), "validate", "--type", msg_type, str(path)])
    if path.parent.name == "valid":
        assert res.exit_code == 0, res.output
        assert res.output.startswith(f"valid {msg_type}")
    else:
        code = path.name.split("-", 1)[0]
        assert res.exit_code == 1, res.output
        assert re.search(rf"^{code}\b", res.output, re.M), res.output


@pytest.mark.broker
async def test_one_mutant_of_each_kind_per_example_is_rejected_through_the_hub(hub: HubUnderTest) -> None:
    catalogue = Catalogue()
    clients: dict[str, PartnerClient] = {}
    failures: list[str] = []
    sent = 0
    try:
        for path in valid_examples():
            msg_type = path.parent.parent.name
            if msg_type in HUB_OWN:
                continue  # partners never send the hub's own documents; checked by the catalogue tests
            seen: set[str] = set()
            for m in mutants_for(catalogue, path):
                if m.kind in seen or m.declared in HUB_OWN:
                    continue
                seen.add(m.kind)
                sender = sorted(p.id for p in CFG.partners if m.declared in p.sends)[0]
                if sender not in clients:
                    clients[sender] = await hub.partner(sender).__aenter__()
                ack = await clients[sender].send(m.data, m.declared, content_type=content_type_for(path.name, m.data),
                                                 timeout=20)
                sent += 1
                if ack is None:
                    failures.append(f"{m.label}: no acknowledgement")
                elif ack["status"] != "rejected" or m.code not in {e["code"] for e in ack["errors"]}:
                    failures.append(f"{m.label}: expected rejected {m.code}, got {ack['status']} {ack['errors'][:2]}")
    finally:
        for c in clients.values():
            await c.__aexit__(None, None, None)
    assert sent >= 200, f"only {sent} mutants sent"
    assert not failures, f"{len(failures)} of {sent} mutants:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*/valid/*")), ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_hub_validate_infers_the_type_of_every_valid_example(path: Path) -> None:
    res = RUNNER.invoke(app, ["--config", str(ROOT / "config"), "validate", str(path)])
    assert res.exit_code == 0, res.output
    assert res.output.startswith(f"valid {path.parent.parent.name}")
