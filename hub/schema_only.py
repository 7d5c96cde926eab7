"""Schema-only partner types: a message type registered from a partner's XSD alone (``config/types.yaml``).

Such a type has no canonical model, so the hub knows only what the XSD says. A message of it is decoded
in this order (the same caps and hardened parser as every other type): size cap, ``application/xml``
only (there is no JSON or EDIFACT form: ``CONTENT_TYPE_UNSUPPORTED``), well-formedness and depth, the
root element must be the XSD's own global element (an XSD also accepts the global elements of the
files it includes, so validation alone would let those through: ``TYPE_MISMATCH``), XSD validation
(``XML_SCHEMA`` with path and line), then the routing keys are read with the configured XPaths.

Keys mapped to hub identifiers are checked as the hub checks them everywhere: the UCR (``UCR_FORMAT``)
and references of a kind the hub has a validator for (container, MRN, entry number, air waybill, UCR),
each with its own code and the element's path and line. Party identifiers are not checked: they only
select ``own`` recipients, and one that matches no registry entry selects nobody.

Deliveries carry the original bytes as ``application/xml`` to every recipient, whatever its
``receive_format``: there is no other form to re-encode to (``Catalogue.delivery_content_type``).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from lxml import etree
from pydantic_core import PydanticCustomError

from hub import codec
from hub.catalogue import Limits, MessageSpec, _schema_path
from hub.errors import ErrorDetail, MessageRejected
from hub.identifiers import check_awb, check_container, check_entry_number, check_mrn, check_ucr
from hub.schemas.base import Body, Keys, Party, Reference, RefKind

if TYPE_CHECKING:
    from hub.config import PartyXPath, SchemaType

XS = "{http://www.w3.org/2001/XMLSchema}"
MAX_VALUES_PER_XPATH = 1000  # a key XPath selecting more nodes than this keeps the first 1000
MAX_UNCHECKED_CHARS = 256  # an unchecked reference or party value longer than this is no identifier: ignored
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")

# Reference kinds whose values the hub knows how to check (the same validators as the canonical types).
REFERENCE_CHECKS: dict[RefKind, Callable[[str], str]] = {
    RefKind.UCR: check_ucr,
    RefKind.CONTAINER: check_container,
    RefKind.MRN: check_mrn,
    RefKind.ENTRY: check_entry_number,
    RefKind.AWB: check_awb,
    RefKind.MASTER_AWB: check_awb,
    RefKind.HOUSE_AWB: check_awb,
}


class SchemaTypeError(ValueError):
    """A problem with a schema-only type's XSD or XPaths; ``key`` is the types.yaml key it concerns."""

    def __init__(self, message: str, key: str = "schema") -> None:
        super().__init__(message)
        self.key = key


# ---------------------------------------------------------------- the XSD


def _xsd_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _parse_xsd(path: Path) -> etree._ElementTree:
    try:
        return etree.parse(str(path), _xsd_parser())
    except (OSError, etree.XMLSyntaxError) as exc:
        raise SchemaTypeError(f"{path.name} is not a readable XML document: {exc}") from exc


def _check_includes(path: Path, seen: set[Path]) -> None:
    """Every xs:include/import/redefine/override must name a local file by a relative path: libxml2 loads
    them itself, and the hub never fetches a schema over the network or from an absolute location."""
    for el in _parse_xsd(path).getroot().iter(f"{XS}include", f"{XS}import", f"{XS}redefine", f"{XS}override"):
        location = el.get("schemaLocation")
        if location is None:  # an xs:import by namespace only: nothing is loaded
            continue
        if _SCHEME.match(location) or location.startswith(("/", "\\")):
            raise SchemaTypeError(
                f"{path.name} line {el.sourceline} loads {location!r}: only relative paths to local files are "
                "allowed (copy the schema next to it; the hub never fetches schemas over the network)"
            )
        target = (path.parent / location).resolve()
        if not target.is_file():
            raise SchemaTypeError(f"{path.name} line {el.sourceline} loads {location!r}, which does not exist")
        if target not in seen:
            seen.add(target)
            _check_includes(target, seen)


_COMPILED: dict[tuple[str, int], etree.XMLSchema] = {}


