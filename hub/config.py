"""Typed configuration loaded from ``config/*.yaml``; unknown keys fail at start-up, naming file and key.

Files: ``hub.yaml`` (settings), ``partners.yaml`` (the registry seed), ``routes.yaml`` (type -> recipient
profiles), ``access.yaml`` (the legal access matrix of ACCESS.md) and, optionally, ``types.yaml``
(schema-only partner types, registered from an XSD; see ``hub.schema_only``). ``load_config`` collects every
problem across all files before raising one ``ConfigError``, so ``hub config check`` reports them all.
Settings can be overridden by environment variables ``HUB_<SECTION>_<KEY>`` (e.g. ``HUB_STORE_URL``).
"""

from __future__ import annotations

import os
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub.errors import ConfigError
from hub.schemas.base import IdScheme, PartyRole, RefKind, normalise_id

PARTNER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")
RESERVED_IDS = frozenset({"hub"})
_M = TypeVar("_M", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class Profile(StrEnum):
    """Partner profiles: the columns of ACCESS.md."""

    CUS = "CUS"
    KT = "KT"
    KPA = "KPA"
    SHA = "SHA"
    GHA = "GHA"
    CON = "CON"
    CFS = "CFS"
    CA = "CA"
    EXIM = "EXIM"
    BNK = "BNK"
    INS = "INS"
    PGA = "PGA"
    NPA = "NPA"
    NT = "NT"
    MS = "MS"
    IRA = "IRA"
    ESV = "ESV"


class Cell(StrEnum):
    """An access matrix cell: ``all``, ``own``, ``aff`` deliver; ``deny`` never does."""

    ALL = "all"
    OWN = "own"
    AFF = "aff"
    DENY = "deny"


class PartnerStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DEREGISTERED = "deregistered"


Format = Literal["application/xml", "application/json", "application/edifact"]
# EDIFACT: types without an EDIFACT encoding (all but customs.release) are delivered to such a partner as
# XML, with content_type application/xml (Catalogue.delivery_content_type): routes go by profile, and every
# profile is routed types no UN/EDIFACT message covers, so requiring EDIFACT for all of them would refuse all.
ENCODABLE_FORMATS = frozenset({"application/xml", "application/json", "application/edifact"})


# ---------------------------------------------------------------- hub.yaml


class BrokerSettings(Strict):
    url: str = "amqp://127.0.0.1:5672/"
    vhost: str = "/"
    user: str = "hub"
    management_url: str = "http://127.0.0.1:15672"
    admin_user: str = "guest"
    admin_password: str = Field(default="guest", repr=False)
    heartbeat: int = Field(default=5, ge=1, le=600)
    prefetch_per_sender: int = Field(default=50, ge=1, le=10_000)
    batch_size: int = Field(default=100, ge=1, le=10_000)
    batch_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)  # payload bytes per batch (memory bound)
    # AMQP over TLS, used when ``url`` is amqps:// (hub.broker.ssl_context): the CA to trust (default: the
    # system's), and a client certificate and key for mutual TLS. ``tls_verify: false`` checks neither the
    # broker's certificate nor its host name: a development machine only, never production.
    tls_ca_file: str | None = None
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_verify: bool = True

    @model_validator(mode="after")
    def _tls_matches_url(self) -> BrokerSettings:
        """Refuse at start-up what would otherwise connect in clear text, or fail only at connect time."""
        scheme = self.url.split("://", 1)[0].lower() if "://" in self.url else ""
        if scheme not in ("amqp", "amqps"):
            raise ValueError("url must start with amqp:// or amqps://")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together (mutual TLS needs both)")
        uses_tls = self.tls_ca_file or self.tls_cert_file or not self.tls_verify
        if scheme == "amqp" and uses_tls:
            raise ValueError("tls_* settings need an amqps:// url (with amqp:// the connection is not encrypted)")
        return self


class StoreSettings(Strict):
    url: str = "sqlite:///var/hub.db"


class AckSettings(Strict):
    max_length: int = Field(default=10_000, ge=1)


class LimitSettings(Strict):
    max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_depth: int = Field(default=64, ge=4, le=1024)


class LogSettings(Strict):
    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"


class MetricsSettings(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=0, le=65535)  # 0 disables the endpoint


