"""The demo's five weeks of history: every dashboard page has something real to show.

The history is made through the services (see server/demo/history.py), so these tests read it
back the way the product does — the API for photos, hazards and the sync gaps, the services'
own filters — and check that what the README's command 1 loads is alive and consistent: checks
over weeks, misses and late syncs, failed items, photos, hazards and reports in every state,
alerts open and answered, phones (one revoked), and that a second start adds nothing.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from server.accounts.models import Device, User
from server.alerts.models import Alert, AlertEvent, AlertStatus
from server.checklists.models import Checklist, ChecklistVersion
from server.checks.models import Check, CheckPhoto, CheckReview
from server.demo.data import DEMO_CODE, DEMO_PASSWORD, demo_exists, load_demo
from server.enterprises.calendar import enterprise_period
from server.extensions import db
from server.hazards.models import Hazard, HazardGrade, HazardSource, HazardStatus
from server.misses.models import MissedCheck, MissStatus, Pause
from server.photos.models import Photo
from server.posts.models import Post
from server.reports.models import FamilyReport
from server.schedules.models import Schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Shanghai


@pytest.fixture
def demo(ctx, clock):
    clock.set(NOW)
    enterprise = load_demo()
    db.session.commit()
    return enterprise


def api_sign_in(client, username: str) -> dict:
    r = client.post("/api/v1/auth/sign-in", json={"enterprise": DEMO_CODE, "username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 201, r.json
    return {"Authorization": f"Bearer {r.json['token']}"}


def rows(model, *where):
    return db.session.scalars(sa.select(model).where(*where)).all()


def test_five_weeks_of_checks_with_misses_late_syncs_and_photos(demo, app, client, clock):
    # The app's clock is given back as it was: the history ran on a clock of its own.
    assert app.extensions["zicha.clock"] is clock and clock.now() == NOW

    checks = rows(Check, Check.enterprise_id == demo.id)
    assert len(checks) > 400
    weeks = Counter(c.performed_at.astimezone(SHANGHAI).strftime("%G-W%V") for c in checks)
    assert sum(1 for n in weeks.values() if n >= 50) >= 4, weeks
    assert max(c.received_at for c in checks) <= NOW and min(c.performed_at for c in checks) >= NOW - timedelta(days=45)
    assert all(c.performed_at <= c.received_at for c in checks)
    # Every check belongs to the period it was performed in, by the enterprise's own calendar.
    schedules = {s.id: s for s in rows(Schedule, Schedule.enterprise_id == demo.id)}
    for c in checks:
        period = enterprise_period(demo.timezone, demo.shifts, schedules[c.schedule_id].frequency, c.performed_at)
        assert c.period_key == period.key
    assert {c.user.username for c in checks} == {"zhangwei", "liuyang", "zhaolei", "anquan"}

    # Failed items: readings out of limits, yes/no answers the wrong way, bad choices.
    failed = [c for c in checks if not c.ok]
    assert len(failed) >= 5
    failed_answers = [a for c in failed for a in c.answers if a["ok"] is False]
    assert {type(a["value"]) for a in failed_answers} >= {bool}
    assert any(a["item_id"] == "gas_detector_reading" and a["value"] > 20 for a in failed_answers)

    # Synced late: done on time, received hours or days later, dated by the phone's monotonic clock.
    late = [c for c in checks if c.received_at - c.performed_at >= timedelta(hours=3)]
    assert len(late) >= 10
    assert any(c.received_at - c.performed_at >= timedelta(days=1) for c in late)
    assert {c.time_quality for c in checks} >= {"monotonic", "anchored"}
    assert any("device_clock_wrong" in c.flags for c in checks)  # a phone whose clock was 11 minutes fast

    # Misses: recorded by the sweep, some later made good by a late sync (done late).
    misses = rows(MissedCheck, MissedCheck.enterprise_id == demo.id)
    statuses = Counter(m.status for m in misses)
    assert statuses[MissStatus.MISSED] >= 3 and statuses[MissStatus.DONE_LATE] >= 3, statuses
    for miss in misses:
        assert miss.detected_at >= miss.closed_at and miss.detected_at <= NOW
        if miss.status is MissStatus.DONE_LATE:
            assert miss.late_received_at > miss.closed_at > miss.late_performed_at
    # 停产检修: no check and no miss on the paused post during its pause.
    (pause,) = rows(Pause, Pause.enterprise_id == demo.id)
    assert pause.post.name == "反应釜B区" and "停产检修" in pause.reason
    assert pause.ends_at - pause.starts_at == timedelta(days=3)
    for record in [*checks, *misses]:
        if record.post_id == pause.post_id:
            at = record.performed_at if isinstance(record, Check) else record.period_start
            assert not pause.starts_at <= at < pause.ends_at

    # Two versions of the warehouse checklist, both answered.
    warehouse = db.session.scalar(sa.select(Checklist).where(Checklist.enterprise_id == demo.id, Checklist.name == "危化品仓库日检"))
    versions = rows(ChecklistVersion, ChecklistVersion.checklist_id == warehouse.id)
    assert len(versions) == 2
    assert {c.checklist_version_id for c in checks} >= {v.id for v in versions}

    # Photos: real JPEGs stored through the photo service, served to the enterprise's managers.
    photos = rows(Photo, Photo.enterprise_id == demo.id)
    assert 20 <= len(photos) <= 120
    assert all(p.content_type == "image/jpeg" and (p.width, p.height) == (640, 480) for p in photos)
    # Taken by a phone: the capture time from its EXIF. (A family report's photo, taken into its
    # hazard as evidence, was stripped of all metadata when it was received.)
    assert all(p.captured_at is not None for p in photos if p.device_id is not None)
    auth = api_sign_in(client, "anquan")
    some = photos[0].sha256
    r = client.get(f"/api/v1/photos/{some}/thumb", headers=auth)
    assert r.status_code == 200 and r.data[:3] == b"\xff\xd8\xff"
    slots = rows(CheckPhoto, CheckPhoto.enterprise_id == demo.id)
    assert {s.sha256 for s in slots} - {p.sha256 for p in photos}, "one photo is still on its way"
    assert Counter(c.status for c in checks)["awaiting_photos"] == 1

    # Reviews: the safety manager's verdicts, one of them questioning a check.
    reviews = rows(CheckReview, CheckReview.enterprise_id == demo.id)
    assert {r.verdict.value for r in reviews} == {"reviewed", "questionable"}
    assert all(r.reviewer.username == "anquan" for r in reviews)

    # Phones: each worker's signed in with its device info; the lost one revoked.
    devices = rows(Device, Device.enterprise_id == demo.id)
    assert {d.user.username for d in devices} == {"zhangwei", "liuyang", "zhaolei"}
    (lost,) = [d for d in devices if d.revoked_at is not None]
    assert lost.user.username == "zhaolei" and lost.revoked_by_id == db.session.scalar(sa.select(User.id).where(User.username == "admin"))
    assert all(d.name and d.platform == "android" for d in devices)
    assert all(d.last_seen_at >= NOW - timedelta(days=1) for d in devices if d.revoked_at is None)
    # A record that never left a phone shows as a gap in its device_seq.
    r = client.get("/api/v1/sync/gaps", headers=auth)
    assert r.status_code == 200 and len(r.json) == 1 and r.json[0]["gaps"][0]["count"] == 1


def test_hazards_reports_and_alerts_in_every_state(demo, client):
    hazards = rows(Hazard, Hazard.enterprise_id == demo.id)
    statuses = Counter(h.status for h in hazards)
    assert set(statuses) == set(HazardStatus), statuses
    auth = api_sign_in(client, "anquan")
    r = client.get("/api/v1/hazards?overdue=true", headers=auth)
    assert r.status_code == 200
    (overdue,) = r.json
    assert overdue["status"] == "assigned" and "EF-03" in overdue["description"]
    assert db.session.get(Hazard, overdue["id"]).overdue_alert_id is not None

    (major,) = [h for h in hazards if h.grade is HazardGrade.MAJOR]
    assert major.status is HazardStatus.ASSIGNED and major.deadline > NOW
    assert major.measures and major.funds and major.responsible_id and major.emergency_measures  # 五到位
    drafts = [h for h in hazards if h.source is HazardSource.CONTROL_MEASURE]
    assert len(drafts) >= 3 and all(h.check_id and h.check_item_id for h in drafts)
    assert len({h.status for h in drafts}) >= 2
    assert any(h.client_id is not None for h in drafts), "a worker described a draft from the phone"
    closed = [h for h in hazards if h.status is HazardStatus.CLOSED]
    assert all(h.verifier_id != h.rectified_by_id and h.photos_after is not None for h in closed)
    assert any(e.action == "verification_failed" for h in closed for e in h.events)
    assert all(h.found_at <= h.created_at <= NOW for h in hazards)

    reports = rows(FamilyReport, FamilyReport.enterprise_id == demo.id)
    assert {r.progress.value for r in reports} == {"received", "fixing", "fixed", "not_hazard"}
    assert any(r.anonymous and r.contact_sealed is None for r in reports)
    assert any(not r.anonymous and r.contact_sealed for r in reports)
    rejected = next(r for r in reports if r.progress.value == "not_hazard")
    assert rejected.reply and rejected.hazard_id is None
    fixed = next(r for r in reports if r.progress.value == "fixed")
    assert fixed.hazard.source is HazardSource.REPORT and fixed.rewards

    alerts = rows(Alert, Alert.enterprise_id == demo.id)
    by_status = Counter(a.status for a in alerts)
    assert all(by_status[s] >= 1 for s in AlertStatus), by_status
    assert {a.kind for a in alerts} == {"missed_check", "failed_item", "overdue_hazard", "report"}
    acks = rows(AlertEvent, AlertEvent.kind == "acknowledged")
    assert acks and all(e.note for e in acks)
    assert any(a.corrected_at is not None for a in alerts), "a miss corrected by a late sync"
    assert any(a.level > 0 for a in alerts if a.status is AlertStatus.OPEN), "an unanswered alert climbed"
    # The supervisor of the posts answers their alerts.
    for event in acks:
        alert = db.session.get(Alert, event.alert_id)
        if alert.post_id is not None and alert.kind in ("missed_check", "failed_item"):
            assert event.actor_id == db.session.get(Post, alert.post_id).supervisor_id


def table_counts() -> dict[str, int]:
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def test_loading_twice_changes_nothing(app, ctx, clock):
    clock.set(NOW)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "--if-absent"])
    assert first.exit_code == 0, first.output
    assert demo_exists() and DEMO_CODE in first.output
    db.session.remove()
    before = table_counts()
    assert before["checks"] > 400 and before["hazards"] > 10

    clock.advance(hours=1)  # a second `zicha serve --demo` later on
    second = runner.invoke(args=["demo", "--if-absent"])
    assert second.exit_code == 0, second.output
    db.session.remove()
    assert table_counts() == before
