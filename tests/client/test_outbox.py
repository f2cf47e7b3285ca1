"""The device's own database and offline work, with no server: sealing, numbering, deletion only
after confirmation, the cursor saved only with its page, anchors, and the push body."""
from __future__ import annotations

import gzip
import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from sync.client import Device, InvalidCheck, UnknownReference, encode_push
from sync.device_clock import SimulatedDeviceClock, Timeline
from sync.outbox import OutboxError, SealedRecordError, record_hash
from sync.protocol import MAX_ANCHORS, PushSchema, SyncCheckRecordSchema
from sync.records import CheckRecordSchema, content_hash
from sync.timing import Anchor
from tests.builders import ITEMS

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # Monday 10:00 in Shanghai
JPEG_A = b"\xff\xd8\xff\xe0" + b"photo a" * 20
JPEG_B = b"\xff\xd8\xff\xe0" + b"photo b" * 20


def snapshot(version_id: int = 9, items=ITEMS) -> list[dict]:
    """What a first pull brings: the enterprise, a site, a post, a checklist, its version, schedules."""
    return [
        {"type": "enterprise", "id": 1, "op": "upsert", "data": {"id": 1, "name": "甲", "timezone": "Asia/Shanghai", "shifts": ["00:00", "08:00", "16:00"]}},
        {"type": "site", "id": 2, "op": "upsert", "data": {"id": 2, "name": "仓库", "parent_id": None}},
        {"type": "post", "id": 3, "op": "upsert", "data": {"id": 3, "site_id": 2, "name": "储罐区", "risk_level": "red", "qr_token": "tok-3"}},
        {"type": "checklist", "id": 4, "op": "upsert", "data": {"id": 4, "name": "日检", "current_version_id": version_id}},
        {
            "type": "checklist_version", "id": version_id, "op": "upsert",
            "data": {"id": version_id, "checklist_id": 4, "number": 1, "title": "日检", "items": items, "published_at": "2026-11-01T00:00:00+00:00"},
        },
        {"type": "schedule", "id": 5, "op": "upsert", "data": {"id": 5, "post_id": 3, "checklist_id": 4, "frequency": "daily", "due_start_minutes": 0, "due_end_minutes": None}},
        {"type": "schedule", "id": 6, "op": "upsert", "data": {"id": 6, "post_id": 3, "checklist_id": 4, "frequency": "weekly", "due_start_minutes": 0, "due_end_minutes": None}},
    ]


def answers(photo=JPEG_A, gas=3.5) -> list[dict]:
    return [
        {"item_id": "extinguisher", "value": True},
        {"item_id": "exit_clear", "value": True},
        {"item_id": "gas_reading", "value": gas, "photos": [photo]},
        {"item_id": "pump_state", "value": "normal"},
    ]


@pytest.fixture
def timeline() -> Timeline:
    return Timeline(T0)


@pytest.fixture
def device(tmp_path, timeline) -> Device:
    device = Device("http://127.0.0.1:9", str(tmp_path / "phone.db"), clock=SimulatedDeviceClock(timeline.now))
    device.store.apply_page(snapshot(), "c1", reset=True)
    yield device
    device.close()


