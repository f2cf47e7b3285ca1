"""Alert test helpers: misses recorded as the sweep would, failed checks sent as a phone would,
and readers for what was notified."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from server import clock as app_clock
from server.accounts import services as accounts
from server.accounts.models import Role
from server.extensions import db
from server.misses.models import MissedCheck, MissStatus
from server.notifications.models import Notification
from server.posts.models import Post, RiskLevel
from server.schedules.models import Schedule
from sync.periods import period_from_key
from tests.builders import PASSWORD, Tenant, check_record, good_answers

API = "/api/v1"


def record_miss(tenant: Tenant, schedule: str = "daily", period_key: str = "2026-11-22") -> dict:
    """A MissedCheck row, and the mapping the sweep hands to ``raise_for_misses`` for it."""
    row = db.session.get(Schedule, tenant.schedules[schedule])
    post = row.post
    period = period_from_key(row.frequency, period_key, "Asia/Shanghai")
    miss = MissedCheck(
        enterprise_id=tenant.enterprise_id, schedule_id=row.id, post_id=post.id, frequency=row.frequency, period_key=period_key,
        period_start=period.start, period_end=period.end, closed_at=period.end, detected_at=app_clock.now(), status=MissStatus.MISSED,
    )
    db.session.add(miss)
    db.session.flush()
    return {
        "id": miss.id, "enterprise_id": tenant.enterprise_id, "schedule_id": row.id, "post_id": post.id, "post_name": post.name,
        "risk_level": post.risk_level.value, "supervisor_id": post.supervisor_id, "responsible_id": row.responsible_id,
        "frequency": row.frequency.value, "period_key": period_key, "closed_at": period.end,
    }


def set_risk(post_id: int, risk: RiskLevel) -> None:
    db.session.get(Post, post_id).risk_level = risk
    db.session.flush()


def add_user(tenant: Tenant, username: str, role: Role, display_name: str | None = None) -> int:
    user = accounts.create_user(tenant.enterprise_id, username, display_name or username, role, PASSWORD)
    signed = accounts.sign_in(tenant.code, username, PASSWORD, None)
    tenant.tokens[username] = signed.token
    tenant.users[username] = user.id
    return user.id


def notified(alert_id: int | None = None, kind: str | None = None) -> list[tuple[int, dict]]:
    """(user id, message) of every in-app notification, oldest first, optionally of one alert/kind."""
    query = sa.select(Notification.user_id, Notification.message).order_by(Notification.id)
    if alert_id is not None:
        query = query.where(Notification.alert_id == alert_id)
    rows = [(uid, message) for uid, message in db.session.execute(query)]
    return [r for r in rows if kind is None or r[1]["kind"] == kind]


def failed_answers() -> list[dict]:
    answers = good_answers()
    answers[0]["value"] = False  # 消防器材在位有效: no
    answers[3]["value"] = "abnormal"  # 泵组状态: 异常
    return answers


def submit_check(client, tenant: Tenant, schedule: str, performed_at: datetime, answers: list[dict] | None = None) -> str:
    record = check_record(tenant.schedules[schedule], tenant.version_id, performed_at, answers)
    r = client.post(f"{API}/checks", json=record, headers=tenant.auth("worker"))
    assert r.status_code == 201, r.json
    return record["id"]


@pytest.fixture
def at(clock):
    """Move the app clock to T0 + the given delta and return that moment."""

    def move(**delta) -> datetime:
        from tests.conftest import T0

        clock.set(T0 + timedelta(**delta))
        return clock.now()

    return move
