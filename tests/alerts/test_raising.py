"""Raising alerts: failed items on red and orange posts only; a late check corrects a miss's
alert without deleting it; and once through the real sweep."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.alerts import services
from server.alerts.models import Alert, AlertEvent, AlertStatus
from server.checks.models import Check
from server.extensions import db
from server.misses import services as misses
from server.misses.models import MissedCheck, MissStatus
from server.posts.models import RiskLevel
from tests.alerts.conftest import failed_answers, notified, record_miss, set_risk, submit_check
from tests.builders import run_job
from tests.conftest import T0


@pytest.mark.parametrize("risk, raised", [(RiskLevel.RED, True), (RiskLevel.ORANGE, True), (RiskLevel.YELLOW, False), (RiskLevel.BLUE, False)])
def test_failed_items_raise_an_alert_on_red_and_orange_posts_only(app, client, world, clock, risk, raised):
    """The stored check owes its alert (its follow-up mark, in the same row); the next tick of the
    jobs runner raises it and clears the mark; raising again adds nothing."""
    a = world.a
    with app.app_context():
        set_risk(a.post_id, risk)
        db.session.commit()
    check_id = submit_check(client, a, "daily", clock.now() - timedelta(minutes=5), failed_answers())
    with app.app_context():
        assert db.session.get(Check, uuid.UUID(check_id)).follow_up is True
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Alert)) == 0
    assert run_job(app, "checks.follow_up") == f"1 failed check(s) followed up: {int(raised)} alert(s), {2 * raised} hazard draft(s)"  # a draft per failed item
    assert run_job(app, "checks.follow_up").startswith("0 failed check(s)")
    with app.app_context():
        assert db.session.get(Check, uuid.UUID(check_id)).follow_up is False
        described = services.describe_failed_checks([uuid.UUID(check_id)])
        ids = list(db.session.scalars(sa.select(Alert.id).where(Alert.check_id == uuid.UUID(check_id))))
        assert len(ids) == (1 if raised else 0)
        if raised:
            alert = db.session.get(Alert, ids[0])
            assert (alert.kind, alert.risk_level, str(alert.check_id), alert.level) == ("failed_item", risk, check_id, 0)
            assert "消防器材在位有效" in alert.summary_zh and "泵组状态" in alert.summary_zh
            assert "2 项不合格" in alert.summary_zh
            assert "Extinguishers in place" in alert.summary_en and "2 failed items" in alert.summary_en
            assert alert.escalate_at == clock.now() + timedelta(minutes=60 if risk is RiskLevel.RED else 240)
            [(who, message)] = notified(ids[0])
            assert who == a.users["supervisor"] and message["kind"] == "failed_item"
            # Idempotent: the same check raises nothing more.
            assert services.raise_for_failed_checks(described) == []


def test_a_check_with_no_failed_item_raises_nothing(app, client, world, clock):
    a = world.a
    check_id = submit_check(client, a, "daily", clock.now() - timedelta(minutes=5))
    with app.app_context():
        assert services.describe_failed_checks([uuid.UUID(check_id)]) == []
        mapping = {"id": check_id, "enterprise_id": a.enterprise_id, "post_id": a.post_id, "risk_level": "red", "supervisor_id": a.users["supervisor"], "failed_items": []}
        assert services.raise_for_failed_checks([mapping]) == []


def test_plain_mappings_with_string_labels(app, client, world, clock):
    a = world.a
    # On the yellow post, so storing it raised nothing; the mapping then speaks for the red one.
    check_id = submit_check(client, a, "other_post_daily", clock.now() - timedelta(minutes=5), failed_answers())
    with app.app_context():
        mapping = {"check_id": check_id, "enterprise_id": a.enterprise_id, "post_id": a.post_id, "risk_level": "orange", "supervisor_id": None, "failed_items": ["安全出口畅通"]}
        (alert_id,) = services.raise_for_failed_checks([mapping])
        alert = db.session.get(Alert, alert_id)
        assert alert.title_zh == "检查不合格：液氨储罐区（较大风险）"
        assert alert.level == 1  # no supervisor given: the safety managers


def test_done_late_corrects_the_alert_and_tells_the_supervisor(ctx, world, clock):
    a = world.a
    miss = record_miss(a)
    (alert_id,) = services.raise_for_misses([miss])
    clock.advance(minutes=20)
    row = db.session.get(MissedCheck, miss["id"])
    row.status, row.late_performed_at, row.late_received_at, row.corrected_at = (
        MissStatus.DONE_LATE, T0 - timedelta(hours=14), clock.now(), clock.now()
    )
    db.session.flush()

    services.misses_done_late([miss["id"]])
    alert = db.session.get(Alert, alert_id)
    assert alert.status is AlertStatus.OPEN  # still there, still to be closed by a person
    assert alert.corrected_at == clock.now() and alert.escalate_at is None
    events = db.session.scalars(db.select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)).all()
    assert [e.kind for e in events] == ["created", "corrected"]
    assert "done late, synced late" in events[-1].note
    [(who, message)] = notified(alert_id, "late_check")
    assert who == a.users["supervisor"]
    assert "逾期补录" in message["title_zh"] and "2026-11-22 20:00" in message["text_zh"]  # performed, local time
    assert "synced late" in message["title_en"] and "2026-11-23 10:20" in message["text_en"]  # received

    # Repeated: nothing more; and it never climbs.
    services.misses_done_late([miss["id"]])
    assert len(notified(alert_id, "late_check")) == 1
    assert services.escalate(T0 + timedelta(days=2)) == 0


def test_through_a_real_miss(app, client, world, clock):
    """The sweep records misses, they raise alerts; a late check arrives and corrects one."""
    a = world.a
    with app.app_context():
        new = misses.sweep(T0)
        assert new, "the world's schedules missed the past week"
        ids = services.raise_for_misses(new)
        assert len(ids) == len(new)
        db.session.commit()
        alerts = {al.missed_check_id: al for al in db.session.scalars(db.select(Alert))}
        daily = next(m for m in new if m.schedule_id == a.schedules["daily"] and m.period_key == "2026-11-22")
        assert alerts[daily.id].title_zh == "漏检：液氨储罐区（重大风险）"
        assert "日检（周期 2026-11-22）在 2026-11-23 00:00" in alerts[daily.id].summary_zh
    # The check of 2026-11-22 was made that evening and syncs only now.
    submit_check(client, a, "daily", T0 - timedelta(hours=14))
    with app.app_context():
        assert db.session.get(MissedCheck, daily.id).status is MissStatus.DONE_LATE
        services.misses_done_late([daily.id])
        db.session.commit()
        assert db.session.get(Alert, alerts[daily.id].id).corrected_at is not None
