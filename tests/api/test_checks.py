"""POST /api/v1/checks and the listings: validation, periods, time, idempotency."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server.checks.models import Check, CheckConflict
from server.extensions import db
from tests.builders import PHOTO, check_record, good_answers

SHANGHAI = timezone(timedelta(hours=8))


def post_check(client, tenant, record, role="worker"):
    return client.post("/api/v1/checks", json=record, headers=tenant.auth(role))


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_valid_check_is_stored_with_its_period(app, client, world, clock):
    record = check_record(world.a.schedules["daily"], world.a.version_id, clock.now() - timedelta(minutes=5))
    r = post_check(client, world.a, record)
    assert r.status_code == 201, r.json
    body = r.json
    assert body["id"] == record["id"]
    assert body["outcome"] == "accepted"
    assert body["ok"] is True and body["failed_count"] == 0
    assert body["period_key"] == "2026-11-23"
    assert body["time_quality"] == "device" and body["flags"] == []
    assert [a["item_id"] for a in body["answers"]] == ["extinguisher", "exit_clear", "gas_reading", "pump_state"]
    assert all(a["ok"] is True for a in body["answers"])
    assert body["post_id"] == world.a.post_id
    assert count(app, Check) == 1


@pytest.mark.parametrize(
    "schedule, local_time, key",
    [
        ("daily", datetime(2026, 11, 23, 0, 0, 1, tzinfo=SHANGHAI), "2026-11-23"),
        ("daily", datetime(2026, 11, 22, 23, 59, 59, tzinfo=SHANGHAI), "2026-11-22"),
        ("weekly", datetime(2026, 11, 23, 0, 0, tzinfo=SHANGHAI), "2026-W48"),
        ("weekly", datetime(2026, 11, 22, 23, 0, tzinfo=SHANGHAI), "2026-W47"),
        ("monthly", datetime(2026, 11, 1, 0, 30, tzinfo=SHANGHAI), "2026-11"),
        ("monthly", datetime(2026, 11, 17, 0, 30, tzinfo=SHANGHAI), "2026-11"),
    ],
)
def test_period_follows_the_enterprise_zone(client, world, clock, schedule, local_time, key):
    # The device wrote its time in UTC; the period is still the Shanghai one.
    record = check_record(world.a.schedules[schedule], world.a.version_id, local_time.astimezone(timezone.utc))
    r = post_check(client, world.a, record)
    assert r.status_code == 201, r.json
    assert r.json["period_key"] == key


def test_late_sync_counts_for_its_own_period(client, world, clock):
    done = clock.now() - timedelta(days=3)  # checked on Friday, offline until Monday
    r = post_check(client, world.a, check_record(world.a.schedules["daily"], world.a.version_id, done))
    assert r.status_code == 201
    assert r.json["period_key"] == "2026-11-20"
    assert r.json["received_at"].startswith("2026-11-23")


def test_failed_items_make_the_check_not_ok(client, world, clock):
    answers = good_answers()
    answers[0]["value"] = False  # extinguisher missing
    answers[2]["value"] = 35.0  # gas above 20 %LEL: a failed reading, not bad input
    answers[3]["value"] = "abnormal"
    r = post_check(client, world.a, check_record(world.a.schedules["daily"], world.a.version_id, clock.now(), answers))
    assert r.status_code == 201, r.json
    assert r.json["ok"] is False and r.json["failed_count"] == 3
    by_item = {a["item_id"]: a["ok"] for a in r.json["answers"]}
    assert by_item == {"extinguisher": False, "exit_clear": True, "gas_reading": False, "pump_state": False}


def test_optional_item_may_be_answered_or_left_out(client, world, clock):
    answers = good_answers() + [{"item_id": "remarks", "value": "地面有少量积水，已清理"}]
    r = post_check(client, world.a, check_record(world.a.schedules["daily"], world.a.version_id, clock.now(), answers))
    assert r.status_code == 201
    assert r.json["answers"][-1] == {"item_id": "remarks", "value": "地面有少量积水，已清理", "ok": True, "note": "", "photos": []}


def test_same_id_same_content_returns_the_first_result(app, client, world, clock):
    record = check_record(world.a.schedules["daily"], world.a.version_id, clock.now())
    first = post_check(client, world.a, record)
    clock.advance(hours=2)
    # The device re-serialised it: other key order, time written in Shanghai time.
    again = dict(reversed(list(record.items())))
    again["performed_at"] = datetime.fromisoformat(record["performed_at"]).astimezone(SHANGHAI).isoformat()
    second = post_check(client, world.a, again)
    assert first.status_code == 201 and second.status_code == 200
    assert second.json["outcome"] == "duplicate"
    assert {k: v for k, v in second.json.items() if k != "outcome"} == {k: v for k, v in first.json.items() if k != "outcome"}
    assert count(app, Check) == 1


def test_same_id_other_content_is_refused_and_kept_aside(app, client, world, clock):
    record = check_record(world.a.schedules["daily"], world.a.version_id, clock.now())
    assert post_check(client, world.a, record).status_code == 201
    changed = dict(record, answers=[dict(a, value=False) if a["item_id"] == "exit_clear" else a for a in record["answers"]])
    r = post_check(client, world.a, changed)
    assert r.status_code == 409
    assert r.json["error"]["code"] == "id_conflict"
    with app.app_context():
        stored = db.session.get(Check, uuid.UUID(record["id"]))
        assert stored.ok is True  # the first stays
        conflict = db.session.scalars(sa.select(CheckConflict)).one()
        assert str(conflict.check_id) == record["id"]
        assert conflict.payload["answers"][1]["value"] is False


def test_another_enterprise_reusing_an_id_learns_nothing(app, client, world, clock):
    record = check_record(world.a.schedules["daily"], world.a.version_id, clock.now())
    assert post_check(client, world.a, record).status_code == 201
    theirs = check_record(world.b.schedules["daily"], world.b.version_id, clock.now(), id=record["id"])
    r = post_check(client, world.b, theirs)
    assert r.status_code == 409 and r.json["error"]["code"] == "id_conflict"
    assert count(app, CheckConflict) == 0  # nothing of A's is copied into B's review queue


def _mutate(record: dict, path: str, value):
    """Set ``answers.N.key`` or a top-level key; the sentinel DELETE removes it."""
    parts = path.split(".")
    target = record
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is DELETE:
        del target[parts[-1]]
    else:
        target[int(parts[-1]) if parts[-1].isdigit() else parts[-1]] = value
    return record


DELETE = object()


@pytest.mark.parametrize(
    "path, value, status, code",
    [
        ("id", DELETE, 422, "validation_failed"),
        ("id", "not-a-uuid", 422, "validation_failed"),
        ("id", 12345, 422, "validation_failed"),
        ("schedule_id", DELETE, 422, "validation_failed"),
        ("schedule_id", "1", 422, "validation_failed"),
        ("schedule_id", 999999, 404, "not_found"),
        ("checklist_version_id", 999999, 422, "validation_failed"),
        ("checklist_version_id", True, 422, "validation_failed"),
        ("performed_at", DELETE, 422, "validation_failed"),
        ("performed_at", "yesterday", 422, "validation_failed"),
        ("performed_at", "2026-11-23T10:00:00", 422, "validation_failed"),  # no offset: ambiguous
        ("answers", [], 422, "validation_failed"),
        ("answers", "all fine", 422, "validation_failed"),
        ("answers.0.value", "yes", 422, "answers_invalid"),
        ("answers.0.value", 1, 422, "answers_invalid"),
        ("answers.0.item_id", "no_such_item", 422, "answers_invalid"),
        ("answers.2.value", 150, 422, "answers_invalid"),  # above valid_max 100: impossible reading
        ("answers.2.value", -1, 422, "answers_invalid"),
        ("answers.2.value", "3.5", 422, "answers_invalid"),
        ("answers.2.photos", [], 422, "answers_invalid"),  # photo required
        ("answers.2.photos", ["not-a-hash"], 422, "validation_failed"),
        ("answers.2.photos", [PHOTO] * 11, 422, "validation_failed"),
        ("answers.3.value", "maybe", 422, "answers_invalid"),
        ("answers.1.value", None, 422, "answers_invalid"),  # required item left empty
        ("note", "x" * 2001, 422, "validation_failed"),
        ("status", "reviewed", 422, "validation_failed"),  # fields a device may not set are refused
        ("enterprise_id", 2, 422, "validation_failed"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(app, client, world, clock, path, value, status, code):
    record = _mutate(check_record(world.a.schedules["daily"], world.a.version_id, clock.now()), path, value)
    r = post_check(client, world.a, record)
    assert r.status_code == status, r.json
    assert r.json["error"]["code"] == code
    assert r.json["error"]["message"]
    assert count(app, Check) == 0 and count(app, CheckConflict) == 0


def test_answer_problems_are_reported_per_item(client, world, clock):
    answers = good_answers()[:2] + [{"item_id": "ghost", "value": True}, {"item_id": "exit_clear", "value": True}]
    r = post_check(client, world.a, check_record(world.a.schedules["daily"], world.a.version_id, clock.now(), answers))
    details = r.json["error"]["details"]
    assert details == {
        "ghost": ["unknown item"],
        "exit_clear": ["answered more than once"],
        "gas_reading": ["required"],
        "pump_state": ["required"],
    }


def test_version_of_another_checklist_is_a_mismatch(app, client, world, clock):
    from server.checklists import services as checklists
    from tests.builders import ITEMS

    with app.app_context():
        other = checklists.create_checklist(world.a.enterprise_id, "配电室巡检", "", ITEMS, None)
        db.session.commit()
        other_version = other.current_version_id
    r = post_check(client, world.a, check_record(world.a.schedules["daily"], other_version, clock.now()))
    assert r.status_code == 422 and r.json["error"]["code"] == "version_mismatch"


def test_retired_version_is_accepted_and_flagged(app, client, world, clock):
    from server.checklists import services as checklists
    from tests.builders import ITEMS

    made_at = clock.now()
    clock.advance(hours=1)
    with app.app_context():
        checklists.publish_version(world.a.enterprise_id, world.a.checklist_id, ITEMS[:2], None)
        db.session.commit()
    clock.advance(hours=1)
    r = post_check(client, world.a, check_record(world.a.schedules["daily"], world.a.version_id, made_at))
    assert r.status_code == 201, r.json
    assert r.json["flags"] == ["version_retired"]


def test_clock_far_ahead_is_clamped_and_flagged(client, world, clock):
    r = post_check(client, world.a, check_record(world.a.schedules["daily"], world.a.version_id, clock.now() + timedelta(days=400)))
    assert r.status_code == 201
    assert r.json["performed_at"] == clock.now().isoformat()
    assert r.json["time_quality"] == "server_receipt" and r.json["flags"] == ["clock_ahead"]
    assert r.json["device_time"].startswith("2027-12-28")
    assert r.json["period_key"] == "2026-11-23"


def test_clock_before_the_version_existed_is_flagged(client, world, clock):
    r = post_check(client, world.a, check_record(world.a.schedules["daily"], world.a.version_id, datetime(2000, 1, 1, tzinfo=timezone.utc)))
    assert r.status_code == 201
    assert r.json["flags"] == ["clock_behind"] and r.json["period_key"] == "2026-11-23"


def test_slightly_fast_clock_is_tolerated(client, world, clock):
    r = post_check(client, world.a, check_record(world.a.schedules["daily"], world.a.version_id, clock.now() + timedelta(minutes=2)))
    assert r.json["flags"] == [] and r.json["performed_at"] == clock.now().isoformat()


def test_submitting_needs_a_token(client, world, clock):
    r = client.post("/api/v1/checks", json=check_record(world.a.schedules["daily"], world.a.version_id, clock.now()))
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"


def _submit_some(client, world, clock):
    """Worker: daily now + yesterday at the red post, one at the other post; supervisor: one."""
    ids = {}
    for name, schedule, when, role in [
        ("today", "daily", clock.now(), "worker"),
        ("yesterday", "daily", clock.now() - timedelta(days=1), "worker"),
        ("other_post", "other_post_daily", clock.now(), "worker"),
        ("weekly_by_supervisor", "weekly", clock.now(), "supervisor"),
    ]:
        r = post_check(client, world.a, check_record(world.a.schedules[schedule], world.a.version_id, when), role)
        assert r.status_code == 201
        ids[name] = r.json["id"]
        clock.advance(minutes=1)
    return ids


def test_worker_lists_own_recent_checks(client, world, clock):
    ids = _submit_some(client, world, clock)
    r = client.get("/api/v1/checks/mine", headers=world.a.auth("worker"))
    assert r.status_code == 200
    assert [c["id"] for c in r.json] == [ids["other_post"], ids["yesterday"], ids["today"]]  # newest received first
    assert r.headers["X-Pagination"]


def test_manager_lists_checks_by_post_site_and_period(client, world, clock):
    ids = _submit_some(client, world, clock)
    auth = world.a.auth("safety_manager")

    def listed(query):
        r = client.get(f"/api/v1/checks?{query}", headers=auth)
        assert r.status_code == 200, r.json
        return {c["id"] for c in r.json}

    assert listed("") == set(ids.values())
    assert listed(f"post_id={world.a.post_id}") == {ids["today"], ids["yesterday"], ids["weekly_by_supervisor"]}
    assert listed(f"site_id={world.a.other_site_id}") == {ids["other_post"]}
    assert listed("period_key=2026-11-22") == {ids["yesterday"]}
    assert listed("frequency=weekly&period_key=2026-W48") == {ids["weekly_by_supervisor"]}
    assert listed("post_id=999999") == set()


def test_supervisor_sees_checks_of_their_posts_only(client, world, clock):
    ids = _submit_some(client, world, clock)
    r = client.get("/api/v1/checks", headers=world.a.auth("supervisor"))
    assert {c["id"] for c in r.json} == {ids["today"], ids["yesterday"], ids["weekly_by_supervisor"]}
    other = client.get(f"/api/v1/checks/{ids['other_post']}", headers=world.a.auth("supervisor"))
    assert other.status_code == 404


def test_worker_may_not_list_everyone(client, world, clock):
    r = client.get("/api/v1/checks", headers=world.a.auth("worker"))
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"


def test_pages_are_bounded(client, world, clock):
    _submit_some(client, world, clock)
    r = client.get("/api/v1/checks?page_size=2&page=2", headers=world.a.auth("admin"))
    assert r.status_code == 200 and len(r.json) == 2
    too_big = client.get("/api/v1/checks?page_size=100000", headers=world.a.auth("admin"))
    assert too_big.status_code == 422 and too_big.json["error"]["code"] == "validation_failed"


def test_checks_of_another_enterprise_are_invisible(client, world, clock):
    ids = _submit_some(client, world, clock)
    for check_id in ids.values():
        r = client.get(f"/api/v1/checks/{check_id}", headers=world.b.auth("admin"))
        assert r.status_code == 404
    assert client.get("/api/v1/checks", headers=world.b.auth("admin")).json == []
    assert client.get(f"/api/v1/checks?post_id={world.a.post_id}", headers=world.b.auth("admin")).json == []
