"""Hardened decoding and generic encoding of catalogue messages (XML and JSON forms).

Decoding order, cheapest refusal first: size cap (before any parsing), then the parser (lxml with no
entity resolution, no DTD, no network, never XInclude; JSON with duplicate keys, NaN and huge numbers
refused), depth cap, type agreement, XSD validation (lxml/libxml2 on the hot path), then the pydantic
body model, whose validators check identifiers (check digits) with their own error codes.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any, get_args, get_origin

from lxml import etree
from pydantic import BaseModel, ValidationError

from hub.errors import ErrorDetail, MessageRejected
from hub.schemas.base import Body, Measure

NS_PREFIX = "urn:ke:nesws:hub:"
XML_CT = "application/xml"
JSON_CT = "application/json"
EDIFACT_CT = "application/edifact"
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64
MAX_ERRORS = 20  # errors reported per message: locating each costs a tree walk, so never locate more
_MAX_INT_DIGITS = 30
_MAX_EXPONENT = 30


def namespace_for(msg_type: str) -> str:
    return f"{NS_PREFIX}{msg_type}:1"


class _NoExternalResources(etree.Resolver):  # type: ignore[misc]  # lxml ships no stubs
    """Answers every external resource with nothing. Even with load_dtd=False and resolve_entities=False,
    libxml2 opens local files named by a DOCTYPE's external subset or a parameter entity (only the network
    is off), which told a sender whether a file exists and could block on a FIFO before the DOCTYPE is
    refused; with this resolver nothing is opened and the DOCTYPE is refused as XML_ENTITY_FORBIDDEN."""

    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        return self.resolve_string("", context)


def _parser() -> etree.XMLParser:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
        collect_ids=False,
    )
    parser.resolvers.add(_NoExternalResources())
    return parser


_PARSER = _parser()


def check_size(body: bytes, max_bytes: int) -> None:
    """Refuse a payload over the cap before any parser sees it."""
    if len(body) > max_bytes:
        raise MessageRejected.one(
            "PAYLOAD_TOO_LARGE", f"payload is {len(body)} bytes; the limit is {max_bytes}"
        )


def parse_xml(body: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> etree._Element:
    """Parse untrusted XML. A DOCTYPE (and so any entity declaration) is refused outright."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        msg = str(exc.msg or exc)
        if "depth" in msg.lower() or "nesting" in msg.lower():
            raise MessageRejected.one("XML_TOO_DEEP", "XML nesting exceeds the parser's limit") from exc
        if "entity" in msg.lower():
            raise MessageRejected.one("XML_ENTITY_FORBIDDEN", "entities are not allowed") from exc
        raise MessageRejected.one("XML_MALFORMED", f"not well-formed XML: {msg}", None, exc.lineno) from exc
    except ValueError as exc:  # e.g. unicode strings with an encoding declaration
        raise MessageRejected.one("XML_MALFORMED", f"not well-formed XML: {exc}") from exc
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise MessageRejected.one(
            "XML_ENTITY_FORBIDDEN", "a DOCTYPE (DTD or entity declaration) is not allowed", None, 1
        )
    _check_xml_depth(root, max_depth)
    return root


def _check_xml_depth(root: etree._Element, max_depth: int) -> None:
    stack: list[tuple[etree._Element, int]] = [(root, 1)]
    while stack:
        el, depth = stack.pop()
        if depth > max_depth:
            raise MessageRejected.one(
                "XML_TOO_DEEP", f"XML nesting deeper than {max_depth}", tree_path(el), el.sourceline
            )
        stack.extend((child, depth + 1) for child in el if isinstance(child.tag, str))


def tree_path(el: etree._Element) -> str:
    """The element's path with local names and 1-based positions, e.g. ``/SeaManifest/Consignment[2]/ID``."""
    parts: list[str] = []
    node: etree._Element | None = el
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/" + "/".join(reversed(parts))


def _pascal(alias: str) -> str:
    return alias[:1].upper() + alias[1:]


# ---------------------------------------------------------------- XML <-> dict, guided by the model


def _field_shape(annotation: Any) -> tuple[bool, type[BaseModel] | None]:
    """(is_list, nested model class or None) for a field annotation."""
    is_list = False
    ann = annotation
    for _ in range(3):
        origin = get_origin(ann)
        if origin in (list, tuple):
            is_list = True
            ann = get_args(ann)[0]
            continue
        if origin is not None:  # Optional / Union / Annotated
            args = [a for a in get_args(ann) if a is not type(None)]
            if len(args) == 1 or (args and not isinstance(args[0], type)):
                ann = args[0]
                continue
        break
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return is_list, ann
    return is_list, None


_SHAPES: dict[type[BaseModel], dict[str, tuple[str, bool, type[BaseModel] | None]]] = {}


def _shapes(model: type[BaseModel]) -> dict[str, tuple[str, bool, type[BaseModel] | None]]:
    """Element name -> (json alias, is_list, nested model) for a model, cached per class."""
    shapes = _SHAPES.get(model)
    if shapes is None:
        shapes = {}
        for name, field in model.model_fields.items():
            alias = field.alias or name
            is_list, nested = _field_shape(field.annotation)
            shapes[_pascal(alias)] = (alias, is_list, nested)
        _SHAPES[model] = shapes
    return shapes


