"""Configuration: unknown keys refused with file and key, every problem reported at once, env overrides."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from hub.cli import app
from hub.config import load_config
from hub.errors import ConfigError
from hub.secrets import Secrets, env_name

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cfg_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(ROOT / "config", target)
    return target


def edit(path: Path, fn) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data))


def test_example_config_loads(cfg_dir: Path) -> None:
    cfg = load_config(cfg_dir, env={})
    assert len(cfg.partners) == 21
    assert cfg.partner("kra-icms") is not None
    assert set(cfg.access) >= {"manifest.sea", "customs.release", "permit.status"}


def test_every_problem_is_reported_with_file_and_key(cfg_dir: Path) -> None:
    edit(cfg_dir / "hub.yaml", lambda d: d["broker"].update({"prefetch": 3}))
    edit(cfg_dir / "partners.yaml", lambda d: d["partners"][0].update({"colour": "red"}))
    edit(cfg_dir / "partners.yaml", lambda d: d["partners"][1].update({"id": "Bad_ID"}))
    edit(cfg_dir / "access.yaml", lambda d: d["access"]["manifest.sea"].update({"XX": {"cell": "all", "basis": "x"}}))
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir, env={})
    problems = info.value.problems
    assert "hub.yaml: broker.prefetch: unknown key" in problems
    assert "partners.yaml: partners.0.colour: unknown key" in problems
    assert any(p.startswith("partners.yaml: partners.1.id:") for p in problems)
    assert any(p.startswith("access.yaml: access.manifest.sea.XX") for p in problems)
    assert len(problems) >= 4


def test_cross_checks(cfg_dir: Path) -> None:
    edit(cfg_dir / "partners.yaml", lambda d: d["partners"].append(dict(d["partners"][0])))
    edit(cfg_dir / "partners.yaml", lambda d: d["partners"].append(dict(d["partners"][0], id="copycat")))
    edit(cfg_dir / "partners.yaml", lambda d: d["partners"][2].update({"sends": ["bogus.type"]}))
    edit(cfg_dir / "routes.yaml", lambda d: d["routes"]["manifest.sea"]["to"].append("BNK"))
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir, env={})
    text = "\n".join(info.value.problems)
    assert "duplicate partner id 'kra-icms'" in text
    assert "'bogus.type' is not a type the hub decodes" in text
    assert "profile BNK is routed manifest.sea but access.yaml denies it" in text
    assert "already belongs to 'kra-icms'" in text


def test_reserved_and_malformed_partner_ids(cfg_dir: Path) -> None:
    edit(cfg_dir / "partners.yaml", lambda d: d["partners"][0].update({"id": "hub"}))
    edit(cfg_dir / "partners.yaml", lambda d: d["partners"][1].update({"id": "a" * 33}))
    edit(cfg_dir / "partners.yaml", lambda d: d["partners"][2].update({"id": "kpa\n"}))
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir, env={})
    text = "\n".join(info.value.problems)
    assert "reserved for the hub itself" in text and "partners.1.id" in text and "partners.2.id" in text


def test_environment_overrides(cfg_dir: Path) -> None:
    cfg = load_config(cfg_dir, env={"HUB_STORE_URL": "postgresql+psycopg://x@h/db", "HUB_BROKER_VHOST": "v1",
                                    "HUB_BROKER_HEARTBEAT": "7", "HUB_SECRETS_FILE": "/tmp/s.json"})
    assert cfg.settings.store.url == "postgresql+psycopg://x@h/db"
    assert cfg.settings.broker.vhost == "v1" and cfg.settings.broker.heartbeat == 7
    assert cfg.settings.secrets_file == "/tmp/s.json"
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir, env={"HUB_BROKER_HEARTBEAT": "never"})
    assert any("broker.heartbeat" in p for p in info.value.problems)


def test_admin_password_not_in_repr(cfg_dir: Path) -> None:
    cfg = load_config(cfg_dir, env={"HUB_BROKER_ADMIN_PASSWORD": "s3cret-value"})
    assert cfg.settings.broker.admin_password == "s3cret-value"
    assert "s3cret-value" not in repr(cfg)


def test_config_check_command_reports_all(cfg_dir: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["--config", str(cfg_dir), "config", "check"])
    assert ok.exit_code == 0 and "21 partners" in ok.output
    edit(cfg_dir / "hub.yaml", lambda d: d.update({"typo": 1}))
    edit(cfg_dir / "routes.yaml", lambda d: d["routes"].update({"nope.type": {"to": ["KT"]}}))
    bad = runner.invoke(app, ["--config", str(cfg_dir), "config", "check"])
    assert bad.exit_code == 2
    assert "hub.yaml: typo: unknown key" in bad.output and "routes.yaml: routes.nope.type" in bad.output


def test_secrets_file_mode_and_env_override(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "secrets.json"
    s = Secrets(path, env={})
    first = s.ensure("msc-ke")
    s.save()
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert Secrets(path, env={}).get("msc-ke") == first
    assert env_name("msc-ke") == "HUB_SECRET_MSC_KE"
    assert Secrets(path, env={"HUB_SECRET_MSC_KE": "from-env"}).ensure("msc-ke") == "from-env"
    assert first not in repr(Secrets(path, env={}))


def test_duplicate_yaml_keys_are_refused_with_file_and_line(cfg_dir: Path) -> None:
    text = (cfg_dir / "partners.yaml").read_text()
    text = text.replace("    sends: [customs.release, duty.assessment]\n",
                        "    sends: [customs.release, duty.assessment]\n    sends: [customs.release]\n", 1)
    (cfg_dir / "partners.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir, env={})
    [problem] = [p for p in info.value.problems if "duplicate key" in p]
    assert problem.startswith("partners.yaml: not valid YAML") and "'sends'" in problem and "line" in problem


def test_registry_identifiers_are_validated_and_collide_as_routing_compares_them(cfg_dir: Path) -> None:
    def change(d: dict) -> None:  # type: ignore[type-arg]
        d["partners"][12]["identifiers"] = {"bic": ["MFNOKENAXXX"]}  # insurer given the bank's BIC + branch
        d["partners"][11]["identifiers"] = {"kra_pin": ["p051234569c"], "bic": ["MFNOKENA"]}  # lower-case PIN

    edit(cfg_dir / "partners.yaml", change)
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir, env={})
    text = "\n".join(info.value.problems)
    assert "partners.12.identifiers.bic: bic identifier already belongs to 'mfano-bank'" in text
    assert "partners.11.identifiers.kra_pin: KRA_PIN_FORMAT" in text


def _ensure_all(path: str, queue: Any) -> None:
    from hub.secrets import Secrets as S

    s = S(Path(path), env={})
    queue.put({pid: s.ensure(pid) for pid in (f"p{k}" for k in range(30))})


def test_processes_provisioning_at_once_agree_on_every_password(tmp_path: Path) -> None:
    """Two test shards (or operators) provisioning from a new secrets file must not overwrite each other's
    passwords: the broker would then refuse the first one's partners."""
    import multiprocessing

    path = tmp_path / "var" / "secrets.json"
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_ensure_all, args=(str(path), queue)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(r == results[0] for r in results)
    assert json.loads(path.read_text()) == results[0]
