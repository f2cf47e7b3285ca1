"""Deadlines: an assigned hazard past its deadline raises one overdue_hazard alert, at the right moment."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from server.alerts.models import Alert, AlertRecipient
from server.extensions import db
from server.jobs.tasks import JOBS, hazards_overdue


def _alerts(app):
    with app.app_context():
        return db.session.scalars(sa.select(Alert).order_by(Alert.id)).all()


def test_overdue_alert_at_the_deadline_once(app, loop, clock, world):
    hid = loop.to("assigned")  # deadline: now + 3 days, responsible: the worker
    deadline = clock.now() + timedelta(days=3)
    with app.app_context():
        assert hazards_overdue(deadline - timedelta(seconds=1)) == "0 overdue hazard alert(s)"
        assert hazards_overdue(deadline) == "1 overdue hazard alert(s)"
        assert hazards_overdue(deadline + timedelta(hours=1)) == "0 overdue hazard alert(s)"
    [alert] = _alerts(app)
    assert alert.kind == "overdue_hazard" and alert.risk_level.value == "orange"  # 一般: the orange timetable
    assert "YH-2026-0001" in alert.title_zh and "逾期" in alert.title_zh and "overdue" in alert.title_en
    with app.app_context():
        recipients = db.session.scalars(sa.select(AlertRecipient.user_id).where(AlertRecipient.alert_id == alert.id)).all()
    assert recipients == [world.a.users["worker"]]  # the responsible person first
    hazard = loop.get(hid).json
    assert hazard["overdue_alert_id"] == alert.id and hazard["events"][-1]["action"] == "overdue"
    clock.set(deadline + timedelta(minutes=1))
    listed = loop.client.get("/api/v1/hazards?overdue=true", headers=world.a.auth("admin")).json
    assert [h["id"] for h in listed] == [hid]


def test_major_escalates_like_red_and_rectified_hazards_are_left_alone(app, loop, clock):
    major = loop.to("assigned", grade="major")
    done = loop.to("rectified")
    with app.app_context():
        hazards_overdue(clock.now() + timedelta(days=4))
    [alert] = _alerts(app)
    assert alert.risk_level.value == "red" and alert.escalate_at == clock.now() + timedelta(minutes=60)
    assert loop.get(major).json["overdue_alert_id"] == alert.id and loop.get(done).json["overdue_alert_id"] is None


def test_a_new_deadline_after_failed_verification_may_alert_again(app, loop, clock):
    hid = loop.to("assigned")
    with app.app_context():
        hazards_overdue(clock.now() + timedelta(days=4))
    clock.advance(days=4)
    loop.rectify(hid)
    loop.verify(hid, passed=False, deadline=(clock.now() + timedelta(days=1)).isoformat())
    assert loop.get(hid).json["overdue_alert_id"] is None
    with app.app_context():
        hazards_overdue(clock.now() + timedelta(days=2))
    assert len(_alerts(app)) == 2


def test_the_job_is_scheduled():
    assert "hazards.overdue" in [job.name for job in JOBS]
