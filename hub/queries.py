"""Where a consignment stands, as a partner may see it: the answer of ``GET /v1/consignments/{ref}``
(hub.api_http). Pure given a ``Store``: no HTTP, no clock. The document has the shape of
``hub.timeline.as_json`` (``hub track --json``), plus ``viewer``.

Visibility rules (ACCESS.md: "field-level visibility in answers to status queries follows the same table"):

1. **Cells.** The viewer's cell for a message type T is the best, over the viewer's profiles, of
   ``access.yaml``'s cell for (T, profile): ``all`` above ``own`` above deny. ``aff`` (maintenance notices,
   which are no consignment's events) and a missing cell count as deny. The sender flag (S) grants nothing:
   sending a type is no right to see it (ACCESS.md: a bank sends ``payment.confirmation`` but does not see
   "the duty paid"; customs sends ``customs.release`` and ``duty.assessment``, and its cells for them are
   deny, so customs does not see them here either).
2. **Parties.** The viewer is a party of consignment C when one of C's recorded parties
   (``consignment_parties``, matched to the registry when the message was accepted) is the viewer, in any
   role except ``paying_bank``: a bank that only collected a payment for C (a duty or a fee) does not
   finance it, and ACCESS.md's ``own`` covers "the transactions it finances".
3. **Events.** An event of C is visible when its type's cell is ``all``, or ``own`` and the viewer is a
   party of C. So a partner with ``all`` for a type sees those events of *any* consignment, as it receives
   every such message. Events of a vessel call (``arrival.iar``, ``bayplan``) are events of each
   consignment the call carries, as in ``hub track``.
4. **Nothing visible, nothing found.** A consignment with no visible event is left out entirely, as if it
   did not exist. So is one the reference asked for names only through what the viewer may not see (a
   reference of a kind rule 6 hides, or the vessel call of hidden events): the answer never confirms a
   link the viewer could not read. The UCR itself always finds a consignment with a visible event.
5. **Status.** ``status``, ``since`` and ``waiting_for`` are derived (``hub.timeline.derive``) from the
   visible events only, so they never reveal a hidden event (a bank seeing the IDF reads ``IDF_LODGED``
   whatever happened since).
6. **References and parties.** References: only of the kinds a visible event's type carries
   (``REF_TYPES``, from the types' ``keys()``; schema-only types carry the kinds of their XPaths).
   Parties: the viewer's own rows, and the parties whose role a visible event's type names
   (``ROLE_TYPES``); identifiers masked as in ``hub track``.
7. **Operator.** ``viewer`` None is the operator: everything, the document of ``hub.timeline.as_json``.
   A viewer unknown to the registry sees nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hub.config import Cell, HubConfig
from hub.schemas.base import PartyRole, RefKind
from hub.store import Store
from hub.timeline import Consignment, as_json

OPERATOR = "operator"  # ``viewer`` in the operator's document (the subject of its API token, hub.tokens)

# Types whose message-level (or manifest line) UCR is recorded as a reference of kind "ucr".
_WITH_UCR = ("ucr.issued", "idf", "customs.entry", "customs.release", "duty.assessment", "payment.confirmation",
             "permit.application", "permit.status", "insurance.certificate", "delivery.order", "gate.event",
             "eseal.event", "manifest.sea", "manifest.air")

# kind -> the catalogue types whose keys() (or, for manifests, hub.timeline's line links) carry it. The shared
# kinds (vessel call, manifest, flight) are never a consignment's own references (hub.timeline.SHARED_KINDS).
REF_TYPES: dict[str, frozenset[str]] = {
    RefKind.UCR: frozenset(_WITH_UCR),
    RefKind.IDF: frozenset({"idf", "ucr.issued"}),
    RefKind.ENTRY: frozenset({"customs.entry", "customs.release", "duty.assessment", "payment.confirmation",
                              "gate.event", "eseal.event"}),
    RefKind.MASTER_BL: frozenset({"customs.entry", "manifest.sea", "delivery.order"}),
    RefKind.HOUSE_BL: frozenset({"customs.entry", "manifest.sea", "delivery.order"}),
    RefKind.AWB: frozenset({"customs.entry"}),
    RefKind.MASTER_AWB: frozenset({"customs.entry", "manifest.air"}),
    RefKind.HOUSE_AWB: frozenset({"customs.entry", "manifest.air"}),
    RefKind.CONTAINER: frozenset({"customs.entry", "customs.release", "manifest.sea", "delivery.order",
                                  "gate.event", "eseal.event", "bayplan"}),
    RefKind.PRN: frozenset({"duty.assessment", "payment.confirmation"}),
    RefKind.ASSESSMENT: frozenset({"duty.assessment"}),
    RefKind.PERMIT_APPLICATION: frozenset({"permit.application", "permit.status"}),
    RefKind.PERMIT: frozenset({"permit.status"}),
    RefKind.INSURANCE_CERT: frozenset({"insurance.certificate"}),
    RefKind.ESEAL: frozenset({"eseal.event"}),
    RefKind.DELIVERY_ORDER: frozenset({"delivery.order"}),
}

# role -> the catalogue types whose keys() name a party in that role.
ROLE_TYPES: dict[str, frozenset[str]] = {
    PartyRole.CONSIGNEE: frozenset({"customs.release", "manifest.sea", "manifest.air", "delivery.order",
                                    "gate.event"}),
    PartyRole.IMPORTER: frozenset({"idf", "customs.entry", "duty.assessment", "insurance.certificate"}),
    PartyRole.DECLARANT: frozenset({"customs.entry", "customs.release", "duty.assessment", "permit.status"}),
    PartyRole.CLEARING_AGENT: frozenset({"idf", "ucr.issued", "permit.application", "permit.status",
                                         "insurance.certificate", "delivery.order", "gate.event"}),
    PartyRole.FINANCING_BANK: frozenset({"idf", "ucr.issued"}),
    PartyRole.INSURER: frozenset({"ucr.issued", "insurance.certificate"}),
    PartyRole.APPLICANT: frozenset({"ucr.issued", "permit.application"}),
    PartyRole.CARRIER: frozenset({"manifest.sea", "manifest.air", "arrival.iar", "bayplan", "delivery.order"}),
    PartyRole.SHIPPING_AGENT: frozenset({"arrival.iar"}),
    PartyRole.GROUND_HANDLER: frozenset({"manifest.air"}),
    PartyRole.CFS: frozenset({"manifest.sea", "manifest.air", "delivery.order", "gate.event"}),
    PartyRole.TERMINAL_OPERATOR: frozenset({"delivery.order", "gate.event"}),
    PartyRole.CUSTOMS_OFFICE: frozenset({"customs.entry"}),
    PartyRole.ISSUING_AGENCY: frozenset({"permit.application", "permit.status", "payment.confirmation"}),
    PartyRole.ESEAL_VENDOR: frozenset({"eseal.event"}),
    PartyRole.PAYING_BANK: frozenset({"payment.confirmation"}),
    PartyRole.PAYER: frozenset({"payment.confirmation"}),
}

# Roles that do not make their partner a party of the consignment (rule 2).
NOT_A_PARTY: frozenset[str] = frozenset({PartyRole.PAYING_BANK})

_GRANTING = (Cell.ALL, Cell.OWN)


def cells(config: HubConfig, viewer: str) -> dict[str, Cell]:
    """The viewer's cell per message type: the best of its profiles' (rule 1); deny for an unknown viewer."""
    partner = config.partner(viewer)
    out: dict[str, Cell] = {}
    for msg_type, rules in config.access.items():
        best = Cell.DENY
        for profile in partner.profiles if partner is not None else ():
            rule = rules.get(profile)
            if rule is not None and rule.cell in _GRANTING and (best is Cell.DENY or rule.cell is Cell.ALL):
                best = rule.cell
        out[msg_type] = best
    return out


def carried(config: HubConfig) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """``REF_TYPES`` and ``ROLE_TYPES`` with the configuration's schema-only types added (their XPaths)."""
    refs = {str(k): set(v) for k, v in REF_TYPES.items()}
    roles = {str(k): set(v) for k, v in ROLE_TYPES.items()}
    for st in config.schema_types:
        kinds = [str(k) for k in st.references] + ([str(RefKind.UCR)] if st.ucr_xpath else [])
        for kind in kinds:
            refs.setdefault(kind, set()).add(st.name)
        for party in st.parties:
            roles.setdefault(str(party.role), set()).add(st.name)
    return ({k: frozenset(v) for k, v in refs.items()}, {k: frozenset(v) for k, v in roles.items()})


