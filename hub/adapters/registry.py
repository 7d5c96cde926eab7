"""Finding adapters: every module of ``hub/adapters/`` that defines ``ADAPTER``, and every entry point of
the group ``hub.adapters`` (a separately installed package adds one without touching the hub).

Looked up once per process (``hub run``, ``hub config check``, ``hub route``); a name claimed twice, an
entry point that fails to import or that is not an :class:`Adapter` is a configuration error naming it,
so a broken plug-in stops the hub at start-up rather than losing its partner's messages later.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from importlib import metadata
from typing import TYPE_CHECKING, Any

from hub.adapters.base import Adapter, DecodeContext
from hub.errors import MessageRejected

if TYPE_CHECKING:
    from hub.catalogue import Catalogue, Limits
    from hub.config import Partner
    from hub.schemas.base import Body

ENTRY_POINT_GROUP = "hub.adapters"
DEFAULT = "canonical"


class AdapterError(Exception):
    """An adapter that cannot be loaded, or two claiming one name."""


def _as_adapter(obj: Any, origin: str) -> Adapter:
    adapter = getattr(obj, "ADAPTER", obj)
    if not isinstance(adapter, Adapter):
        raise AdapterError(f"{origin} is not a hub.adapters.base.Adapter (nor a module defining ADAPTER)")
    return adapter


def _builtin() -> list[tuple[Adapter, str]]:
    import hub.adapters as package

    found = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"hub.adapters.{info.name}")
        if isinstance(getattr(module, "ADAPTER", None), Adapter):
            found.append((module.ADAPTER, f"hub.adapters.{info.name}"))
    return found


def _plugins() -> list[tuple[Adapter, str]]:
    found = []
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        origin = f"entry point {ep.name!r} ({ep.value})"
        try:
            loaded = ep.load()
        except Exception as exc:  # a plug-in's import error, reported with its name
            raise AdapterError(f"{origin} failed to load: {type(exc).__name__}: {exc}") from exc
        found.append((_as_adapter(loaded, origin), origin))
    return found


@functools.cache
def _origins() -> dict[str, tuple[Adapter, str]]:
    """Every adapter by name with where it came from (built-in first, then entry points); loaded once."""
    out: dict[str, tuple[Adapter, str]] = {}
    for adapter, origin in _builtin() + _plugins():
        if adapter.name in out:
            raise AdapterError(f"adapter name {adapter.name!r} is claimed by {out[adapter.name][1]} and {origin}")
        out[adapter.name] = (adapter, origin)
    return out


def reload() -> None:
    """Forget what was found, so the next lookup scans again (tests that add an adapter while running)."""
    _origins.cache_clear()


def adapters() -> dict[str, Adapter]:
    """Every adapter by name. Raises AdapterError."""
    return {name: adapter for name, (adapter, _origin) in _origins().items()}


def origin_of(name: str) -> str:
    """Where an adapter came from (module or entry point), for ``hub adapter list``."""
    return _origins()[name][1]


def get(name: str) -> Adapter:
    found = adapters().get(name)
    if found is None:
        raise AdapterError(f"no adapter named {name!r} (known: {', '.join(sorted(adapters()))})")
    return found


def decode_from(partner: Partner, adapter: Adapter, catalogue: Catalogue, payload: bytes, content_type: str,
                msg_type: str, limits: Limits) -> Body:
    """Decode what ``partner`` sent with its adapter: only the formats the adapter declares
    (CONTENT_TYPE_UNSUPPORTED naming the adapter otherwise), with the entry's ``adapter_options``. Used by the
    ingest pipeline and by ``hub route``, so a dry run refuses exactly what the hub would."""
    if content_type not in adapter.formats:
        raise MessageRejected.one(
            "CONTENT_TYPE_UNSUPPORTED", f"{partner.id} is registered with the {adapter.name} adapter, which "
            f"takes {', '.join(adapter.formats)}; content_type is {content_type or '(none)'!r}")
    return adapter.codec.decode(payload, content_type, msg_type,
                                DecodeContext(catalogue, limits, partner.id, partner.adapter_options))
