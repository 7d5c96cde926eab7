"""``hub catalogue export``: partner documentation generated from the schemas (issue 3 item 8).

The AsyncAPI document is validated offline against the official AsyncAPI 3.0.0 JSON schema vendored in
``tests/fixtures/asyncapi/`` (see its README); each type's JSON schema is checked against that type's
valid examples. No broker needed.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7
from typer.testing import CliRunner

from hub import codec
from hub.acks import ACK_SCHEMA, AckStatus, ack_document
from hub.catalogue import CONTRACT_TYPES, Catalogue
from hub.catalogue_export import (
    ACK_DOC,
    DOCUMENT_CODES,
    EDIFACT_CODES,
    ENVELOPE_CODES,
    MANIFEST,
    AckDocument,
    ExportError,
    ExportResult,
    edifact_codes,
    edifact_forms,
    error_codes,
    export,
    field_rows,
    iter_refs,
)
from hub.cli import app
from hub.errors import ErrorDetail
from hub.identifiers import check_container, check_kra_pin, check_ucr
from tests.conftest import ROOT as ROOT_DIR

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
ASYNCAPI_SCHEMA = Path(__file__).parent / "fixtures" / "asyncapi" / "3.0.0.json"
CONTENT_TYPES = {".xml": codec.XML_CT, ".json": codec.JSON_CT}
TYPES = Catalogue().types()


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    return export(tmp_path_factory.mktemp("catalogue"), EXAMPLES)


@pytest.fixture(scope="module")
def asyncapi(exported: ExportResult) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((exported.directory / "asyncapi.yaml").read_text(encoding="utf-8"))
    return doc


@pytest.fixture(scope="module")
def asyncapi_validator() -> Draft7Validator:
    """The vendored AsyncAPI 3.0.0 schema. Every definition and binding schema is embedded with its own
    ``$id``; crawling registers them, so nothing is looked up on the network (the registry has no
    retrieve function: an unknown reference would fail, not download)."""
    schema = json.loads(ASYNCAPI_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$id"] == "http://asyncapi.com/definitions/3.0.0/asyncapi.json"
    registry: Registry[Any] = Registry().with_resource(schema["$id"], DRAFT7.create_resource(schema)).crawl()
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, registry=registry)


def _errors(validator: Draft7Validator, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in validator.iter_errors(doc)]


def _pointer(doc: Any, ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _json_forms(catalogue: Catalogue, msg_type: str) -> list[tuple[str, Any]]:
    """The JSON form of every valid example: the JSON files as they are, the XML files through the codec."""
    forms: list[tuple[str, Any]] = []
    for path in sorted((EXAMPLES / msg_type / "valid").glob("*")):
        if path.suffix == ".json":
            forms.append((path.name, json.loads(path.read_bytes())))
        elif path.suffix == ".xml":
            body = catalogue.decode(path.read_bytes(), codec.XML_CT, msg_type)
            forms.append((path.name, json.loads(catalogue.encode(body, codec.JSON_CT))))
    return forms


# ---------------------------------------------------------------- files per type


def test_every_type_has_a_page_an_xsd_and_a_json_schema(exported: ExportResult, catalogue: Catalogue) -> None:
    out = exported.directory
    assert set(exported.types) == set(catalogue.types()) and catalogue.types()
    for msg_type in catalogue.types():
        spec = catalogue.spec(msg_type)
        page = (out / f"{msg_type}.md").read_text(encoding="utf-8")
        assert page.startswith(f"# `{msg_type}`\n")
        assert f"`{spec.root}`" in page and f"`{spec.namespace}`" in page
        assert "## Fields" in page and "## Error codes" in page and "## Example" in page
        assert (out / "xsd" / f"{msg_type}.xsd").read_bytes() == spec.xsd_path.read_bytes()
        schema = json.loads((out / "json-schema" / f"{msg_type}.json").read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["properties"]["messageType"]["const"] == msg_type
        assert schema["required"][0] == "messageType"
        index = (out / "index.md").read_text(encoding="utf-8")
        assert f"[{msg_type}.md]({msg_type}.md)" in index
    for msg_type in CONTRACT_TYPES:
        assert f"| `{msg_type}` |" in (out / "index.md").read_text(encoding="utf-8")
    assert (out / f"{ACK_DOC}.md").exists() and (out / "json-schema" / f"{ACK_DOC}.json").exists()


@pytest.mark.parametrize("msg_type", TYPES)
def test_json_schema_accepts_the_valid_examples(exported: ExportResult, catalogue: Catalogue, msg_type: str) -> None:
    schema = json.loads((exported.directory / "json-schema" / f"{msg_type}.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    forms = _json_forms(catalogue, msg_type)
    assert forms, f"no valid examples for {msg_type}"
    for name, doc in forms:
        assert doc["messageType"] == msg_type
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert not problems, f"{msg_type} {name}: {problems}"
        # the schema can fail: another type, an unknown key, a missing required key
        assert not validator.is_valid({**doc, "messageType": "not." + msg_type})
        assert not validator.is_valid({**doc, "noSuchKey": 1})
        for key in schema["required"]:
            assert not validator.is_valid({k: v for k, v in doc.items() if k != key}), key


def test_hub_ack_schema_is_what_ack_document_writes(exported: ExportResult) -> None:
    schema = json.loads((exported.directory / "json-schema" / f"{ACK_DOC}.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    assert schema["properties"]["schema"]["const"] == ACK_SCHEMA
    now = datetime(2026, 2, 11, 7, 42, 17, tzinfo=UTC)
    error = ErrorDetail("UCR_FORMAT", "a UCR has only upper-case letters", "/ucr", None)
    for status in AckStatus:
        errors = [error] if status is AckStatus.REJECTED else []
        doc = json.loads(ack_document("msc-ke-1", status, now, errors, now if status is AckStatus.PENDING else None))
        assert validator.is_valid(doc), list(validator.iter_errors(doc))
        AckDocument.model_validate(doc)
        assert set(doc) == set(schema["required"])  # every key always written
    assert not validator.is_valid({**doc, "schema": "hub.ack/2"})
    assert not validator.is_valid({**doc, "status": "ok"})


# ---------------------------------------------------------------- pages


def test_customs_release_page_has_fields_codes_checks_and_an_example(exported: ExportResult) -> None:
    page = (exported.directory / "customs.release.md").read_text(encoding="utf-8")
    rows = {line.split(" | ")[0].strip("| `"): line for line in page.splitlines() if line.startswith("| `")}
    assert "`UCR_FORMAT`" in rows["ucr"] and "| `Ucr` |" in rows["ucr"] and "| yes |" in rows["ucr"]
    assert "`RELEASED`, `PARTIALLY_RELEASED`, `HELD`" in rows["statusCode"]
    assert "`CONTAINER_FORMAT`, `CONTAINER_CHECK_DIGIT`" in rows["transportEquipmentId[]"]
    assert "`KRA_PIN_FORMAT`" in rows["declarant.id"] and "`Declarant/Id`" in rows["declarant.id"]
    assert "| no |" in rows["additionalInformation"]
    assert "`CONTAINER_CHECK_DIGIT-second-container.xml`" in page  # an invalid example named by its code
    assert "```xml\n<?xml" in page and '"messageType": "customs.release"' in page
    assert "Customs' release decision" in page  # the body model's docstring


def test_field_rows_follow_the_model(catalogue: Catalogue) -> None:
    rows = {r.json_key: r for r in field_rows(catalogue.spec("manifest.sea").model)}
    assert rows["consignment[]"].required == "yes, 1..n"  # at_least_one refuses an empty list
    assert rows["consignment[].transportEquipment[]"].required == "no, 0..n"
    mass = next(r for k, r in rows.items() if k.startswith("consignment[].goodsItem[].grossMass"))
    assert mass.type_text.startswith("measure") and "unitCode" in mass.xml_element
    assert rows["vesselImoNumber"].checks == ("IMO_FORMAT", "IMO_CHECK_DIGIT")
    assert rows["consignment[].goodsItem[].sequenceNumber"].type_text == "integer 1 to 99999"


def test_error_codes_are_read_from_the_validators() -> None:
    assert error_codes(check_container) == ("CONTAINER_FORMAT", "CONTAINER_CHECK_DIGIT")
    assert error_codes(check_ucr) == ("UCR_FORMAT",)
    assert error_codes(check_kra_pin) == ("KRA_PIN_FORMAT",)
    assert error_codes(len) == ()


def test_code_tables_match_the_code() -> None:
    """The generic codes the pages list are the codes hub/codec.py and hub/catalogue.py raise, and the
    envelope codes exist in the hub (so a renamed code cannot go stale in the documentation)."""
    raised = set()
    for module in ("codec.py", "catalogue.py"):
        text = (ROOT / "hub" / module).read_text(encoding="utf-8")
        raised |= set(re.findall(r'(?:MessageRejected\.one|ErrorDetail)\(\s*"([A-Z][A-Z0-9_]+)"', text))
    documented = {code for code, _form, _when in DOCUMENT_CODES}
    assert raised <= documented | set(ENVELOPE_CODES), raised - documented - set(ENVELOPE_CODES)
    assert documented <= raised, documented - raised
    sources = [p for p in (ROOT / "hub").glob("*.py") if p.name != "catalogue_export.py"]
    hub_text = "".join(p.read_text(encoding="utf-8") for p in sources)
    for code in ENVELOPE_CODES:
        assert f'"{code}"' in hub_text, code


def test_edifact_forms_are_documented(exported: ExportResult, asyncapi: dict[str, Any]) -> None:
    """Types ``hub.edifact`` reads say so (page, AsyncAPI), list its codes, and show an ``.edi`` example."""
    assert set(edifact_codes()) <= set(EDIFACT_CODES), set(edifact_codes()) - set(EDIFACT_CODES)
    forms = edifact_forms()
    for msg_type in TYPES:
        page = (exported.directory / f"{msg_type}.md").read_text(encoding="utf-8")
        message = asyncapi["components"]["messages"][msg_type]
        if msg_type not in forms:
            assert "`application/edifact`" not in page and "x-edifact" not in message
            continue
        assert f"`application/edifact` (UN/EDIFACT {forms[msg_type].message}" in page
        assert message["x-edifact"]["message"] == forms[msg_type].message
        for code in edifact_codes():
            assert f"| `{code}` | EDIFACT |" in page
        if list((EXAMPLES / msg_type / "valid").glob("*.edi")):
            assert "### UN/EDIFACT (`examples/" in page and "UNH+" in page


# ---------------------------------------------------------------- AsyncAPI


def test_asyncapi_document_validates_against_the_asyncapi_schema(
    exported: ExportResult, asyncapi: dict[str, Any], asyncapi_validator: Draft7Validator
) -> None:
    assert asyncapi["asyncapi"] == "3.0.0"
    assert _errors(asyncapi_validator, asyncapi) == []
    as_json = json.loads((exported.directory / "asyncapi.json").read_text(encoding="utf-8"))
    assert as_json == asyncapi


def test_asyncapi_names_every_contract_type_with_its_payload_schema(
    exported: ExportResult, asyncapi: dict[str, Any], catalogue: Catalogue
) -> None:
    messages = asyncapi["components"]["messages"]
    by_name = {m["name"]: m for m in messages.values()}
    for msg_type in CONTRACT_TYPES:
        message = by_name[msg_type]
        assert message["bindings"]["amqp"]["messageType"] == msg_type
        if msg_type not in catalogue.types():
            assert message["x-hub-available"] is False and "payload" not in message
            continue
        assert message["x-hub-available"] is True
        payload = _pointer(asyncapi, message["payload"]["$ref"])
        schema = json.loads((exported.directory / "json-schema" / f"{msg_type}.json").read_text(encoding="utf-8"))
        assert payload["properties"]["messageType"] == schema["properties"]["messageType"]
        assert payload["required"] == schema["required"]
        assert set(payload["properties"]) == set(schema["properties"])
        assert message["contentType"] == codec.JSON_CT
        assert message["x-xml"]["rootElement"] == catalogue.spec(msg_type).root
        # the examples in the document are valid against the payload schema, resolved in the document
        resolved = copy.deepcopy(asyncapi["components"]["schemas"])
        validator = Draft7Validator({**payload, "components": {"schemas": resolved}})
        for example in message.get("examples", []):
            assert validator.is_valid(example["payload"]), (msg_type, example["name"])
    # the acks queue carries the hub.ack/1 document (AMQP type "ack")
    ack = messages[ACK_DOC]
    assert ack["name"] == ACK_SCHEMA and ack["bindings"]["amqp"]["messageType"] == "ack"
    assert set(asyncapi["channels"]["partner.acks"]["messages"]) <= {ACK_DOC, "hub.ack.edifact"}
    assert ACK_DOC in asyncapi["channels"]["partner.acks"]["messages"]


def test_asyncapi_channels_operations_and_references_hold_together(asyncapi: dict[str, Any]) -> None:
    """What the JSON schema cannot check: every ``$ref`` resolves in the document, every address
    parameter is declared, and an operation's messages are its channel's (AsyncAPI 3.0.0 rules)."""
    for ref in iter_refs(asyncapi):
        _pointer(asyncapi, ref)
    channels = asyncapi["channels"]
    for channel in channels.values():
        assert set(re.findall(r"{(\w+)}", channel["address"])) == set(channel.get("parameters", {}))
    for op_id, operation in asyncapi["operations"].items():
        channel_ref = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), op_id
        reply = operation.get("reply")
        if reply:
            for message in reply["messages"]:
                assert message["$ref"].startswith(reply["channel"]["$ref"] + "/messages/")
    inbound = channels["hub.inbound"]
    assert inbound["bindings"]["amqp"]["is"] == "routingKey"
    assert inbound["bindings"]["amqp"]["exchange"] == {
        "name": "hub.inbound", "type": "topic", "durable": True, "autoDelete": False, "vhost": "/",
    }  # fmt: skip
    assert inbound["address"] == "{partnerId}.{messageType}"
    assert channels["partner.inbox"]["bindings"]["amqp"]["queue"]["name"] == "partner.{partnerId}.inbox"
    assert channels["partner.acks"]["bindings"]["amqp"]["queue"]["name"] == "partner.{partnerId}.acks"
    actions = {op["channel"]["$ref"]: op["action"] for op in asyncapi["operations"].values()}
    assert actions == {"#/channels/hub.inbound": "receive", "#/channels/partner.inbox": "send",
                       "#/channels/partner.acks": "send"}  # fmt: skip
    props = asyncapi["operations"]["receivePartnerMessage"]["x-amqp-properties"]
    assert {"message_id", "type", "user_id", "content_type"} <= set(props["required"])
    headers = asyncapi["components"]["schemas"]["hub.headers"]
    assert headers["required"] == ["x-contract"] and "x-ucr" in headers["properties"]


@pytest.mark.parametrize(
    "breakage",
    ["missing info", "exchange type", "operation action", "payload type", "channel binding key"],
)
def test_a_broken_asyncapi_document_fails_validation(
    asyncapi: dict[str, Any], asyncapi_validator: Draft7Validator, breakage: str
) -> None:
    doc = copy.deepcopy(asyncapi)
    if breakage == "missing info":
        del doc["info"]
    elif breakage == "exchange type":
        doc["channels"]["hub.inbound"]["bindings"]["amqp"]["exchange"]["type"] = "fanout-ish"
    elif breakage == "operation action":
        doc["operations"]["deliverToPartner"]["action"] = "publish"  # AsyncAPI 2 wording
    elif breakage == "payload type":
        doc["components"]["schemas"][TYPES[0]]["type"] = 5
    else:
        doc["channels"]["partner.inbox"]["bindings"]["amqp"]["queueName"] = "x"
    assert _errors(asyncapi_validator, doc)


def test_a_type_not_decoded_yet_is_named_and_marked(
    tmp_path: Path, asyncapi_validator: Draft7Validator
) -> None:
    missing = TYPES[0] if TYPES[0] != "ack" else TYPES[1]

    class Partial(Catalogue):
        def types(self) -> list[str]:
            return [t for t in super().types() if t != missing]

    result = export(tmp_path, EXAMPLES, Partial())
    assert missing in result.planned and missing not in result.types
    assert not (tmp_path / f"{missing}.md").exists()
    doc = json.loads((tmp_path / "asyncapi.json").read_text(encoding="utf-8"))
    assert _errors(asyncapi_validator, doc) == []
    message = doc["components"]["messages"][missing]
    assert message["x-hub-available"] is False and "payload" not in message
    assert message["tags"] == [{"$ref": "#/components/tags/notYetAvailable"}]
    assert "not yet available" in message["title"]
    assert missing in doc["channels"]["hub.inbound"]["messages"]
    assert f"| `{missing}` | not yet available" in (tmp_path / "index.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------- writing


def test_export_is_deterministic_and_removes_only_its_own_stale_files(tmp_path: Path) -> None:
    first = export(tmp_path, EXAMPLES)
    snapshot = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    (tmp_path / "retired.type.md").write_text("old page")
    (tmp_path / "README.md").write_text("not the exporter's")
    manifest = tmp_path / MANIFEST
    manifest.write_text(manifest.read_text() + "retired.type.md\n")
    second = export(tmp_path, EXAMPLES)
    assert first.files == second.files
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "README.md"} == snapshot
    assert not (tmp_path / "retired.type.md").exists()
    assert (tmp_path / "README.md").read_text() == "not the exporter's"


def test_a_valid_example_that_does_not_decode_stops_the_export(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    folder = examples / TYPES[0] / "valid"
    folder.mkdir(parents=True)
    (folder / "broken.json").write_text(json.dumps({"messageType": TYPES[0]}))
    with pytest.raises(ExportError, match=r"broken\.json"):
        export(tmp_path / "out", examples)
    result = CliRunner().invoke(app, ["catalogue", "export", str(tmp_path / "out"), "--examples", str(examples)])
    assert result.exit_code == 1 and "broken.json" in result.output


def test_cli_catalogue_export(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["catalogue", "export", str(tmp_path / "docs")])
    assert result.exit_code == 0, result.output
    assert "types to" in result.output
    assert (tmp_path / "docs" / "asyncapi.yaml").exists() and (tmp_path / "docs" / "index.md").exists()


def test_committed_partner_docs_are_current(tmp_path: Path) -> None:
    """docs/catalogue/ is what `hub catalogue export docs/catalogue` writes today: regenerate after changes."""
    committed = ROOT_DIR / "docs" / "catalogue"
    fresh = tmp_path / "catalogue"
    res = CliRunner().invoke(app, ["--config", str(ROOT_DIR / "config"), "catalogue", "export", str(fresh)])
    assert res.exit_code == 0, res.output

    def files(base: Path) -> dict[str, bytes]:
        return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*")) if p.is_file()}

    got, want = files(fresh), files(committed)
    assert sorted(got) == sorted(want)
    stale = [name for name in got if got[name] != want[name]]
    assert not stale, f"run `hub catalogue export docs/catalogue`: stale {stale[:10]}"
