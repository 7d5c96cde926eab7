"""Partner documentation generated from the catalogue: ``hub catalogue export DIR``.

Everything is derived at run time from what the catalogue discovers (``Catalogue().types()``) and from
``CONTRACT_TYPES``, never from a list kept here:

- ``DIR/<type>.md``: one page per type: its purpose (the body model's docstring), root element and
  namespace, a field table built from the pydantic model (JSON key, XML element, type, required, the
  allowed codes of an enumeration, the identifier check and its error codes, a description), the error
  codes the type can produce, and one valid example from ``examples/<type>/valid/`` in XML and JSON;
- ``DIR/json-schema/<type>.json``: the JSON form's schema, ``model_json_schema(by_alias=True)`` plus the
  ``messageType`` constant (JSON Schema 2020-12);
- ``DIR/xsd/``: a copy of each XSD (and of any schema it includes or imports);
- ``DIR/index.md``: every type of contract version 1, available or not yet;
- ``DIR/asyncapi.yaml`` and ``DIR/asyncapi.json``: an AsyncAPI 3.0.0 document of the whole contract,
  written from the hub's side (the hub *receives* on ``hub.inbound`` what partners publish, and *sends*
  to ``partner.{partnerId}.inbox`` and ``partner.{partnerId}.acks``). It has one message per version-1
  type; a type the catalogue does not decode yet is named with no payload, tagged ``notYetAvailable``
  and marked ``x-hub-available: false``.

What the acks queue carries is the ``hub.ack/1`` document of ``hub.acks.ack_document`` (snake_case keys,
AMQP ``type`` ``ack``), not the catalogue form of the ``ack`` type: it is documented as ``hub.ack`` (page,
JSON schema, and the AsyncAPI message on ``partner.{partnerId}.acks``) from ``AckDocument`` below, which
mirrors ``ack_document`` (a test holds them together). The catalogue type ``ack`` is documented like every
other type; in the AsyncAPI document it is a component message on no channel, since the hub does not send
that form today.

UN/EDIFACT comes from ``hub.edifact`` when it is there (``MESSAGES``, ``ENCODABLE``, ``encode_ack``): a type
it reads says so on its page and in its AsyncAPI message (``x-edifact``), lists the ``EDIFACT_*`` codes and
shows its ``.edi`` example; the acks channel also carries CONTRL/APERAK (message ``hub.ack.edifact``).

The output is deterministic (no dates, sorted where order is not the model's), so it can be committed and
regenerated whenever a type changes. Files a previous export wrote and this one does not are removed (the
list is kept in ``DIR/.catalogue-export``); nothing else in ``DIR`` is touched.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import json
import re
import textwrap
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import xmlschema
import yaml
from lxml import etree
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    WrapValidator,
)

from hub import codec
from hub.acks import ACK_SCHEMA, AckStatus, ack_document
from hub.catalogue import CONTRACT_TYPES, XSD_DIR, Catalogue
from hub.config import PARTNER_ID_RE
from hub.errors import ErrorDetail, MessageRejected
from hub.schemas.base import Measure
from hub.topology import DIRECT_REPLY_TO, INBOUND_EXCHANGE

ASYNCAPI_VERSION = "3.0.0"
AMQP_BINDING_VERSION = "0.3.0"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
MANIFEST = ".catalogue-export"
ACK_TYPE = "ack"
ACK_DOC = "hub.ack"  # page, schema and AsyncAPI names of the hub.ack/1 document
ACK_EDIFACT = "hub.ack.edifact"  # AsyncAPI name of the CONTRL/APERAK acknowledgement
DEFAULT_EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# Codes every catalogue document can produce, whatever its type (hub/codec.py, hub/catalogue.py); a test
# checks this table against those modules. Form: "XML", "JSON" or "all".
DOCUMENT_CODES: tuple[tuple[str, str, str], ...] = (
    ("PAYLOAD_TOO_LARGE", "all", "the body is over the size cap (default 5 MiB), checked before parsing"),
    ("CONTENT_TYPE_UNSUPPORTED", "all", "content_type is not one of the type's forms (exactly, without parameters)"),
    ("TYPE_MISMATCH", "all", "the root element and namespace (XML), messageType (JSON) or UNH message type (EDIFACT) "
     "is not the declared type's"),
    ("XML_MALFORMED", "XML", "not well-formed XML"),
    ("XML_ENTITY_FORBIDDEN", "XML", "a DOCTYPE, DTD or entity declaration"),
    ("XML_TOO_DEEP", "XML", "elements nested deeper than the limit (default 64)"),
    ("XML_SCHEMA", "XML", "the document breaks the XSD, or a rule of the model that has no code of its own"),
    ("JSON_MALFORMED", "JSON", "not valid JSON, or not UTF-8"),
    ("JSON_DUPLICATE_KEY", "JSON", "the same key twice in one object"),
    ("JSON_NUMBER_INVALID", "JSON", "NaN, Infinity, or a number too long or too large"),
    ("JSON_TOO_DEEP", "JSON", "objects or arrays nested deeper than the limit (default 64)"),
    ("JSON_SCHEMA", "JSON", "the document breaks the model: a missing or unknown key, a wrong type or value, "
     "or a rule that has no code of its own"),
)  # fmt: skip

# Checked on the envelope by hub/pipeline.py, the same for every type (a test checks they exist there).
ENVELOPE_CODES: tuple[str, ...] = (
    "PARTNER_SUSPENDED", "MESSAGE_ID_INVALID", "CONTRACT_VERSION", "TYPE_UNKNOWN", "TYPE_NOT_ALLOWED", "UCR_MISMATCH",
    "INTERNAL_ERROR", "DUPLICATE_ID_CONFLICT",
)  # fmt: skip

# hub.edifact's codes (a test checks every code of hub/edifact/*.py is here).
EDIFACT_CODES: dict[str, str] = {
    "EDIFACT_SYNTAX": "no UNB, an empty or unterminated segment, a bad tag, a segment outside a message, "
    "UNT or UNZ missing, a release character at the end",
    "EDIFACT_UNA": "UNA service characters that clash or are letters",
    "EDIFACT_CHARSET": "an unknown syntax identifier, or a byte or control character its character set cannot carry",
    "EDIFACT_SEGMENT_COUNT": "the UNT segment count (0074) is wrong",
    "EDIFACT_MESSAGE_COUNT": "the UNZ message count (0036) is wrong",
    "EDIFACT_REFERENCE_MISMATCH": "the UNT reference differs from UNH's, or UNZ's from UNB's",
    "EDIFACT_UNSUPPORTED": "a message type or version the hub does not read, functional groups, a syntax version",
    "EDIFACT_MULTIPLE_MESSAGES": "more than one message in the interchange",
    "EDIFACT_CONTENT": "a segment or value the mapping needs is missing or malformed (the analogue of XML_SCHEMA)",
}

_CODE_RE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_RAISERS = frozenset({"_fail", "PydanticCustomError"})
_VALIDATORS = (AfterValidator, BeforeValidator, PlainValidator, WrapValidator)


class ExportError(Exception):
    """The export cannot be written faithfully (e.g. a valid example that does not decode)."""


# ---------------------------------------------------------------- the hub.ack/1 document


class AckError(BaseModel):
    """One problem found in the message: a stable code (see docs/errors.md), a message, and where."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(description="Stable error code, e.g. UCR_FORMAT.")
    message: str = Field(description="What is wrong, in English. Never repeats personal data.")
    path: str | None = Field(description="XML element path or JSON key path; null when not known.")
    line: int | None = Field(description="Line in the XML document (JSON: syntax errors only); null otherwise.")


