"""The message catalogue: which types exist, their XSDs and body models, and how to decode them.

A type is registered by writing a module in ``hub/schemas/`` that defines a ``Body`` subclass with
``TYPE`` and ``ROOT`` (discovered automatically, once per process), and its XSD
``hub/schemas/xsd/<type>.xsd``. XSDs are compiled once, lazily, with a parser that never touches the
network. EDIFACT payloads are decoded by ``hub.edifact.decode`` when that module exists.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import itertools
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree
from pydantic import ValidationError

from hub import codec
from hub.errors import ErrorDetail, MessageRejected
from hub.schemas.base import Body

if TYPE_CHECKING:
    from hub.config import SchemaType
    from hub.schema_only import SchemaOnlySpec

XSD_DIR = Path(__file__).parent / "schemas" / "xsd"

# Message types of partner contract version 1 (DESIGN.md section 3).
CONTRACT_TYPES: tuple[str, ...] = (
    "customs.release", "manifest.sea", "manifest.air", "arrival.iar", "bayplan", "idf", "ucr.issued",
    "customs.entry", "duty.assessment", "permit.application", "permit.status", "payment.confirmation",
    "delivery.order", "insurance.certificate", "eseal.event", "gate.event", "maintenance.notice",
    "consignment.status.request", "consignment.status.response", "ack",
)  # fmt: skip

_NOT_TYPES = frozenset({"base", "common"})
_DISCOVERED: dict[str, type[Body]] | None = None


def body_models() -> dict[str, type[Body]]:
    """Every body model in ``hub/schemas/*.py``, by type name (imported once, then cached)."""
    global _DISCOVERED
    if _DISCOVERED is None:
        import hub.schemas as pkg

        found: dict[str, type[Body]] = {}
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name in _NOT_TYPES or info.name.startswith("_"):
                continue
            module = importlib.import_module(f"hub.schemas.{info.name}")
            for _name, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, Body) and obj.__module__ == module.__name__ and "TYPE" in obj.__dict__:
                    if obj.TYPE in found:
                        raise RuntimeError(f"two body models for {obj.TYPE}: {found[obj.TYPE]} and {obj}")
                    found[obj.TYPE] = obj
        _DISCOVERED = found
    return _DISCOVERED


@dataclass(frozen=True)
class Limits:
    """Per-partner caps applied before and during parsing."""

    max_bytes: int = codec.DEFAULT_MAX_BYTES
    max_depth: int = codec.DEFAULT_MAX_DEPTH


@dataclass
class MessageSpec:
    name: str
    model: type[Body]

    @property
    def root(self) -> str:
        return self.model.ROOT

    @property
    def namespace(self) -> str:
        return codec.namespace_for(self.name)

    @property
    def xsd_path(self) -> Path:
        return XSD_DIR / f"{self.name}.xsd"

    @cached_property
    def schema(self) -> etree.XMLSchema:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        doc = etree.parse(str(self.xsd_path), parser)
        return etree.XMLSchema(doc)


class Catalogue:
    def __init__(self, schema_types: Iterable[SchemaType] = ()) -> None:
        """The canonical types of ``hub/schemas/`` plus the config's schema-only types (``hub.schema_only``)."""
        self._specs: dict[str, MessageSpec] = {}
        self._by_root: dict[str, str] = {}
        for msg_type, model in body_models().items():
            self._specs[msg_type] = MessageSpec(msg_type, model)
            self._by_root[f"{{{codec.namespace_for(msg_type)}}}{model.ROOT}"] = msg_type
        self._schema_only: dict[str, SchemaOnlySpec] = {}
        if schema_types:
            from hub.schema_only import SchemaOnlySpec

            for st in schema_types:
                spec = self._schema_only[st.name] = SchemaOnlySpec.from_config(st)
                self._specs[st.name] = spec
                self._by_root[spec.root_tag] = st.name

    def types(self) -> list[str]:
        return sorted(self._specs)

    def spec(self, msg_type: str) -> MessageSpec:
        spec = self._specs.get(msg_type)
        if spec is None:
            raise MessageRejected.one("TYPE_UNKNOWN", f"unknown message type {msg_type!r}")
        return spec

    def type_of_root(self, tag: str) -> str | None:
        return self._by_root.get(tag)

    def decode(
        self, body: bytes, content_type: str, declared_type: str, limits: Limits = Limits()
    ) -> Body:
        """Validate a payload of the declared type and return its body model, or raise MessageRejected."""
        codec.check_size(body, limits.max_bytes)
        spec = self.spec(declared_type)
        if declared_type in self._schema_only:
            return self._schema_only[declared_type].decode(body, content_type, limits)
        if content_type == codec.XML_CT:
            return self._decode_xml(body, spec, limits)
        if content_type == codec.JSON_CT:
            return self._decode_json(body, spec, limits)
        if content_type == codec.EDIFACT_CT and importlib.util.find_spec("hub.edifact") is not None:
            edifact = importlib.import_module("hub.edifact")
            decoded: Body = edifact.decode(body, declared_type, limits)
            return decoded
        raise MessageRejected.one(
            "CONTENT_TYPE_UNSUPPORTED",
            f"content_type {content_type!r} is not supported for {declared_type}",
        )

    def _decode_xml(self, body: bytes, spec: MessageSpec, limits: Limits) -> Body:
        root = codec.parse_xml(body, limits.max_depth)
        found = self.type_of_root(root.tag)
        if found != spec.name:
            qname = etree.QName(root)
            raise MessageRejected.one(
                "TYPE_MISMATCH",
                f"declared type {spec.name} but the root element is {qname.localname} in "
                f"namespace {qname.namespace or '(none)'}; expected {spec.root} in {spec.namespace}",
                "/" + qname.localname,
                root.sourceline,
            )
        schema = spec.schema
        if not schema.validate(root):
            details = [
                ErrorDetail("XML_SCHEMA", e.message, _schema_path(root, e.path), e.line)
                for e in itertools.islice(schema.error_log, codec.MAX_ERRORS)  # locate only what is reported
            ]
            raise MessageRejected(details)
        try:
            return spec.model.model_validate(codec.xml_to_dict(root, spec.model))
        except ValidationError as exc:
            raise MessageRejected(codec.validation_details(exc, "XML_SCHEMA", root)) from exc

    def _decode_json(self, body: bytes, spec: MessageSpec, limits: Limits) -> Body:
        data = codec.parse_json(body, limits.max_depth)
        if not isinstance(data, dict):
            raise MessageRejected.one("JSON_SCHEMA", "the document must be a JSON object", "/")
        found = data.pop("messageType", None)
        if found != spec.name:
            raise MessageRejected.one(
                "TYPE_MISMATCH",
                f"declared type {spec.name} but messageType is {found!r}",
                "/messageType",
            )
        try:
            return spec.model.model_validate(data)
        except ValidationError as exc:
            raise MessageRejected(codec.validation_details(exc, "JSON_SCHEMA")) from exc

    def delivery_content_type(self, body: Body, wanted: str) -> str:
        """The content type a recipient asking for ``wanted`` gets: a schema-only type has only its XML form,
        and EDIFACT is written only for the types ``hub.edifact.ENCODABLE`` names (others go as XML)."""
        if wanted == codec.EDIFACT_CT:
            from hub.edifact import ENCODABLE

            return wanted if body.TYPE in ENCODABLE and body.TYPE not in self._schema_only else codec.XML_CT
        return codec.XML_CT if body.TYPE in self._schema_only else wanted

    def encode(self, body: Body, content_type: str, *, recipient: str = "", control_ref: str = "") -> bytes:
        """XML, JSON, or EDIFACT (customs.release as CUSRES, in an interchange addressed to ``recipient``
        with control reference ``control_ref``); anything else raises ValueError."""
        if content_type == codec.EDIFACT_CT and body.TYPE not in self._schema_only:
            from hub import edifact

            return edifact.encode(body, recipient or "UNKNOWN", control_ref or edifact.control_ref(body.TYPE))
        if body.TYPE in self._schema_only:
            return self._schema_only[body.TYPE].encode(body, content_type)
        if content_type == codec.JSON_CT:
            return codec.model_to_json(body)
        if content_type == codec.XML_CT:
            return codec.model_to_xml(body)
        raise ValueError(f"cannot encode {body.TYPE} as {content_type}")


def _schema_path(root: etree._Element, path: str | None) -> str | None:
    """libxml2 names elements of a default namespace ``/*/*[3]``: resolve that against the document
    and give the local-name path of ``codec.tree_path`` (e.g. ``/CustomsRelease/StatusCode``)."""
    if path and "*" in path:
        try:
            found = root.getroottree().xpath(path)
        except etree.XPathError:
            found = None
        if isinstance(found, list) and found and isinstance(found[0], etree._Element):
            return codec.tree_path(found[0])
    return _clean_path(path)


def _clean_path(path: str | None) -> str | None:
    """lxml reports ``/*[local-name()='X']``-style or prefixed paths; keep local names only."""
    if not path:
        return path
    import re

    path = re.sub(r"\*\[local-name\(\)\s*=\s*'([^']+)'\]", r"\1", path)
    return re.sub(r"/[A-Za-z0-9_]+:", "/", path)


def known_types() -> list[str]:
    """Every message type the catalogue decodes (a subset of CONTRACT_TYPES)."""
    return sorted(body_models())