class ApiSettings(Strict):
    """The partner query API (``GET /v1/consignments/{ref}``, hub.api_http): plain HTTP on ``host:port``,
    behind the operator's TLS-terminating proxy. ``port`` 0 disables it."""

    host: str = "127.0.0.1"
    port: int = Field(default=8480, ge=0, le=65535)


class ConsoleSettings(Strict):
    """The operations console (hub.console, docs/console.md): a web page for operators, plain HTTP on
    ``host:port`` behind the operator's TLS-terminating proxy. ``hub run`` serves it when ``port`` is not 0;
    ``hub console`` serves it on its own (``port``, or 8490 when 0). ``operators_file``: the operators and
    their password hashes (``hub console add-operator``), relative to the config directory like
    ``secrets_file``. ``session_hours``: how long a login lasts."""

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    operators_file: str = "../var/console-operators.json"
    session_hours: float = Field(default=8.0, gt=0, le=24 * 7)
    refresh_seconds: float = Field(default=3.0, ge=0.5, le=60)  # how often the partner figures are re-read


class CorrelationSettings(Strict):
    """Messages parked until their consignment is known (hub.parking): how long before ``UCR_UNRESOLVED``."""

    park_timeout_hours: float = Field(default=72.0, gt=0)
    check_interval: float = Field(default=30.0, gt=0)  # seconds between expiry sweeps


class AuditSettings(Strict):
    """The audit trail (hub.audit). ``head_file`` is relative to the config directory, like ``secrets_file``,
    and belongs outside the store's reach (another disk, host or backup set) to be worth anything.

    ``body_retention_days``: regulation 33(2)(e) of the NESWS (General) Regulations 2024 leaves the retention
    period to each service-level agreement and names no figure. The default, 2555 days (7 years), is a
    placeholder chosen to outlast the five-year record-keeping duties of Kenya's tax and customs laws (e.g.
    the Tax Procedures Act 2015) with margin for disputes under way; set the figure the Agency's SLAs agree.
    The audit log itself (hashes, no bodies) is never purged.
    """

    head_file: str = "../var/audit-head.json"
    body_retention_days: int = Field(default=2555, ge=1)
    purge_every_hours: float = Field(default=24.0, ge=0)  # hub run: purge at start-up and then this often; 0 off


class DeliverySettings(Strict):
    """How deliveries leave the hub (hub.delivery): partitions, retries, circuit breaker, holding.

    ``partitions``: hub-owned quorum queues ``hub.out.<partner>.<k>`` per partner; a consignment's deliveries
    always go to the same one (hash of the UCR, else the vessel call), so they keep their order. Changing
    it re-partitions only new deliveries: drain the hub.out queues first (docs/operations.md).
    """

    partitions: int = Field(default=4, ge=1, le=64)
    prefetch: int = Field(default=100, ge=1, le=10_000)  # unacked deliveries per partition consumer
    max_attempts: int = Field(default=10, ge=1, le=1000)  # transient failures before a dead letter
    retry_base: float = Field(default=1.0, gt=0)  # seconds; attempt n waits base * 2^(n-1), jittered
    retry_max: float = Field(default=60.0, gt=0)  # cap of one wait
    circuit_failures: int = Field(default=5, ge=1)  # consecutive transport failures that open the circuit
    circuit_probe_after: float = Field(default=30.0, gt=0)  # seconds before a half-open probe
    idle_consumer_timeout: float = Field(default=300.0, gt=0)  # AMQP: inbox holds messages, nobody consumes
    monitor_interval: float = Field(default=1.0, gt=0)  # seconds between inbox depth/consumer/window checks
    # a partner held this long (by a window, the registry, its inbox) stops being consumed: its deliveries
    # wait in its hub.out queues, not in memory (where the broker's consumer_timeout would close the channel)
    pause_after: float = Field(default=60.0, ge=0)
    # a delivery held only for its recipient's registry status (suspended, deregistered) this long, counted
    # from the status change (or its queued time if later), becomes a dead letter: PARTNER_SUSPENDED or
    # PARTNER_DEREGISTERED, with the sender's delivery_failed (hub.delivery.gate.StatusHold)
    suspended_hold_hours: float = Field(default=72.0, gt=0)
    http_timeout: float = Field(default=10.0, gt=0)
    http_connect_timeout: float = Field(default=3.0, gt=0)


