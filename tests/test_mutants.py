"""Mutants of every valid example (all types, XML and JSON; the examples tree is walked at test time), each
of which must be rejected with the right code:

- ``check``: an identifier's check digit changed (the fields are found through the identifier ``Annotated``
  types of hub/identifiers.py on the body model) -> CONTAINER/IMO/AWB/MRN_CHECK_DIGIT;
- ``drop``: a required element/key removed (required by the model, or minOccurs >= 1 outside any xs:choice
  in the XSD) -> XML_SCHEMA / JSON_SCHEMA;
- ``code``: a code-list value (an element, attribute or JSON key whose XSD simple type is an enumeration)
  replaced by a value not in the list -> XML_SCHEMA / JSON_SCHEMA;
- ``swap``: the type swapped, either the declared type or the document's root element / ``messageType``
  set to each other type of the catalogue -> TYPE_MISMATCH.

Nothing is written per type: targets come from the body model's fields and the type's XSD. Where a
mutant comes from the XSD (an XSD-required element, an enumeration), the XSD itself must refuse the XML
mutant, and the JSON form must be refused too (the JSON form is held to what the XSD checks).
EDIFACT examples (.edi) are left to the EDIFACT tests. ``python -m tests.test_mutants`` prints the counts.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from lxml import etree
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo

from hub import codec
from hub.catalogue import Catalogue, MessageSpec
from hub.errors import MessageRejected
from hub.identifiers import AwbNumber, ContainerNumber, ImoNumber, Mrn

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CONTENT_TYPES = {".xml": codec.XML_CT, ".json": codec.JSON_CT}
XS = "{http://www.w3.org/2001/XMLSchema}"
NOT_A_CODE = "NOT_IN_CODE_LIST"
_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _validator(annotated: Any) -> Any:
    (meta,) = [m for m in get_args(annotated)[1:] if isinstance(m, AfterValidator)]
    return meta.func


# identifier type -> the code a wrong check digit must produce
CHECK_CODES: dict[Any, str] = {
    _validator(ContainerNumber): "CONTAINER_CHECK_DIGIT",
    _validator(ImoNumber): "IMO_CHECK_DIGIT",
    _validator(AwbNumber): "AWB_CHECK_DIGIT",
    _validator(Mrn): "MRN_CHECK_DIGIT",
}
KINDS = ("check", "drop", "code", "swap")


def valid_examples() -> list[Path]:
    return sorted(p for p in EXAMPLES.glob("*/valid/*") if p.suffix in CONTENT_TYPES)


# ---------------------------------------------------------------- the model side


def _metadata(annotation: Any) -> Iterator[Any]:
    """Every Annotated metadata item inside an annotation (through Optional, unions, tuples and lists)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        args = get_args(annotation)
        yield from args[1:]
        yield from _metadata(args[0])
    elif origin in (Union, UnionType, list, tuple):
        for arg in get_args(annotation):
            if arg is not Ellipsis:
                yield from _metadata(arg)


def check_code(field: FieldInfo | None) -> str | None:
    """The CHECK_DIGIT code of the identifier type of a field, if it is one."""
    if field is None:
        return None
    for meta in [*field.metadata, *_metadata(field.annotation)]:
        if isinstance(meta, AfterValidator) and meta.func in CHECK_CODES:
            return CHECK_CODES[meta.func]
    return None


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The model class a field holds (alone, optional, or repeated), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Annotated, Union, UnionType, list, tuple):
        found = {m for a in get_args(annotation) if a is not Ellipsis and (m := nested_model(a)) is not None}
        if len(found) == 1:
            return found.pop()
    return None


def fields_by_alias(model: type[BaseModel] | None) -> dict[str, FieldInfo]:
    if model is None:
        return {}
    return {(f.alias or name): f for name, f in model.model_fields.items()}


def _pascal(alias: str) -> str:
    return alias[:1].upper() + alias[1:]


# ---------------------------------------------------------------- the XSD side


def _local(qname: str | None) -> str:
    return (qname or "").rpartition(":")[2]


@dataclass(frozen=True)
class Decl:
    """A child element declared in a complex type."""

    node: etree._Element  # the xs:element (after following ref=)
    required: bool  # minOccurs >= 1, not inside an xs:choice, in a required group


