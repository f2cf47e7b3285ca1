"""Hazards raised on a device travel in the sync push with the checks, by client UUID: stored
once whatever is retried, linked to their check, dated like checks, never refused for a link."""
from __future__ import annotations

import hashlib
import random
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from server.extensions import db
from server.hazards.models import Hazard, HazardEvent, HazardSource, HazardType
from server.photos.models import Photo
from sync import protocol
from sync.client import Device
from sync.device_clock import SimulatedDeviceClock
from sync.simulate import make_jpeg
from sync.transport import Fault, FaultInjectingAdapter, Transport
from tests.builders import PASSWORD, PHOTO, run_job
from tests.push.test_push import Phone, push

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def phone(clock):
    return Phone(clock)


def hazard_record(phone: Phone, **extra) -> dict:
    phone.seq += 1
    record = {
        "type": "hazard", "id": str(uuid.uuid4()), "device_seq": phone.seq, "found_at": phone.wall().isoformat(),
        "boot_id": phone.boot_id, "uptime_ms": phone.uptime(), "description": "二楼消防通道堆放纸箱",
        "hazard_type": "fire", "source": "daily", "photos": [PHOTO],
    }
    record.update(extra)
    return record


def failed_check(phone: Phone, tenant) -> dict:
    answers = [
        {"item_id": "extinguisher", "value": False, "photos": [PHOTO]},
        {"item_id": "exit_clear", "value": True},
        {"item_id": "gas_reading", "value": 3.5, "photos": [PHOTO]},
        {"item_id": "pump_state", "value": "normal"},
    ]
    return phone.check(tenant.schedules["daily"], tenant.version_id, answers=answers)


def hazards(app, *where) -> list[Hazard]:
    with app.app_context():
        rows = db.session.scalars(sa.select(Hazard).where(*where).order_by(Hazard.id)).all()
        db.session.expunge_all()
        return rows


def events(app, hazard_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(HazardEvent.action).where(HazardEvent.hazard_id == hazard_id).order_by(HazardEvent.id)))


def test_the_protocol_and_the_server_agree_on_hazard_categories():
    assert set(protocol.HAZARD_TYPES) == {t.value for t in HazardType}
    assert set(protocol.HAZARD_SOURCES) == {s.value for s in HazardSource}


def test_a_hazard_in_a_push_is_stored_once_and_dated_by_the_monotonic_clock(app, client, world, clock):
    phone = Phone(clock, uptime_ms=86_400_000)  # up for a day
    clock.advance(hours=-3)
    record = hazard_record(phone, post_id=world.a.post_id, basis="《消防法》第二十八条")
    found = clock.now()
    clock.advance(hours=3)  # synced three hours later
    body = phone.envelope([record])
    r = push(client, world.a, body)
    assert r.status_code == 200, r.json
    result = r.json["results"][0]
    assert result["result"] == "awaiting_photos" and result["missing_photos"] == [PHOTO] and result["number"] == "YH-2026-0001"
    assert result["time_quality"] == "monotonic"
    [stored] = hazards(app)
    assert stored.id == result["hazard_id"] and stored.client_id == uuid.UUID(record["id"])
    assert stored.found_at == found and stored.found_by_id == world.a.users["worker"]
    assert stored.type is HazardType.FIRE and stored.post_id == world.a.post_id and stored.site_id == world.a.site_id
    assert stored.photos_before == [PHOTO] and stored.basis == "《消防法》第二十八条" and stored.check_id is None
    assert events(app, stored.id) == ["reported"]

    # The answer was lost; the same batch again: a duplicate answering the same hazard, nothing new.
    again = push(client, world.a, body).json["results"][0]
    assert again["result"] == "duplicate" and again["number"] == "YH-2026-0001" and again["hazard_id"] == stored.id
    assert len(hazards(app)) == 1 and events(app, stored.id) == ["reported"]


