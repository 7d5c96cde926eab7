"""Correlation and the consignment timeline: what each accepted message records, and where a consignment stands.

Three pure parts, no I/O:
- ``observe``: called by the pipeline once per accepted message, after routing; turns the body and its keys
  into an ``Observation``: the event (type, sender, when, a status such as the release status code, the
  document it is about) and the consignments it links to, each with its references and parties (matched
  to registry partners). A manifest names one consignment per line; an impending arrival report or a
  bayplan is about a vessel call and is linked to consignments through the vessel call of their manifests.
- ``plan``: called by the store inside the batch's transaction with the references it already knows
  (one query per batch); resolves a missing UCR from a known reference and gives the rows to insert.
  The first writer of a reference wins; a later claim to another UCR is returned as a conflict.
- ``derive``: the current status of a consignment from the *set* of its events (never their arrival
  order: a payment may reach the hub before its assessment), what it waits for next, and since when.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from hub.logs import mask_text
from hub.schemas.base import Body, IdScheme, Keys, Party, PartyRole, Reference, RefKind
from hub.schemas.bayplan import Bayplan
from hub.schemas.consignment_status_response import ConsignmentStatusCode as Code
from hub.schemas.consignment_status_response import WaitingForCode
from hub.schemas.customs_entry import CustomsEntry
from hub.schemas.customs_release import CustomsRelease
from hub.schemas.delivery_order import DeliveryOrder
from hub.schemas.duty_assessment import DutyAssessment
from hub.schemas.eseal_event import ESealEvent
from hub.schemas.gate_event import FullEmptyIndicator, GateEvent
from hub.schemas.idf import ImportDeclarationForm
from hub.schemas.insurance_certificate import InsuranceCertificate
from hub.schemas.manifest_air import AirManifest
from hub.schemas.manifest_sea import SeaManifest
from hub.schemas.payment_confirmation import PaymentConfirmation
from hub.schemas.permit_application import PermitApplication
from hub.schemas.permit_status import PermitStatus
from hub.windows import EAT

# Messages about no consignment: questions, answers, acknowledgements, maintenance windows.
NOT_RECORDED = frozenset({"consignment.status.request", "consignment.status.response", "ack", "maintenance.notice"})
# References that name many consignments at once (a vessel call, a manifest, a flight): never one UCR's.
SHARED_KINDS = frozenset({RefKind.VESSEL_CALL, RefKind.MANIFEST, RefKind.FLIGHT})
# A reference looked up under its own kind and these (an entry's "air waybill" is a manifest's master AWB).
ALIASES: dict[RefKind, tuple[RefKind, ...]] = {
    RefKind.AWB: (RefKind.MASTER_AWB,),
    RefKind.MASTER_AWB: (RefKind.AWB,),
}
MAX_VALUE = 64  # consignment_refs.value, consignment_parties.party_id

RELEASED_CODES = frozenset({"RELEASED", "PARTIALLY_RELEASED"})
HOLD_CODES = frozenset({"HELD", "EXAMINATION", "DOCUMENTS_REQUIRED"})
CUSTOMS_TYPES = frozenset({"customs.entry", "duty.assessment", "payment.confirmation"})
_ORDER = list(Code)
_TYPE_RANK = {
    t: i
    for i, t in enumerate(
        ("ucr.issued", "idf", "insurance.certificate", "permit.application", "permit.status", "arrival.iar",
         "manifest.sea", "manifest.air", "customs.entry", "duty.assessment", "payment.confirmation",
         "customs.release", "delivery.order", "eseal.event", "gate.event", "bayplan")
    )
}
_STATUS_RANK = {
    s: i
    for i, s in enumerate(
        ("SUBMITTED", "UNDER_REVIEW", "CLARIFICATION_REQUESTED", "REJECTED", "APPROVED", "HELD",
         "DOCUMENTS_REQUIRED", "EXAMINATION", "PARTIALLY_RELEASED", "RELEASED", "CANCELLED")
    )
}

PartnerOf = Callable[[Party], "str | None"]


# ------------------------------------------------------------------ what a message records


@dataclass(frozen=True)
class Link:
    """A consignment a message is about: its UCR (None: resolve it from the references), the references to
    link to it, and its parties with the registry partner each matches (None: no partner)."""

    ucr: str | None
    refs: tuple[Reference, ...]
    parties: tuple[tuple[Party, str | None], ...]

    def refs_keys(self) -> tuple[tuple[str, str], ...]:
        """The (kind, value) keys its references are looked up under, aliases included."""
        return tuple(k for ref in self.refs for k in lookup_keys(ref))


@dataclass(frozen=True)
class Observation:
    sender: str
    message_id: str
    msg_type: str
    at: datetime  # UTC: the document's own time (issue, status, payment, gate), never after its receipt
    status: str | None
    subject: str | None  # the document the event is about: entry, PRN, AGENCY:application, container ...
    vessel_call: str | None
    links: tuple[Link, ...]
    vessel_level: bool = False  # recorded once without a UCR, found through its vessel call


def observe(body: Body, keys: Keys, sender: str, message_id: str, received: datetime,
            partner_of: PartnerOf) -> Observation | None:
    """What an accepted message records; None for a message about no consignment (or no resolvable one)."""
    if body.TYPE in NOT_RECORDED:
        return None
    doc_time = document_time(body)
    at = min(doc_time, received) if doc_time is not None else received
    status, subject = _status_subject(body)
    vessel_level = False
    if isinstance(body, SeaManifest | AirManifest):
        links = _manifest_links(body, keys, partner_of)
    elif keys.ucr is None and keys.vessel_call is not None:
        links, vessel_level = (), True
    elif keys.ucr is None and isinstance(body, GateEvent):
        return None  # an empty container moving is no consignment's event
    else:
        refs = keys.references if keys.ucr is None else (Reference(kind=RefKind.UCR, value=keys.ucr), *keys.references)
        links = (Link(keys.ucr, _linkable(refs), _matched(keys.parties, partner_of)),)
    if not links and not vessel_level:
        return None
    return Observation(sender, message_id, body.TYPE, at.astimezone(UTC), status, subject, keys.vessel_call,
                       links, vessel_level)


def document_time(body: Body) -> datetime | None:
    """The time the document says it happened (issued, decided, paid, passed the gate), in UTC."""
    for name in ("status_date_time", "event_date_time", "payment_date_time", "submission_date_time",
                 "issue_date_time", "departure_date_time", "arrival_date_time", "issue_date"):
        value = getattr(body, name, None)
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=EAT)).astimezone(UTC)
        if isinstance(value, date):
            return datetime.combine(value, time(0), EAT).astimezone(UTC)
    return None


def _status_subject(body: Body) -> tuple[str | None, str | None]:
    if isinstance(body, CustomsRelease):
        return body.status_code.value, body.declaration_id
    if isinstance(body, PermitStatus):
        return body.status_code.value, f"{body.issuing_authority_id}:{body.application_id}"
    if isinstance(body, PermitApplication):
        return None, f"{body.issuing_authority_id}:{body.application_id}"
    if isinstance(body, PaymentConfirmation):
        return body.payment_type_code.value, body.payment_reference_id
    if isinstance(body, DutyAssessment):
        return None, body.payment_reference_id
    if isinstance(body, GateEvent):
        empty = "" if body.full_empty_indicator is FullEmptyIndicator.FULL else "_EMPTY"
        return body.event_code.value + empty, body.transport_equipment_id
    if isinstance(body, ESealEvent):
        return body.event_code.value, body.seal_id
    if isinstance(body, CustomsEntry):
        return None, body.declaration_id
    if isinstance(body, DeliveryOrder):
        return None, body.delivery_order_id
    if isinstance(body, ImportDeclarationForm):
        return None, body.idf_id
    if isinstance(body, InsuranceCertificate):
        return None, body.certificate_id
    if isinstance(body, Bayplan):
        return None, body.port_of_call_id
    late = getattr(body, "late", None)  # an impending arrival report filed less than 48 hours ahead
    return ("LATE" if late is True else None), None


def _matched(parties: Iterable[Party], partner_of: PartnerOf) -> tuple[tuple[Party, str | None], ...]:
    return tuple((p, partner_of(p)) for p in dict.fromkeys(parties) if len(p.id) <= MAX_VALUE)


def _linkable(refs: Iterable[Reference]) -> tuple[Reference, ...]:
    """The references that name this one consignment: not the shared ones, and not the master document of a
    consolidation when the house document is there (the master names every house consignment under it)."""
    refs = [r for r in dict.fromkeys(refs) if r.kind not in SHARED_KINDS and len(r.value) <= MAX_VALUE]
    kinds = {r.kind for r in refs}
    drop = set()
    if RefKind.HOUSE_BL in kinds:
        drop.add(RefKind.MASTER_BL)
    if RefKind.HOUSE_AWB in kinds:
        drop.update((RefKind.MASTER_AWB, RefKind.AWB))
    return tuple(r for r in refs if r.kind not in drop)


def _manifest_links(body: SeaManifest | AirManifest, keys: Keys, partner_of: PartnerOf) -> tuple[Link, ...]:
    """One link per manifest line: its UCR (or None: resolved from its bill or containers), its own transport
    document and containers, its consignee and CFS, and the carrier (and ground handler) of the whole."""
    common = [p for p in keys.parties if p.role in (PartyRole.CARRIER, PartyRole.GROUND_HANDLER)]
    links: list[Link] = []
    if isinstance(body, SeaManifest):
        for line in body.consignment:
            doc_kind = RefKind.HOUSE_BL if line.master_transport_document_id else RefKind.MASTER_BL
            refs = [Reference(kind=doc_kind, value=line.transport_document_id)]
            refs += [Reference(kind=RefKind.CONTAINER, value=te.id) for te in line.transport_equipment]
            links.append(_line(line.ucr, refs, common, line.consignee.id, line.warehouse_id, partner_of))
        return tuple(links)
    master = body.master_consignment
    if not master.house_consignment:  # a direct shipment: the master waybill is the consignment's own
        refs = [Reference(kind=RefKind.MASTER_AWB, value=master.transport_document_id)]
        return (Link(None, _linkable(refs), _matched(common, partner_of)),)
    for house in master.house_consignment:
        refs = [Reference(kind=RefKind.HOUSE_AWB, value=house.transport_document_id)]
        links.append(_line(house.ucr, refs, common, house.consignee.id, house.warehouse_id, partner_of))
    return tuple(links)


def _line(ucr: str | None, refs: list[Reference], common: list[Party], consignee: str | None,
          warehouse: str | None, partner_of: PartnerOf) -> Link:
    if ucr is not None:
        refs = [Reference(kind=RefKind.UCR, value=ucr), *refs]
    parties = list(common)
    if consignee is not None:
        parties.append(Party(role=PartyRole.CONSIGNEE, scheme=IdScheme.KRA_PIN, id=consignee))
    if warehouse is not None:
        parties.append(Party(role=PartyRole.CFS, scheme=IdScheme.CFS, id=warehouse))
    return Link(ucr, _linkable(refs), _matched(parties, partner_of))


# ------------------------------------------------------------------ rows for the store


def lookup_keys(ref: Reference) -> tuple[tuple[str, str], ...]:
    """The (kind, value) keys a reference is looked up under: its own kind and its aliases."""
    return tuple((k.value, ref.value) for k in (ref.kind, *ALIASES.get(ref.kind, ())))


@dataclass
class Plan:
    refs: list[dict[str, Any]]
    parties: list[dict[str, Any]]
    events: list[dict[str, Any]]
    conflicts: list[tuple[str, str, str, str]]  # kind, value, the UCR it has, the UCR claimed
    unresolved: list[tuple[str, str, str]]  # sender, message_id, the first reference of a consignment not resolved


def plan(observations: Sequence[Observation], known: Mapping[tuple[str, str], str], now: datetime) -> Plan:
    """Rows to insert for a batch, in order: what an earlier message of the batch linked counts as known."""
    known = dict(known)
    out = Plan([], [], [], [], [])
    party_keys: set[tuple[str, str, str, str]] = set()
    for obs in observations:
        recorded: list[str] = []
        for link in obs.links:
            ucrs = [link.ucr] if link.ucr else _resolve(link.refs, known)
            if not ucrs:
                out.unresolved.append((obs.sender, obs.message_id, link.refs[0].value if link.refs else "-"))
                continue
            for ucr in ucrs:
                for ref in link.refs:
                    key = (ref.kind.value, ref.value)
                    have = known.get(key)
                    if have is None:
                        known[key] = ucr
                        out.refs.append({"kind": key[0], "value": key[1], "ucr": ucr, "first_seen": now})
                    elif have != ucr:
                        out.conflicts.append((key[0], key[1], have, ucr))
                for party, partner in link.parties:
                    pkey = (ucr, party.role.value, party.scheme.value, party.id)
                    if pkey not in party_keys:
                        party_keys.add(pkey)
                        out.parties.append({"ucr": ucr, "role": pkey[1], "scheme": pkey[2], "party_id": party.id,
                                            "partner": partner})
                if ucr not in recorded:
                    recorded.append(ucr)
                    out.events.append(_event_row(obs, ucr))
        if obs.vessel_level:
            out.events.append(_event_row(obs, None))
    return out


def _resolve(refs: Iterable[Reference], known: Mapping[tuple[str, str], str]) -> list[str]:
    found = {known[k] for ref in refs for k in lookup_keys(ref) if k in known}
    return sorted(found)


def _event_row(obs: Observation, ucr: str | None) -> dict[str, Any]:
    return {"ucr": ucr, "vessel_call": obs.vessel_call, "at": obs.at, "msg_type": obs.msg_type,
            "sender": obs.sender, "message_id": obs.message_id, "status": obs.status, "subject": obs.subject}


# ------------------------------------------------------------------ deriving the status


@dataclass(frozen=True)
class Event:
    """One row of a consignment's timeline, as the store gives it back."""

    at: datetime
    msg_type: str
    sender: str
    message_id: str
    status: str | None = None
    subject: str | None = None
    ucr: str | None = None
    vessel_call: str | None = None

    @property
    def stage(self) -> Code | None:
        return stage_of(self.msg_type, self.status)


