"""Adapters (hub.adapters) without a broker: the registry finds every built-in, each fixture decodes in its
own format, the RECTS vendor mapping maps and points errors at the vendor's own fields, the registry's
entries are checked against their adapters, and entry points are loaded (and refused when broken)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.adapters import registry
from hub.adapters.base import Adapter, DecodeContext, EncodeContext
from hub.adapters.rects_vendor import ADAPTER as RECTS
from hub.adapters.rects_vendor import pointer_get
from hub.catalogue import Catalogue, Limits
from hub.config import ConfigError, load_config
from hub.errors import MessageRejected
from tests.conftest import ROOT

CAT = Catalogue()
BUILT_IN = {"canonical", "xml", "json", "edifact", "json-webhook", "rects"}
# written by hand: what each partner class of the issue is served by in the example registry
CLASS_ADAPTER = {"kra-icms": "xml", "kentrade": "json", "kpa": "xml", "msc-ke": "canonical", "mfano-consol": "edifact",
                 "mfano-gha": "json", "pwani-cfs": "xml", "mfano-bank": "json", "mfano-insurance": "json",
                 "kebs": "json", "kephis": "xml", "pcpb": "json", "mfano-clearing": "canonical", "mfano-seals": "rects"}


def decode(adapter: Adapter, data: bytes, options: dict[str, Any] | None = None, msg_type: str | None = None,
           ctype: str | None = None) -> Any:
    opts = adapter.fixture_options if options is None else options
    return adapter.codec.decode(data, ctype or adapter.fixture_content_type, msg_type or adapter.fixture_type,
                                DecodeContext(CAT, Limits(), "test", opts))


def test_every_built_in_adapter_is_found_with_its_module_docstring() -> None:
    found = registry.adapters()
    assert set(found) >= BUILT_IN
    for name in BUILT_IN - {"canonical"}:
        module = registry.origin_of(name)
        doc = __import__(module, fromlist=["ADAPTER"]).__doc__ or ""
        assert "What makes it different" in doc and "Serves" in doc and "Fixture" in doc, module


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_each_fixture_decodes_and_re_encodes_in_the_adapters_format(name: str) -> None:
    adapter = registry.get(name)
    assert adapter.fixture is not None and adapter.fixture.is_file()
    assert adapter.fixture_content_type in adapter.formats
    body = decode(adapter, adapter.fixture.read_bytes())
    assert adapter.fixture_type == body.TYPE
    out = adapter.codec.encode(body, EncodeContext(CAT, "someone", adapter.receive_format, "d-1"))
    expected = CAT.delivery_content_type(body, adapter.receive_format)  # EDIFACT only where a message exists
    assert out.content_type == expected
    assert decode(registry.get("canonical"), out.body, {}, body.TYPE, out.content_type) == body


def test_example_registry_serves_each_partner_class_with_the_expected_adapter() -> None:
    cfg = load_config(ROOT / "config", env={})
    got = {p.id: p.adapter for p in cfg.partners if p.id in CLASS_ADAPTER}
    assert got == CLASS_ADAPTER
    consol = cfg.partner("mfano-consol")
    assert consol is not None and consol.ack_format == "edifact" and consol.receive_format == "application/edifact"


# ---------------------------------------------------------------- the RECTS vendor mapping


def vendor_doc(**changes: Any) -> bytes:
    assert RECTS.fixture is not None
    doc = json.loads(RECTS.fixture.read_text())
    for pointer, value in changes.items():
        *parents, last = pointer.split("__")
        node = doc
        for name in parents:
            node = node[name]
        node[last] = value
    return json.dumps(doc).encode()


def test_vendor_document_maps_to_the_canonical_event() -> None:
    body = decode(RECTS, vendor_doc())
    assert (body.seal_id, body.event_code.value, body.transport_equipment_id, body.ucr) == (
        "MES-0049127", "DEVIATION", "MSMU5301127", "26KEP0512345670000415")
    assert (body.position.latitude, body.position.longitude) == (Decimal("-0.3031"), Decimal("36.0800"))
    assert (body.vendor.scheme_id.value, body.vendor.id) == ("kra_pin", "P051234573G")


def test_vendor_event_not_in_its_map_is_refused_at_the_vendors_pointer() -> None:
    with pytest.raises(MessageRejected) as exc:
        decode(RECTS, vendor_doc(alarm__type="SOLAR_FLARE"))
    assert [(e.code, e.path) for e in exc.value.details] == [("JSON_SCHEMA", "/alarm/type")]


def test_vendor_field_errors_point_at_the_vendors_own_names() -> None:
    with pytest.raises(MessageRejected) as exc:
        decode(RECTS, vendor_doc(container="MSMU5301128", gps__lat=123))
    got = {(e.code, e.path) for e in exc.value.details}
    assert ("CONTAINER_CHECK_DIGIT", "/container") in got
    assert any(path == "/gps/lat" for _code, path in got), got


def test_vendor_garbage_is_refused_with_its_code() -> None:
    for data, code in ((b"\xff\xfe", "JSON_MALFORMED"), (b"[1, 2]", "JSON_SCHEMA"), (b'{"a": 1, "a": 2}',
                                                                                         "JSON_DUPLICATE_KEY")):
        with pytest.raises(MessageRejected) as exc:
            decode(RECTS, data)
        assert exc.value.details[0].code == code, data


def test_vendor_without_a_map_sends_the_canonical_profile() -> None:
    canonical = (ROOT / "examples/eseal.event/valid/rects-deviation-msmu5301127-nakuru.json").read_bytes()
    assert decode(RECTS, canonical, {}).seal_id == "MES-0049127"


def test_json_pointer_escapes() -> None:
    doc = {"a/b": {"c~d": [10, 20]}}
    assert pointer_get(doc, "/a~1b/c~0d/1") == 20
    assert pointer_get(doc, "/a~1b/missing") is not pointer_get(doc, "/a~1b/c~0d/0")


# ---------------------------------------------------------------- registry entries checked against adapters


def config_with(tmp_path: Path, change: dict[str, Any], pid: str = "kra-icms") -> Path:
    shutil.copytree(ROOT / "config", tmp_path, dirs_exist_ok=True)
    data = yaml.safe_load((tmp_path / "partners.yaml").read_text())
    for p in data["partners"]:
        if p["id"] == pid:
            p.update({k: v for k, v in change.items() if v is not None})
            for k in [k for k, v in change.items() if v is None]:
                del p[k]
    (tmp_path / "partners.yaml").write_text(yaml.safe_dump(data))
    return tmp_path


@pytest.mark.parametrize(("change", "fragment"), [
    ({"adapter": "telex"}, "no adapter named 'telex'"),
    ({"adapter": "json-webhook"}, "delivers by http, not amqp"),
    ({"adapter": "xml", "receive_format": "application/json"}, "writes application/xml, not application/json"),
    ({"adapter": "rects", "adapter_options": {"fieldmap": {}}}, "unknown option 'fieldmap'"),
    ({"adapter": "json", "sends": ["ncts.cc015c"]}, "'ncts.cc015c' is a schema-only type (XML only) but the json"),
])
def test_an_entry_its_adapter_cannot_serve_stops_the_hub_at_start(tmp_path: Path, change: dict[str, Any],
                                                                  fragment: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(config_with(tmp_path, change), env={})
    assert any(fragment in p for p in exc.value.problems), exc.value.problems


def test_adapter_defaults_fill_what_the_entry_leaves_out(tmp_path: Path) -> None:
    cfg = load_config(config_with(tmp_path, {"adapter": "edifact", "receive_format": None}, "kpa"), env={})
    kpa = cfg.partner("kpa")
    assert kpa is not None and (kpa.receive_format, kpa.ack_format) == ("application/edifact", "edifact")


# ---------------------------------------------------------------- entry points


class FakeEntryPoint:
    def __init__(self, name: str, loaded: object, fail: bool = False) -> None:
        self.name, self.value, self._loaded, self._fail = name, f"fake.{name}:ADAPTER", loaded, fail

    def load(self) -> object:
        if self._fail:
            raise ImportError("No module named 'fake'")
        return self._loaded


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> Any:
    eps: list[FakeEntryPoint] = []
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group: [e for e in eps if group == registry.ENTRY_POINT_GROUP])
    registry.reload()
    yield eps
    registry.reload()


def test_entry_point_adapter_is_found(entry_points: list[FakeEntryPoint]) -> None:
    plugin = Adapter(name="acme", summary="x", codec=RECTS.codec, formats=("application/json",),
                     receive_format="application/json")
    entry_points.append(FakeEntryPoint("acme", plugin))
    assert registry.get("acme") is plugin
    assert registry.origin_of("acme").startswith("entry point 'acme'")


@pytest.mark.parametrize(("loaded", "fail", "fragment"), [
    (None, True, "failed to load: ImportError"),
    (object(), False, "is not a hub.adapters.base.Adapter"),
    (registry.get("xml"), False, "'xml' is claimed by hub.adapters.xml_partner and entry point"),
])
def test_broken_or_clashing_entry_point_is_a_config_error(entry_points: list[FakeEntryPoint], loaded: object,
                                                          fail: bool, fragment: str) -> None:
    entry_points.append(FakeEntryPoint("bad", loaded, fail))
    with pytest.raises(registry.AdapterError, match=fragment.replace("(", r"\(")):
        registry.adapters()
    with pytest.raises(ConfigError):
        load_config(ROOT / "config", env={})


# ---------------------------------------------------------------- a recipient's adapter that fails to encode


class BrokenCodec:
    def decode(self, payload: bytes, content_type: str, msg_type: str, ctx: DecodeContext) -> Any:
        raise AssertionError("not called")

    def encode(self, body: Any, ctx: EncodeContext) -> Any:
        raise RuntimeError("a plug-in's bug")

    def shared_key(self, body: Any, ctx: EncodeContext) -> str | None:
        return None


async def test_an_adapter_failing_to_encode_rejects_that_message_only(tmp_path: Path) -> None:
    """The batch is built, not aborted (a raise would nack it again and again): the message whose recipient's
    adapter raised is rejected with INTERNAL_ERROR naming the recipient, quarantined for operators, and no
    delivery of it is queued to anyone."""
    from types import SimpleNamespace

    from hub.pipeline import Inbound, Pipeline
    from hub.store import Store

    cfg = load_config(ROOT / "config", env={})
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    store.migrate()
    pipeline = Pipeline(cfg, store, password="unused")
    pipeline.adapters["kra-icms"] = Adapter(name="broken", summary="", codec=BrokenCodec(), formats=(),
                                            receive_format="application/xml")
    data = (ROOT / "examples/eseal.event/valid/rects-position-msmu5301127-mariakani.json").read_bytes()

    def inbound(mid: str) -> Inbound:
        msg = SimpleNamespace(body=data, user_id="mfano-eseal", message_id=mid, type="eseal.event",
                              content_type="application/json", headers={"x-contract": "1"}, reply_to=None,
                              routing_key="mfano-eseal.eseal.event", redelivered=False)
        return Inbound(msg, "mfano-eseal")  # type: ignore[arg-type]

    result = await pipeline._build([inbound("seal-1")])
    queues = [p.routing_key for p in result.publishes]
    assert not [q for q in queues if q.startswith("hub.out.")]
    assert "hub.quarantine" in queues
    ack = json.loads(next(p.message.body for p in result.publishes if p.routing_key == "partner.mfano-eseal.acks"))
    assert (ack["status"], [e["code"] for e in ack["errors"]]) == ("rejected", ["INTERNAL_ERROR"])
    assert "kra-icms" in ack["errors"][0]["message"]
    assert [outcome for _prep, outcome in result.outcomes] == ["rejected"]
    assert not result.accepted
