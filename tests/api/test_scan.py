"""GET /api/v1/scan/<token>: the post and what is due there now."""
from __future__ import annotations

from datetime import timedelta

import pytest

from server.extensions import db
from server.schedules import services as schedules
from sync.periods import Frequency
from tests.builders import check_record


def scan(client, tenant, token=None, role="worker"):
    return client.get(f"/api/v1/scan/{token or tenant.post_token}", headers=tenant.auth(role))


def test_scan_names_the_post_and_every_schedule_due_now(client, world):
    r = scan(client, world.a)
    assert r.status_code == 200, r.json
    post = r.json["post"]
    assert post["id"] == world.a.post_id and post["name"] == "液氨储罐区"
    assert post["risk_level"] == "red" and post["risk_level_zh"] == "重大风险"
    assert post["site"]["name"] == "危化品仓库"
    assert "qr_token" not in post  # a worker does not get the printing secrets
    by_frequency = {s["frequency"]: s for s in r.json["schedules"]}
    assert set(by_frequency) == {"daily", "weekly", "monthly"}
    assert {f: s["period"]["key"] for f, s in by_frequency.items()} == {"daily": "2026-11-23", "weekly": "2026-W48", "monthly": "2026-11"}
    daily = by_frequency["daily"]
    assert daily["period"]["start"] == "2026-11-22T16:00:00+00:00" and daily["period"]["end"] == "2026-11-23T16:00:00+00:00"
    assert daily["state"] == "due" and daily["checks_in_period"] == 0
    assert daily["version"]["id"] == world.a.version_id
    assert [i["id"] for i in daily["version"]["items"]] == ["extinguisher", "exit_clear", "gas_reading", "pump_state", "remarks"]
    assert by_frequency["monthly"]["period"]["start"] == "2026-10-31T16:00:00+00:00"


def test_a_check_marks_its_period_done_and_only_its_own(client, world, clock):
    record = check_record(world.a.schedules["daily"], world.a.version_id, clock.now())
    assert client.post("/api/v1/checks", json=record, headers=world.a.auth()).status_code == 201
    states = {s["frequency"]: (s["state"], s["checks_in_period"]) for s in scan(client, world.a).json["schedules"]}
    assert states == {"daily": ("done", 1), "weekly": ("due", 0), "monthly": ("due", 0)}
    clock.advance(days=1)  # next day: a new daily period, the week is still open
    states = {s["frequency"]: s["state"] for s in scan(client, world.a).json["schedules"]}
    assert states == {"daily": "due", "weekly": "due", "monthly": "due"}


@pytest.mark.parametrize(
    "start, end, state",
    [
        (600, 720, "upcoming"),  # 10:00–12:00 opens at 10:00; it is 09:59
        (480, 600, "due"),  # 08:00–10:00
        (480, 540, "overdue"),  # 08:00–09:00 has closed; the day has not
        (0, None, "due"),
    ],
)
def test_due_window_state(app, client, world, clock, start, end, state):
    with app.app_context():
        schedules.update_schedule(world.a.enterprise_id, world.a.schedules["daily"], {"due_start_minutes": start, "due_end_minutes": end})
        db.session.commit()
    clock.advance(minutes=-1)  # 09:59 in Shanghai
    daily = next(s for s in scan(client, world.a).json["schedules"] if s["frequency"] == "daily")
    assert daily["state"] == state


def test_shift_schedule_uses_the_enterprise_shifts(app, client, world, clock):
    with app.app_context():
        schedules.create_schedule(world.a.enterprise_id, {"post_id": world.a.post_id, "checklist_id": world.a.checklist_id, "frequency": Frequency.SHIFT})
        db.session.commit()
    shift = next(s for s in scan(client, world.a).json["schedules"] if s["frequency"] == "shift")
    # Default shifts start 00:00, 08:00, 16:00: 10:00 is in the second.
    assert shift["period"]["key"] == "2026-11-23-S2"
    assert shift["period"]["start"] == "2026-11-23T00:00:00+00:00"


def test_inactive_schedules_are_not_offered(app, client, world):
    with app.app_context():
        schedules.update_schedule(world.a.enterprise_id, world.a.schedules["weekly"], {"active": False})
        db.session.commit()
    assert {s["frequency"] for s in scan(client, world.a).json["schedules"]} == {"daily", "monthly"}


def test_every_role_of_the_enterprise_may_scan(client, world):
    for role in ("worker", "supervisor", "safety_manager", "admin"):
        assert scan(client, world.a, role=role).status_code == 200


@pytest.mark.parametrize("token", ["unknown-token", "x" * 65, "..%2F..%2Fetc", "%E4%B8%AD"])
def test_unknown_tokens_are_not_found(client, world, token):
    r = scan(client, world.a, token=token)
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"


def test_another_enterprise_token_is_not_found_and_reveals_nothing(client, world):
    r = scan(client, world.a, token=world.b.post_token)
    assert r.status_code == 404
    assert r.json == {"error": {"code": "not_found", "message": "未找到", "details": None}}


def test_inactive_post_is_not_found(client, world):
    client.patch(f"/api/v1/posts/{world.a.post_id}", json={"active": False}, headers=world.a.auth("admin"))
    assert scan(client, world.a).status_code == 404


def test_scan_needs_a_token(client, world):
    assert client.get(f"/api/v1/scan/{world.a.post_token}").status_code == 401


def test_post_with_no_schedule_scans_with_an_empty_list(app, client, world):
    r = client.post(
        "/api/v1/posts",
        json={"site_id": world.a.site_id, "name": "新岗位", "risk_level": "blue"},
        headers=world.a.auth("admin"),
    )
    body = scan(client, world.a, token=r.json["qr_token"]).json
    assert body["post"]["name"] == "新岗位" and body["schedules"] == []


def test_scan_after_a_late_sync_of_yesterday_does_not_mark_today(client, world, clock):
    record = check_record(world.a.schedules["daily"], world.a.version_id, clock.now() - timedelta(days=1))
    client.post("/api/v1/checks", json=record, headers=world.a.auth())
    daily = next(s for s in scan(client, world.a).json["schedules"] if s["frequency"] == "daily")
    assert daily["state"] == "due" and daily["checks_in_period"] == 0