class AckDocument(BaseModel):
    """The acknowledgement the hub sends for every message a partner publishes (``hub.ack/1``), on
    ``partner.<partner-id>.acks`` and on ``reply_to`` when it is ``amq.rabbitmq.reply-to``. Status
    ``pending`` (waiting for correlation) is always followed by a final acknowledgement."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, title="AckDocument")

    schema_id: Literal["hub.ack/1"] = Field(alias="schema", description=f"Always {ACK_SCHEMA}.")
    correlation_id: str | None = Field(description="The message_id of the message acknowledged.")
    status: AckStatus = Field(description="What the hub did with the message.")
    errors: list[AckError] = Field(description="What is wrong with the message (status rejected); else empty.")
    held_until: AwareDatetime | None = Field(description="Until when the hub holds the message or its deliveries; "
                                             "null when it holds nothing.")
    received_at: AwareDatetime = Field(description="When the hub received the message.")


# ---------------------------------------------------------------- identifier checks and their codes


def _call_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def error_codes(func: Callable[..., Any], _seen: set[Any] | None = None) -> tuple[str, ...]:
    """The error codes a validator can raise (``_fail("CODE", ...)`` or ``PydanticCustomError("CODE", ...)``
    in its source, directly or through a hub function it calls), in order of appearance."""
    func = inspect.unwrap(getattr(func, "__func__", func))
    seen = _seen if _seen is not None else set()
    if func in seen:
        return ()
    seen.add(func)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return ()
    names = {
        target.id: node.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found: list[str] = []
    module_globals: dict[str, Any] = getattr(func, "__globals__", {})
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node.func)
        if name in _RAISERS and node.args:
            arg = node.args[0]
            code = arg.value if isinstance(arg, ast.Constant) else None
            if isinstance(arg, ast.Name):
                code = names.get(arg.id)
            if isinstance(code, str) and _CODE_RE.match(code):
                found.append(code)
        elif name is not None and isinstance(node.func, ast.Name):
            target = module_globals.get(name)
            if inspect.isfunction(target) and target.__module__.startswith("hub."):
                found.extend(error_codes(target, seen))
    return tuple(dict.fromkeys(found))


def _annotation_validators(annotation: Any) -> list[Callable[..., Any]]:
    """Validator functions attached with ``Annotated`` anywhere inside an annotation."""
    funcs: list[Callable[..., Any]] = []
    if typing.get_origin(annotation) is typing.Annotated:
        funcs.extend(m.func for m in annotation.__metadata__ if isinstance(m, _VALIDATORS))
    for arg in typing.get_args(annotation):
        if arg is not Ellipsis and not isinstance(arg, (str, int, float)):
            funcs.extend(_annotation_validators(arg))
    return funcs


def _doc(obj: Any) -> str:
    """An object's docstring (its own, not inherited), Markdown-ready: ``x`` becomes `x`, and
    reStructuredText simple tables (``===  ===`` rules) become code blocks."""
    raw = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    if not raw:
        return ""
    return _markdown(inspect.cleandoc(raw))


_RST_RULE = re.compile(r"^=+( +=+)+$")


def _markdown(text: str) -> str:
    out: list[str] = []
    rules = 0
    for line in text.split("\n"):
        if _RST_RULE.match(line.strip()):
            if rules == 0:
                out.append("```text")
            rules += 1
            if rules == 3:
                out += [line, "```"]
                rules = 0
                continue
        out.append(line if rules else line.replace("``", "`"))
    if rules:
        out.append("```")
    return "\n".join(out)


def _first_paragraph(text: str) -> str:
    return " ".join(text.split("\n\n", 1)[0].split())


# ---------------------------------------------------------------- the field table


@dataclass(frozen=True)
class FieldRow:
    """One line of a type's field table."""

    json_key: str
    xml_element: str
    type_text: str
    required: str
    codes: tuple[str, ...]
    checks: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Rule:
    """A rule across fields (a model validator) and the codes it reports."""

    where: str
    description: str
    codes: tuple[str, ...]


def _rejects_empty(func: Callable[..., Any]) -> bool:
    """Whether a list field's validator refuses an empty list (like ``at_least_one``): ask it."""
    try:
        func(())
    except (ValueError, AssertionError):
        return True
    except Exception:  # noqa: BLE001 - a validator of another shape: it says nothing about emptiness
        return False
    return False