def test_the_same_id_with_other_content_is_a_conflict_kept_in_the_history(app, client, world, phone):
    record = hazard_record(phone)
    push(client, world.a, phone.envelope([record]))
    changed = {**record, "description": "改过的描述", "device_seq": record["device_seq"] + 1}
    result = push(client, world.a, phone.envelope([changed])).json["results"][0]
    assert result["result"] == "conflict" and result["code"] == "id_conflict"
    [stored] = hazards(app)
    assert stored.description == "二楼消防通道堆放纸箱"  # the first stays as it was
    assert events(app, stored.id) == ["reported", "resent"]
    with app.app_context():
        resent = db.session.scalars(sa.select(HazardEvent).where(HazardEvent.action == "resent")).one()
        assert resent.changes["resent"][1]["description"] == "改过的描述"


def test_a_hazard_from_a_failed_item_joins_the_draft_of_its_check_in_the_same_batch(app, client, world, phone):
    check = failed_check(phone, world.a)
    raised = hazard_record(phone, check_id=check["id"], check_item_id="extinguisher", description="灭火器压力表指针在红区", photos=["d" * 64])
    other = hazard_record(phone, check_id=check["id"], check_item_id="exit_clear", description="安全出口指示灯不亮")
    results = push(client, world.a, phone.envelope([check, raised, other])).json["results"]
    assert [r["result"] for r in results] == ["awaiting_photos"] * 3
    rows = hazards(app, Hazard.check_id == uuid.UUID(check["id"]))
    by_item = {h.check_item_id: h for h in rows}
    # The red post's failed item opened a draft as the check arrived; the worker's hazard became its description.
    assert set(by_item) == {"extinguisher", "exit_clear"} and len(rows) == 2
    draft = by_item["extinguisher"]
    assert draft.client_id == uuid.UUID(raised["id"]) and draft.description == "灭火器压力表指针在红区"
    assert draft.photos_before == [PHOTO, "d" * 64] and draft.source is HazardSource.CONTROL_MEASURE
    assert events(app, draft.id) == ["reported", "described"] and results[1]["hazard_id"] == draft.id
    assert by_item["exit_clear"].client_id == uuid.UUID(other["id"]) and events(app, by_item["exit_clear"].id) == ["reported"]


def test_a_bad_hazard_is_refused_alone_and_a_missing_check_does_not_refuse_one(app, client, world, phone):
    unknown_post = hazard_record(phone, post_id=world.b.post_id)  # another enterprise's post
    no_check = hazard_record(phone, check_id=str(uuid.uuid4()), check_item_id="extinguisher")
    b_check = failed_check(Phone(phone.clock), world.b)
    push(client, world.b, Phone(phone.clock).envelope([b_check]))
    run_job(app, "checks.follow_up")  # B's check raises its drafts
    foreign_check = hazard_record(phone, check_id=b_check["id"], check_item_id="extinguisher")
    malformed = hazard_record(phone, hazard_type="volcano")
    good = hazard_record(phone)
    r = push(client, world.a, phone.envelope([unknown_post, no_check, foreign_check, malformed, good]))
    results = r.json["results"]
    assert [x["result"] for x in results] == ["rejected", "awaiting_photos", "awaiting_photos", "rejected", "awaiting_photos"]
    assert results[0]["code"] == "not_found" and results[3]["code"] == "validation_failed" and "hazard_type" in results[3]["details"]
    mine = hazards(app, Hazard.enterprise_id == world.a.enterprise_id)
    assert [h.client_id for h in mine] == [uuid.UUID(no_check["id"]), uuid.UUID(foreign_check["id"]), uuid.UUID(good["id"])]
    assert all(h.check_id is None for h in mine)  # not linked: neither check is A's
    # B's draft for its own check is untouched and nothing of A landed in B.
    [b_draft] = hazards(app, Hazard.enterprise_id == world.b.enterprise_id, Hazard.check_item_id == "extinguisher")
    assert b_draft.client_id is None and events(app, b_draft.id) == ["reported"]
    assert r.json["device_seq"]["highest"] == phone.seq and r.json["device_seq"]["gaps"] == []