def compile_xsd(path: Path) -> etree.XMLSchema:
    """Compile an XSD once per process (keyed by path and modification time), refusing remote includes."""
    key = (str(path), os.stat(path).st_mtime_ns)
    schema = _COMPILED.get(key)
    if schema is None:
        _check_includes(path, {path.resolve()})
        try:
            schema = etree.XMLSchema(_parse_xsd(path))
        except etree.XMLSchemaParseError as exc:
            raise SchemaTypeError(f"{path.name} does not compile as an XML Schema: {exc}") from exc
        _COMPILED[key] = schema
    return schema


def inspect_xsd(path: Path, root: str | None) -> tuple[str | None, str]:
    """Compile the XSD and return (target namespace, root element name).

    The root is the schema document's own global element (not those of the files it includes); when it
    declares several, ``root`` must name one of them.
    """
    compile_xsd(path)
    doc = _parse_xsd(path).getroot()
    namespace = doc.get("targetNamespace") or None
    names = [el.get("name") for el in doc.iterchildren(f"{XS}element") if el.get("name")]
    if root is not None:
        if root not in names:
            raise SchemaTypeError(
                f"{root!r} is not a global element of {path.name} (it declares: {', '.join(names) or 'none'})",
                "root",
            )
        return namespace, root
    if len(names) != 1:
        raise SchemaTypeError(
            f"{path.name} declares {len(names)} global elements ({', '.join(names) or 'none'}); "
            "set root to the one messages use",
            "root",
        )
    return namespace, str(names[0])


def compile_xpath(expr: str, namespaces: dict[str, str]) -> etree.XPath:
    """Compile an XPath 1.0 expression and evaluate it once on an empty element, so that an undefined
    prefix or an unknown function is found at start-up rather than on the first message."""
    try:
        xpath = etree.XPath(expr, namespaces=namespaces)
        xpath(etree.Element("probe"))
    except etree.XPathSyntaxError as exc:
        raise SchemaTypeError(f"not a valid XPath 1.0 expression: {exc}") from exc
    except etree.XPathError as exc:
        raise SchemaTypeError(f"cannot be evaluated: {exc} (declare prefixes under namespaces)") from exc
    except (TypeError, ValueError) as exc:  # e.g. an empty namespace prefix
        raise SchemaTypeError(f"bad namespaces: {exc}", "namespaces") from exc
    return xpath


# ---------------------------------------------------------------- the body and the spec


class SchemaOnlyBody(Body):
    """A validated message of a schema-only type: the document exactly as received and the keys read
    from it. Each registered type gets a subclass setting ``TYPE`` and ``ROOT`` (``SchemaOnlySpec``);
    this module is outside ``hub/schemas/``, so the catalogue never mistakes it for a canonical type."""

    document: bytes
    extracted: Keys = Keys()

    def keys(self) -> Keys:
        return self.extracted