def test_the_database_is_durable_sqlite(device):
    db = sqlite3.connect(device.store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert device.store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert device.store._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_a_check_is_made_offline_numbered_and_stamped(device, timeline):
    assert device.resolve_qr("tok-3")["id"] == 3
    due = {d.schedule["id"]: d for d in device.due(3)}
    assert due[5].state.value == "due" and due[5].period.key == "2026-11-23"
    first = device.make_check(5, answers())
    timeline.advance(minutes=5)
    second = device.make_check(6, answers(JPEG_B))
    assert (first.device_seq, second.device_seq) == (1, 2)
    body = first.body
    assert body["type"] == "check" and body["checklist_version_id"] == 9
    assert body["performed_at"] == "2026-11-23T02:00:00+00:00"
    assert body["boot_id"] == device.clock.boot_id and body["uptime_ms"] == 3_600_000
    assert second.body["uptime_ms"] == 3_600_000 + 5 * 60_000
    # The record is what the server will load, and hashes as the server will hash it.
    loaded = SyncCheckRecordSchema().load(body)
    core = {k: v for k, v in loaded.items() if k in CheckRecordSchema().fields}
    assert first.content_hash == content_hash(core)
    assert first.photos == (__import__("hashlib").sha256(JPEG_A).hexdigest(),)
    assert device.store.photo_bytes(first.photos[0]) == JPEG_A
    # Done for today now, on the device's own reckoning.
    assert {d.schedule["id"]: d.state.value for d in device.due(3)}[5] == "done"


def test_invalid_answers_are_refused_before_queuing(device):
    with pytest.raises(InvalidCheck) as refused:
        device.make_check(5, [{"item_id": "extinguisher", "value": "yes"}])
    assert "extinguisher" in refused.value.errors and "gas_reading" in refused.value.errors
    with pytest.raises(UnknownReference):
        device.make_check(999, answers())
    assert device.outbox()["records"] == 0 and device.store.last_device_seq == 0


def test_device_seq_only_rises_even_after_records_are_gone(device):
    record = device.make_check(5, answers())
    device.store.discard_draft(record.id)
    assert device.make_check(5, answers()).device_seq == 2


def test_a_draft_can_change_but_a_sealed_record_never(device):
    record = device.make_check(5, answers())
    edited = device.edit_check(record.id, answers=answers(JPEG_B, gas=4.0), note="复查")
    assert edited.content_hash != record.content_hash and edited.body["note"] == "复查"
    assert device.store.has_photo(edited.photos[0])
    device.store.seal([record.id])
    with pytest.raises(SealedRecordError):
        device.edit_check(record.id, note="改了")
    with pytest.raises(SealedRecordError):
        device.store.discard_draft(record.id)
    # Even code that goes around the store's rules cannot change a sealed record's content.
    with pytest.raises(sqlite3.IntegrityError, match="sealed"):
        device.store._db.execute("UPDATE records SET body = '{}' WHERE id = ?", (record.id,))
    with pytest.raises(sqlite3.IntegrityError, match="sealed"):
        device.store._db.execute("UPDATE records SET sealed = 0 WHERE id = ?", (record.id,))
    assert device.store.get(record.id).content_hash == edited.content_hash


def test_nothing_is_deleted_before_the_server_confirmed_record_and_photos(device):
    record = device.make_check(5, answers())
    other = device.make_check(6, answers(JPEG_B))
    store = device.store
    batch = store.next_batch(10)
    store.seal([r.id for r in batch])
    assert store.collect() == 0  # sent is not confirmed
    sha_a, sha_b = record.photos[0], other.photos[0]
    counts = store.apply_results(
        batch,
        [
            {"index": 0, "id": record.id, "result": "awaiting_photos", "status": "awaiting_photos", "missing_photos": [sha_a]},
            {"index": 1, "id": other.id, "result": "accepted", "status": "complete"},
        ],
    )
    assert counts == {"awaiting_photos": 1, "accepted": 1}
    assert store.next_batch(10) == []  # acknowledged: never sent again
    assert store.collect() == 1  # the complete one goes, with its photo
    assert not store.has_photo(sha_b)
    assert store.get(record.id).result == "awaiting_photos" and store.has_photo(sha_a)
    assert [p.sha256 for p in store.pending_photos()] == [sha_a]
    store.confirm_photo(sha_a)
    assert store.collect() == 1
    assert store.counts()["records"] == 0 and store.counts()["photos"] == 0


def test_a_result_for_the_wrong_record_acknowledges_nothing(device):
    record = device.make_check(5, answers())
    batch = device.store.next_batch(10)
    device.store.apply_results(batch, [{"index": 0, "id": "not-this-one", "result": "accepted", "status": "complete"}, {"index": 7, "result": "accepted"}])
    assert device.store.get(record.id).result is None


def test_rejected_and_conflicting_records_stay_for_the_user(device):
    rejected = device.make_check(5, answers())
    conflict = device.make_check(6, answers(JPEG_B))
    batch = device.store.next_batch(10)
    device.store.apply_results(
        batch,
        [
            {"index": 0, "id": rejected.id, "result": "rejected", "code": "unknown_version", "message": "…"},
            {"index": 1, "id": conflict.id, "result": "conflict", "code": "id_conflict"},
        ],
    )
    assert device.store.collect() == 0
    assert [p.id for p in device.problems()] == [rejected.id, conflict.id]
    assert device.problems()[0].answer["code"] == "unknown_version"
    assert device.store.pending_photos() == []  # nobody needs those photos uploaded
    device.store.dismiss(rejected.id)
    assert [p.id for p in device.problems()] == [conflict.id]
    with pytest.raises(OutboxError):
        device.store.dismiss(device.make_check(5, answers()).id)


def test_the_cursor_is_saved_only_with_its_page(device):
    store = device.store
    assert store.cursor == "c1"
    bad_page = [
        {"type": "site", "id": 7, "op": "upsert", "data": {"id": 7, "name": "新厂区"}},
        {"type": "post", "id": 8, "op": "upsert", "data": "not an object"},
    ]
    with pytest.raises(OutboxError):
        store.apply_page(bad_page, "c2")
    assert store.cursor == "c1" and store.reference("site", 7) is None  # all or nothing
    store.apply_page([{"type": "post", "id": 3, "op": "delete"}, {"type": "site", "id": 7, "op": "upsert", "data": {"id": 7, "name": "新厂区"}}], "c2")
    assert store.cursor == "c2" and store.reference("site", 7) and device.resolve_qr("tok-3") is None


def test_a_reset_replaces_reference_data_but_never_the_outbox(device):
    record = device.make_check(5, answers())
    device.store.apply_page(snapshot(version_id=10)[:2], "s1", reset=True)
    assert device.store.reference("post", 3) is None and device.store.reference("site", 2)
    assert device.store.get(record.id).device_seq == 1 and device.store.has_photo(record.photos[0])


def test_anchors_for_a_batch_cover_the_boots_its_records_were_made_on(device, timeline):
    clock: SimulatedDeviceClock = device.clock
    first_boot = clock.boot_id
    device._anchor(T0)
    made_before = device.make_check(5, answers())
    timeline.advance(hours=30)
    clock.reboot()
    for minutes in range(1, 30):  # many anchors on the new boot must not push out the old one
        timeline.advance(minutes=1)
        device._anchor(timeline.now())
    made_after = device.make_check(5, answers(JPEG_B))
    anchors = device.store.anchors_for([device.store.get(made_before.id), device.store.get(made_after.id)], clock.boot_id)
    assert first_boot in {a.boot_id for a in anchors} and clock.boot_id in {a.boot_id for a in anchors}
    assert len(anchors) <= MAX_ANCHORS
    assert len(device.store.anchors(clock.boot_id)) <= 4
    # The device's idea of now follows the anchor on this boot, not its wall clock.
    clock.set_wall(datetime(2017, 1, 1, tzinfo=timezone.utc))
    assert device.estimated_now() == timeline.now()


def test_encode_push_is_a_valid_gzip_push(device, timeline):
    record = device.make_check(5, answers())
    encoded = encode_push([record.body], device.clock.reading(), [Anchor("b", 1, T0)])
    assert encoded.headers["Content-Encoding"] == "gzip"
    plain = json.loads(gzip.decompress(encoded.body))
    PushSchema().load(plain)
    SyncCheckRecordSchema().load(plain["records"][0])
    assert len(encoded.body) < encoded.plain_size
    assert record_hash(plain["records"][0]) == record.content_hash


def test_a_wrong_wall_clock_still_dates_the_local_period_by_anchor(device, timeline):
    device._anchor(T0)
    device.clock.set_wall_offset(timedelta(days=-3000))
    timeline.advance(days=1)
    record = device.make_check(5, answers())
    assert record.period_key == "2026-11-24"
    assert record.body["performed_at"].startswith("2018-")  # the wall clock, as evidence