def _unwrap_null(prop: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    options = prop.get("anyOf")
    if isinstance(options, list):
        rest = [o for o in options if o != {"type": "null"}]
        if len(rest) == 1 and len(rest) < len(options):
            merged = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
            return {**merged, **rest[0]}, True
    return prop, False


def _ref_name(prop: dict[str, Any]) -> str | None:
    ref = prop.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None:
            return found
    return None


def _scalar_text(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    fmt = prop.get("format")
    if fmt == "date-time":
        return "date-time with time zone (xs:dateTime)"
    if fmt == "date":
        return "date YYYY-MM-DD (xs:date)"
    if isinstance(prop.get("anyOf"), list) and {o.get("type") for o in prop["anyOf"]} == {"number", "string"}:
        return "decimal"
    if kind == "string":
        parts = ["text"]
        lo, hi = prop.get("minLength"), prop.get("maxLength")
        if hi is not None:
            parts.append(f"{lo or 0}-{hi} characters")
        if "pattern" in prop:
            parts.append(f"pattern `{prop['pattern']}`")
        return ", ".join(parts)
    if kind == "integer":
        lo, hi = prop.get("minimum"), prop.get("maximum")
        return f"integer {lo} to {hi}" if lo is not None and hi is not None else "integer"
    if kind == "number":
        return "decimal"
    if kind == "boolean":
        return "boolean (true, false)"
    return str(kind or "any")


def xsd_documentation(xsd: Path) -> dict[str, str]:
    """``xs:documentation`` of each element declaration, by path below the root (``Consignment/Ucr``).
    Local files only (xmlschema sandbox); a schema xmlschema cannot load gives nothing."""
    try:
        schema = xmlschema.XMLSchema(str(xsd.resolve()), allow="sandbox", defuse="always")
    except (xmlschema.XMLSchemaException, OSError, ValueError):
        return {}
    docs: dict[str, str] = {}

    def walk(element: Any, path: str, depth: int) -> None:
        for child in element.iterchildren():
            child_path = f"{path}/{child.local_name}" if path else str(child.local_name)
            if child.annotation is not None and child_path not in docs:
                text = " ".join(str(child.annotation).split())
                if text:
                    docs[child_path] = text
            if depth < 32:
                walk(child, child_path, depth + 1)

    for root in schema.elements.values():
        walk(root, "", 0)
    return docs


def field_rows(
    model: type[BaseModel], schema: dict[str, Any] | None = None, xsd_docs: dict[str, str] | None = None
) -> list[FieldRow]:
    """The model's fields in document order, nested objects flattened (``parent[].child``)."""
    schema = schema if schema is not None else model.model_json_schema(by_alias=True)
    defs: dict[str, Any] = schema.get("$defs", {})
    rows: list[FieldRow] = []
    _rows(model, schema, defs, "", "", xsd_docs or {}, rows)
    return rows


def _rows(
    model: type[BaseModel], node: dict[str, Any], defs: dict[str, Any], json_prefix: str, xml_prefix: str,
    xsd_docs: dict[str, str], rows: list[FieldRow],
) -> None:  # fmt: skip
    required_keys = set(node.get("required", ()))
    for name, info in model.model_fields.items():
        alias = info.alias or name
        prop, _nullable = _unwrap_null(node.get("properties", {}).get(alias, {}))
        is_list = prop.get("type") == "array"
        item = prop.get("items", {}) if is_list else prop
        item, _ = _unwrap_null(item)
        ref = _ref_name(item)
        target = defs.get(ref, {}) if ref else {}
        nested = _nested_model(info.annotation)
        field_validators = [m.func for m in info.metadata if isinstance(m, _VALIDATORS)]
        validators = [*field_validators, *_annotation_validators(info.annotation)]
        checks: list[str] = []
        check_doc = ""
        for func in validators:
            codes = error_codes(func)
            if codes:
                checks.extend(codes)
                check_doc = check_doc or _first_paragraph(_doc(func))
        codes_allowed: tuple[str, ...] = ()
        enum_values = target.get("enum", item.get("enum"))
        if "const" in item:
            enum_values = [item["const"]]
        xml_name = codec._pascal(alias)
        xml_path = f"{xml_prefix}/{xml_name}" if xml_prefix else xml_name
        json_path = f"{json_prefix}.{alias}" if json_prefix else alias
        description = info.description or xsd_docs.get(xml_path, "")
        if isinstance(enum_values, list):
            codes_allowed = tuple(str(v) for v in enum_values)
            type_text = "code"
            description = description or _first_paragraph(str(target.get("description", "")))
        elif nested is Measure:
            type_text = "measure: decimal value with its UN/ECE Rec. 20 unit code"
            rule_docs = [_first_paragraph(_doc(f)) for f in validators if not error_codes(f) and _doc(f)]
            description = description or "; ".join(rule_docs)
        elif nested is not None and target:
            type_text = "object"
            description = description or _first_paragraph(_doc(nested))
        else:
            type_text = _scalar_text(item)
        if is_list:
            type_text = f"list of {type_text}"
        if check_doc and check_doc not in description:
            description = f"{description} Check: {check_doc}" if description else check_doc
        required = alias in required_keys
        if is_list:
            at_least_one = prop.get("minItems", 0) >= 1 or any(_rejects_empty(f) for f in field_validators)
            occurs = "no, 0..n" if not required else "yes, 1..n" if at_least_one else "yes, 0..n (may be empty)"
        else:
            occurs = "yes" if required else "no"
        measure = nested is Measure
        rows.append(FieldRow(
            json_key=json_path + ("[]" if is_list else "") + (" {value, unitCode}" if measure else ""),
            xml_element=xml_path + (" (repeated)" if is_list else "") + (" (+ attribute unitCode)" if measure else ""),
            type_text=type_text,
            required=occurs,
            codes=codes_allowed,
            checks=tuple(dict.fromkeys(checks)),
            description=description,
        ))  # fmt: skip
        if nested is not None and nested is not Measure and target and "properties" in target:
            _rows(nested, target, defs, json_path + ("[]" if is_list else ""), xml_path, xsd_docs, rows)


def _models_in(model: type[BaseModel]) -> list[type[BaseModel]]:
    """The model and every model nested in it, each once, in field order."""
    out: list[type[BaseModel]] = []
    stack = [model]
    while stack:
        current = stack.pop(0)
        if current in out:
            continue
        out.append(current)
        for info in current.model_fields.values():
            nested = _nested_model(info.annotation)
            if nested is not None and nested not in out:
                stack.append(nested)
    return out


def _source_tree(func: Callable[..., Any]) -> ast.Module | None:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(getattr(func, "__func__", func)))))
    except (OSError, TypeError, SyntaxError):
        return None


def _plain_raises(tree: ast.Module) -> list[ast.Call]:
    """The ``raise ValueError(...)`` / ``AssertionError(...)`` calls of a validator: pydantic reports
    them with the generic XML_SCHEMA / JSON_SCHEMA code."""
    return [
        node.exc
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
        and _call_name(node.exc.func) in ("ValueError", "AssertionError")
    ]  # fmt: skip


def _message_text(call: ast.Call) -> str | None:
    """The message of a raise: a string, or an f-string with its placeholders shown as ``...``."""
    if not call.args:
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr):
        parts = [v.value if isinstance(v, ast.Constant) else "..." for v in arg.values]
        return "".join(str(p) for p in parts)
    return None


def _rule(where: str, func: Callable[..., Any]) -> Rule:
    """A validator as a rule: its docstring (else the message it raises, else its name) and its codes."""
    tree = _source_tree(func)
    plain = _plain_raises(tree) if tree is not None else []
    codes = error_codes(func)
    if plain or not codes:
        codes = (*codes, "XML_SCHEMA", "JSON_SCHEMA")
    text = _first_paragraph(_doc(func))
    if not text:
        messages = [m for m in (_message_text(c) for c in plain) if m]
        text = "; ".join(messages) if messages else getattr(func, "__name__", "a rule").strip("_").replace("_", " ")
    return Rule(where, text, codes)


def model_rules(model: type[BaseModel]) -> list[Rule]:
    """The model validators and field validators of the model and the models nested in it."""
    rules: list[Rule] = []
    for current in _models_in(model):
        decorators = current.__pydantic_decorators__
        where = "the message" if current is model else f"each {current.__name__}"
        for model_dec in decorators.model_validators.values():
            rules.append(_rule(where, model_dec.func))
        for field_dec in decorators.field_validators.values():
            fields = ", ".join(f"`{codec._pascal(_alias(current, f))}`" for f in field_dec.info.fields)
            rules.append(_rule(f"{where}, {fields}", field_dec.func))
    return rules


def _alias(model: type[BaseModel], name: str) -> str:
    info = model.model_fields.get(name)
    return (info.alias or name) if info is not None else name


# ---------------------------------------------------------------- JSON schemas


