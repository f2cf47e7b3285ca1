"""Issue 4 end to end, through the periodic jobs as the server runs them: a check not done is
recorded as missed, its supervisor is alerted and told through the enterprise's signed webhook;
left unacknowledged, a red alert reaches the safety managers after one hour; the check, done on
time but synced late, corrects the record and the people it reached hear of it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from server.alerts.models import Alert
from server.extensions import db
from server.jobs.services import run_due
from server.jobs.tasks import JOBS
from server.misses.models import MissedCheck
from tests.builders import check_record, good_answers
from tests.notifications.conftest import create_channel

SHANGHAI = timezone(timedelta(hours=8))


def run_jobs(app) -> dict:
    with app.app_context():
        ran = run_due(JOBS, "test-worker")
        db.session.remove()
        return ran


def webhook_kinds(receiver) -> list[tuple[str, str | None]]:
    return [(r.json["kind"], r.json["facts"].get("period_key")) for r in receiver.at("/webhook")]


def test_a_missed_check_reaches_its_supervisor_escalates_and_is_corrected_by_a_late_sync(app, client, world, clock, receiver):
    a = world.a
    create_channel(client, a, "webhook", receiver)

    # Monday 10:00: the jobs run as the server's runner would. Sunday's daily check on the red
    # post was never done (nor any other since the schedules were set up a week ago).
    ran = run_jobs(app)
    assert "misses.detect" in ran and "notifications.deliver" in ran
    with app.app_context():
        miss = db.session.scalar(
            sa.select(MissedCheck).where(MissedCheck.schedule_id == a.schedules["daily"], MissedCheck.period_key == "2026-11-22")
        )
        alert = db.session.scalar(sa.select(Alert).where(Alert.missed_check_id == miss.id))
        assert (miss.status.value, alert.level) == ("missed", 0)
        alert_id = alert.id
    assert ("missed_check", "2026-11-22") in webhook_kinds(receiver)
    assert receiver.problems == []  # every webhook carried a valid signature
    inbox = client.get("/api/v1/alerts", headers=a.auth("supervisor")).json
    assert alert_id in [x["id"] for x in inbox]
    assert alert_id not in [x["id"] for x in client.get("/api/v1/alerts", headers=a.auth("safety_manager")).json]

    # Nobody acknowledges it: one hour later the red alert has reached the safety managers.
    clock.advance(minutes=59)
    run_jobs(app)
    assert alert_id not in [x["id"] for x in client.get("/api/v1/alerts", headers=a.auth("safety_manager")).json]
    clock.advance(minutes=1)
    run_jobs(app)
    assert alert_id in [x["id"] for x in client.get("/api/v1/alerts", headers=a.auth("safety_manager")).json]
    assert ("escalation", "2026-11-22") in webhook_kinds(receiver)

    # The worker had done it on Sunday at 16:00, offline; the phone syncs now.
    done = datetime(2026, 11, 22, 16, 0, tzinfo=SHANGHAI)
    r = client.post("/api/v1/checks", json=check_record(a.schedules["daily"], a.version_id, done, good_answers()), headers=a.auth())
    assert r.status_code == 201 and r.json["period_key"] == "2026-11-22"
    clock.advance(seconds=10)  # delivery runs every 10 s
    run_jobs(app)
    with app.app_context():
        miss = db.session.get(MissedCheck, miss.id)
        assert miss.status.value == "done_late"
        assert miss.late_performed_at == done and miss.late_received_at == clock.now() - timedelta(seconds=10)
        assert miss.detected_at < miss.late_received_at  # the record of the miss stays, corrected
    assert ("late_check", "2026-11-22") in webhook_kinds(receiver)
    history = client.get(f"/api/v1/alerts/{alert_id}", headers=a.auth("supervisor")).json
    assert [e["kind"] for e in history["events"]] == ["created", "escalated", "corrected"]

    # The other enterprise's alerts are its own misses, never this one.
    assert alert_id not in [x["id"] for x in client.get("/api/v1/alerts", headers=world.b.auth("supervisor")).json]
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=world.b.auth("safety_manager")).status_code == 404
    # Each webhook was sent once, numbered without holes.
    seqs = [int(r.headers["X-Zicha-Seq"]) for r in receiver.at("/webhook")]
    assert seqs == list(range(1, len(seqs) + 1))