@dataclass(frozen=True)
class Waiting:
    code: WaitingForCode | None
    text: str


@dataclass(frozen=True)
class Status:
    code: Code
    since: datetime | None
    waiting_for: tuple[Waiting, ...] = ()


def stage_of(msg_type: str, status: str | None) -> Code | None:
    """The stage one event, on its own, shows the consignment reached (None: it moves no stage)."""
    simple = {"ucr.issued": Code.UCR_ISSUED, "manifest.sea": Code.MANIFESTED, "manifest.air": Code.MANIFESTED,
              "idf": Code.IDF_LODGED, "customs.entry": Code.ENTRY_LODGED, "duty.assessment": Code.DUTY_ASSESSED,
              "permit.application": Code.PERMIT_PENDING, "delivery.order": Code.DELIVERY_ORDER_ISSUED}
    if msg_type in simple:
        return simple[msg_type]
    if msg_type == "payment.confirmation":
        return Code.DUTY_PAID if status == "DUTY" else None
    if msg_type == "permit.status":
        return {"APPROVED": Code.PERMIT_APPROVED, "CANCELLED": None}.get(status or "", Code.PERMIT_PENDING)
    if msg_type == "customs.release":
        if status in RELEASED_CODES:
            return Code.RELEASED
        return Code.HELD_FOR_EXAMINATION if status in HOLD_CODES else None
    if msg_type == "gate.event":
        return Code.GATED_OUT if status == "GATE_OUT" else None
    return None


