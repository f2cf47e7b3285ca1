"""Escalation with the injectable clock: red climbs at exactly one hour to the safety managers and
again to the head; acknowledging stops it; orange 4 h, yellow 24 h, blue never."""
from __future__ import annotations

from datetime import timedelta

import pytest

from server.accounts.models import Role
from server.alerts import services
from server.alerts.models import Alert, AlertEvent, AlertRecipient, AlertStatus
from server.extensions import db
from server.notifications import services as notifications
from server.notifications.models import ChannelKind, OutboxEntry
from server.posts.models import RiskLevel
from tests.alerts.conftest import add_user, notified, record_miss, set_risk
from tests.conftest import T0


def recipients(alert_id: int) -> list[tuple[int, int]]:
    rows = db.session.execute(
        db.select(AlertRecipient.user_id, AlertRecipient.level).where(AlertRecipient.alert_id == alert_id).order_by(AlertRecipient.level, AlertRecipient.user_id)
    )
    return [tuple(r) for r in rows]


def history(alert_id: int) -> list[tuple[str, int]]:
    rows = db.session.execute(db.select(AlertEvent.kind, AlertEvent.level).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id))
    return [tuple(r) for r in rows]


def test_red_climbs_at_exactly_one_hour_then_to_the_head(ctx, world, clock):
    a = world.a
    (alert_id,) = services.raise_for_misses([record_miss(a)])
    alert = db.session.get(Alert, alert_id)
    assert (alert.level, alert.status, alert.escalate_at) == (0, AlertStatus.OPEN, T0 + timedelta(hours=1))
    assert recipients(alert_id) == [(a.users["supervisor"], 0)]
    [(who, message)] = notified(alert_id)
    assert who == a.users["supervisor"] and message["kind"] == "missed_check" and message["level"] == "red"
    assert "液氨储罐区" in message["title_zh"] and "2026-11-22" in message["text_zh"] and "Missed check" in message["title_en"]

    assert services.escalate(T0 + timedelta(minutes=59, seconds=59)) == 0
    assert services.escalate(T0 + timedelta(hours=1)) == 1
    db.session.refresh(alert)
    assert (alert.level, alert.escalate_at) == (1, T0 + timedelta(hours=2))
    assert recipients(alert_id) == [(a.users["supervisor"], 0), (a.users["safety_manager"], 1)]
    escalation = notified(alert_id, "escalation")
    assert [w for w, _ in escalation] == [a.users["safety_manager"]]
    assert "【升级】" in escalation[0][1]["title_zh"] and "安全管理员" in escalation[0][1]["text_zh"]
    assert "1 hour" in escalation[0][1]["text_en"]

    # Run again at the same moment: nothing is left to take.
    assert services.escalate(T0 + timedelta(hours=1)) == 0
    # The head: no one named, so the admins stand in.
    assert services.escalate(T0 + timedelta(hours=2)) == 1
    db.session.refresh(alert)
    assert (alert.level, alert.escalate_at) == (2, None)
    assert recipients(alert_id)[-1] == (a.users["admin"], 2)
    assert "企业负责人" in notified(alert_id, "escalation")[-1][1]["text_zh"]
    assert services.escalate(T0 + timedelta(days=30)) == 0
    assert history(alert_id) == [("created", 0), ("escalated", 1), ("escalated", 2)]


def test_acknowledging_stops_the_climb(ctx, world, clock):
    from server.accounts.auth import Principal

    a = world.a
    (alert_id,) = services.raise_for_misses([record_miss(a)])
    clock.advance(minutes=30)
    supervisor = Principal(a.users["supervisor"], a.enterprise_id, Role.SUPERVISOR, None, 0, "Asia/Shanghai", ())
    services.acknowledge(supervisor, alert_id, "马上安排补检")
    assert services.escalate(T0 + timedelta(hours=5)) == 0
    alert = db.session.get(Alert, alert_id)
    assert (alert.level, alert.status, alert.escalate_at) == (0, AlertStatus.ACKNOWLEDGED, None)
    assert history(alert_id) == [("created", 0), ("acknowledged", 0)]


@pytest.mark.parametrize(
    "risk, minutes",
    [(RiskLevel.RED, 60), (RiskLevel.ORANGE, 240), (RiskLevel.YELLOW, 1440)],
)
def test_each_colour_climbs_on_its_own_interval(ctx, world, risk, minutes):
    a = world.a
    set_risk(a.post_id, risk)
    (alert_id,) = services.raise_for_misses([record_miss(a)])
    step = timedelta(minutes=minutes)
    assert db.session.get(Alert, alert_id).escalate_at == T0 + step
    assert services.escalate(T0 + step - timedelta(seconds=1)) == 0
    assert services.escalate(T0 + step) == 1
    assert services.escalate(T0 + 2 * step - timedelta(seconds=1)) == 0
    assert services.escalate(T0 + 2 * step) == 1
    assert db.session.get(Alert, alert_id).level == 2