class CredentialSettings(Strict):
    """Partners' broker credentials (hub.credentials). ``valid_days``: how long a credential is valid from
    its issue (regulation 9(2) of the NESWS (General) Regulations 2024: one year); fixed when it is issued.
    ``warn_days``: ``hub partners list`` warns this many days ahead (regulation 9(4): at least thirty)."""

    valid_days: int = Field(default=365, ge=1)
    warn_days: int = Field(default=30, ge=0)


class Settings(Strict):
    broker: BrokerSettings = BrokerSettings()
    delivery: DeliverySettings = DeliverySettings()
    store: StoreSettings = StoreSettings()
    acks: AckSettings = AckSettings()
    limits: LimitSettings = LimitSettings()
    log: LogSettings = LogSettings()
    metrics: MetricsSettings = MetricsSettings()
    audit: AuditSettings = AuditSettings()
    api: ApiSettings = ApiSettings()
    console: ConsoleSettings = ConsoleSettings()
    correlation: CorrelationSettings = CorrelationSettings()
    credentials: CredentialSettings = CredentialSettings()
    secrets_file: str = "../var/secrets.json"
    quarantine_queue_max: int = Field(default=1_000_000, ge=1)


# ---------------------------------------------------------------- partners.yaml


class AmqpTransport(Strict):
    """Deliveries into ``partner.<id>.inbox`` (the default)."""

    kind: Literal["amqp"] = "amqp"


class HttpTransport(Strict):
    """Deliveries POSTed to the partner's URL, signed (docs/partners.md section 7a). The signing secret is
    generated by ``hub broker provision`` into the secrets file under ``<id>.webhook`` (or taken from
    ``HUB_SECRET_<ID>_WEBHOOK``)."""

    kind: Literal["http"]
    url: str = Field(pattern=r"^https?://")
    timeout: float | None = Field(default=None, gt=0)


class Partner(Strict):
    """A registry entry. ``identifiers`` are the business ids messages name this partner by.

    Delivery: ``transport`` (AMQP inbox or HTTP webhook), ``inbox_depth`` (the agreed depth of the AMQP
    inbox: over it the hub holds further deliveries), ``drain_rate`` (deliveries per second after a hold;
    unlimited when absent), ``max_attempts`` (overrides delivery.max_attempts).
    """

    id: str
    name: str
    profiles: tuple[Profile, ...] = Field(min_length=1)
    status: PartnerStatus = PartnerStatus.ACTIVE
    sends: tuple[str, ...] = ()
    receive_format: Format = "application/xml"
    ack_format: Literal["json", "edifact"] = "json"
    identifiers: dict[IdScheme, tuple[str, ...]] = {}
    max_bytes: int | None = Field(default=None, ge=1024)
    transport: AmqpTransport | HttpTransport = Field(default=AmqpTransport(), discriminator="kind")
    inbox_depth: int = Field(default=10_000, ge=1)
    drain_rate: float | None = Field(default=None, gt=0)
    max_attempts: int | None = Field(default=None, ge=1, le=1000)
    adapter: str = "canonical"  # hub.adapters: its codec, formats, acknowledgement format and transports
    adapter_options: dict[str, Any] = {}

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not PARTNER_ID_RE.fullmatch(value):
            raise ValueError("a partner id is [a-z0-9][a-z0-9-]{1,31}")
        if value in RESERVED_IDS:
            raise ValueError(f"{value!r} is reserved for the hub itself")
        return value


class PartnersFile(Strict):
    partners: list[Partner]


# ---------------------------------------------------------------- routes.yaml and access.yaml


class Route(Strict):
    to: tuple[Profile, ...]


class RoutesFile(Strict):
    routes: dict[str, Route]


class AccessRule(Strict):
    cell: Cell
    basis: str = Field(min_length=1)
    sender: bool = False  # the usual sender (S in ACCESS.md): gets acknowledgements, not deliveries


class AccessFile(Strict):
    version: Literal[1]
    default: Literal["deny"]
    access: dict[str, dict[Profile, AccessRule]]


# ---------------------------------------------------------------- types.yaml (optional)

TYPE_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:[.-][a-z0-9]+)*$")


class PartyXPath(Strict):
    """A party of a schema-only message: its role, the scheme the registry matches it by, and an XPath."""

    role: PartyRole
    scheme: IdScheme
    xpath: str = Field(min_length=1)