class Xsd:
    """Just enough of an XSD (and what it includes) to say, for the elements and attributes of a document
    following the catalogue convention, their declared types, which are required and which are code lists."""

    def __init__(self, path: Path) -> None:
        self.named: dict[str, dict[str, etree._Element]] = {
            k: {} for k in ("complexType", "simpleType", "element", "group", "attributeGroup", "attribute")
        }
        self._load(path.resolve(), set())

    def _load(self, path: Path, seen: set[Path]) -> None:
        if path in seen or not path.is_file():
            return
        seen.add(path)
        for child in etree.parse(str(path), _SAFE).getroot():
            if not isinstance(child.tag, str):
                continue
            tag = etree.QName(child).localname
            if tag in ("include", "import", "redefine"):
                loc = child.get("schemaLocation")
                if loc and "://" not in loc:
                    self._load((path.parent / loc).resolve(), seen)
            elif tag in self.named and child.get("name"):
                self.named[tag][child.get("name") or ""] = child

    def type_of(self, decl: etree._Element) -> etree._Element | str | None:
        """An element's or attribute's type: a complexType/simpleType node, or a built-in's name."""
        if decl.get("ref"):
            kind = "attribute" if etree.QName(decl).localname == "attribute" else "element"
            target = self.named[kind].get(_local(decl.get("ref")))
            return None if target is None else self.type_of(target)
        type_name = decl.get("type")
        if type_name:
            name = _local(type_name)
            return self._named_type(name, "complexType", "simpleType")
        inline = decl.find(f"{XS}complexType")
        return inline if inline is not None else decl.find(f"{XS}simpleType")

    def _named_type(self, name: str, *kinds: str) -> etree._Element | str:
        """A named type of one of ``kinds``, else the name itself (a built-in such as ``token``)."""
        for kind in kinds:
            node = self.named[kind].get(name)
            if node is not None:
                return node
        return name

    def root_type(self, root: str) -> etree._Element | str | None:
        decl = self.named["element"].get(root)
        return None if decl is None else self.type_of(decl)

    def children(self, ctype: etree._Element | str | None) -> dict[str, Decl]:
        out: dict[str, Decl] = {}
        if isinstance(ctype, etree._Element) and etree.QName(ctype).localname == "complexType":
            self._particles(ctype, True, out)
        return out

    def _particles(self, node: etree._Element, required: bool, out: dict[str, Decl]) -> None:
        for child in node:
            if not isinstance(child.tag, str):
                continue
            tag = etree.QName(child).localname
            min_ok = int(child.get("minOccurs", "1")) >= 1
            if tag == "element":
                target = child
                if child.get("ref"):
                    target = self.named["element"].get(_local(child.get("ref")), child)
                out[target.get("name") or ""] = Decl(target, required and min_ok)
            elif tag in ("sequence", "all"):
                self._particles(child, required and min_ok, out)
            elif tag == "choice":
                self._particles(child, False, out)
            elif tag == "group":
                group = self.named["group"].get(_local(child.get("ref")))
                if group is not None:
                    self._particles(group, required and min_ok, out)
            elif tag == "complexContent":
                for derivation in child:
                    if not isinstance(derivation.tag, str):
                        continue
                    base = self.named["complexType"].get(_local(derivation.get("base")))
                    if etree.QName(derivation).localname == "extension" and base is not None:
                        self._particles(base, required, out)
                    self._particles(derivation, required, out)

    def attributes(self, ctype: etree._Element | str | None) -> dict[str, etree._Element | str | None]:
        """Attribute name -> its type."""
        return {name: atype for name, (atype, _required) in self._attribute_decls(ctype).items()}

    def required_attributes(self, ctype: etree._Element | str | None) -> set[str]:
        return {name for name, (_atype, required) in self._attribute_decls(ctype).items() if required}

    def _attribute_decls(self, ctype: etree._Element | str | None) -> dict[str, tuple[Any, bool]]:
        out: dict[str, tuple[Any, bool]] = {}
        if isinstance(ctype, etree._Element) and etree.QName(ctype).localname == "complexType":
            self._attributes(ctype, out)
        return out

    def _attributes(self, node: etree._Element, out: dict[str, tuple[Any, bool]]) -> None:
        for child in node:
            if not isinstance(child.tag, str):
                continue
            tag = etree.QName(child).localname
            if tag == "attribute":
                name = child.get("name") or _local(child.get("ref"))
                out[name] = (self.type_of(child), child.get("use") == "required")
            elif tag == "attributeGroup":
                group = self.named["attributeGroup"].get(_local(child.get("ref")))
                if group is not None:
                    self._attributes(group, out)
            elif tag in ("simpleContent", "complexContent", "extension", "restriction"):
                base = self.named["complexType"].get(_local(child.get("base")))
                if base is not None:
                    self._attributes(base, out)
                self._attributes(child, out)

    def text_type(self, ctype: etree._Element | str | None) -> etree._Element | str | None:
        """The type of an element's text: the simple type itself, or a simpleContent's base."""
        if not isinstance(ctype, etree._Element) or etree.QName(ctype).localname == "simpleType":
            return ctype
        content = ctype.find(f"{XS}simpleContent")
        if content is None:
            return None
        for derivation in content:
            if isinstance(derivation.tag, str) and derivation.get("base"):
                name = _local(derivation.get("base"))
                return self._named_type(name, "simpleType", "complexType")
        return None

    def enumeration(self, stype: etree._Element | str | None, depth: int = 0) -> frozenset[str] | None:
        """The code list of a simple type (following restriction bases), or None if it is no code list."""
        if not isinstance(stype, etree._Element) or depth > 20:
            return None
        if etree.QName(stype).localname == "complexType":
            return self.enumeration(self.text_type(stype), depth + 1)
        restriction = stype.find(f"{XS}restriction")
        if restriction is None:
            return None
        values = frozenset(e.get("value") or "" for e in restriction.findall(f"{XS}enumeration"))
        if values:
            return values
        base = restriction.get("base")
        inner = restriction.find(f"{XS}simpleType")
        if base:
            return self.enumeration(self.named["simpleType"].get(_local(base)), depth + 1)
        return self.enumeration(inner, depth + 1)


