"""``ucr.issued``: the single window issuing a Unique Consignment Reference for one transaction.

The UCR follows WCO Recommendation on the UCR (and the EAC form); the parties are those the UCR is
issued for, so that each gets the transactions it is named in (Third Schedule: the trader and its
agent, the financing bank T-BNK(3), the insurer T-INS(2)). The fee is the UCR application fee of the
Second Schedule (USD 10 per transaction). XSD: ``xsd/ucr.issued.xsd`` (namespace
``urn:ke:nesws:hub:ucr.issued:1``, root ``UcrIssued``).
"""

from __future__ import annotations

from typing import ClassVar

from hub.identifiers import Reference35, Ucr, XsdDateTime
from hub.schemas.base import Body, IdScheme, Keys, Party, PartyRole, Reference, RefKind
from hub.schemas.customs_release import Trader
from hub.schemas.idf import Amount, Bank


class UcrIssued(Body):
    """A UCR issued by the single window, with the parties of the transaction it identifies."""

    TYPE: ClassVar[str] = "ucr.issued"
    ROOT: ClassVar[str] = "UcrIssued"

    ucr: Ucr
    issue_date_time: XsdDateTime
    trader: Trader
    agent: Trader | None = None
    financing_bank: Bank | None = None
    insurer: Trader | None = None
    idf_id: Reference35 | None = None
    fee_amount: Amount

    def keys(self) -> Keys:
        """The UCR (also as a reference, with the related IDF number); the trader (role applicant: it
        applied for the UCR), the clearing agent and the insurer by KRA PIN, the financing bank by BIC."""
        refs = [Reference(kind=RefKind.UCR, value=self.ucr)]
        if self.idf_id is not None:
            refs.append(Reference(kind=RefKind.IDF, value=self.idf_id))
        parties = [Party(role=PartyRole.APPLICANT, scheme=IdScheme.KRA_PIN, id=self.trader.id)]
        if self.agent is not None:
            parties.append(Party(role=PartyRole.CLEARING_AGENT, scheme=IdScheme.KRA_PIN, id=self.agent.id))
        if self.financing_bank is not None:
            parties.append(Party(role=PartyRole.FINANCING_BANK, scheme=IdScheme.BIC, id=self.financing_bank.id))
        if self.insurer is not None:
            parties.append(Party(role=PartyRole.INSURER, scheme=IdScheme.KRA_PIN, id=self.insurer.id))
        return Keys(ucr=self.ucr, references=tuple(dict.fromkeys(refs)), parties=tuple(dict.fromkeys(parties)))


__all__ = ["UcrIssued"]