class SchemaType(Strict):
    """A schema-only partner type (``types.yaml``, see docs/schema-only-types.md): a partner's XSD and
    XPath 1.0 expressions (relative to the root element) for the routing keys; no canonical model.
    ``schema`` is relative to the config directory; after loading it holds the resolved absolute path."""

    name: str = Field(min_length=1, max_length=64)
    xsd: str = Field(alias="schema", min_length=1)
    root: str | None = None
    ucr_xpath: str | None = Field(default=None, min_length=1)
    references: dict[RefKind, str] = {}
    parties: tuple[PartyXPath, ...] = ()
    namespaces: dict[str, str] = {}

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not TYPE_NAME_RE.fullmatch(value):
            raise ValueError("a type name is lower-case letters and digits in parts joined by '.' or '-'")
        return value

    def xpaths(self) -> list[tuple[str, str]]:
        """(types.yaml key, expression) of every XPath of this type."""
        out = [("ucr_xpath", self.ucr_xpath)] if self.ucr_xpath else []
        out += [(f"references.{kind}", expr) for kind, expr in self.references.items()]
        out += [(f"parties.{i}.xpath", p.xpath) for i, p in enumerate(self.parties)]
        return out


class TypesFile(Strict):
    types: list[SchemaType] = []


def _load_schema_types(directory: Path, problems: list[str]) -> tuple[SchemaType, ...]:
    """Read ``types.yaml`` if present; check every XSD compiles and every XPath evaluates. Problems name
    the file and key (``types.yaml: types.0.schema: ...``)."""
    from hub import codec
    from hub.catalogue import CONTRACT_TYPES, body_models
    from hub.schema_only import SchemaTypeError, compile_xpath, inspect_xsd

    path = directory / "types.yaml"
    if not path.exists():
        return ()
    parsed = _validate(TypesFile, _read_yaml(path, problems), "types.yaml", problems)
    if parsed is None:
        return ()
    catalogue_roots = {f"{{{codec.namespace_for(t)}}}{m.ROOT}": t for t, m in body_models().items()}
    reserved = set(CONTRACT_TYPES) | set(body_models())
    names: dict[str, int] = {}
    roots: dict[str, str] = {}
    out: list[SchemaType] = []
    for i, st in enumerate(parsed.types):
        where = f"types.yaml: types.{i}"
        if st.name in reserved:
            problems.append(f"{where}.name: {st.name!r} is a catalogue type; a schema-only type needs its own name")
        elif st.name in names:
            problems.append(f"{where}.name: duplicate type name {st.name!r} (types.{names[st.name]})")
        names.setdefault(st.name, i)
        xsd = Path(st.xsd)
        xsd = (xsd if xsd.is_absolute() else directory / xsd).resolve()
        if not xsd.is_file():
            problems.append(f"{where}.schema: file not found: {st.xsd} (relative to {directory})")
        else:
            try:
                namespace, root = inspect_xsd(xsd, st.root)
            except SchemaTypeError as exc:
                problems.append(f"{where}.{exc.key}: {exc}")
            else:
                tag = f"{{{namespace}}}{root}" if namespace else root
                other = roots.get(tag) or catalogue_roots.get(tag)
                if other is not None:
                    problems.append(f"{where}.schema: root element {root} is already the root of {other!r}")
                roots.setdefault(tag, st.name)
        for key, expr in st.xpaths():
            try:
                compile_xpath(expr, dict(st.namespaces))
            except SchemaTypeError as exc:
                problems.append(f"{where}.{exc.key if exc.key == 'namespaces' else key}: {exc}")
        out.append(st.model_copy(update={"xsd": str(xsd)}))  # kept even if broken: no cascade of problems
    return tuple(out)


def load_schema_types(directory: str | Path) -> tuple[SchemaType, ...]:
    """The schema-only types of a config directory alone (for ``hub validate``); raises ConfigError."""
    problems: list[str] = []
    types = _load_schema_types(Path(directory).resolve(), problems)
    if problems:
        raise ConfigError(problems)
    return types