_XSDS: dict[str, Xsd] = {}


def xsd_for(spec: MessageSpec) -> Xsd:
    if spec.name not in _XSDS:
        _XSDS[spec.name] = Xsd(spec.xsd_path)
    return _XSDS[spec.name]


# ---------------------------------------------------------------- mutants


@dataclass
class Mutant:
    kind: str  # check | drop | code | swap
    label: str
    data: bytes
    declared: str
    code: str
    xsd_refuses: bool = False  # the mutant comes from the XSD: the XSD alone must refuse the XML form


def _other_digit(value: str) -> str | None:
    if not value or not value[-1].isdigit():
        return None
    return value[:-1] + str((int(value[-1]) + 1) % 10)


def _xml_bytes(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _at(root: etree._Element, index_path: tuple[int, ...]) -> etree._Element:
    el = root
    for i in index_path:
        el = el[i]
    return el


def xml_mutants(catalogue: Catalogue, spec: MessageSpec, data: bytes) -> list[Mutant]:
    root = codec.parse_xml(data)
    xsd = xsd_for(spec)
    out: list[Mutant] = []
    dropped: set[str] = set()  # schema paths (no positions) already dropped once

    def mutant(kind: str, path: str, code: str, change: Callable[[etree._Element], None], xsd: bool) -> None:
        doc = copy.deepcopy(root)
        change(doc)
        fallback = "XML_SCHEMA"
        out.append(Mutant(kind, path, _xml_bytes(doc), spec.name, code or fallback, xsd))

    def set_text(ip: tuple[int, ...], text: str) -> Callable[[etree._Element], None]:
        def change(doc: etree._Element) -> None:
            _at(doc, ip).text = text

        return change

    def set_attr(ip: tuple[int, ...], name: str, text: str) -> Callable[[etree._Element], None]:
        def change(doc: etree._Element) -> None:
            _at(doc, ip).set(name, text)

        return change

    def drop_attr(ip: tuple[int, ...], name: str) -> Callable[[etree._Element], None]:
        def change(doc: etree._Element) -> None:
            del _at(doc, ip).attrib[name]

        return change

    def drop(ip: tuple[int, ...], tag: str) -> Callable[[etree._Element], None]:
        def change(doc: etree._Element) -> None:
            parent = _at(doc, ip)
            for child in [c for c in parent if c.tag == tag]:
                parent.remove(child)

        return change

    def walk(el: etree._Element, ip: tuple[int, ...], model: type[BaseModel] | None, ctype: Any, path: str) -> None:
        schema_path = "/".join(p.split("[")[0] for p in path.split("/"))
        for name, atype in xsd.attributes(ctype).items():
            values = xsd.enumeration(atype)
            if values and el.get(name) is not None and NOT_A_CODE not in values:
                mutant("code", f"{path}/@{name}", "XML_SCHEMA", set_attr(ip, name, NOT_A_CODE), True)
        for name in sorted(xsd.required_attributes(ctype)):
            if el.get(name) is not None and f"{schema_path}/@{name}" not in dropped:
                dropped.add(f"{schema_path}/@{name}")
                mutant("drop", f"{path}/@{name}", "XML_SCHEMA", drop_attr(ip, name), True)
        text_codes = xsd.enumeration(xsd.text_type(ctype))
        if text_codes and NOT_A_CODE not in text_codes and len(el) == 0:
            mutant("code", path, "XML_SCHEMA", set_text(ip, NOT_A_CODE), True)
        decls = xsd.children(ctype)
        fields = {_pascal(alias): f for alias, f in fields_by_alias(model).items()}
        present = {etree.QName(c).localname: c.tag for c in el if isinstance(c.tag, str)}
        for name, tag in present.items():
            decl = decls.get(name)
            field = fields.get(name)
            by_xsd = decl is not None and decl.required
            by_model = field is not None and field.is_required()
            if (by_xsd or by_model) and f"{schema_path}/{name}" not in dropped:
                dropped.add(f"{schema_path}/{name}")
                mutant("drop", f"{path}/{name}", "XML_SCHEMA", drop(ip, tag), by_xsd)
        seen: Counter[str] = Counter()
        for i, child in enumerate(el):
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            seen[name] += 1
            child_path = f"{path}/{name}[{seen[name]}]"
            field = fields.get(name)
            decl = decls.get(name)
            child_type = xsd.type_of(decl.node) if decl is not None else None
            code = check_code(field)
            flipped = _other_digit(child.text or "")
            if code and flipped:
                mutant("check", child_path, code, set_text((*ip, i), flipped), False)
            child_model = nested_model(field.annotation) if field is not None else None
            if child_model is not None or len(child) or xsd.attributes(child_type):
                walk(child, (*ip, i), child_model, child_type, child_path)
            else:
                values = xsd.enumeration(child_type)
                if values and NOT_A_CODE not in values:
                    mutant("code", child_path, "XML_SCHEMA", set_text((*ip, i), NOT_A_CODE), True)

    walk(root, (), spec.model, xsd.root_type(spec.root), "/" + spec.root)
    for other in catalogue.types():
        if other == spec.name:
            continue
        out.append(Mutant("swap", f"declared {other}", data, other, "TYPE_MISMATCH"))
        other_spec = catalogue.spec(other)
        doc = copy.deepcopy(root)
        doc.tag = f"{{{other_spec.namespace}}}{other_spec.root}"
        out.append(Mutant("swap", f"root {other_spec.root}", _xml_bytes(doc), spec.name, "TYPE_MISMATCH"))
    return out


def _json_at(doc: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def json_mutants(catalogue: Catalogue, spec: MessageSpec, data: bytes) -> list[Mutant]:
    original = json.loads(data)
    xsd = xsd_for(spec)
    out: list[Mutant] = []
    dropped: set[str] = set()

    def mutant(kind: str, path: tuple[str | int, ...], code: str, value: Any, xsd: bool, remove: bool = False) -> None:
        doc = copy.deepcopy(original)
        parent = _json_at(doc, path[:-1])
        if remove:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
        label = "/" + "/".join(map(str, path))
        out.append(Mutant(kind, label, json.dumps(doc).encode(), spec.name, code, xsd))

    def walk(node: dict[str, Any], path: tuple[str | int, ...], model: type[BaseModel] | None, ctype: Any) -> None:
        schema_path = "/".join(str(p) for p in path if isinstance(p, str))
        decls = xsd.children(ctype)
        attributes = xsd.attributes(ctype)
        fields = fields_by_alias(model)
        for key, value in node.items():
            if path == () and key == "messageType":
                continue
            field = fields.get(key)
            decl = decls.get(_pascal(key))
            by_xsd = decl is not None and decl.required
            by_model = field is not None and field.is_required()
            if (by_xsd or by_model) and f"{schema_path}/{key}" not in dropped:
                dropped.add(f"{schema_path}/{key}")
                mutant("drop", (*path, key), "JSON_SCHEMA", None, by_xsd, remove=True)
            if key in attributes or (key == "value" and xsd.text_type(ctype) is not None and not decls):
                # a simple-content element (a measure): its text is "value", its attributes the other keys
                values = xsd.enumeration(attributes[key] if key in attributes else xsd.text_type(ctype))
                if values and isinstance(value, str) and NOT_A_CODE not in values:
                    mutant("code", (*path, key), "JSON_SCHEMA", NOT_A_CODE, True)
                continue
            child_type = xsd.type_of(decl.node) if decl is not None else None
            child_model = nested_model(field.annotation) if field is not None else None
            items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
            for i, item in items:
                item_path = (*path, key) if i is None else (*path, key, i)
                code = check_code(field)
                if code and isinstance(item, str) and (flipped := _other_digit(item)):
                    mutant("check", item_path, code, flipped, False)
                if isinstance(item, dict):
                    walk(item, item_path, child_model, child_type)
                elif isinstance(item, str):
                    values = xsd.enumeration(child_type)
                    if values and NOT_A_CODE not in values:
                        mutant("code", item_path, "JSON_SCHEMA", NOT_A_CODE, True)

    walk(original, (), spec.model, xsd.root_type(spec.root))
    for other in catalogue.types():
        if other == spec.name:
            continue
        out.append(Mutant("swap", f"declared {other}", data, other, "TYPE_MISMATCH"))
        mutant("swap", ("messageType",), "TYPE_MISMATCH", other, False)
    return out


def mutants_for(catalogue: Catalogue, path: Path) -> list[Mutant]:
    spec = catalogue.spec(path.parent.parent.name)
    data = path.read_bytes()
    if path.suffix == ".xml":
        return xml_mutants(catalogue, spec, data)
    return json_mutants(catalogue, spec, data)


def counts(catalogue: Catalogue) -> dict[str, Counter[str]]:
    """type -> kind -> number of mutants, over every valid example of the type."""
    table: dict[str, Counter[str]] = {}
    for path in valid_examples():
        if path.parent.parent.name not in catalogue.types():
            continue
        for m in mutants_for(catalogue, path):
            table.setdefault(path.parent.parent.name, Counter())[m.kind] += 1
    return table


# ---------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue()


def _id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.name}"


@pytest.mark.parametrize("path", valid_examples(), ids=_id)
def test_every_mutant_of_a_valid_example_is_rejected_with_its_code(catalogue: Catalogue, path: Path) -> None:
    msg_type = path.parent.parent.name
    content_type = CONTENT_TYPES[path.suffix]
    catalogue.decode(path.read_bytes(), content_type, msg_type)  # the example itself is valid
    mutants = mutants_for(catalogue, path)
    assert {m.kind for m in mutants} >= {"drop", "swap"}, "every example yields drop and swap mutants"
    spec = catalogue.spec(msg_type)
    failures: list[str] = []
    for m in mutants:
        try:
            catalogue.decode(m.data, content_type, m.declared)
        except MessageRejected as exc:
            got = sorted({d.code for d in exc.details})
            if got != [m.code]:
                failures.append(f"{m.label}: expected {m.code}, got {got}: {[d.message for d in exc.details][:3]}")
        else:
            failures.append(f"{m.label}: accepted, expected {m.code}")
            continue
        if m.xsd_refuses and content_type == codec.XML_CT and spec.schema.validate(etree.fromstring(m.data, _SAFE)):
            failures.append(f"{m.label}: the XSD accepts it (only the model refused it)")
    assert not failures, f"{len(failures)} of {len(mutants)} mutants of {_id(path)}:\n" + "\n".join(failures)


def test_mutant_counts_per_type(catalogue: Catalogue, capsys: pytest.CaptureFixture[str]) -> None:
    """Print how many mutants each type's examples give (``pytest -s``), and check that identifier
    fields present in a type's examples are mutated."""
    table = counts(catalogue)
    with capsys.disabled():
        print(f"\n{'type':32} " + " ".join(f"{k:>6}" for k in KINDS) + f" {'total':>6}")
        for msg_type, row in sorted(table.items()):
            print(f"{msg_type:32} " + " ".join(f"{row[k]:>6}" for k in KINDS) + f" {sum(row.values()):>6}")
        print(f"{'all':32} " + " ".join(f"{sum(r[k] for r in table.values()):>6}" for k in KINDS)
              + f" {sum(sum(r.values()) for r in table.values()):>6}")  # fmt: skip
    assert table, "no valid examples found"
    for msg_type, row in table.items():
        assert row["drop"] and row["swap"], msg_type
    assert table["manifest.sea"]["check"] > 0  # containers and the vessel's IMO number
    assert table["manifest.sea"]["code"] > 0  # the gross mass unit code


def test_xsd_reader_finds_code_lists_and_required_elements(catalogue: Catalogue) -> None:
    xsd = xsd_for(catalogue.spec("manifest.sea"))
    root = xsd.root_type("SeaManifest")
    children = xsd.children(root)
    assert children["Consignment"].required and not children["Consignment"].node.get("minOccurs")
    consignment = xsd.children(xsd.type_of(children["Consignment"].node))
    assert consignment["GoodsItem"].required and not consignment["Ucr"].required
    goods = xsd.children(xsd.type_of(consignment["GoodsItem"].node))
    mass = xsd.type_of(goods["GrossMass"].node)
    assert xsd.enumeration(xsd.attributes(mass)["unitCode"]) == {"KGM", "TNE"}
    assert xsd.enumeration(xsd.text_type(mass)) is None


if __name__ == "__main__":  # pragma: no cover
    for msg_type, row in sorted(counts(Catalogue()).items()):
        print(msg_type, dict(row), sum(row.values()))