def sort_key(e: Event) -> tuple[Any, ...]:
    """A total order on events that does not depend on when they arrived: the document's time first."""
    return (e.at, _TYPE_RANK.get(e.msg_type, 99), _STATUS_RANK.get(e.status or "", 50), e.status or "",
            e.subject or "", e.sender, e.message_id, e.ucr or "", e.vessel_call or "")


def derive(events: Iterable[Event]) -> Status:
    """Where a consignment stands: the furthest stage its events establish (in the order of
    ``ConsignmentStatusCode``), since when, and what it waits for. A customs decision or a permit status is
    superseded by a later one (by the document's time); a cancelled entry voids the customs steps before it;
    a permit counts as approved only once every permit applied for is; a delivery order counts once the goods
    are released. Approval of the permits after the duty was paid shows as PERMIT_APPROVED, before it as
    DUTY_PAID: the last step taken."""
    evs = sorted(events, key=sort_key)
    if not evs:
        return Status(Code.UNKNOWN, None)
    decisions = [e for e in evs if e.msg_type == "customs.release"]
    decision = decisions[-1] if decisions else None
    void_until = decision.at if decision is not None and decision.status == "CANCELLED" else None
    live = [e for e in evs if void_until is None or e.msg_type not in CUSTOMS_TYPES or e.at > void_until]
    facts: dict[Code, datetime] = {}
    for e in live:
        if e.msg_type in ("ucr.issued", "manifest.sea", "manifest.air", "idf", "customs.entry"):
            facts.setdefault(stage_of(e.msg_type, e.status) or Code.UNKNOWN, e.at)
    assessed: dict[str, Event] = {}
    for e in live:
        if e.msg_type == "duty.assessment":
            assessed.setdefault(e.subject or "", e)
    paid = [e for e in live if e.msg_type == "payment.confirmation" and e.status == "DUTY"]
    unpaid = [a for prn, a in sorted(assessed.items()) if prn not in {p.subject or "" for p in paid}]
    if unpaid:
        facts[Code.DUTY_ASSESSED] = min(a.at for a in unpaid)
    elif paid:
        facts[Code.DUTY_PAID] = max(p.at for p in paid)
    pending, approved = _permits(evs)
    if pending:
        facts[Code.PERMIT_PENDING] = min(since for _s, _st, since in pending)
    elif approved and Code.DUTY_PAID in facts and max(approved) >= facts[Code.DUTY_PAID]:
        facts[Code.PERMIT_APPROVED] = max(approved)
    if decision is not None and decision.status in RELEASED_CODES:
        facts[Code.RELEASED] = decision.at
        orders = [e for e in evs if e.msg_type == "delivery.order"]
        if orders:
            facts[Code.DELIVERY_ORDER_ISSUED] = max(decision.at, orders[0].at)
    elif decision is not None and decision.status in HOLD_CODES:
        facts[Code.HELD_FOR_EXAMINATION] = decision.at
    gate_outs = [e for e in evs if e.msg_type == "gate.event" and e.status == "GATE_OUT"]
    if gate_outs:
        facts[Code.GATED_OUT] = gate_outs[0].at
    facts.pop(Code.UNKNOWN, None)
    if not facts:  # only events that move no stage (insurance, e-seal): the UCR exists, nothing more is known
        return Status(Code.UCR_ISSUED, evs[0].at, (Waiting(None, "the import declaration form (IDF)"),))
    code = max(facts, key=_ORDER.index)
    return Status(code, facts[code], _waiting(code, facts, decision, void_until, pending, unpaid))