class HubConfig(Strict):
    """Everything loaded from the config directory."""

    directory: Path
    settings: Settings
    partners: tuple[Partner, ...]
    routes: dict[str, Route]
    access: dict[str, dict[Profile, AccessRule]]
    schema_types: tuple[SchemaType, ...] = ()

    def partner(self, partner_id: str) -> Partner | None:
        return self.partner_index().get(partner_id)

    def partner_index(self) -> dict[str, Partner]:
        index: dict[str, Partner] | None = self.__dict__.get("_index")
        if index is None:
            index = {p.id: p for p in self.partners}
            object.__setattr__(self, "_index", index)
        return index

    def secrets_path(self) -> Path:
        override = os.environ.get("HUB_SECRETS_FILE")
        path = Path(override) if override else Path(self.settings.secrets_file)
        return path if path.is_absolute() else (self.directory / path).resolve()

    def audit_head_path(self) -> Path:
        path = Path(self.settings.audit.head_file)
        return path if path.is_absolute() else (self.directory / path).resolve()

    def store_url(self) -> str:
        """SQLite paths in config are relative to the config directory's parent (the project root)."""
        url = self.settings.store.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str((self.directory.parent / url[len(prefix) :]).resolve())
        return url


_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 3x faster parsing


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """A safe loader that refuses a key repeated in one mapping (plain YAML keeps the last silently). Built on
    libyaml's CSafeLoader when PyYAML has it (a 1,000-partner registry: 0.53 s -> 0.18 s), else SafeLoader."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _identifier_problem(scheme: IdScheme, value: str) -> str | None:
    """Registry identifiers must be valid, or messages naming the partner would never match it."""
    from pydantic_core import PydanticCustomError

    from hub.identifiers import check_bic, check_kra_pin

    checks = {IdScheme.KRA_PIN: check_kra_pin, IdScheme.BIC: check_bic}
    check = checks.get(scheme)
    if check is None:
        return None
    try:
        check(value)
    except PydanticCustomError as exc:
        return f"{exc.type}: {exc.message()}"
    return None


def _read_yaml(path: Path, problems: list[str]) -> Any:
    if not path.exists():
        problems.append(f"{path.name}: file not found in {path.parent}")
        return None
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader) or {}  # noqa: S506
    except yaml.YAMLError as exc:
        problems.append(f"{path.name}: not valid YAML: {exc}")
        return None


def _validate(model: type[_M], data: Any, fname: str, problems: list[str]) -> _M | None:
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{fname}: {key}: {msg}")
        return None


def _env_overrides(data: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Apply ``HUB_<SECTION>_<KEY>`` (and ``HUB_<KEY>`` for top-level keys) from the environment."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for name, field in Settings.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            section = out.setdefault(name, {})
            if not isinstance(section, dict):
                continue
            for key in ann.model_fields:
                var = f"HUB_{name}_{key}".upper()
                if var in env:
                    section[key] = env[var]
        elif f"HUB_{name}".upper() in env:
            out[name] = env[f"HUB_{name}".upper()]
    return out


def _with_adapters(partners: list[Partner], problems: list[str]) -> list[Partner]:
    """Each entry checked against its adapter (hub.adapters): known, its options, a transport and receive
    format the adapter supports; ``receive_format`` and ``ack_format`` not given in the entry are the
    adapter's."""
    from hub.adapters import registry

    try:
        known = registry.adapters()
    except registry.AdapterError as exc:
        problems.append(f"adapters: {exc}")
        return partners
    out = []
    for i, p in enumerate(partners):
        where = f"partners.yaml: partners.{i}"
        adapter = known.get(p.adapter)
        if adapter is None:
            problems.append(f"{where}.adapter: no adapter named {p.adapter!r} (known: {', '.join(sorted(known))})")
            out.append(p)
            continue
        problems.extend(f"{where}.adapter_options: {m}" for m in adapter.check_options(p.adapter_options))
        update: dict[str, Any] = {}
        if "receive_format" not in p.model_fields_set and adapter.receive_format in ENCODABLE_FORMATS:
            update["receive_format"] = adapter.receive_format
        if "ack_format" not in p.model_fields_set:
            update["ack_format"] = adapter.ack_format
        if p.transport.kind not in adapter.transports:
            problems.append(f"{where}.transport: the {adapter.name} adapter delivers by "
                            f"{' or '.join(adapter.transports)}, not {p.transport.kind}")
        fmt = update.get("receive_format", p.receive_format)
        if p.adapter != registry.DEFAULT and fmt not in adapter.formats and fmt != adapter.receive_format:
            problems.append(f"{where}.receive_format: the {adapter.name} adapter writes "
                            f"{adapter.receive_format}, not {fmt}")
        out.append(p.model_copy(update=update) if update else p)
    return out