def _drop_property_titles(node: Any) -> None:
    """pydantic titles every property with its field name ("Issuedatetime"); they say nothing: drop them."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for prop in props.values():
                if isinstance(prop, dict):
                    prop.pop("title", None)
        for value in node.values():
            _drop_property_titles(value)
    elif isinstance(node, list):
        for value in node:
            _drop_property_titles(value)


def type_json_schema(msg_type: str, model: type[BaseModel]) -> dict[str, Any]:
    """The JSON form's schema: the model's (by alias) with the ``messageType`` constant first."""
    schema = model.model_json_schema(by_alias=True)
    _drop_property_titles(schema)
    out: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT}
    out["title"] = schema.pop("title", model.__name__)
    if "description" in schema:
        out["description"] = schema.pop("description")
    out["type"] = schema.pop("type", "object")
    if model is AckDocument:
        out["properties"] = schema.pop("properties")
        out["required"] = schema.pop("required", [])
    else:
        message_type = {"type": "string", "const": msg_type, "description": f"Always {msg_type}."}
        out["properties"] = {"messageType": message_type, **schema.pop("properties")}
        out["required"] = ["messageType", *schema.pop("required", [])]
    out.update(schema)  # additionalProperties, $defs
    return out


def _rewrite_refs(node: Any, rename: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                out[key] = f"#/components/schemas/{rename[value.rsplit('/', 1)[-1]]}"
            else:
                out[key] = _rewrite_refs(value, rename)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, rename) for v in node]
    return node


def asyncapi_schemas(msg_type: str, schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A type's JSON schema as AsyncAPI components: the body under the type's name and each ``$defs``
    entry under ``<type>.<name>`` (types reuse class names such as ``Trader``), references rewritten."""
    body = {k: v for k, v in schema.items() if k not in ("$schema", "$defs")}
    defs: dict[str, Any] = schema.get("$defs", {})
    rename = {name: f"{msg_type}.{name}" for name in defs}
    out = {msg_type: _rewrite_refs(body, rename)}
    for name, value in defs.items():
        out[rename[name]] = _rewrite_refs(value, rename)
    return out


# ---------------------------------------------------------------- examples


@dataclass(frozen=True)
class Example:
    """One valid example in both forms; ``*_source`` is the file, or None when the hub's codec wrote it.
    ``edifact`` is the UN/EDIFACT file of the same name, if there is one (``edifact_source``)."""

    stem: str
    xml: str
    json: str
    xml_source: str | None
    json_source: str | None
    edifact: str | None = None
    edifact_source: str | None = None


@dataclass(frozen=True)
class EdifactForm:
    """A type's UN/EDIFACT form (``hub.edifact``): the UNH message type, the versions read, and whether the
    hub also writes it to recipients that receive EDIFACT."""

    message: str
    versions: tuple[str, ...]
    written: bool


def edifact_forms() -> dict[str, EdifactForm]:
    """The types ``hub.edifact`` reads, by hub type (none when the module is absent)."""
    if importlib.util.find_spec("hub.edifact") is None:
        return {}
    edifact = importlib.import_module("hub.edifact")
    encodable = frozenset(getattr(edifact, "ENCODABLE", ()))
    forms: dict[str, EdifactForm] = {}
    for unh, (hub_type, versions, _reader) in getattr(edifact, "MESSAGES", {}).items():
        forms[hub_type] = EdifactForm(unh, tuple(sorted(versions)), hub_type in encodable)
    return forms


def edifact_codes() -> tuple[str, ...]:
    """The ``EDIFACT_*`` error codes in the ``hub.edifact`` sources."""
    spec = importlib.util.find_spec("hub.edifact")
    if spec is None or not spec.submodule_search_locations:
        return ()
    codes: set[str] = set()
    for folder in spec.submodule_search_locations:
        for path in Path(folder).glob("*.py"):
            codes.update(re.findall(r'"(EDIFACT_[A-Z0-9_]+)"', path.read_text(encoding="utf-8")))
    return tuple(sorted(codes))