def _permits(evs: list[Event]) -> tuple[list[tuple[str, str, datetime]], list[datetime]]:
    """Permit applications still pending (subject, state, since) and the times the others were approved.
    A status supersedes the application; the latest status (by its time) is the application's state."""
    apps: dict[str, list[Event]] = {}
    for e in evs:
        if e.msg_type in ("permit.application", "permit.status"):
            apps.setdefault(e.subject or "", []).append(e)
    pending: list[tuple[str, str, datetime]] = []
    approved: list[datetime] = []
    for subject, es in sorted(apps.items()):
        statuses = [e for e in es if e.msg_type == "permit.status"]
        last = statuses[-1] if statuses else None
        state = (last.status or "SUBMITTED") if last is not None else "SUBMITTED"
        if state == "CANCELLED":
            continue
        if state == "APPROVED" and last is not None:
            approved.append(last.at)
        elif state in ("CLARIFICATION_REQUESTED", "REJECTED") and last is not None:
            pending.append((subject, state, last.at))
        else:
            pending.append((subject, state, es[0].at))
    return pending, approved


def _waiting(code: Code, facts: Mapping[Code, datetime], decision: Event | None, void_until: datetime | None,
             pending: list[tuple[str, str, datetime]], unpaid: list[Event]) -> tuple[Waiting, ...]:
    if code is Code.GATED_OUT:
        return ()
    if code is Code.DELIVERY_ORDER_ISSUED:
        return (Waiting(None, "gate-out of the cargo at the terminal or CFS (cargo handler)"),)
    if code is Code.RELEASED:
        return (Waiting(None, "the shipping line's delivery order"),)
    waits: list[Waiting] = []
    if code is Code.HELD_FOR_EXAMINATION and decision is not None:
        if decision.status == "DOCUMENTS_REQUIRED":
            waits.append(Waiting(WaitingForCode.SUPPORTING_DOCUMENTS, "supporting documents asked for by customs"))
        else:
            waits.append(Waiting(WaitingForCode.CUSTOMS_INSPECTION, "customs examination of the goods"))
    for subject, state, _since in pending:
        agency, _, application = subject.partition(":")
        if state == "CLARIFICATION_REQUESTED":
            waits.append(Waiting(WaitingForCode.SUPPORTING_DOCUMENTS,
                                 f"the clarification {agency} asked for on permit application {application}"))
        elif state == "REJECTED":
            waits.append(Waiting(WaitingForCode.AGENCY_APPROVAL,
                                 f"a new permit application ({agency} rejected {application})"))
        else:
            wcode = WaitingForCode.KEBS_VERIFICATION if agency == "KEBS" else WaitingForCode.AGENCY_APPROVAL
            waits.append(Waiting(wcode, f"{agency}'s decision on permit application {application}"))
    if code is Code.HELD_FOR_EXAMINATION:
        return tuple(waits)
    if unpaid:
        prns = ", ".join(a.subject or "?" for a in unpaid)
        waits.append(Waiting(WaitingForCode.PAYMENT_CONFIRMATION, f"payment of the assessed duty (PRN {prns})"))
    elif Code.DUTY_PAID in facts:
        if not pending:
            waits.append(Waiting(None, "customs release (iCMS)"))
    elif Code.ENTRY_LODGED in facts:
        waits.append(Waiting(None, "duty assessment by customs (iCMS)"))
    elif void_until is not None and decision is not None:
        waits.append(Waiting(None, f"a new customs entry (entry {decision.subject} was cancelled)"))
    elif Code.IDF_LODGED in facts:
        waits.append(Waiting(None, "the customs entry (clearing agent)"))
    else:
        waits.append(Waiting(None, "the import declaration form (IDF)"))
    return tuple(waits)


