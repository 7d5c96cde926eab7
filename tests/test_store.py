"""The store: same code and migrations on SQLite and PostgreSQL (a throw-away database per run)."""

from __future__ import annotations

from hub.store import AcceptedRow, QuarantineRow, Store


def row(mid: str, sha: str = "a" * 64) -> AcceptedRow:
    return AcceptedRow("kra-icms", mid, sha, "customs.release", "26KEP0512345680000412", ("kentrade", "kma"))


def test_migrations_are_idempotent_and_dedupe_rows_round_trip(store: Store) -> None:
    store.migrate()  # a second run changes nothing
    store.commit_batch([row("m1"), row("m2", "b" * 64)], [QuarantineRow("NO_USER_ID", "x.y", None, "q1")])
    store.commit_batch([row("m1", "c" * 64)], [])  # a repeat insert is ignored, the first payload kept
    assert store.seen([("kra-icms", "m1"), ("kra-icms", "m2"), ("kra-icms", "m3")]) == {
        ("kra-icms", "m1"): "a" * 64,
        ("kra-icms", "m2"): "b" * 64,
    }
    assert store.accepted_count() == 2
    assert store.quarantine_counts() == {"NO_USER_ID": 1}


def test_seen_handles_large_batches_and_ack_drops_accumulate(store: Store) -> None:
    store.commit_batch([row(f"m{i}") for i in range(1200)], [])
    assert len(store.seen([("kra-icms", f"m{i}") for i in range(1500)])) == 1200
    store.add_ack_drops({"kebs": 3})
    store.add_ack_drops({"kebs": 4, "kpa": 1})
    assert store.ack_drop_counts() == {"kebs": 7, "kpa": 1}