def _pretty_xml(data: bytes) -> str:
    root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    return bytes(etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")).decode()


def _decoded(catalogue: Catalogue, path: Path, msg_type: str, content_type: str) -> Any:
    try:
        return catalogue.decode(path.read_bytes(), content_type, msg_type)
    except MessageRejected as exc:
        first = exc.details[0]
        raise ExportError(f"{path}: not a valid {msg_type} example: {first.code} {first.message}") from exc


def valid_examples(catalogue: Catalogue, msg_type: str, examples_dir: Path) -> list[Example]:
    """Every valid example of a type, by file stem, each in both forms (the missing form is encoded by the
    hub's codec from the other). Files that share a stem are one example. Stems sorted."""
    folder = examples_dir / msg_type / "valid"
    if not folder.is_dir():
        return []
    stems = sorted({p.stem for p in folder.iterdir() if p.suffix in (".xml", ".json")})
    out: list[Example] = []
    for stem in stems:
        xml_path, json_path = folder / f"{stem}.xml", folder / f"{stem}.json"
        if xml_path.exists():
            body = _decoded(catalogue, xml_path, msg_type, codec.XML_CT)
        if json_path.exists():
            body = _decoded(catalogue, json_path, msg_type, codec.JSON_CT)
        if xml_path.exists():
            xml_text = xml_path.read_text(encoding="utf-8")
        else:
            xml_text = _pretty_xml(catalogue.encode(body, codec.XML_CT))
        if json_path.exists():
            json_text = json_path.read_text(encoding="utf-8")
        else:
            json_text = json.dumps(json.loads(catalogue.encode(body, codec.JSON_CT)), indent=2, ensure_ascii=False)
        rel = f"examples/{msg_type}/valid/"
        edi_path = folder / f"{stem}.edi"
        edi_text = None
        if edi_path.exists() and msg_type in edifact_forms():
            _decoded(catalogue, edi_path, msg_type, codec.EDIFACT_CT)
            data = edi_path.read_bytes()
            try:
                edi_text = data.decode("utf-8")
            except UnicodeDecodeError:
                edi_text = data.decode("latin-1")
        out.append(Example(
            stem, xml_text.rstrip() + "\n", json_text.rstrip() + "\n",
            rel + xml_path.name if xml_path.exists() else None,
            rel + json_path.name if json_path.exists() else None,
            edi_text.rstrip() + "\n" if edi_text is not None else None,
            rel + edi_path.name if edi_text is not None else None,
        ))  # fmt: skip
    return out


def invalid_examples(msg_type: str, examples_dir: Path) -> dict[str, list[str]]:
    """Invalid example files by the code their name says they produce (``<CODE>-<what>.<ext>``)."""
    folder = examples_dir / msg_type / "invalid"
    out: dict[str, list[str]] = {}
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            code = path.name.split("-", 1)[0]
            if _CODE_RE.match(code) and path.suffix in (".xml", ".json", ".edi"):
                out.setdefault(code, []).append(path.name)
    return out


def ack_example() -> str:
    """A rejected acknowledgement, written by the hub's own ``ack_document``."""
    eat = timezone(timedelta(hours=3))
    body = ack_document(
        "msc-ke-2026-000417",
        AckStatus.REJECTED,
        datetime(2026, 2, 11, 10, 42, 17, tzinfo=eat),
        [ErrorDetail("CONTAINER_CHECK_DIGIT", "container number MSCU1234567 fails the ISO 6346 check: the check "
                     "digit should be 6", "/SeaManifest/Consignment/TransportEquipment/Id", 14)],
    )  # fmt: skip
    return json.dumps(json.loads(body), indent=2) + "\n"


# ---------------------------------------------------------------- Markdown


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _codes_cell(codes: Iterable[str]) -> str:
    return ", ".join(f"`{c}`" for c in codes)


@dataclass
class TypeDoc:
    """What the page, the index and the AsyncAPI document say about one type."""

    name: str
    model: type[BaseModel]
    schema: dict[str, Any]
    root: str | None
    namespace: str | None
    xsd: Path | None
    examples: list[Example] = field(default_factory=list)
    invalid: dict[str, list[str]] = field(default_factory=dict)
    edifact: EdifactForm | None = None

    @property
    def summary(self) -> str:
        return _first_paragraph(_doc(self.model))


def _error_table(doc: TypeDoc, rows: list[FieldRow], rules: list[Rule]) -> list[str]:
    entries: dict[str, tuple[str, str]] = {}
    for code, form, when in DOCUMENT_CODES:
        entries[code] = (form, when)
    by_code: dict[str, list[str]] = {}
    for row in rows:
        for code in row.checks:
            by_code.setdefault(code, []).append(row.json_key)
    for code, where in by_code.items():
        entries[code] = ("all", "identifier check on " + ", ".join(f"`{w}`" for w in where))
    for rule in rules:
        for code in rule.codes:
            if code not in entries:
                entries[code] = ("all", f"rule on {rule.where}: {rule.description}")
    if doc.edifact is not None:
        for code in edifact_codes():
            entries[code] = ("EDIFACT", EDIFACT_CODES.get(code, "the interchange is not one the hub can read"))
    for code in doc.invalid:
        entries.setdefault(code, ("all", "see docs/errors.md"))
    if doc.xsd is None:
        for code in ("XML_MALFORMED", "XML_ENTITY_FORBIDDEN", "XML_TOO_DEEP", "XML_SCHEMA"):
            entries.pop(code, None)
    lines = ["| Code | Form | When | Invalid examples |", "|---|---|---|---|"]
    for code, (form, when) in entries.items():
        files = ", ".join(f"`{f}`" for f in doc.invalid.get(code, []))
        lines.append(f"| `{code}` | {form} | {_cell(when)} | {files} |")
    return lines


def type_page(doc: TypeDoc) -> str:
    """The Markdown page of one type."""
    rows = field_rows(doc.model, doc.schema, xsd_documentation(doc.xsd) if doc.xsd else None)
    rules = model_rules(doc.model)
    module = inspect.getmodule(doc.model)
    keys_doc = _first_paragraph(_doc(getattr(doc.model, "keys", None))) if doc.model is not AckDocument else ""
    out = [f"# `{doc.name}`", "", _doc(doc.model), ""]
    module_doc = _doc(module) if module is not None and doc.model is not AckDocument else ""
    if module_doc:
        out += ["## Background", "", module_doc, ""]
    amqp_type = ACK_TYPE if doc.model is AckDocument else doc.name
    out += ["## At a glance", "", "| | |", "|---|---|", f"| Message type (AMQP `type`) | `{amqp_type}` |"]
    if doc.model is AckDocument:
        out += [
            f"| Queue | `partner.<partner-id>.acks`, and `reply_to` when it is `{DIRECT_REPLY_TO}` |",
            "| Content type | `application/json`"
            + (" (a partner registered with `ack_format: edifact` gets UN/EDIFACT CONTRL or APERAK, "
               "`application/edifact`, instead)" if _edifact_acks() else "") + " |",
        ]
    else:
        if doc.name == ACK_TYPE:
            out.append(
                f"| Sent by | the hub only. Its acks queues carry the `{ACK_SCHEMA}` document today "
                f"([{ACK_DOC}.md]({ACK_DOC}.md)); this is the same information in the catalogue's forms |"
            )
        else:
            out.append(f"| Routing key (exchange `{INBOUND_EXCHANGE}`) | `<partner-id>.{doc.name}` |")
        out += [
            f"| XML root element | `{doc.root}` |",
            f"| XML namespace | `{doc.namespace}` |",
            "| Content types | `application/xml`, `application/json` (JSON adds `\"messageType\"`)"
            + (_edifact_text(doc.edifact) if doc.edifact else "") + " |",
        ]
        if keys_doc:
            out.append(f"| Routed and correlated by | {_cell(keys_doc)} |")
    if doc.xsd is not None:
        out.append(f"| XSD | [`xsd/{doc.xsd.name}`](xsd/{doc.xsd.name}) |")
    out.append(f"| JSON schema | [`json-schema/{doc.name}.json`](json-schema/{doc.name}.json) |")
    out += ["", "## Fields", ""]
    if doc.model is AckDocument:
        out.append("Every key is always present (`null` when there is no value). `[]` marks a list.")
    else:
        out.append(
            "Keys are camelCase in JSON; XML elements are the same names in PascalCase, in this order "
            "(`xs:sequence`). A nested object's fields follow it (`parent.child`; `[]` marks a list). "
            "Optional values are left out (XML) or omitted or `null` (JSON)."
        )
    out += [
        "",
        "| JSON key | XML element | Type | Required | Allowed codes | Check (error codes) | Description |",
        "|---|---|---|---|---|---|---|",
    ]
    if doc.model is not AckDocument:
        out.append(
            f"| `messageType` | - (root element and namespace) | code | yes (JSON) | `{doc.name}` | | "
            "JSON form only: the message type. In XML the root element and its namespace say it. |"
        )
    for row in rows:
        xml = "-" if doc.model is AckDocument else f"`{row.xml_element}`"
        out.append(
            f"| `{_cell(row.json_key)}` | {_cell(xml)} | {_cell(row.type_text)} | {row.required} | "
            f"{_codes_cell(row.codes)} | {_codes_cell(row.checks)} | {_cell(row.description)} |"
        )
    if rules:
        out += ["", "## Rules across fields", ""]
        out += [f"- On {r.where}: {r.description} ({_codes_cell(r.codes)})" for r in rules]
    if doc.model is not AckDocument:
        out += [
            "", "## Error codes", "",
            "A rejected message's acknowledgement (`hub.ack/1`) lists these codes. The envelope and "
            "de-duplication codes are the same for every type: " + _codes_cell(ENVELOPE_CODES) + ". "
            "Every code is explained in the hub's `docs/errors.md`.", "",
        ]  # fmt: skip
        out += _error_table(doc, rows, rules)
    out += ["", "## Example", ""]
    if doc.model is AckDocument:
        out += ["A rejection, as `hub.acks.ack_document` writes it:", "", "```json", ack_example().rstrip(), "```"]
    elif not doc.examples:
        out.append("No example yet.")
    else:
        example = max(doc.examples, key=lambda e: (bool(e.xml_source and e.json_source), bool(e.edifact)))
        forms: list[tuple[str, str, str | None, str]] = [
            ("XML", example.xml, example.xml_source, "xml"),
            ("JSON", example.json, example.json_source, "json"),
        ]
        if example.edifact is not None:
            forms.append(("UN/EDIFACT", example.edifact, example.edifact_source, "text"))
        for label, text, source, lang in forms:
            origin = f"`{source}`" if source else "the same message, encoded by the hub's codec"
            out += [f"### {label} ({origin})", "", f"```{lang}", text.rstrip(), "```", ""]
        others = [e for e in doc.examples if e is not example]
        if others:
            names = ", ".join(f"`{e.xml_source or e.json_source}`" for e in others)
            out.append(f"More valid examples: {names}.")
    return "\n".join(out).rstrip() + "\n"


def _edifact_acks() -> bool:
    """Whether ``hub.edifact`` writes CONTRL/APERAK acknowledgements (``encode_ack``)."""
    if importlib.util.find_spec("hub.edifact") is None:
        return False
    return hasattr(importlib.import_module("hub.edifact"), "encode_ack")


def _edifact_text(form: EdifactForm) -> str:
    versions = ", ".join(form.versions)
    written = "; the hub also delivers it in this form" if form.written else ""
    return f", `{codec.EDIFACT_CT}` (UN/EDIFACT {form.message} {versions}{written})"


def index_page(docs: dict[str, TypeDoc], planned: list[str]) -> str:
    out = [
        "# Message catalogue, contract version 1",
        "",
        "Generated by `hub catalogue export` from the hub's schemas: do not edit by hand; regenerate "
        "whenever a type changes.",
        "",
        f"Partners publish to the topic exchange `{INBOUND_EXCHANGE}` with routing key "
        "`<partner-id>.<message-type>` and the properties `message_id`, `type`, `content_type` "
        "(`application/xml` or `application/json`; `application/edifact` for the types whose page lists a "
        "UN/EDIFACT form), `user_id` and header `x-contract: 1`; they consume deliveries from "
        "`partner.<partner-id>.inbox` and "
        "acknowledgements (`hub.ack/1`) from `partner.<partner-id>.acks`. The whole contract is described "
        "in AsyncAPI 3.0.0: [`asyncapi.yaml`](asyncapi.yaml) ([`asyncapi.json`](asyncapi.json)).",
        "",
        "| Type | Status | XML root element | Documentation | XSD | JSON schema |",
        "|---|---|---|---|---|---|",
    ]
    for name in _contract_order(docs):
        if name in docs:
            doc = docs[name]
            xsd = f"[xsd](xsd/{doc.xsd.name})" if doc.xsd else "-"
            root = f"`{doc.root}`" if doc.root else "-"
            out.append(
                f"| `{name}` | available | {root} | [{name}.md]({name}.md): {_cell(doc.summary)} | {xsd} | "
                f"[json](json-schema/{name}.json) |"
            )
        else:
            out.append(f"| `{name}` | not yet available (rejected with `TYPE_UNKNOWN`) | - | - | - | - |")
    out += [
        "",
        f"The acknowledgements on `partner.<partner-id>.acks` are the `{ACK_SCHEMA}` JSON document: "
        f"[{ACK_DOC}.md]({ACK_DOC}.md), schema [json-schema/{ACK_DOC}.json](json-schema/{ACK_DOC}.json). The "
        f"type `{ACK_TYPE}` above is the same information in the catalogue's convention (XML and JSON forms).",
    ]
    return "\n".join(out) + "\n"


def _contract_order(docs: dict[str, TypeDoc]) -> list[str]:
    return [*CONTRACT_TYPES, *sorted(t for t in docs if t not in CONTRACT_TYPES)]


# ---------------------------------------------------------------- AsyncAPI


def _headers_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "AMQP application headers (the message's header table). The AMQP properties "
        "(message_id, type, content_type, user_id, ...) are described on each operation, in "
        "x-amqp-properties.",
        "required": ["x-contract"],
        "properties": {
            "x-contract": {
                "description": 'Contract version 1. Partners send the string "1" or the integer 1; the hub '
                'sends "1". Anything else is rejected with CONTRACT_VERSION.',
                "anyOf": [{"type": "string", "const": "1"}, {"type": "integer", "const": 1}],
            },
            "x-ucr": {
                "type": "string",
                "maxLength": 35,
                "pattern": "^[0-9A-Z]{1,35}$",
                "description": "Optional on publish: the document's UCR (UCR_MISMATCH if it differs). On "
                "deliveries: the document's UCR, when it has one.",
            },
            "x-source-partner": {
                "type": "string",
                "pattern": PARTNER_ID_RE.pattern,
                "description": "Deliveries only: the id of the partner that sent the message.",
            },
            "x-vessel-call": {
                "type": "string",
                "description": "Deliveries only, vessel-level messages: the vessel call <IMO number>/<voyage>.",
            },
        },
    }


