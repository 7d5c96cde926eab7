"""``route(msg_type, sender, keys, table) -> RoutingDecision``: pure, no I/O, unit-tested alone.

For every registered partner other than the sender: candidate if one of its profiles is routed the type
(``routes.yaml``); then the access table (``access.yaml``, default deny) decides, taking the best cell
over the partner's profiles: ``all`` delivers; ``own`` delivers only if the partner is a named party of
the message (matched through the identifiers the registry holds). Every exclusion carries its rule.
A partner holding several profiles is delivered once.

A table works out, once per message type, what each candidate gets (``RoutingTable.plan``): route() then
only skips the sender and checks the ``own`` candidates against the parties (benchmarks/registry_scale.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from hub.config import AccessRule, Cell, HubConfig, Partner, PartnerStatus, Profile, Route
from hub.schemas.base import IdScheme, Keys, Party, normalise_id

_RANK = {Cell.ALL: 3, Cell.OWN: 2, Cell.AFF: 1, Cell.DENY: 0}
# message types a table keeps the plan of (the first routed): a plan holds an entry per candidate (~0.25 KB), so
# this bounds the memory of a configuration with thousands of types; another type's plan is built for each of
# its messages and dropped, which costs what routing without plans did
PLAN_TYPES = 128


@dataclass(frozen=True)
class Recipient:
    id: str
    content_type: str
    rule: str


@dataclass(frozen=True)
class Exclusion:
    id: str
    rule: str


@dataclass(frozen=True)
class RoutingDecision:
    recipients: tuple[Recipient, ...]
    excluded: tuple[Exclusion, ...]

    def recipient_ids(self) -> list[str]:
        return [r.id for r in self.recipients]


# one candidate of a message type, in partner id order: (id, its delivery, its exclusion). A delivery alone:
# always delivered; an exclusion alone: never; both (an ``own`` cell): delivered only to a party of the message
PlanStep = tuple[str, Recipient | None, Exclusion | None]


@dataclass
class RoutingTable:
    """Routes, access rules and the registry, indexed once for fast lookups (built at start-up)."""

    partners: tuple[Partner, ...]
    routes: dict[str, Route]
    access: dict[str, dict[Profile, AccessRule]]
    by_identifier: dict[tuple[IdScheme, str], str] = field(init=False)
    by_profile: dict[Profile, tuple[Partner, ...]] = field(init=False)
    _own: dict[str, frozenset[str]] = field(init=False, default_factory=dict)
    _plans: dict[str, tuple[PlanStep, ...]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.by_identifier = {
            (scheme, normalise_id(scheme, value)): p.id
            for p in self.partners
            for scheme, values in p.identifiers.items()
            for value in values
        }
        grouped: dict[Profile, list[Partner]] = {}
        for p in self.partners:
            for prof in p.profiles:
                grouped.setdefault(prof, []).append(p)
        self.by_profile = {k: tuple(v) for k, v in grouped.items()}

    @classmethod
    def from_config(cls, config: HubConfig) -> RoutingTable:
        return cls(config.partners, config.routes, config.access)

    def parties_of(self, keys: Keys) -> set[str]:
        """Partner ids named as parties in the message."""
        found = set()
        for party in keys.parties:
            pid = self.partner_of(party)
            if pid is not None:
                found.add(pid)
        return found

    def own_partners(self, msg_type: str) -> frozenset[str]:
        """Partners whose best cell for this type is ``own``: those a message reaches only as a party."""
        cached = self._own.get(msg_type)
        if cached is None:
            route_cfg = self.routes.get(msg_type)
            rules = self.access.get(msg_type, {})
            found = set()
            for partner in self.partners:
                best = _best_rule(partner, rules, route_cfg.to) if route_cfg else None
                if best is not None and best[1].cell is Cell.OWN and partner.status is not PartnerStatus.DEREGISTERED:
                    found.add(partner.id)
            cached = self._own[msg_type] = frozenset(found)
        return cached

    def plan(self, msg_type: str) -> tuple[PlanStep, ...] | None:
        """What every candidate of this type gets, whoever sends and whoever is named (None: the type is not
        routed). Candidates: the partners of the profiles the type is routed to, each once, in id order; a
        deregistered one is excluded; otherwise its best cell over its profiles decides (none: default deny).
        Built on the first message of the type and kept for the first ``PLAN_TYPES`` types (the table never
        changes: ``hub run`` builds a new one when a status changes)."""
        steps = self._plans.get(msg_type)
        if steps is not None:
            return steps
        route_cfg = self.routes.get(msg_type)
        if route_cfg is None:
            return None
        rules = self.access.get(msg_type, {})
        candidates: dict[str, Partner] = {}
        for prof in route_cfg.to:
            for partner in self.by_profile.get(prof, ()):
                candidates.setdefault(partner.id, partner)
        texts: dict[Profile, tuple[str, str]] = {}  # per deciding profile: the delivery's rule, the exclusion's
        built: list[PlanStep] = []
        for pid in sorted(candidates):
            partner = candidates[pid]
            if partner.status is PartnerStatus.DEREGISTERED:  # no longer entitled to anything
                built.append((pid, None, Exclusion(pid, "registry:deregistered")))
                continue
            best = _best_rule(partner, rules, route_cfg.to)
            if best is None:
                built.append((pid, None, Exclusion(pid, f"access:{msg_type}:default-deny")))
                continue
            prof, rule = best
            text = texts.get(prof)
            if text is None:
                rule_name = f"access:{msg_type}:{prof}:{rule.cell}"
                text = texts[prof] = (f"{rule_name} ({rule.basis})", f"{rule_name}: not a named party"
                                      if rule.cell is Cell.OWN else f"{rule_name}: not deliverable for this message")
            if rule.cell is Cell.ALL:
                built.append((pid, Recipient(pid, partner.receive_format, text[0]), None))
            elif rule.cell is Cell.OWN:
                built.append((pid, Recipient(pid, partner.receive_format, text[0]), Exclusion(pid, text[1])))
            else:
                built.append((pid, None, Exclusion(pid, text[1])))
        steps = tuple(built)
        if len(self._plans) < PLAN_TYPES:
            self._plans[msg_type] = steps
        return steps

    def partner_of(self, party: Party) -> str | None:
        """The registry partner a party named in a message is, matched by the identifiers it holds."""
        return self.by_identifier.get((party.scheme, normalise_id(party.scheme, party.id)))


def _best_rule(
    partner: Partner, rules: dict[Profile, AccessRule], routed: Iterable[Profile]
) -> tuple[Profile, AccessRule] | None:
    best: tuple[Profile, AccessRule] | None = None
    routed_set = set(routed)
    for prof in partner.profiles:
        if prof not in routed_set:
            continue
        rule = rules.get(prof)
        if rule is None:
            continue
        if best is None or _RANK[rule.cell] > _RANK[best[1].cell]:
            best = (prof, rule)
    return best


def route(msg_type: str, sender: str, keys: Keys, table: RoutingTable,
          parties: Iterable[str] | None = None) -> RoutingDecision:
    """Decide who receives a message of ``msg_type`` from ``sender`` with these keys.

    ``parties``: the partner ids that are parties of the message's consignment (named in it and recorded
    for it, hub.parking); by default those the message names itself.
    """
    steps = table.plan(msg_type)
    if steps is None:
        return RoutingDecision((), ())
    parties = table.parties_of(keys) if parties is None else set(parties)
    recipients: list[Recipient] = []
    excluded: list[Exclusion] = []
    for pid, recipient, exclusion in steps:
        if pid == sender:
            continue
        if recipient is not None and (exclusion is None or pid in parties):
            recipients.append(recipient)
        elif exclusion is not None:
            excluded.append(exclusion)
    return RoutingDecision(tuple(recipients), tuple(excluded))
