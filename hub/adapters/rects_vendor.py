"""The RECTS e-seal vendor adapter: each vendor's own JSON telemetry, mapped to ``eseal.event`` by its
registry entry, so that a new vendor under KRA's multi-vendor seal model (public notice of 30 January
2026, ``seeds/rects-multi-vendor-seals.txt``) is a config entry, not code.

What makes it different: the partner sends its native JSON (``application/json``; no ``messageType``);
``adapter_options`` say where each ``eseal.event`` field is in it:

- ``field_map``: canonical field (dotted for nested: ``position.latitude``) -> JSON pointer (RFC 6901) in
  the vendor's document, e.g. ``sealId: /deviceId``;
- ``event_codes``: the vendor's event names -> RECTS codes (ARMED, POSITION, DEVIATION, TAMPER,
  LOW_BATTERY, ARRIVED, DISARMED); a name not listed is refused (JSON_SCHEMA at its pointer);
- ``vendor``: the vendor party ``{schemeId: kra_pin, id: ...}`` when the document does not name it.

A canonical field the map does not name is taken from the same name in the document if present; the
vendor's other members (firmware versions, signal quality) are ignored. Errors point at
the vendor's own pointer (``/alarm/type``), not at the canonical name. A vendor entry with no
``field_map`` sends the canonical JSON profile. Deliveries to vendors (if ever routed any) are canonical
JSON. Transport: AMQP inbox or HTTP webhook. Acknowledgement: ``hub.ack/1`` JSON.

Serves: e-seal vendors (ESV), configured per vendor. Fixture: ``examples/adapters/rects/mfano-seals.json``
with the map in ``config/partners.yaml`` (partner ``mfano-seals``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hub import codec as c
from hub.adapters.base import Adapter, DecodeContext, EncodeContext, Encoded
from hub.adapters.canonical import CODEC, EXAMPLES
from hub.errors import ErrorDetail, MessageRejected

if TYPE_CHECKING:
    from hub.schemas.base import Body

_MISSING = object()


def pointer_get(doc: Any, pointer: str) -> Any:
    """The value at a JSON pointer (RFC 6901: ``~1`` is ``/``, ``~0`` is ``~``), or _MISSING."""
    if pointer in ("", "/"):
        return doc
    node = doc
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = doc
    for name in parents:
        node = node.setdefault(name, {})
    node[last] = value


class VendorJsonCodec:
    """Maps a vendor's JSON document to the canonical ``eseal.event`` body (decode); encodes canonically."""

    def decode(self, payload: bytes, content_type: str, msg_type: str, ctx: DecodeContext) -> Body:
        field_map: Mapping[str, str] = ctx.options.get("field_map") or {}
        if not field_map:
            return CODEC.decode(payload, content_type, msg_type, ctx)
        c.check_size(payload, ctx.limits.max_bytes)
        if content_type != c.JSON_CT:
            raise MessageRejected.one("CONTENT_TYPE_UNSUPPORTED", f"{ctx.sender} sends application/json only")
        data = c.parse_json(payload, ctx.limits.max_depth)
        if not isinstance(data, dict):
            raise MessageRejected.one("JSON_SCHEMA", "the document must be a JSON object", "/")
        model = ctx.catalogue.spec(msg_type).model
        canonical = {f.alias or n for n, f in model.model_fields.items()}
        mapped = {name.split(".")[0] for name in field_map}
        # canonical names the map does not cover are taken as they are; the vendor's other members ignored
        doc: dict[str, Any] = {k: v for k, v in data.items() if k in canonical and k not in mapped}
        for name, pointer in field_map.items():
            value = pointer_get(data, pointer)
            if value is not _MISSING:
                _put(doc, name, value)
        codes: Mapping[str, str] = ctx.options.get("event_codes") or {}
        if codes and "eventCode" in doc:
            vendor_code = doc["eventCode"]
            if vendor_code not in codes:
                raise MessageRejected.one(
                    "JSON_SCHEMA", f"event {vendor_code!r} is not one this vendor's entry maps "
                    f"(known: {', '.join(sorted(codes))})", field_map.get("eventCode", "/eventCode"))
            doc["eventCode"] = codes[vendor_code]
        if "vendor" not in doc and ctx.options.get("vendor"):
            doc["vendor"] = dict(ctx.options["vendor"])
        try:
            return model.model_validate(doc)
        except ValidationError as exc:
            details = c.validation_details(exc, "JSON_SCHEMA")
            raise MessageRejected([_vendor_path(d, field_map) for d in details]) from exc

    def encode(self, body: Body, ctx: EncodeContext) -> Encoded:
        return CODEC.encode(body, ctx)

    def shared_key(self, body: Body, ctx: EncodeContext) -> str | None:
        return CODEC.shared_key(body, ctx)


def _vendor_path(detail: ErrorDetail, field_map: Mapping[str, str]) -> ErrorDetail:
    """``/position/latitude`` -> the vendor's pointer for ``position.latitude`` (or its parent's)."""
    if not detail.path:
        return detail
    parts = detail.path.strip("/").split("/")
    for n in range(len(parts), 0, -1):
        pointer = field_map.get(".".join(parts[:n]))
        if pointer is not None:
            rest = "/".join(parts[n:])
            return ErrorDetail(detail.code, detail.message, pointer + ("/" + rest if rest else ""), detail.line)
    return detail


ADAPTER = Adapter(
    name="rects",
    summary="an e-seal vendor's own JSON, mapped to eseal.event by its entry's field_map; canonical JSON out",
    codec=VendorJsonCodec(),
    formats=(c.JSON_CT,),
    receive_format=c.JSON_CT,
    transports=("amqp", "http"),
    serves=("ESV e-seal vendor (RECTS), configured per vendor",),
    options=("field_map", "event_codes", "vendor"),
    passthrough=False,
    fixture=EXAMPLES / "adapters" / "rects" / "mfano-seals.json",
    fixture_type="eseal.event",
    fixture_content_type=c.JSON_CT,
    fixture_options={
        "field_map": {"sealId": "/deviceId", "eventCode": "/alarm/type", "eventDateTime": "/alarm/ts",
                      "position.latitude": "/gps/lat", "position.longitude": "/gps/lon",
                      "transportEquipmentId": "/container", "ucr": "/consignmentRef"},
        "event_codes": {"ROUTE_DEVIATION": "DEVIATION", "GPS_FIX": "POSITION", "LOCKED": "ARMED",
                        "UNLOCKED": "DISARMED", "BREACH": "TAMPER", "BATT_LOW": "LOW_BATTERY",
                        "GEOFENCE_EXIT_END": "ARRIVED"},
        "vendor": {"schemeId": "kra_pin", "id": "P051234573G"},
    },
)
