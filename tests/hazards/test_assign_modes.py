"""即查即改 (fixed on the spot) needs no deadline — it is due by the end of the day; 限期整改 must name one."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo


def test_on_the_spot_without_a_deadline_is_due_at_the_end_of_the_local_day(loop, world, clock):
    clock.set(datetime(2026, 11, 23, 17, 30, tzinfo=timezone.utc))  # 01:30 on the 24th in Shanghai
    hid = loop.to("confirmed")
    r = loop.post(f"/{hid}/assign", {"responsible_id": world.a.users["worker"], "mode": "on_the_spot"}, "safety_manager")
    assert r.status_code == 200, r.json
    deadline = datetime.fromisoformat(r.json["deadline"])
    assert deadline.astimezone(ZoneInfo("Asia/Shanghai")) == datetime(2026, 11, 25, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert r.json["mode"] == "on_the_spot" and r.json["mode_zh"] == "即查即改" and r.json["status"] == "assigned"


def test_by_deadline_without_a_deadline_is_refused_and_changes_nothing(loop, world, clock):
    hid = loop.to("confirmed")
    r = loop.post(f"/{hid}/assign", {"responsible_id": world.a.users["worker"]}, "safety_manager")
    assert r.status_code == 422 and r.json["error"]["code"] == "validation_failed" and "deadline" in r.json["error"]["details"]
    hazard = loop.get(hid).json
    assert hazard["status"] == "confirmed" and hazard["deadline"] is None and [e["action"] for e in hazard["events"]] == ["reported", "confirmed"]


def test_a_major_hazard_on_the_spot_still_needs_its_whole_plan(loop, world, clock):
    hid = loop.to("confirmed", grade="major")
    body = {"responsible_id": world.a.users["worker"], "mode": "on_the_spot", "measures": "立即停用", "funds": "0", "emergency_measures": "设警戒"}
    r = loop.post(f"/{hid}/assign", body, "safety_manager")
    assert r.status_code == 422 and r.json["error"]["code"] == "hazard_plan_incomplete" and list(r.json["error"]["details"]) == ["deadline"]
    r = loop.post(f"/{hid}/assign", {**body, "deadline": (clock.now() + timedelta(hours=4)).isoformat()}, "safety_manager")
    assert r.status_code == 200, r.json
