"""The audit trail (issue 5 item 6): a hash chain that `hub audit verify` checks against an external head.

Unit tests run on SQLite and on a throw-away PostgreSQL database; the last test goes through a running hub.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from hub.audit import (
    GENESIS,
    IN,
    OP,
    OUT,
    AuditBatch,
    AuditEntry,
    HeadKeeper,
    StoredBody,
    format_at,
    purge_bodies,
    purge_periodically,
    read_head,
    reset_head,
    verify,
    write_head,
)
from hub.cli import app
from hub.client import content_type_for
from hub.store import Store, audit_log, message_bodies
from hub.testing import HubUnderTest
from tests.conftest import EXAMPLES, ROOT, example


def batch_of(n: int, tag: str) -> AuditBatch:
    """A batch shaped like the pipeline's: each message's "in" entry followed by its deliveries."""
    entries: list[AuditEntry] = []
    bodies: list[StoredBody] = []
    for i in range(n):
        mid = f"{tag}-{i}"
        body = f"<CustomsRelease id='{mid}'/>".encode()
        entries.append(AuditEntry(IN, "kra-icms", "accepted", message_id=mid, msg_type="customs.release",
                                  payload_sha256=hashlib.sha256(body).hexdigest()))
        for rcpt in ("kentrade", "kpa"):
            sent = hashlib.sha256(body + rcpt.encode()).hexdigest()
            entries.append(AuditEntry(OUT, "kra-icms", "published", recipient=rcpt, message_id=mid,
                                      msg_type="customs.release", payload_sha256=sent))
        bodies.append(StoredBody("kra-icms", mid, "application/xml", body))
    return AuditBatch(entries, bodies)


def fill(store: Store, head: Path, batches: int = 4, per_batch: int = 3) -> HeadKeeper:
    keeper = HeadKeeper(head, store)
    for b in range(batches):
        batch = batch_of(per_batch, f"b{b}")
        store.commit_batch([], [], audit=batch)
        assert batch.head is not None
        assert keeper.advance(batch.head, batch.first_seq) == "written"
    return keeper


def sql(store: Store, statement: str, **params: Any) -> Any:
    with store.engine.begin() as conn:
        return conn.execute(sa.text(statement), params)


def rows(store: Store) -> list[tuple[Any, ...]]:
    return list(store.audit_rows())


# ---------------------------------------------------------------- the chain itself


def test_untouched_chain_verifies_and_hashes_follow_the_documented_encoding(store: Store, tmp_path: Path) -> None:
    head = tmp_path / "var" / "audit-head.json"
    fill(store, head)
    odd = AuditBatch([AuditEntry(IN, "x" * 40, "rejected:" + "X" * 80, message_id="é\x00\"\\\n" + "m" * 200,
                                 msg_type="t" * 70, payload_sha256="c" * 64)])  # clipped, NUL replaced, escaped
    store.commit_batch([], [], audit=odd)
    assert odd.head is not None
    HeadKeeper(head, store).advance(odd.head, odd.first_seq)
    report = verify(store, head)
    assert report.ok and report.entries == 4 * 9 + 1 and report.first_bad is None and report.ahead == 0
    assert report.head == read_head(head) and report.last_hash == report.head.entry_hash
    assert json.loads(head.read_text())["seq"] == 37

    chain = rows(store)
    assert [r[0] for r in chain] == list(range(1, 38))
    prev = GENESIS
    for seq, at, direction, sender, recipient, mid, mtype, sha, outcome, prev_hash, digest in chain:
        # the module docstring's recipe, written out by hand
        text = json.dumps(["hub.audit/1", seq, format_at(at), direction, sender, recipient, mid, mtype, sha, outcome,
                           prev_hash], separators=(",", ":"))
        assert prev_hash == prev
        assert hashlib.sha256(text.encode()).hexdigest() == digest
        assert "\x00" not in text and text.isascii()
        prev = digest
    last = chain[-1]
    assert (len(last[3]), len(last[5]), len(last[6]), len(last[8])) == (32, 128, 64, 64)
    assert format_at(chain[0][1]).endswith("Z") and len(format_at(chain[0][1])) == 27
    # bodies went to message_bodies, never to the log
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(message_bodies)).scalar_one() == 12
        assert "CustomsRelease" not in json.dumps([list(map(str, r)) for r in chain])


def _edit_middle(store: Store, head: Path) -> None:
    sql(store, "UPDATE audit_log SET outcome = 'rejected:X' WHERE seq = 14")


def _edit_and_rehash(store: Store, head: Path) -> None:  # a careful forger recomputes the edited entry's hash
    [r] = [r for r in rows(store) if r[0] == 14]
    e = AuditEntry(r[2], r[3], "rejected:X", recipient=r[4], message_id=r[5], msg_type=r[6], payload_sha256=r[7])
    from hub.audit import entry_hash

    sql(store, "UPDATE audit_log SET outcome = 'rejected:X', entry_hash = :h WHERE seq = 14",
        h=entry_hash(14, format_at(r[1]), e, r[9]))


def _delete_middle(store: Store, head: Path) -> None:
    sql(store, "DELETE FROM audit_log WHERE seq = 14")


def _delete_first(store: Store, head: Path) -> None:
    sql(store, "DELETE FROM audit_log WHERE seq = 1")


def _truncate_newest(store: Store, head: Path) -> None:
    sql(store, "DELETE FROM audit_log WHERE seq > 30")


def _truncate_all(store: Store, head: Path) -> None:
    sql(store, "DELETE FROM audit_log")


def _swap_pair(store: Store, head: Path) -> None:  # entries 14 and 15 trade places
    sql(store, "UPDATE audit_log SET seq = -1 WHERE seq = 14")
    sql(store, "UPDATE audit_log SET seq = 14 WHERE seq = 15")
    sql(store, "UPDATE audit_log SET seq = 15 WHERE seq = -1")


def _head_hash_edited(store: Store, head: Path) -> None:
    doc = json.loads(head.read_text())
    doc["entry_hash"] = "f" * 64
    head.write_text(json.dumps(doc))


def _head_seq_lowered(store: Store, head: Path) -> None:
    doc = json.loads(head.read_text())
    doc["seq"] = 20
    head.write_text(json.dumps(doc))


def _head_seq_raised(store: Store, head: Path) -> None:
    doc = json.loads(head.read_text())
    doc["seq"] = 40
    head.write_text(json.dumps(doc))


def _head_deleted(store: Store, head: Path) -> None:
    head.unlink()


def _head_garbage(store: Store, head: Path) -> None:
    head.write_text("{not json")


# (tamper, first bad seq, words the reason must contain); the log holds 36 entries, the head names 36
TAMPERING: dict[str, tuple[Callable[[Store, Path], None], int | None, str]] = {
    "edit": (_edit_middle, 14, "edited"),
    "edit+rehash": (_edit_and_rehash, 15, "entry 14"),
    "delete": (_delete_middle, 14, "entry 14 is missing"),
    "delete-first": (_delete_first, 1, "entry 1 is missing"),
    "truncate-newest-6": (_truncate_newest, 31, "entries 31..36 are missing"),
    "truncate-all": (_truncate_all, 1, "entries 1..36 are missing"),
    "reorder-pair": (_swap_pair, 14, "prev_hash"),
    "head-hash-edited": (_head_hash_edited, 36, "differs from the external head"),
    "head-seq-lowered": (_head_seq_lowered, 20, "differs from the external head"),
    "head-seq-raised": (_head_seq_raised, 37, "entries 37..40 are missing"),
    "head-deleted": (_head_deleted, None, "missing"),
    "head-garbage": (_head_garbage, None, "unreadable"),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_tampering_fails_naming_the_first_bad_entry(store: Store, tmp_path: Path, kind: str) -> None:
    head = tmp_path / "audit-head.json"
    fill(store, head)
    assert verify(store, head).ok
    tamper, first_bad, words = TAMPERING[kind]
    tamper(store, head)
    report = verify(store, head)
    assert not report.ok
    assert report.first_bad == first_bad, report
    assert report.reason is not None and words in report.reason, report.reason


def test_store_one_batch_ahead_of_the_head_is_the_crash_window_not_tampering(store: Store, tmp_path: Path) -> None:
    head = tmp_path / "audit-head.json"
    keeper = fill(store, head)
    late = batch_of(2, "late")
    store.commit_batch([], [], audit=late)  # committed; the process "dies" before writing the head
    report = verify(store, head)
    assert report.ok and report.ahead == 6 and report.head is not None and report.head.seq == 36
    assert late.head is not None and keeper.advance(late.head, late.first_seq) == "written"
    assert verify(store, head).ahead == 0
    sql(store, "UPDATE audit_log SET outcome = 'x' WHERE seq = 40")  # entries past the head are still chained
    assert verify(store, head).first_bad == 40


def test_head_is_never_advanced_past_a_contradiction_until_reset(store: Store, tmp_path: Path) -> None:
    head = tmp_path / "audit-head.json"
    keeper = fill(store, head)
    sql(store, "DELETE FROM audit_log WHERE seq > 30")
    for i in range(3):  # the running hub appends on top of the truncated log: 31.., then past the head's 36
        batch = batch_of(1, f"after{i}")
        store.commit_batch([], [], audit=batch)
        assert batch.head is not None
        assert keeper.advance(batch.head, batch.first_seq) == ("stale" if batch.head.seq <= 36 else "conflict")
    assert read_head(head) is not None and read_head(head).seq == 36  # type: ignore[union-attr]
    report = verify(store, head)
    assert not report.ok and report.first_bad == 36 and "differs from the external head" in (report.reason or "")

    checked, new = reset_head(store, head)  # the operator accepts the store after investigating
    assert checked.ok and new is not None and new.seq == 40
    assert verify(store, head).ok
    op = rows(store)[-1]
    assert (op[2], op[3], op[5], op[8]) == (OP, "hub", "from:36", "head-reset")

    # a head file deleted while the chain exists is not silently recreated
    head.unlink()
    batch = batch_of(1, "nohead")
    store.commit_batch([], [], audit=batch)
    assert batch.head is not None and keeper.advance(batch.head, batch.first_seq) == "missing"
    assert not head.exists() and not verify(store, head).ok

    sql(store, "UPDATE audit_log SET outcome = 'x' WHERE seq = 3")  # a broken chain cannot be reset
    refused, none = reset_head(store, head)
    assert none is None and refused.first_bad == 3


def test_an_empty_log_verifies_and_its_first_batch_creates_the_head(store: Store, tmp_path: Path) -> None:
    head = tmp_path / "sub" / "audit-head.json"
    assert verify(store, head).ok and verify(store, head).entries == 0
    fill(store, head, batches=1)
    assert read_head(head) is not None and verify(store, head).ok
    write_head(head, read_head(head))  # type: ignore[arg-type]  # rewriting the same head is harmless
    assert verify(store, head).ok


def test_concurrent_appenders_keep_one_linear_chain(store: Store, tmp_path: Path) -> None:
    """Two engines (as two hub processes would have) append at once; seqs and links stay one line."""
    head = tmp_path / "audit-head.json"
    other = Store(store.url)
    errors: list[BaseException] = []

    def appender(s: Store, tag: str) -> None:
        keeper = HeadKeeper(head, s)
        try:
            for b in range(40):
                batch = batch_of(2, f"{tag}{b}")
                s.commit_batch([], [], audit=batch)
                assert batch.head is not None
                keeper.advance(batch.head, batch.first_seq)
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=appender, args=(s, tag)) for s, tag in ((store, "a"), (other, "z"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        other.close()
    assert not errors, errors
    report = verify(store, head)
    assert report.ok and report.entries == 2 * 40 * 6, report
    chain = rows(store)
    assert [r[0] for r in chain] == list(range(1, 481))
    # each batch is contiguous: its 6 entries were appended under one lock
    for start in range(0, 480, 6):
        tags = {r[5].split("-")[0] for r in chain[start : start + 6]}
        assert len(tags) == 1, tags
    assert {r[5][0] for r in chain} == {"a", "z"}


# ---------------------------------------------------------------- retention


def _age_bodies(store: Store, days: int, prefix: str) -> None:
    old = datetime.now(UTC) - timedelta(days=days)
    with store.engine.begin() as conn:
        conn.execute(message_bodies.update().where(message_bodies.c.message_id.like(prefix + "%"))
                     .values(received_at=old))


def test_purge_deletes_old_bodies_only_and_the_chain_still_verifies(store: Store, tmp_path: Path) -> None:
    head = tmp_path / "audit-head.json"
    keeper = fill(store, head)
    _age_bodies(store, 3000, "b0-")
    _age_bodies(store, 3000, "b1-")
    before_log = rows(store)
    cutoff = datetime.now(UTC) - timedelta(days=2555)
    assert store.count_bodies(cutoff) == 6
    assert purge_bodies(store, cutoff, keeper) == 6
    assert purge_bodies(store, cutoff, keeper) == 0  # nothing more, and no second op entry
    with store.engine.connect() as conn:
        left = sorted(conn.execute(sa.select(message_bodies.c.message_id)).scalars())
    assert left == [f"b{b}-{i}" for b in (2, 3) for i in range(3)]
    after_log = rows(store)
    assert after_log[: len(before_log)] == before_log  # nothing in the log changed...
    [op] = after_log[len(before_log) :]  # ...but one entry records the purge
    assert (op[2], op[3], op[6], op[8]) == (OP, "hub", "audit.purge-bodies", "purged:6")
    assert op[5] == f"before:{format_at(cutoff)}"
    report = verify(store, head)
    assert report.ok and report.ahead == 0


def test_purge_chunks_large_deletions(store: Store) -> None:
    store.commit_batch([], [], audit=batch_of(25, "big"))
    _age_bodies(store, 10, "big-")
    assert store.purge_bodies(datetime.now(UTC) - timedelta(days=1), chunk=10) == 25


async def test_hub_run_purges_at_start_up_and_then_periodically(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    head = tmp_path / "audit-head.json"
    keeper = fill(store, head, batches=2)
    _age_bodies(store, 40, "b0-")
    task = asyncio.create_task(purge_periodically(store, keeper, 30, every=0.2))
    try:
        await asyncio.sleep(0.3)
        assert store.count_bodies(datetime.now(UTC)) == 3  # the start-up run took the 40-day-old ones
        _age_bodies(store, 40, "b1-")
        await asyncio.sleep(0.5)
        assert store.count_bodies(datetime.now(UTC)) == 0  # a later run took the rest
    finally:
        task.cancel()
    assert [r[8] for r in rows(store) if r[2] == OP] == ["purged:3", "purged:3"]
    assert verify(store, head).ok
    store.close()


# ---------------------------------------------------------------- the CLI


@pytest.fixture
def cli_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "config"
    shutil.copytree(ROOT / "config", cfg)
    data = yaml.safe_load((cfg / "hub.yaml").read_text())
    data["store"]["url"] = f"sqlite:///{tmp_path / 'hub.db'}"
    data["log"] = {"format": "json", "level": "warning"}
    (cfg / "hub.yaml").write_text(yaml.safe_dump(data))
    return cfg


def test_cli_verify_purge_and_reset_exit_codes(cli_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    for var in ("HUB_AUDIT_HEAD_FILE", "HUB_STORE_URL"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()

    def hub(*args: str) -> Any:
        return runner.invoke(app, ["--config", str(cli_config), "audit", *args])

    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    head = tmp_path / "var" / "audit-head.json"  # ../var/audit-head.json from the config directory
    fill(store, head)
    res = hub("verify")
    assert res.exit_code == 0 and "intact: 36 entries" in res.output, res.output
    sql(store, "DELETE FROM audit_log WHERE seq = 20")
    res = hub("verify", "--json")
    doc = json.loads(res.output)
    assert res.exit_code == 1 and doc["ok"] is False and doc["first_bad"] == 20
    res = hub("verify")
    assert res.exit_code == 1 and "first bad entry: 20: entry 20 is missing" in res.output

    res = hub("reset-head")
    assert res.exit_code == 1 and "broken at entry 20" in res.output

    _age_bodies(store, 3000, "b0-")
    assert hub("purge-bodies", "--before", "2999-01-01").exit_code == 2  # younger than the retention allows
    assert hub("purge-bodies", "--before", "yesterday").exit_code == 2
    res = hub("purge-bodies", "--dry-run")
    assert res.exit_code == 0 and res.output.startswith("3 message bodies"), res.output
    res = hub("purge-bodies", "--before", "2010-01-01T00:00:00+03:00")
    assert res.exit_code == 0 and "deleted 0" in res.output and "2009-12-31T21:00:00.000000Z" in res.output
    res = hub("purge-bodies")
    assert res.exit_code == 0 and "deleted 3" in res.output
    assert store.count_bodies(datetime.now(UTC)) == 9
    store.close()


# ---------------------------------------------------------------- through the running hub


@pytest.mark.broker
async def test_running_hub_records_every_message_in_and_delivery_out(hub: HubUnderTest) -> None:
    partners = [p.id for p in hub.config.partners]
    release = example("customs.release")
    sent: dict[str, bytes] = {}
    statuses: list[str] = []
    # the release's consignment (UCR ...431) known first, from the consolidator's house manifest: a release
    # for a consignment the hub has never seen waits for correlation (hub.parking)
    manifest = EXAMPLES / "manifest.sea" / "valid" / "mfano-consol-house-607w.xml"
    async with hub.partner("mfano-consol") as c:
        known = await c.send(manifest.read_bytes(), "manifest.sea", content_type="application/xml",
                             message_id=f"audit-manifest-{uuid.uuid4().hex[:8]}", timeout=20)
        assert known is not None and known["status"] == "accepted", known
    async with hub.partner("kra-icms") as c:
        for i, data in enumerate([release.read_bytes(), release.read_bytes(), b"<CustomsRelease/>"]):
            mid = f"audit-{i}-{uuid.uuid4().hex[:8]}"
            ack = await c.send(data, "customs.release", content_type=content_type_for(release.name, data),
                               message_id=mid, timeout=20)
            assert ack is not None, hub.tail_log()
            statuses.append(ack["status"])
            sent[mid] = data
        dup_mid = next(iter(sent))
        again = await c.send(sent[dup_mid], "customs.release", content_type="application/xml",
                             message_id=dup_mid, timeout=20)
        assert again is not None and again["status"] == "duplicate"
    assert statuses == ["accepted", "accepted", "rejected"]
    received: dict[str, list[Any]] = {}
    for pid in partners:
        async with hub.partner(pid) as c:
            got = [d for d in await c.inbox(max_count=100, idle=0.3) if d.correlation_id in sent]
        if got:
            received[pid] = got
    assert received, "customs.release reaches some partners"

    store = Store(hub.config.store_url())
    try:
        chain: list[tuple[Any, ...]] = []
        for _ in range(100):  # the acknowledgement is published before the batch's commit: wait for it
            chain = [r for r in store.audit_rows() if r[5] in sent]
            if sum(r[2] == IN for r in chain) == 4:
                break
            await asyncio.sleep(0.1)
        ins = [(r[5], r[8], r[7]) for r in chain if r[2] == IN]
        mids = list(sent)
        assert ins == [
            (mids[0], "accepted", hashlib.sha256(sent[mids[0]]).hexdigest()),
            (mids[1], "accepted", hashlib.sha256(sent[mids[1]]).hexdigest()),
            (mids[2], ins[2][1], hashlib.sha256(sent[mids[2]]).hexdigest()),
            (mids[0], "duplicate", hashlib.sha256(sent[mids[0]]).hexdigest()),
        ]
        assert ins[2][1].startswith("rejected:")
        outs = sorted((r[4], r[5], r[7]) for r in chain if r[2] == OUT)
        assert outs == sorted((pid, d.correlation_id, hashlib.sha256(d.body).hexdigest())
                              for pid, ds in received.items() for d in ds)
        assert all(r[3] == "kra-icms" for r in chain)
        with store.engine.connect() as conn:
            bodies = dict(conn.execute(sa.select(message_bodies.c.message_id, message_bodies.c.body)
                                       .where(message_bodies.c.message_id.in_(mids))).all())
            in_log = conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one()
        assert bodies == {mids[0]: sent[mids[0]], mids[1]: sent[mids[1]]}  # accepted ones only
    finally:
        store.close()

    head = hub.workdir / "var" / "audit-head.json"
    assert hub.config.audit_head_path() == head
    for _ in range(50):  # written after the batch's ack
        found = read_head(head)
        if found is not None and found.seq == in_log:
            break
        await asyncio.sleep(0.1)
    res = CliRunner().invoke(app, ["--config", str(hub.config_dir), "audit", "verify", "--json"], env=hub.env)
    doc = json.loads(res.output)
    assert res.exit_code == 0 and doc["ok"] and doc["entries"] == in_log and doc["ahead"] == 0, res.output
