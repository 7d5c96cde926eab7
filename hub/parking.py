"""Holding messages for correlation: who a message's ``own`` recipients are, or why that is not known yet.

``own`` cells of ACCESS.md deliver a message only to the partners that are parties of its consignment. The
parties come from the message itself (the PINs, BICs and codes it names, matched to the registry) and from
what the hub has recorded for the consignment (hub.timeline: the IDF names the importer, its agent and the
financing bank; the certificate the insurer; the manifest the CFS...). A message is **parked** (its sender
gets ``pending``) when:

- ``UCR_UNKNOWN``: it carries no UCR, none of its references is linked to one yet, and it is no party source
  (no v1 type today: each carries its UCR; a party source without one, such as an NCTS declaration, is
  routed to the parties it names);
- ``PARTIES_UNKNOWN``: its type has ``own`` cells, the hub has recorded nothing for its consignment, and the
  type is not one of the documents ACCESS.md names as the source of a consignment's parties (IDF, UCR, entry,
  insurance certificate, manifest, delivery order, permit): a payment confirmation, a duty assessment, a
  customs release or a gate event before its IDF. What such a message names itself is not enough: a payment
  naming its importer does not name the importer's clearing agent, who must get it too.

A parked message is released, routed and acknowledged ``accepted`` as soon as a message linking it is
committed (the IDF, the manifest), or rejected with ``UCR_UNRESOLVED`` after
``correlation.park_timeout_hours``. Everything here is pure: the pipeline reads the store once per batch
into a ``Context`` and calls ``decide`` per message, in order, so that a message earlier in the same batch
counts as known.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hub.routing import RoutingTable
from hub.schemas.base import Keys
from hub.timeline import Observation

UCR_UNKNOWN = "UCR_UNKNOWN"
PARTIES_UNKNOWN = "PARTIES_UNKNOWN"
UCR_KIND = "ucr"  # lookup key kind of a parked message waiting for its consignment by UCR
# ACCESS.md, notes: "the consignee and its clearing agent from the IDF and entry, the financing bank from the
# IDF, the insurer from the certificate, the cargo handler and CFS from the manifest and delivery order, the
# issuing agency from the permit type" (ucr.issued repeats the IDF's parties)
PARTY_SOURCES = frozenset({"idf", "ucr.issued", "customs.entry", "insurance.certificate", "manifest.sea",
                           "manifest.air", "delivery.order", "permit.application", "permit.status"})


@dataclass
class Context:
    """What the store knows about a batch's consignments, updated as the batch's messages are accepted."""

    refs: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, value) -> UCR
    known: set[str] = field(default_factory=set)  # UCRs with a recorded event
    parties: dict[str, set[str]] = field(default_factory=dict)  # UCR -> partner ids recorded as parties

    def learn(self, obs: Observation | None, ucrs: Iterable[str]) -> None:
        """Count an accepted message's consignments, references and parties as recorded."""
        if obs is None or obs.vessel_level:
            return
        for link in obs.links:
            targets = [link.ucr] if link.ucr else self.resolve(link.refs_keys())
            for ucr in targets:
                self.known.add(ucr)
                for key in link.refs_keys():
                    self.refs.setdefault(key, ucr)
                self.parties.setdefault(ucr, set()).update(p for _party, p in link.parties if p)
        self.known.update(ucrs)

    def resolve(self, keys: Iterable[tuple[str, str]]) -> list[str]:
        return sorted({self.refs[k] for k in keys if k in self.refs})


@dataclass(frozen=True)
class Verdict:
    park: str | None  # None: route now; else UCR_UNKNOWN or PARTIES_UNKNOWN
    ucrs: tuple[str, ...] = ()
    parties: frozenset[str] = frozenset()  # partner ids: named in the message and recorded for its consignment
    lookup: tuple[tuple[str, str], ...] = ()  # what would release a parked message


class FactStore(Protocol):
    """What ``load_context`` reads (hub.store.Store)."""

    def known_refs(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]: ...

    def consignment_facts(self, ucrs: Iterable[str]) -> tuple[set[str], dict[str, set[str]]]: ...


def load_context(store: FactStore, observations: Sequence[Observation | None]) -> Context:
    """What the store knows about these messages' consignments (two reads; call it from a worker thread)."""
    refs = store.known_refs(wanted_keys(observations))
    ucrs = {link.ucr for obs in observations if obs is not None for link in obs.links if link.ucr}
    known, parties = store.consignment_facts(ucrs | set(refs.values()))
    return Context(refs, known, parties)


def sources_of(schema_types: Iterable[Any]) -> frozenset[str]:
    """The party sources of a configuration: PARTY_SOURCES and its schema-only types (``config.schema_types``)."""
    return PARTY_SOURCES | {st.name for st in schema_types}


def wanted_keys(observations: Iterable[Observation | None]) -> set[tuple[str, str]]:
    """The (kind, value) references a batch's messages would be resolved by."""
    return {k for obs in observations if obs is not None for link in obs.links for k in link.refs_keys()}


def decide(msg_type: str, keys: Keys, obs: Observation | None, table: RoutingTable, ctx: Context,
           sources: frozenset[str] = PARTY_SOURCES) -> Verdict:
    """Route now (with which parties) or park (why, and until which reference or UCR is known).

    ``sources``: the types that name their consignment's parties themselves (PARTY_SOURCES, plus the
    schema-only types, whose parties the operator's XPaths define and which ACCESS.md does not cover)."""
    named = frozenset(table.parties_of(keys))
    if obs is None or obs.vessel_level or len(obs.links) != 1:
        # about no single consignment (a question, a vessel call, a manifest's many lines): its own words
        return Verdict(None, parties=named)
    link = obs.links[0]
    ucrs = [link.ucr] if link.ucr else ctx.resolve(link.refs_keys())
    if not ucrs:  # a party source names its parties itself: routed on its own words, recorded nowhere
        return Verdict(None, parties=named) if msg_type in sources else Verdict(
            UCR_UNKNOWN, lookup=tuple(sorted(link.refs_keys())))
    recorded = frozenset(p for u in ucrs for p in ctx.parties.get(u, ()))
    if msg_type not in sources and table.own_partners(msg_type) and not any(u in ctx.known for u in ucrs):
        return Verdict(PARTIES_UNKNOWN, tuple(ucrs), lookup=tuple((UCR_KIND, u) for u in ucrs))
    return Verdict(None, tuple(ucrs), named | recorded)

