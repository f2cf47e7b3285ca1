"""The scan rule: a QR token → the post and every schedule's state in its current period."""
from __future__ import annotations

import sqlalchemy as sa

from server import clock
from server.checklists.models import Checklist, ChecklistVersion
from server.checks.models import Check
from server.enterprises.calendar import enterprise_period
from server.enterprises.models import Enterprise
from server.errors import ZichaError
from server.extensions import db
from server.posts.models import Post
from server.schedules.models import Schedule
from sync.windows import due_state, due_window


def scan(enterprise_id: int, token: str) -> dict:
    """Resolve a QR token inside the caller's enterprise and say what is due there now.

    A token of another enterprise, a rotated-away token and an unknown one all answer
    ``not_found``: a scan never reveals that a post exists elsewhere. Each active schedule of
    the post comes with its current period, its due window, its state (done / upcoming / due /
    overdue) and the checklist version a check must be made with. Three queries, whatever the
    size of the enterprise.
    """
    if not token or len(token) > 64:
        raise ZichaError("not_found")
    found = db.session.execute(
        sa.select(Post, Enterprise.timezone, Enterprise.shifts)
        .join(Enterprise, Enterprise.id == Post.enterprise_id)
        .where(Post.qr_token == token, Post.enterprise_id == enterprise_id, Post.active.is_(True))
    ).first()
    if found is None:
        raise ZichaError("not_found")
    post, timezone, shifts = found
    rows = db.session.execute(
        sa.select(Schedule, Checklist.name, ChecklistVersion)
        .join(Checklist, Checklist.id == Schedule.checklist_id)
        .join(ChecklistVersion, ChecklistVersion.id == Checklist.current_version_id)
        .where(Schedule.post_id == post.id, Schedule.active.is_(True))
        .order_by(Schedule.id)
    ).all()
    now = clock.now()
    periods = {schedule.id: enterprise_period(timezone, shifts, schedule.frequency, now) for schedule, _, _ in rows}
    counts: dict[tuple[int, str], int] = {}
    if rows:
        counted = db.session.execute(
            sa.select(Check.schedule_id, Check.period_key, sa.func.count())
            .where(Check.schedule_id.in_(periods), Check.period_key.in_({p.key for p in periods.values()}))
            .group_by(Check.schedule_id, Check.period_key)
        )
        counts = {(sid, key): n for sid, key, n in counted}
    schedules = []
    for schedule, checklist_name, version in rows:
        period = periods[schedule.id]
        window = due_window(period, schedule.due_start_minutes, schedule.due_end_minutes)
        done = counts.get((schedule.id, period.key), 0)
        schedules.append(
            {
                "schedule_id": schedule.id,
                "frequency": schedule.frequency,
                "checklist_id": schedule.checklist_id,
                "checklist_name": checklist_name,
                "period": period,
                "opens_at": window[0],
                "closes_at": window[1],
                "state": due_state(window, now, done > 0),
                "checks_in_period": done,
                "version": version,
            }
        )
    return {"post": post, "now": now, "schedules": schedules}