@pytest.mark.parametrize("field, value", [("post_id", 2**70), ("site_id", 2**70), ("uptime_ms", 2**70), ("post_id", 2**31), ("site_id", 2**31)])
def test_a_number_past_64_bits_refuses_its_record_alone(app, client, world, phone, field, value):
    # Neither database can hold 2**70, nor PostgreSQL compare 2**31 with a row id (integer):
    # the record says so, the batch goes in.
    wide = hazard_record(phone, **{field: value})
    good = hazard_record(phone)
    r = push(client, world.a, phone.envelope([wide, good]))
    assert r.status_code == 200, r.json
    assert [x["result"] for x in r.json["results"]] == ["rejected", "awaiting_photos"]
    assert r.json["results"][0]["code"] == "validation_failed" and field in r.json["results"][0]["details"]
    assert [h.client_id for h in hazards(app)] == [uuid.UUID(good["id"])]


def test_an_id_another_enterprise_used_is_a_conflict_that_leaves_no_trace(app, client, world, phone):
    record = hazard_record(phone)
    push(client, world.b, phone.envelope([record]))
    result = push(client, world.a, phone.envelope([record])).json["results"][0]
    assert result["result"] == "conflict" and "number" not in result and "hazard_id" not in result
    [b_hazard] = hazards(app)
    assert b_hazard.enterprise_id == world.b.enterprise_id and events(app, b_hazard.id) == ["reported"]


def test_a_hazard_raised_offline_with_photos_arrives_once_linked_to_its_check(app, clock, world, live_server, tmp_path):
    """The reference client: a worker fails an item at the red post, raises a hazard for it with
    two photos, all offline; the sync drops the push's answer twice and a photo upload once."""
    tenant = world.a
    adapter = FaultInjectingAdapter()
    phone = SimulatedDeviceClock(clock.now, tz=SHANGHAI)
    device = Device(live_server, str(tmp_path / "phone.db"), clock=phone, transport=Transport(live_server, adapter=adapter, sleep=lambda _s: None))
    device.sign_in(tenant.code, "worker", PASSWORD)
    assert device.pull().error is None

    clock.advance(hours=2)  # offline from here
    due = [d for d in device.due(tenant.post_id) if d.schedule["frequency"] == "daily"][0]
    rng = random.Random(5)
    evidence = make_jpeg(rng)
    check = device.make_check(due.schedule["id"], [
        {"item_id": "extinguisher", "value": False, "photos": [evidence]},
        {"item_id": "exit_clear", "value": True},
        {"item_id": "gas_reading", "value": 3.5, "photos": [make_jpeg(rng)]},
        {"item_id": "pump_state", "value": "normal"},
    ])
    close_up = make_jpeg(rng)
    raised = device.report_hazard(
        "灭火器压力不足，瓶身锈蚀", photos=[close_up, evidence], post_id=tenant.post_id, hazard_type="fire",
        check_id=check.id, check_item_id="extinguisher",
    )
    sha = lambda data: hashlib.sha256(data).hexdigest()  # noqa: E731
    assert set(raised.photos) == {sha(close_up), sha(evidence)} and sha(evidence) in check.photos and device.outbox()["records"] == 2

    clock.advance(hours=20)
    adapter.add(Fault.DROP_AFTER_COMMIT, method="POST", path="/api/v1/sync/push", times=2)
    adapter.add(Fault.DROP_AFTER_COMMIT, method="PUT", path="/api/v1/photos/")
    report = device.sync()
    assert report.ok, report
    assert adapter.armed == 0 and report.push.results == {"duplicate": 2}
    assert device.outbox()["records"] == 0 and device.outbox()["photos"] == 0

    [hazard] = hazards(app, Hazard.enterprise_id == tenant.enterprise_id, Hazard.check_item_id == "extinguisher")
    assert hazard.client_id == uuid.UUID(raised.id) and hazard.check_id == uuid.UUID(check.id)
    assert hazard.description == "灭火器压力不足，瓶身锈蚀" and set(hazard.photos_before) == set(raised.photos)
    assert hazard.found_at < clock.now() - timedelta(hours=19)  # when it was raised, not when it synced
    assert len(hazards(app, Hazard.client_id == uuid.UUID(raised.id))) == 1
    with app.app_context():
        held = set(db.session.scalars(sa.select(Photo.sha256).where(Photo.enterprise_id == tenant.enterprise_id)))
    assert set(raised.photos) <= held
    device.close()
