"""A failed item on a red or orange post opens a hazard draft with the check, in its transaction."""
from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from server.accounts.auth import Principal
from server.accounts.models import Role
from server.extensions import db
from server.hazards import services
from server.hazards.models import Hazard
from tests.builders import PHOTO, check_record, good_answers, run_job


def _failed_answers():
    answers = good_answers()
    answers[0] = {"item_id": "extinguisher", "value": False, "photos": [PHOTO]}
    answers[3] = {"item_id": "pump_state", "value": "abnormal"}
    return answers


def _hazards(app):
    with app.app_context():
        return db.session.scalars(sa.select(Hazard).order_by(Hazard.id)).all()


def test_failed_items_on_the_red_post_open_drafts(app, client, world, clock):
    record = check_record(world.a.schedules["daily"], world.a.version_id, clock.now() - timedelta(minutes=5), _failed_answers())
    r = client.post("/api/v1/checks", json=record, headers=world.a.auth("worker"))
    assert r.status_code in (200, 201), r.json
    assert _hazards(app) == []  # owed by the check's follow-up mark until the runner's next tick
    run_job(app, "checks.follow_up")
    hazards = _hazards(app)
    assert [(h.check_item_id, h.status.value, h.source.value) for h in hazards] == [
        ("extinguisher", "reported", "control_measure"), ("pump_state", "reported", "control_measure"),
    ]
    first = hazards[0]
    assert first.check_id == uuid.UUID(record["id"]) and first.post_id == world.a.post_id and first.site_id == world.a.site_id
    assert first.description == "检查项不合格：消防器材在位有效" and first.photos_before == [PHOTO]
    assert first.found_by_id == world.a.users["worker"] and [h.number for h in hazards] == ["YH-2026-0001", "YH-2026-0002"]
    # The same check sent again is a duplicate: no second draft.
    assert client.post("/api/v1/checks", json=record, headers=world.a.auth("worker")).status_code in (200, 201)
    run_job(app, "checks.follow_up")
    assert len(_hazards(app)) == 2
    listed = client.get(f"/api/v1/hazards?check_id={record['id']}", headers=world.a.auth("supervisor")).json
    assert len(listed) == 2  # the post's supervisor sees them


def test_failed_items_on_a_yellow_post_open_none(app, client, world, clock):
    record = check_record(world.a.schedules["other_post_daily"], world.a.version_id, clock.now(), _failed_answers())
    assert client.post("/api/v1/checks", json=record, headers=world.a.auth("worker")).status_code in (200, 201)
    assert run_job(app, "checks.follow_up") == "1 failed check(s) followed up: 0 alert(s), 0 hazard draft(s)"
    assert _hazards(app) == []


def test_drafting_twice_changes_nothing_and_the_device_hook_adds_to_the_draft(app, client, world, clock):
    from server.alerts.services import describe_failed_checks

    record = check_record(world.a.schedules["daily"], world.a.version_id, clock.now(), _failed_answers())
    client.post("/api/v1/checks", json=record, headers=world.a.auth("worker"))
    run_job(app, "checks.follow_up")
    principal = Principal(world.a.users["worker"], world.a.enterprise_id, Role.WORKER, None, 0, "Asia/Shanghai", ())
    with app.app_context():
        assert services.drafts_for_failed_checks(describe_failed_checks([uuid.UUID(record["id"])])) == []
        client_id = str(uuid.uuid4())
        device = {"id": client_id, "description": "灭火器压力不足，已拍照", "check_id": record["id"], "check_item_id": "extinguisher", "photos": ["d" * 64]}
        hazard, outcome = services.create_from_device(principal, device)
        assert outcome is services.DeviceOutcome.MERGED and hazard.description == "灭火器压力不足，已拍照" and hazard.photos_before == [PHOTO, "d" * 64]
        again, outcome = services.create_from_device(principal, device)
        assert again.id == hazard.id and outcome is services.DeviceOutcome.DUPLICATE
        fresh, outcome = services.create_from_device(principal, {"id": str(uuid.uuid4()), "description": "地面油污"})
        assert outcome is services.DeviceOutcome.NEW and fresh.client_id is not None
        db.session.commit()
    assert len(_hazards(app)) == 3


def test_a_device_report_on_a_check_still_owing_its_drafts_follows_it_up_first(app, client, world, clock):
    """The hazard a worker raises from a failed item may reach the server moments after its
    check, before the runner's tick: it follows the check up itself and adds to the draft."""
    record = check_record(world.a.schedules["daily"], world.a.version_id, clock.now(), _failed_answers())
    client.post("/api/v1/checks", json=record, headers=world.a.auth("worker"))
    principal = Principal(world.a.users["worker"], world.a.enterprise_id, Role.WORKER, None, 0, "Asia/Shanghai", ())
    with app.app_context():
        device = {"id": str(uuid.uuid4()), "description": "泵组异响", "check_id": record["id"], "check_item_id": "pump_state"}
        hazard, outcome = services.create_from_device(principal, device)
        assert outcome is services.DeviceOutcome.MERGED and hazard.number == "YH-2026-0002"
        db.session.commit()
    assert [(h.check_item_id, h.description) for h in _hazards(app)] == [("extinguisher", "检查项不合格：消防器材在位有效"), ("pump_state", "泵组异响")]
    assert run_job(app, "checks.follow_up").startswith("0 failed check(s)")  # nothing left owing
    assert len(_hazards(app)) == 2