@dataclass
class SchemaOnlySpec(MessageSpec):
    """A catalogue entry for a schema-only type (built from a ``SchemaType`` of ``types.yaml``)."""

    config: SchemaType
    target_namespace: str | None

    @classmethod
    def from_config(cls, config: SchemaType) -> SchemaOnlySpec:
        path = Path(config.xsd)
        namespace, root = inspect_xsd(path, config.root)
        model = type(
            "SchemaOnly_" + re.sub(r"\W", "_", config.name),
            (SchemaOnlyBody,),
            {"TYPE": config.name, "ROOT": root, "__module__": __name__},
        )
        return cls(config.name, model, config, namespace)

    @property
    def namespace(self) -> str:
        return self.target_namespace or ""

    @property
    def xsd_path(self) -> Path:
        return Path(self.config.xsd)

    @property
    def root_tag(self) -> str:
        return f"{{{self.target_namespace}}}{self.root}" if self.target_namespace else self.root

    @cached_property
    def schema(self) -> etree.XMLSchema:
        return compile_xsd(self.xsd_path)

    @cached_property
    def _xpaths(
        self,
    ) -> tuple[etree.XPath | None, list[tuple[RefKind, etree.XPath]], list[tuple[PartyXPath, etree.XPath]]]:
        ns = dict(self.config.namespaces)
        ucr = compile_xpath(self.config.ucr_xpath, ns) if self.config.ucr_xpath else None
        refs = [(kind, compile_xpath(expr, ns)) for kind, expr in self.config.references.items()]
        parties = [(p, compile_xpath(p.xpath, ns)) for p in self.config.parties]
        return ucr, refs, parties

    def decode(self, body: bytes, content_type: str, limits: Limits) -> Body:
        if content_type != codec.XML_CT:
            raise MessageRejected.one(
                "CONTENT_TYPE_UNSUPPORTED",
                f"{self.name} is a schema-only type registered from an XSD: only {codec.XML_CT} is accepted, "
                f"not {content_type!r}",
            )
        root = codec.parse_xml(body, limits.max_depth)
        if root.tag != self.root_tag:
            qname = etree.QName(root)
            raise MessageRejected.one(
                "TYPE_MISMATCH",
                f"declared type {self.name} but the root element is {qname.localname} in namespace "
                f"{qname.namespace or '(none)'}; expected {self.root} in {self.namespace or '(none)'}",
                "/" + qname.localname,
                root.sourceline,
            )
        schema = self.schema
        if not schema.validate(root):
            details = [
                ErrorDetail("XML_SCHEMA", e.message, _schema_path(root, e.path), e.line)
                for e in itertools.islice(schema.error_log, codec.MAX_ERRORS)  # locate only what is reported
            ]
            raise MessageRejected(details)
        keys = self.extract_keys(root)
        return self.model.model_validate({"document": body, "extracted": keys})

    def encode(self, body: Body, content_type: str) -> bytes:
        """The original document, exactly as received; there is no other form."""
        if not isinstance(body, SchemaOnlyBody) or content_type != codec.XML_CT:
            raise ValueError(f"{self.name} is a schema-only type: it is delivered as {codec.XML_CT} only")
        return body.document

    def extract_keys(self, root: etree._Element) -> Keys:
        """The UCR, references and parties selected by the configured XPaths (values stripped, empty ones
        and repeats dropped); identifiers the hub can check are checked, every failure reported."""
        ucr_xpath, ref_xpaths, party_xpaths = self._xpaths
        errors: list[ErrorDetail] = []
        ucr: str | None = None
        if ucr_xpath is not None:
            for value, node in _values(ucr_xpath, root)[:1]:  # the first value in document order
                ucr = _checked(check_ucr, value, node, errors)
        references: list[Reference] = []
        for kind, xpath in ref_xpaths:
            check = REFERENCE_CHECKS.get(kind)
            for value, node in _values(xpath, root):
                if check is None and len(value) > MAX_UNCHECKED_CHARS:
                    continue
                checked = _checked(check, value, node, errors) if check else value
                if checked is not None and all(r.kind != kind or r.value != checked for r in references):
                    references.append(Reference(kind=kind, value=checked))
        parties: list[Party] = []
        for spec, xpath in party_xpaths:
            for value, _node in _values(xpath, root):
                if len(value) > MAX_UNCHECKED_CHARS:
                    continue
                party = Party(role=spec.role, scheme=spec.scheme, id=value)
                if party not in parties:
                    parties.append(party)
        if errors:
            raise MessageRejected(errors[:20])
        return Keys(ucr=ucr, references=tuple(references), parties=tuple(parties))


def _values(xpath: etree.XPath, root: etree._Element) -> list[tuple[str, etree._Element | None]]:
    """Non-empty string values an XPath selects, each with the element it came from (for path and line)."""
    result = xpath(root)
    items = result if isinstance(result, list) else [result]
    out: list[tuple[str, etree._Element | None]] = []
    for item in items:
        node: etree._Element | None
        if isinstance(item, etree._Element):
            if not isinstance(item.tag, str):  # a comment or processing instruction
                continue
            text, node = "".join(item.itertext()), item
        elif isinstance(item, str):
            parent = item.getparent() if hasattr(item, "getparent") else None
            text, node = str(item), parent if isinstance(parent, etree._Element) else None
        else:  # numbers and booleans are not identifiers
            continue
        text = text.strip()
        if text:
            out.append((text, node))
        if len(out) >= MAX_VALUES_PER_XPATH:
            break
    return out


def _checked(
    check: Callable[[str], str], value: str, node: etree._Element | None, errors: list[ErrorDetail]
) -> str | None:
    try:
        return check(value)
    except PydanticCustomError as exc:
        path = codec.tree_path(node) if node is not None else None
        errors.append(ErrorDetail(exc.type, exc.message(), path, node.sourceline if node is not None else None))
        return None
