"""``zicha alerts escalate|digest [--now ISO]``: what the periodic runner and a replay call."""
from __future__ import annotations

from server.alerts import services
from server.alerts.models import Alert
from server.extensions import db
from tests.alerts.conftest import notified, record_miss


def test_escalate_with_and_without_now(app, world, clock):
    with app.app_context():
        (alert_id,) = services.raise_for_misses([record_miss(world.a)])
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["alerts", "escalate"])
    assert result.exit_code == 0 and "escalated 0 alert(s)" in result.output
    result = runner.invoke(args=["alerts", "escalate", "--now", "2026-11-23T11:00:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "escalated 1 alert(s)" in result.output
    with app.app_context():
        assert db.session.get(Alert, alert_id).level == 1  # committed


def test_digest_with_now(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["alerts", "digest", "--now", "2026-11-23T08:00:00+08:00"])
    assert result.exit_code == 0 and "enqueued 6 digest(s)" in result.output
    assert "enqueued 0 digest(s)" in runner.invoke(args=["alerts", "digest", "--now", "2026-11-23T09:00:00+08:00"]).output
    with app.app_context():
        assert len(notified(kind="digest")) == 6


def test_a_bad_now_is_a_usage_error(app):
    runner = app.test_cli_runner()
    for value in ("tomorrow", "2026-11-23T08:00:00"):
        result = runner.invoke(args=["alerts", "escalate", "--now", value])
        assert result.exit_code == 2 and "--now" in result.output
