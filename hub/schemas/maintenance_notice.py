"""``maintenance.notice``: the hub's notice of a maintenance window, of the single window (the hub) itself
or of a partner's system (NESWS (General) Regulations 2024, regulation 32).

Regulation 32(2): the single window gives at least 48 hours' notice of scheduled maintenance likely to
disrupt it; 32(3): it may do emergency maintenance at once. Other systems' windows are recorded whatever
notice they came with (KRA announced the 7-9 February 2026 iCMS window on Friday 6 February for 18:00 the
next day), and a notice under 48 hours is flagged: the rules of ``hub.windows``, whose ``Window`` a notice
is made from (``MaintenanceNotice.from_window``). The hub sends it to every partner with a route to or
from the target (ACCESS.md ``aff``). Names follow UN/CEFACT (a period's start and end date-times,
``Indicator`` for a yes/no element) and UN/EDIFACT (document issue date-time). XSD:
``xsd/maintenance.notice.xsd`` (namespace ``urn:ke:nesws:hub:maintenance.notice:1``, root
``MaintenanceNotice``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, model_validator

from hub.identifiers import Text, XsdDateTime
from hub.schemas.base import Body, Keys
from hub.schemas.consignment_status_response import PartnerId
from hub.windows import EAT, HUB_TARGET, Window
from hub.windows import NOTICE as NOTICE_PERIOD  # regulation 32(2): 48 hours

_XSD_BOOLEAN = {"true": True, "1": True, "false": False, "0": False}


def _xsd_boolean(value: Any) -> Any:
    """A JSON true/false, or the xs:boolean lexical forms true, false, 1, 0 (the XML text): nothing looser
    (pydantic's lax bool would also take "yes", "on" and the numbers 0 and 1)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _XSD_BOOLEAN:
        return _XSD_BOOLEAN[value]
    raise ValueError("expected a boolean: true or false")


XsdBoolean = Annotated[bool, BeforeValidator(_xsd_boolean)]


class NoticeTypeCode(StrEnum):
    """What the notice does: announce a window (planned or emergency), remind of it, or call it off."""

    SCHEDULED = "SCHEDULED"
    REMINDER = "REMINDER"
    CANCELLED = "CANCELLED"


class MaintenanceNotice(Body):
    """A maintenance window of the hub or of one partner's system, as the hub announces it."""

    TYPE: ClassVar[str] = "maintenance.notice"
    ROOT: ClassVar[str] = "MaintenanceNotice"

    target_id: PartnerId
    type_code: NoticeTypeCode
    start_date_time: XsdDateTime
    end_date_time: XsdDateTime
    emergency_indicator: XsdBoolean
    short_notice_indicator: XsdBoolean
    reason: Text | None = None
    issue_date_time: XsdDateTime

    @classmethod
    def from_window(
        cls,
        window: Window,
        type_code: NoticeTypeCode = NoticeTypeCode.SCHEDULED,
        issued_at: datetime | None = None,
    ) -> MaintenanceNotice:
        """The notice of a window ``hub.windows.plan_window`` accepted, written in East Africa Time. A
        SCHEDULED notice is issued when the window was announced (so its flag is the window's own);
        reminders and cancellations at ``issued_at``, carrying the window's flags."""
        return cls(
            target_id=window.target,
            type_code=type_code,
            start_date_time=window.start.astimezone(EAT),
            end_date_time=window.end.astimezone(EAT),
            emergency_indicator=window.emergency,
            short_notice_indicator=window.short_notice,
            reason=window.reason,
            issue_date_time=(issued_at or window.announced_at).astimezone(EAT),
        )

    @property
    def notice_given(self) -> timedelta:
        """How long before the window's start this notice was issued (negative once it has begun)."""
        return self.start_date_time - self.issue_date_time

    @model_validator(mode="after")
    def _window_and_notice(self) -> MaintenanceNotice:
        if self.end_date_time <= self.start_date_time:
            raise ValueError("EndDateTime must be after StartDateTime")
        if self.type_code is NoticeTypeCode.SCHEDULED:
            # A first notice carries the flag for the notice it gives; reminders and cancellations repeat
            # the flag of the notice they follow, so only the first can be checked against its own times.
            short = self.notice_given < NOTICE_PERIOD
            if self.short_notice_indicator != short:
                hours = self.notice_given.total_seconds() / 3600
                raise ValueError(
                    "ShortNoticeIndicator must be true exactly when the notice is issued less than 48 hours "
                    f"before StartDateTime; this one is issued {hours:g} hours before"
                )
            if self.target_id == HUB_TARGET and short and not self.emergency_indicator:
                raise ValueError(
                    "regulation 32(2): the single window gives at least 48 hours' notice of scheduled "
                    "maintenance; a shorter notice is for emergency maintenance only (EmergencyIndicator)"
                )
        return self

    def keys(self) -> Keys:
        """Nothing to correlate: no consignment, no party named by a business identifier. Routing finds the
        affected partners from ``target_id`` (a partner id, or ``hub``) and the routes."""
        return Keys()


__all__ = ["HUB_TARGET", "NOTICE_PERIOD", "MaintenanceNotice", "NoticeTypeCode", "XsdBoolean"]