# ------------------------------------------------------------------ presenting a consignment


@dataclass(frozen=True)
class PartyRecord:
    role: str
    scheme: str
    party_id: str
    partner: str | None


@dataclass(frozen=True)
class Consignment:
    ucr: str
    events: tuple[Event, ...]
    parties: tuple[PartyRecord, ...] = ()
    references: tuple[tuple[str, str], ...] = ()  # (kind, value)

    @property
    def timeline(self) -> list[Event]:
        return sorted(self.events, key=sort_key)

    @property
    def status(self) -> Status:
        return derive(self.events)


def eat(value: datetime | None) -> str:
    if value is None:
        return "-"
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(EAT).strftime("%Y-%m-%d %H:%M:%S EAT")


def event_status(e: Event) -> str:
    """The table's status column: the stage the event shows, with the document's own code when it has one."""
    stage = e.stage
    if stage is None:
        return e.status or "-"
    return stage.value if e.status in (None, stage.value) else f"{stage.value} ({e.status})"


def render(ref: str, consignments: Sequence[Consignment]) -> str:
    """The text ``hub track`` prints; personal identifiers (KRA PINs) masked."""
    lines: list[str] = []
    for c in consignments:
        lines.append(f"UCR {c.ucr} (found by {ref})")
        lines.append(f"{'TIME (EAT)':<23}  {'TYPE':<22} {'SENDER':<18} STATUS")
        for e in c.timeline:
            time_text = eat(e.at).removesuffix(" EAT")
            lines.append(f"{time_text:<23}  {e.msg_type:<22} {e.sender:<18} {event_status(e)}")
        st = c.status
        lines.append(f"status:      {st.code.value}")
        lines.append(f"since:       {eat(st.since)}")
        waiting = "; ".join(w.text + (f" [{w.code.value}]" if w.code else "") for w in st.waiting_for)
        lines.append(f"waiting for: {waiting or 'nothing'}")
        if c.references:
            lines.append("references:  " + ", ".join(f"{k} {v}" for k, v in c.references))
        if c.parties:
            lines.append("parties:     " + ", ".join(
                f"{p.role} {mask_text(p.party_id)}" + (f" ({p.partner})" if p.partner else "") for p in c.parties))
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def as_json(ref: str, consignments: Sequence[Consignment]) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for c in consignments:
        st = c.status
        out.append({
            "ucr": c.ucr,
            "status": st.code.value,
            "since": st.since.isoformat() if st.since else None,
            "since_eat": eat(st.since),
            "waiting_for": [{"code": w.code.value if w.code else None, "text": w.text} for w in st.waiting_for],
            "events": [{"at": e.at.isoformat(), "at_eat": eat(e.at), "type": e.msg_type, "sender": e.sender,
                        "message_id": e.message_id, "status": e.status, "stage": e.stage.value if e.stage else None,
                        "subject": e.subject, "vessel_call": e.vessel_call} for e in c.timeline],
            "references": [{"kind": k, "value": v} for k, v in c.references],
            "parties": [{"role": p.role, "scheme": p.scheme, "id": mask_text(p.party_id), "partner": p.partner}
                        for p in c.parties],
        })
    return {"reference": ref, "consignments": out}
