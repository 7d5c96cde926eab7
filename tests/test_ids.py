"""Derived identifiers: stable for the same inputs, distinct otherwise (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hub.ids import ack_id, delivery_id

ids = st.from_regex(r"[a-z0-9][a-z0-9-]{1,31}", fullmatch=True)
mids = st.text(min_size=1, max_size=128)


@given(ids, mids, ids, ids)
def test_delivery_id_depends_only_on_sender_message_and_recipient(sender: str, mid: str, r1: str, r2: str) -> None:
    assert delivery_id(sender, mid, r1) == delivery_id(sender, mid, r1)
    assert (delivery_id(sender, mid, r1) == delivery_id(sender, mid, r2)) == (r1 == r2)


@given(ids, mids, mids)
def test_distinct_messages_get_distinct_delivery_ids(sender: str, m1: str, m2: str) -> None:
    assert (delivery_id(sender, m1, "kpa") == delivery_id(sender, m2, "kpa")) == (m1 == m2)


def test_ack_ids_distinguish_statuses_and_payloads() -> None:
    a = ack_id("kebs", "m1", "rejected", "a" * 64)
    assert a == ack_id("kebs", "m1", "rejected", "a" * 64)
    assert a != ack_id("kebs", "m1", "rejected", "b" * 64)  # the same id re-sent with a fixed payload
    assert a != ack_id("kebs", "m1", "accepted", "a" * 64)