def _publish_properties() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "AMQP basic properties a partner sets when publishing to hub.inbound.",
        "required": ["message_id", "type", "content_type", "user_id"],
        "properties": {
            "message_id": {"type": "string", "minLength": 1, "maxLength": 128,
                           "description": "Unique per sender; resend a rejected message with the same id."},
            "type": {"type": "string", "description": "The message type: the same as the routing key's type "
                     "and the document's root element or messageType (TYPE_MISMATCH otherwise)."},
            "content_type": {"type": "string", "enum": [codec.XML_CT, codec.JSON_CT, codec.EDIFACT_CT],
                             "description": "application/edifact only for the types that have a UN/EDIFACT "
                             "form (x-edifact on the message)."},
            "user_id": {"type": "string", "pattern": PARTNER_ID_RE.pattern,
                        "description": "Your partner id (= broker user): the broker refuses any other."},
            "delivery_mode": {"const": 2, "description": "Persistent."},
            "reply_to": {"const": DIRECT_REPLY_TO,
                         "description": "Optional: also receive the acknowledgement by direct reply-to."},
        },
    }  # fmt: skip


def _delivery_properties(ack: bool) -> dict[str, Any]:
    props: dict[str, Any] = {
        "message_id": {"type": "string", "description": "Derived from (sender, inbound message_id, recipient): "
                       "a repeated delivery carries the same id, so de-duplicate on it."},
        "correlation_id": {"type": "string", "description": "The message_id of the inbound message."},
        "type": {"type": "string", "description": "The message type."},
        "content_type": {"type": "string", "enum": [codec.XML_CT, codec.JSON_CT, codec.EDIFACT_CT],
                         "description": "The recipient's own format: the hub re-encodes (EDIFACT only for the "
                         "types it writes as EDIFACT, x-edifact.written; XML otherwise)."},
        "delivery_mode": {"const": 2, "description": "Persistent."},
    }  # fmt: skip
    if ack:
        props["message_id"] = {"type": "string", "description": "Derived from the message acknowledged and the status."}
        props["type"] = {"const": ACK_TYPE}
        props["content_type"] = {"const": codec.JSON_CT}
    return {
        "type": "object",
        "description": "AMQP basic properties the hub sets.",
        "required": ["message_id", "correlation_id", "type", "content_type"],
        "properties": props,
    }