def is_party(c: Consignment, viewer: str) -> bool:
    """Rule 2."""
    return any(p.partner == viewer and p.role not in NOT_A_PARTY for p in c.parties)


def visible_part(c: Consignment, viewer: str, cell: Mapping[str, Cell], ref_types: Mapping[str, frozenset[str]],
                 role_types: Mapping[str, frozenset[str]]) -> Consignment | None:
    """What the viewer may see of one consignment (rules 3, 5 and 6); None when it sees no event of it."""
    party = is_party(c, viewer)
    events = tuple(e for e in c.events
                   if cell.get(e.msg_type) is Cell.ALL or (party and cell.get(e.msg_type) is Cell.OWN))
    if not events:
        return None
    types = {e.msg_type for e in events}
    refs = tuple((k, v) for k, v in c.references if not types.isdisjoint(ref_types.get(k, ())))
    parties = tuple(p for p in c.parties if p.partner == viewer or not types.isdisjoint(role_types.get(p.role, ())))
    return Consignment(c.ucr, events, parties, refs)


def _asked(ref: str) -> set[str]:
    """The values ``Store.resolve`` looks a reference up by."""
    return {ref.strip(), ref.strip().upper()} - {""}


def found_by(ref: str, visible: Consignment) -> bool:
    """Rule 4: the reference names the consignment through something the viewer sees."""
    asked = _asked(ref)
    return (visible.ucr in asked or any(v in asked for _k, v in visible.references)
            or any(e.vessel_call in asked for e in visible.events if e.vessel_call))


def consignment_view(store: Store, config: HubConfig, ref: str, viewer: str | None) -> dict[str, Any]:
    """The consignments ``ref`` names, as ``viewer`` (a partner id; None: the operator) may see them:
    ``{"reference", "viewer", "consignments": [...]}`` with the consignments of ``hub.timeline.as_json``.
    An empty ``consignments`` list means "not found", whether nothing has the reference or the viewer may see
    nothing of what has it."""
    found = [store.consignment(ucr) for ucr in store.resolve(ref)]
    if viewer is None:
        return _document(ref, OPERATOR, found)
    cell = cells(config, viewer)
    ref_types, role_types = carried(config)
    shown = []
    for c in found:
        part = visible_part(c, viewer, cell, ref_types, role_types)
        if part is not None and found_by(ref, part):
            shown.append(part)
    return _document(ref, viewer, shown)


def _document(ref: str, viewer: str, consignments: Iterable[Consignment]) -> dict[str, Any]:
    doc = as_json(ref, list(consignments))
    return {"reference": doc["reference"], "viewer": viewer, "consignments": doc["consignments"]}