def test_blue_never_climbs_and_stays_in_the_app(ctx, world):
    a = world.a
    notifications.create_channel(a.enterprise_id, {"kind": ChannelKind.WEBHOOK, "name": "值班群", "url": "https://hooks.example.cn/x", "secret": "s" * 32})
    set_risk(a.post_id, RiskLevel.BLUE)
    (alert_id,) = services.raise_for_misses([record_miss(a)])
    alert = db.session.get(Alert, alert_id)
    assert (alert.level, alert.escalate_at) == (0, None)
    assert services.escalate(T0 + timedelta(days=365)) == 0
    assert [w for w, _ in notified(alert_id)] == [a.users["supervisor"]]
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxEntry)) == 0

    # A red one in the same enterprise does reach the channel.
    set_risk(a.post_id, RiskLevel.RED)
    services.raise_for_misses([record_miss(a, "weekly", "2026-W47")])
    assert db.session.scalar(db.select(db.func.count()).select_from(OutboxEntry)) == 1


def test_a_post_without_supervisor_starts_with_the_safety_managers(ctx, world):
    a = world.a  # other_post: yellow, no supervisor
    (alert_id,) = services.raise_for_misses([record_miss(a, "other_post_daily")])
    alert = db.session.get(Alert, alert_id)
    assert (alert.level, alert.escalate_at) == (1, T0 + timedelta(hours=24))
    assert recipients(alert_id) == [(a.users["safety_manager"], 1)]
    assert services.escalate(T0 + timedelta(hours=24)) == 1
    assert recipients(alert_id)[-1] == (a.users["admin"], 2)


def test_the_named_head_and_custom_minutes(ctx, world):
    a = world.a
    head = add_user(a, "changzhang", Role.ADMIN, "厂长")
    services.update_settings(a.enterprise_id, {"head_user_id": head, "red_minutes": 15}, a.users["admin"])
    (alert_id,) = services.raise_for_misses([record_miss(a)])
    assert services.escalate(T0 + timedelta(minutes=15)) == 1
    assert services.escalate(T0 + timedelta(minutes=30)) == 1
    assert recipients(alert_id) == [(a.users["supervisor"], 0), (a.users["safety_manager"], 1), (head, 2)]


def test_a_late_run_keeps_the_timetable(ctx, world):
    """Escalation runs every few minutes; one that comes late does not push later steps back."""
    a = world.a
    (alert_id,) = services.raise_for_misses([record_miss(a)])
    assert services.escalate(T0 + timedelta(minutes=95)) == 1
    assert db.session.get(Alert, alert_id).escalate_at == T0 + timedelta(hours=2)


def test_two_runs_at_once_escalate_once(app, ctx, world, monkeypatch):
    """The second runner read the alert as due, but the first took it before its UPDATE."""
    a = world.a
    (alert_id,) = services.raise_for_misses([record_miss(a)])
    db.session.commit()
    moment = T0 + timedelta(hours=1)
    original = services.chains_of

    def race(ids):
        monkeypatch.setattr(services, "chains_of", original)
        with app.app_context():  # another runner, its own session and transaction
            assert services.escalate(moment) == 1
            db.session.commit()
        return original(ids)

    monkeypatch.setattr(services, "chains_of", race)
    assert services.escalate(moment) == 0
    db.session.commit()
    assert history(alert_id) == [("created", 0), ("escalated", 1)]
    assert len(notified(alert_id, "escalation")) == 1


def test_raising_twice_for_the_same_miss_makes_one_alert(ctx, world):
    a = world.a
    miss = record_miss(a)
    first = services.raise_for_misses([miss, miss])
    assert len(first) == 1
    assert services.raise_for_misses([miss]) == []
    assert db.session.scalar(db.select(db.func.count()).select_from(Alert)) == 1


def test_many_misses_in_one_call(ctx, world):
    """Set-based: one call for many misses across both enterprises, one alert each."""
    misses = [record_miss(t, s, f"2026-11-{d:02d}") for t in (world.a, world.b) for s in ("daily", "other_post_daily") for d in range(16, 23)]
    ids = services.raise_for_misses(misses)
    assert len(ids) == len(misses) == 28
    by_alert = {a.id: a for a in db.session.scalars(db.select(Alert))}
    for alert_id, miss in zip(ids, misses):
        assert by_alert[alert_id].missed_check_id == miss["id"]
        assert by_alert[alert_id].enterprise_id == miss["enterprise_id"]
