"""The state machine: every allowed step by every allowed role, every forbidden one refused with
its code, the verifier who is not the rectifier, the 重大 plan, and a history that loses nothing."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.extensions import db
from server.hazards.models import Hazard, HazardEvent
from tests.hazards.conftest import MAJOR_PLAN, PHOTO_AFTER, PHOTO_BEFORE

ROLES = ["worker", "supervisor", "safety_manager", "admin"]
MANAGERS = ["safety_manager", "admin"]
STATUSES = ["reported", "confirmed", "rejected", "assigned", "rectified", "closed"]


def test_the_whole_loop_with_history(loop, world):
    reported = loop.report(role="worker")
    hid = reported["id"]
    assert reported["status"] == "reported" and reported["status_zh"] == "上报"
    assert reported["number"] == "YH-2026-0001" and reported["photos_before"] == [PHOTO_BEFORE]
    assert reported["site_id"] == world.a.site_id  # the post's site
    assert loop.confirm(hid, grade="general").json["grade_zh"] == "一般隐患"
    assigned = loop.assign(hid, responsible="worker").json
    assert assigned["status"] == "assigned" and assigned["responsible_id"] == world.a.users["worker"]
    rectified = loop.rectify(hid, role="worker").json
    assert rectified["status"] == "rectified" and rectified["photos_after"] == [PHOTO_AFTER] and rectified["cost"] == "800.00"
    closed = loop.verify(hid, role="safety_manager").json
    assert closed["status"] == "closed" and closed["status_zh"] == "已销号" and closed["verification_passed"] is True
    assert closed["verifier_id"] == world.a.users["safety_manager"]
    events = loop.get(hid).json["events"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in events] == [
        ("reported", None, "reported"),
        ("confirmed", "reported", "confirmed"),
        ("assigned", "confirmed", "assigned"),
        ("rectified", "assigned", "rectified"),
        ("verified", "rectified", "closed"),
    ]
    assert [e["actor_id"] for e in events] == [world.a.users[r] for r in ("worker", "safety_manager", "safety_manager", "worker", "safety_manager")]
    assert events[1]["changes"]["grade"] == [None, "general"]
    assert events[3]["photos"] == [PHOTO_AFTER]


@pytest.mark.parametrize("role", ROLES)
def test_anyone_may_report(loop, role):
    assert loop.report(role=role)["status"] == "reported"


@pytest.mark.parametrize("role", ROLES)
def test_confirm_by_role(loop, role):
    hid = loop.to("reported")
    r = loop.confirm(hid, role=role)
    assert (r.status_code, r.json.get("status") or r.json["error"]["code"]) == ((200, "confirmed") if role in MANAGERS else (403, "forbidden"))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("start", ["reported", "confirmed"])
def test_reject_by_role(loop, role, start):
    hid = loop.to(start)
    r = loop.reject(hid, role=role)
    if role in MANAGERS:
        assert r.status_code == 200 and r.json["status"] == "rejected" and r.json["reject_reason"] == "现场复核无泄漏"
        assert r.json["events"][-1]["note"] == "现场复核无泄漏"
    else:
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"


@pytest.mark.parametrize("role", ROLES)
def test_assign_by_role(loop, role):
    hid = loop.to("confirmed")
    r = loop.assign(hid, role=role)
    assert r.status_code == (200 if role in MANAGERS else 403)


@pytest.mark.parametrize("role", ROLES)
def test_rectify_by_the_responsible_person_of_any_role(loop, role):
    hid = loop.to("confirmed")
    assert loop.assign(hid, responsible=role).status_code == 200
    r = loop.rectify(hid, role=role)
    assert r.status_code == 200 and r.json["rectified_by_id"] == loop.tenant.users[role]


@pytest.mark.parametrize("role,allowed", [("worker", False), ("supervisor", True), ("safety_manager", False), ("admin", False)])
def test_rectify_by_someone_not_responsible(loop, role, allowed):
    hid = loop.to("confirmed")
    other = "admin" if role != "admin" else "safety_manager"
    assert loop.assign(hid, responsible=other).status_code == 200
    r = loop.rectify(hid, role=role)
    if allowed:
        assert r.status_code == 200
    else:
        assert r.status_code == 403 and r.json["error"]["code"] == "hazard_not_responsible"


@pytest.mark.parametrize("role", ROLES)
def test_verify_by_role(loop, role):
    hid = loop.to("rectified")  # rectified by the worker
    r = loop.verify(hid, role=role)
    assert r.status_code == (200 if role in MANAGERS else 403)


def test_the_verifier_cannot_be_the_rectifier(loop, world):
    hid = loop.to("confirmed")
    assert loop.assign(hid, responsible="safety_manager").status_code == 200
    assert loop.rectify(hid, role="safety_manager").status_code == 200
    r = loop.verify(hid, role="safety_manager")
    assert r.status_code == 409 and r.json["error"]["code"] == "hazard_same_verifier"
    assert loop.get(hid).json["status"] == "rectified"
    assert loop.verify(hid, role="admin").json["status"] == "closed"


def test_failed_verification_goes_back_and_is_rectified_again(loop, clock):
    hid = loop.to("rectified")
    new_deadline = (clock.now() + __import__("datetime").timedelta(days=5)).isoformat()
    failed = loop.verify(hid, passed=False, deadline=new_deadline).json
    assert failed["status"] == "assigned" and failed["verification_passed"] is False and failed["verification_note"] == "仍有渗漏"
    assert loop.rectify(hid).json["status"] == "rectified"
    assert loop.verify(hid, role="admin").json["status"] == "closed"
    actions = [e["action"] for e in loop.get(hid).json["events"]]
    assert actions == ["reported", "confirmed", "assigned", "rectified", "verification_failed", "rectified", "verified"]


def test_a_major_hazard_needs_its_whole_plan(loop):
    hid = loop.to("confirmed", grade="major")
    r = loop.assign(hid)
    assert r.status_code == 422 and r.json["error"]["code"] == "hazard_plan_incomplete"
    assert set(r.json["error"]["details"]) == {"measures", "funds", "emergency_measures"}
    r = loop.assign(hid, **{**MAJOR_PLAN, "funds": None})
    assert r.status_code == 422 and set(r.json["error"]["details"]) == {"funds"}
    assert loop.get(hid).json["status"] == "confirmed"
    ok = loop.assign(hid, **MAJOR_PLAN).json
    assert ok["status"] == "assigned" and ok["funds"] == "12000.50" and ok["emergency_measures"] == MAJOR_PLAN["emergency_measures"]


# Every (status, step) not in the machine is refused with hazard_transition_invalid, by a manager
# (the one role that may take every step but rectify, which the responsible worker takes).
ALLOWED = {("reported", "confirm"), ("reported", "reject"), ("confirmed", "reject"), ("confirmed", "assign"), ("assigned", "rectify"), ("rectified", "verify")}
STEPS = ("confirm", "reject", "assign", "rectify", "verify")


@pytest.mark.parametrize("status,step", [(s, t) for s in STATUSES for t in STEPS if (s, t) not in ALLOWED])
def test_forbidden_transitions_are_refused(loop, status, step):
    hid = loop.to(status)
    r = getattr(loop, step)(hid, **({"role": "worker"} if step == "rectify" else {}))
    assert r.status_code == 409 and r.json["error"]["code"] == "hazard_transition_invalid"
    assert r.json["error"]["details"]["status"] == status
    assert loop.get(hid).json["status"] == status


def test_nothing_is_deleted_and_every_change_has_its_event(app, loop):
    hid = loop.to("rectified")
    loop.verify(hid, passed=False)
    loop.rectify(hid)
    loop.verify(hid, role="admin")
    with app.app_context():
        events = db.session.scalars(sa.select(HazardEvent).where(HazardEvent.hazard_id == hid).order_by(HazardEvent.id)).all()
        assert [e.at for e in events] == sorted(e.at for e in events)
        # Each event starts from where the previous one left the hazard: the chain is unbroken.
        for before, after in zip(events, events[1:]):
            assert after.from_status == before.to_status
        assert events[-1].to_status == db.session.get(Hazard, hid).status.value
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Hazard)) == 1


def test_bad_bodies_are_clean_422s(loop):
    hid = loop.to("reported")
    assert loop.post("", {"description": ""}, "worker").json["error"]["code"] == "validation_failed"
    assert loop.post("", {"description": "x", "photos": ["nothex"]}, "worker").status_code == 422
    assert loop.post("", {"description": "x", "source": "gossip"}, "worker").status_code == 422
    assert loop.post(f"/{hid}/confirm", {"grade": "huge"}, "admin").status_code == 422
    assert loop.post(f"/{hid}/reject", {}, "admin").status_code == 422
    r = loop.post("", {"description": "x", "found_at": "2030-01-01T00:00:00+08:00"}, "worker")
    assert r.status_code == 422 and "found_at" in r.json["error"]["details"]
    loop.confirm(hid)
    r = loop.assign(hid, responsible_id=999999)
    assert r.status_code == 422 and "responsible_id" in r.json["error"]["details"]