def xml_to_dict(el: etree._Element, model: type[BaseModel]) -> dict[str, Any]:
    """Turn an XSD-valid element into the dict the model validates (camelCase keys)."""
    if model is Measure:
        return {"value": (el.text or "").strip(), "unitCode": el.get("unitCode")}
    shapes = _shapes(model)
    out: dict[str, Any] = {}
    for child in el:
        if not isinstance(child.tag, str):
            continue
        local = child.tag.rpartition("}")[2]
        shape = shapes.get(local)
        if shape is None:  # the XSD already refused unknown elements; keep the model strict anyway
            out[local] = None
            continue
        alias, is_list, nested = shape
        value: Any = xml_to_dict(child, nested) if nested is not None else (child.text or "")
        if is_list:
            out.setdefault(alias, []).append(value)
        else:
            out[alias] = value
    return out


def model_to_xml(body: Body) -> bytes:
    """Encode a body model as XML following the catalogue convention (valid against its XSD)."""
    ns = namespace_for(body.TYPE)
    root = etree.Element(f"{{{ns}}}{body.ROOT}", nsmap={None: ns})
    _fill(root, body, ns)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _fill(parent: etree._Element, model: BaseModel, ns: str) -> None:
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if value is None:
            continue
        tag = f"{{{ns}}}{_pascal(field.alias or name)}"
        for item in value if isinstance(value, (list, tuple)) else [value]:
            child = etree.SubElement(parent, tag)
            if isinstance(item, Measure):
                child.text = _text(item.value)
                child.set("unitCode", item.unit_code)
            elif isinstance(item, BaseModel):
                _fill(child, item, ns)
            else:
                child.text = _text(item)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, Decimal):  # xs:decimal has no exponent form: 2.48E+4 must be written 24800
        return format(value, "f")
    if hasattr(value, "value"):  # enums
        return str(value.value)
    return str(value)


def model_to_json(body: Body) -> bytes:
    data = body.model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.dumps({"messageType": body.TYPE, **data}, separators=(",", ":")).encode()


# ---------------------------------------------------------------- strict JSON


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MessageRejected.one("JSON_DUPLICATE_KEY", f"duplicate key {key!r}")
        out[key] = value
    return out


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise MessageRejected.one("JSON_NUMBER_INVALID", f"integer with {len(text)} digits")
    return int(text)


def _parse_float(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise MessageRejected.one("JSON_NUMBER_INVALID", "malformed number") from exc
    exponent = value.as_tuple().exponent
    if not value.is_finite() or (isinstance(exponent, int) and abs(exponent) > _MAX_EXPONENT):
        raise MessageRejected.one("JSON_NUMBER_INVALID", f"number out of range: {text[:40]}")
    if len(text) > 64:
        raise MessageRejected.one("JSON_NUMBER_INVALID", f"number with {len(text)} characters")
    return value


def _parse_constant(text: str) -> Any:
    raise MessageRejected.one("JSON_NUMBER_INVALID", f"{text} is not allowed")


def parse_json(body: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MessageRejected.one("JSON_MALFORMED", "JSON must be UTF-8") from exc
    try:
        data = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except RecursionError as exc:
        raise MessageRejected.one("JSON_TOO_DEEP", "JSON nesting exceeds the limit") from exc
    except json.JSONDecodeError as exc:
        raise MessageRejected.one(
            "JSON_MALFORMED", f"not well-formed JSON: {exc.msg}", None, exc.lineno
        ) from exc
    _check_json_depth(data, max_depth)
    return data


def _check_json_depth(data: Any, max_depth: int) -> None:
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise MessageRejected.one("JSON_TOO_DEEP", f"JSON nesting deeper than {max_depth}")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


# ---------------------------------------------------------------- pydantic errors -> error details

_HUB_CODE = re.compile(r"^[A-Z][A-Z0-9_]+$")


def validation_details(
    exc: ValidationError, fallback_code: str, root: etree._Element | None = None
) -> list[ErrorDetail]:
    """Translate pydantic errors: identifier validators raise hub codes; anything else is the fallback."""
    details: list[ErrorDetail] = []
    for err in exc.errors(include_input=False, include_url=False)[:MAX_ERRORS]:
        code = err["type"] if _HUB_CODE.match(err["type"]) else fallback_code
        loc = [str(p) for p in err["loc"]]
        if root is not None:
            path, line = _xml_location(root, err["loc"])
        else:
            path, line = "/" + "/".join(loc), None
        details.append(ErrorDetail(code, err["msg"], path, line))
    return details


def _xml_location(root: etree._Element, loc: tuple[Any, ...]) -> tuple[str, int | None]:
    el = root
    for part in loc:
        if isinstance(part, int):
            continue
        name = _pascal(str(part))
        matches = [c for c in el if isinstance(c.tag, str) and c.tag.rpartition("}")[2] == name]
        if not matches:
            break
        idx = next((p for p in loc[loc.index(part) + 1 : loc.index(part) + 2] if isinstance(p, int)), 0)
        el = matches[min(idx, len(matches) - 1)]
    return tree_path(el), el.sourceline