def _message(doc: TypeDoc | None, name: str) -> dict[str, Any]:
    amqp = {"amqp": {"messageType": name, "bindingVersion": AMQP_BINDING_VERSION}}
    if doc is None:
        return {
            "name": name,
            "title": f"{name} (not yet available)",
            "summary": "Not yet available: part of contract version 1, but the hub does not decode this type "
            "yet and rejects it with TYPE_UNKNOWN. No payload schema yet.",
            "bindings": amqp,
            "tags": [{"$ref": "#/components/tags/notYetAvailable"}],
            "x-hub-available": False,
        }
    message: dict[str, Any] = {
        "name": name,
        "title": name,
        "summary": doc.summary,
        "contentType": codec.JSON_CT,
        "headers": {"$ref": "#/components/schemas/hub.headers"},
        "payload": {"$ref": f"#/components/schemas/{name}"},
        "bindings": amqp,
        "tags": [{"$ref": "#/components/tags/available"}],
        "x-hub-available": True,
        "x-documentation": f"{name}.md",
        "x-json-schema": f"json-schema/{name}.json",
    }
    if doc.model is AckDocument:
        message["name"] = ACK_SCHEMA
        message["title"] = f"{ACK_SCHEMA} (AMQP type {ACK_TYPE})"
        message["bindings"] = {"amqp": {"messageType": ACK_TYPE, "bindingVersion": AMQP_BINDING_VERSION}}
        message["description"] = _first_paragraph(_doc(AckDocument))
        message["correlationId"] = {"description": "The message_id of the message acknowledged.",
                                    "location": "$message.payload#/correlation_id"}  # fmt: skip
        message["examples"] = [{"name": "rejected", "payload": json.loads(ack_example())}]
        return message
    message["description"] = (
        f"{_doc(doc.model)}\n\nThe payload schema is the JSON form (content_type application/json). The same "
        f"message may be sent as application/xml: root element {doc.root} in namespace {doc.namespace}, "
        f"valid against xsd/{name}.xsd."
    )
    message["x-xml"] = {"rootElement": doc.root, "namespace": doc.namespace, "schema": f"xsd/{name}.xsd"}
    if doc.edifact is not None:
        form = doc.edifact
        written = "; the hub also delivers it in this form" if form.written else ""
        message["description"] += (
            f" It may also be sent as {codec.EDIFACT_CT}: UN/EDIFACT {form.message} "
            f"{', '.join(form.versions)}{written}."
        )
        message["x-edifact"] = {
            "message": doc.edifact.message, "versions": list(doc.edifact.versions), "written": doc.edifact.written,
        }
    if doc.examples:
        message["examples"] = [
            {"name": e.stem, "headers": {"x-contract": "1"}, "payload": json.loads(e.json)} for e in doc.examples
        ]
    return message