def _adapter_formats(name: str) -> tuple[str, ...]:
    from hub.adapters import registry

    try:
        return registry.get(name).formats
    except registry.AdapterError:  # reported by _with_adapters
        return ("application/xml",)


def load_config(directory: str | Path, env: dict[str, str] | None = None) -> HubConfig:
    """Load and cross-check the whole configuration; raise ConfigError listing every problem."""
    from hub.catalogue import CONTRACT_TYPES, known_types

    directory = Path(directory).resolve()
    env = dict(os.environ) if env is None else env
    problems: list[str] = []
    raw_settings = _read_yaml(directory / "hub.yaml", problems)
    if isinstance(raw_settings, dict):
        raw_settings = _env_overrides(raw_settings, env)
    settings = _validate(Settings, raw_settings, "hub.yaml", problems)
    partners = _validate(PartnersFile, _read_yaml(directory / "partners.yaml", problems), "partners.yaml", problems)
    routes = _validate(RoutesFile, _read_yaml(directory / "routes.yaml", problems), "routes.yaml", problems)
    access = _validate(AccessFile, _read_yaml(directory / "access.yaml", problems), "access.yaml", problems)
    schema_types = _load_schema_types(directory, problems)

    if partners is not None:
        partners = PartnersFile.model_construct(partners=_with_adapters(partners.partners, problems))
    types = set(CONTRACT_TYPES) | {st.name for st in schema_types}
    decodable = set(known_types()) | {st.name for st in schema_types}
    if partners is not None:
        seen: set[str] = set()
        claimed: dict[tuple[IdScheme, str], str] = {}
        for i, p in enumerate(partners.partners):
            if p.id in seen:
                problems.append(f"partners.yaml: partners.{i}.id: duplicate partner id {p.id!r}")
            seen.add(p.id)
            if p.receive_format not in ENCODABLE_FORMATS:
                problems.append(
                    f"partners.yaml: partners.{i}.receive_format: {p.receive_format} deliveries are not "
                    f"supported yet (use one of {', '.join(sorted(ENCODABLE_FORMATS))})"
                )
            xml_only = {st.name for st in schema_types}
            for t in p.sends:
                if t not in decodable:
                    problems.append(f"partners.yaml: partners.{i}.sends: {t!r} is not a type the hub decodes")
                elif t in xml_only and "application/xml" not in _adapter_formats(p.adapter):
                    problems.append(f"partners.yaml: partners.{i}.sends: {t!r} is a schema-only type (XML only) "
                                    f"but the {p.adapter} adapter takes no XML")
            for scheme, values in p.identifiers.items():
                for value in values:
                    problem = _identifier_problem(scheme, value)
                    if problem:
                        problems.append(f"partners.yaml: partners.{i}.identifiers.{scheme}: {problem}")
                    other = claimed.setdefault((scheme, normalise_id(scheme, value)), p.id)
                    if other != p.id:
                        problems.append(
                            f"partners.yaml: partners.{i}.identifiers.{scheme}: {scheme} identifier "
                            f"already belongs to {other!r}"
                        )
    if routes is not None:
        for t in routes.routes:
            if t not in types:
                problems.append(f"routes.yaml: routes.{t}: unknown message type {t!r}")
    if access is not None:
        for t in access.access:
            if t not in types:
                problems.append(f"access.yaml: access.{t}: unknown message type {t!r}")
        for st in schema_types:  # an own cell needs parties; without a parties XPath it could never deliver
            for prof, cell_rule in access.access.get(st.name, {}).items():
                if cell_rule.cell is Cell.OWN and not st.parties:
                    problems.append(
                        f"access.yaml: access.{st.name}.{prof}: an own cell needs the parties of the message, "
                        f"but types.yaml gives no parties XPath for {st.name}"
                    )
        if routes is not None:
            for t, route in routes.routes.items():
                for prof in route.to:
                    rule = access.access.get(t, {}).get(prof)
                    if rule is None or rule.cell is Cell.DENY:
                        problems.append(
                            f"routes.yaml: routes.{t}.to: profile {prof} is routed {t} but access.yaml "
                            "denies it (default deny)"
                        )
    if problems or settings is None or partners is None or routes is None or access is None:
        raise ConfigError(problems)
    return HubConfig(
        directory=directory,
        settings=settings,
        partners=tuple(partners.partners),
        routes=routes.routes,
        access=access.access,
        schema_types=schema_types,
    )