def asyncapi_document(docs: dict[str, TypeDoc], ack_doc: TypeDoc) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of contract version 1 (every ``CONTRACT_TYPES`` entry named)."""
    names = _contract_order(docs)
    inbound = [n for n in names if n != ACK_TYPE]
    schemas: dict[str, Any] = {"hub.headers": _headers_schema()}
    for name in names:
        if name in docs:
            schemas.update(asyncapi_schemas(name, docs[name].schema))
    schemas.update(asyncapi_schemas(ACK_DOC, ack_doc.schema))
    messages = {name: _message(docs.get(name), name) for name in names}
    messages[ACK_DOC] = _message(ack_doc, ACK_DOC)
    acks = [ACK_DOC]
    if _edifact_acks():
        acks.append(ACK_EDIFACT)
        messages[ACK_EDIFACT] = {
            "name": "CONTRL/APERAK",
            "title": f"UN/EDIFACT acknowledgement (AMQP type {ACK_TYPE})",
            "summary": "Instead of hub.ack/1, for partners registered with ack_format edifact: CONTRL (syntax "
            "version 3) for a rejection at the syntax level, APERAK (D:96A) for everything else.",
            "contentType": codec.EDIFACT_CT,
            "headers": {"$ref": "#/components/schemas/hub.headers"},
            "payload": {"type": "string", "description": "A UN/EDIFACT interchange (UNB ... UNZ) with one "
                        "CONTRL or APERAK message."},
            "bindings": {"amqp": {"messageType": ACK_TYPE, "bindingVersion": AMQP_BINDING_VERSION}},
            "tags": [{"$ref": "#/components/tags/available"}],
            "x-hub-available": True,
        }  # fmt: skip
    if ACK_TYPE in docs:
        messages[ACK_TYPE]["description"] += (
            f"\n\nThe acks queue carries the {ACK_SCHEMA} document (message {ACK_DOC}) today, not this form: "
            "this message is on no channel."
        )

    def partner_param() -> dict[str, Any]:
        return {
            "description": f"Your partner id, also your broker user name: {PARTNER_ID_RE.pattern}.",
            "examples": ["msc-ke", "kra-icms"],
        }

    type_param = {"description": "The message type.", "enum": inbound}

    def refs(channel: str, msg_names: list[str]) -> list[dict[str, str]]:
        return [{"$ref": f"#/channels/{channel}/messages/{n}"} for n in msg_names]

    def queue(name: str) -> dict[str, Any]:
        return {"amqp": {
            "is": "queue",
            "queue": {"name": name, "durable": True, "exclusive": False, "autoDelete": False, "vhost": "/"},
            "bindingVersion": AMQP_BINDING_VERSION,
        }}  # fmt: skip

    channels = {
        INBOUND_EXCHANGE: {
            "address": "{partnerId}.{messageType}",
            "title": f"Exchange {INBOUND_EXCHANGE}",
            "description": f"Partners publish to the topic exchange {INBOUND_EXCHANGE} with routing key "
            "<partner-id>.<message-type>. The broker allows only your own prefix and your own user_id.",
            "parameters": {"partnerId": partner_param(), "messageType": type_param},
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in inbound},
            "bindings": {"amqp": {
                "is": "routingKey",
                "exchange": {"name": INBOUND_EXCHANGE, "type": "topic", "durable": True, "autoDelete": False,
                             "vhost": "/"},
                "bindingVersion": AMQP_BINDING_VERSION,
            }},
        },
        "partner.inbox": {
            "address": "partner.{partnerId}.inbox",
            "title": "Your inbox",
            "description": "Deliveries of the messages you are entitled to (the hub's access matrix), in your own "
            "format. "
            "The hub holds deliveries while you are in a maintenance window, suspended, or over the agreed depth.",
            "parameters": {"partnerId": partner_param()},
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in inbound},
            "bindings": queue("partner.{partnerId}.inbox"),
        },
        "partner.acks": {
            "address": "partner.{partnerId}.acks",
            "title": "Your acknowledgements",
            "description": "One acknowledgement per message you publish: hub.ack/1, or CONTRL/APERAK if you are "
            "registered with ack_format edifact. Bounded: the oldest are dropped.",
            "parameters": {"partnerId": partner_param()},
            "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in acks},
            "bindings": queue("partner.{partnerId}.acks"),
        },
    }  # fmt: skip
    operations = {
        "receivePartnerMessage": {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{INBOUND_EXCHANGE}"},
            "title": "Publish a message (partner) / receive it (hub)",
            "summary": f"Partners publish to {INBOUND_EXCHANGE}; the hub validates, correlates and routes.",
            "bindings": {"amqp": {"deliveryMode": 2, "bindingVersion": AMQP_BINDING_VERSION}},
            "messages": refs(INBOUND_EXCHANGE, inbound),
            "reply": {
                "channel": {"$ref": "#/channels/partner.acks"},
                "messages": refs("partner.acks", acks),
            },
            "x-amqp-properties": _publish_properties(),
        },
        "deliverToPartner": {
            "action": "send",
            "channel": {"$ref": "#/channels/partner.inbox"},
            "title": "Deliver a message to a recipient's inbox",
            "bindings": {"amqp": {"deliveryMode": 2, "ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
            "messages": refs("partner.inbox", inbound),
            "x-amqp-properties": _delivery_properties(ack=False),
        },
        "sendAcknowledgement": {
            "action": "send",
            "channel": {"$ref": "#/channels/partner.acks"},
            "title": "Acknowledge a partner's message",
            "bindings": {"amqp": {"deliveryMode": 2, "ack": True, "bindingVersion": AMQP_BINDING_VERSION}},
            "messages": refs("partner.acks", acks),
            "x-amqp-properties": _delivery_properties(ack=True),
        },
    }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:ke:nesws:hub:contract:1",
        "info": {
            "title": "NESWS messaging hub: partner contract",
            "version": "1",
            "description": "The messages partners of Kenya's National Electronic Single Window exchange "
            "through the hub over RabbitMQ (AMQP 0-9-1), written from the hub's side. Generated by `hub "
            "catalogue export` from the hub's schemas; every type of contract version 1 is named, those "
            "not yet available are tagged notYetAvailable and have no payload.",
        },
        "defaultContentType": codec.JSON_CT,
        "servers": {
            "rabbitmq": {
                "host": "{host}",
                "protocol": "amqp",
                "protocolVersion": "0-9-1",
                "description": "The hub's RabbitMQ broker. Log in as your partner id with the password the "
                "hub operator provisioned.",
                "variables": {"host": {"default": "127.0.0.1:5672",
                                       "description": "Host and port, as the hub operator gives them."}},
                "security": [{"$ref": "#/components/securitySchemes/partnerCredentials"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "partnerCredentials": {"type": "userPassword",
                                       "description": "Broker user = partner id; password from the hub operator."}
            },
            "tags": {
                "available": {"name": "available", "description": "The hub decodes this type today."},
                "notYetAvailable": {"name": "notYetAvailable", "description": "Named by contract version 1; "
                                    "not decoded yet (rejected with TYPE_UNKNOWN)."},
            },
        },
    }


# ---------------------------------------------------------------- writing it all


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    types: tuple[str, ...]
    planned: tuple[str, ...]
    files: tuple[str, ...]


def type_docs(catalogue: Catalogue, examples_dir: Path) -> dict[str, TypeDoc]:
    """One ``TypeDoc`` per catalogue type."""
    docs: dict[str, TypeDoc] = {}
    for name in catalogue.types():
        spec = catalogue.spec(name)
        docs[name] = TypeDoc(
            name=name,
            model=spec.model,
            schema=type_json_schema(name, spec.model),
            root=spec.root,
            namespace=spec.namespace,
            xsd=spec.xsd_path if spec.xsd_path.exists() else None,
            examples=valid_examples(catalogue, name, examples_dir),
            invalid=invalid_examples(name, examples_dir),
            edifact=edifact_forms().get(name),
        )
    return docs


def _xsd_closure(xsd: Path) -> list[Path]:
    """The XSD and every local schema it includes or imports (``schemaLocation``), each once."""
    out: list[Path] = []
    todo = [xsd.resolve()]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    while todo:
        path = todo.pop(0)
        if path in out or not path.exists():
            continue
        out.append(path)
        for el in etree.parse(str(path), parser).getroot():
            location = el.get("schemaLocation") if isinstance(el.tag, str) else None
            if location and "://" not in location:
                todo.append((path.parent / location).resolve())
    return out


def export(
    directory: Path, examples_dir: Path | None = None, catalogue: Catalogue | None = None
) -> ExportResult:
    """Write the partner documentation into ``directory`` (created if missing)."""
    catalogue = catalogue or Catalogue()
    examples_dir = examples_dir or DEFAULT_EXAMPLES
    docs = type_docs(catalogue, examples_dir)
    ack_doc = TypeDoc(ACK_DOC, AckDocument, type_json_schema(ACK_DOC, AckDocument), None, None, None)
    planned = [t for t in CONTRACT_TYPES if t not in docs]
    files: dict[str, str | bytes] = {}
    for name, doc in [*docs.items(), (ACK_DOC, ack_doc)]:
        files[f"{name}.md"] = type_page(doc)
        files[f"json-schema/{name}.json"] = json.dumps(doc.schema, indent=2, ensure_ascii=False) + "\n"
        if doc.xsd is not None:
            for path in _xsd_closure(doc.xsd):
                rel = path.relative_to(XSD_DIR.resolve()) if path.is_relative_to(XSD_DIR.resolve()) else path.name
                files[f"xsd/{rel}"] = path.read_bytes()
    files["index.md"] = index_page(docs, planned)
    document = asyncapi_document(docs, ack_doc)
    files["asyncapi.yaml"] = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110)
    files["asyncapi.json"] = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    _write(directory, files)
    return ExportResult(directory, tuple(sorted(docs)), tuple(planned), tuple(sorted(files)))


def _write(directory: Path, files: dict[str, str | bytes]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    manifest = directory / MANIFEST
    previous = manifest.read_text(encoding="utf-8").split() if manifest.exists() else []
    for rel in previous:
        if rel not in files and ".." not in Path(rel).parts:
            (directory / rel).unlink(missing_ok=True)
    for rel, content in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    manifest.write_text("".join(f"{rel}\n" for rel in sorted(files)), encoding="utf-8")
    for sub in ("xsd", "json-schema"):
        folder = directory / sub
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def iter_refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` value in a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from iter_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from iter_refs(value)


__all__ = [
    "AckDocument",
    "AckError",
    "ExportError",
    "ExportResult",
    "FieldRow",
    "asyncapi_document",
    "error_codes",
    "export",
    "field_rows",
    "iter_refs",
    "model_rules",
    "type_json_schema",
]
