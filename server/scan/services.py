"""The scan rule: a QR token → the post and every schedule's state in its current period."""
from __future__ import annotations

import sqlalchemy as sa

from server import clock
from server.accounts.auth import Principal
from server.accounts.models import User
from server.checklists.models import Checklist
from server.checklists.services import version_payload
from server.checks.models import Check
from server.enterprises.calendar import current_periods
from server.enterprises.models import Site
from server.errors import ZichaError
from server.extensions import db
from server.posts.models import Post
from server.schedules.models import Schedule
from sync.periods import Frequency
from sync.windows import due_state, due_window

# Built once: scan runs for every worker at every post, and SQLAlchemy then only binds values.
_POST = (
    sa.select(Post.id, Post.name, Post.risk_level, Post.location, Post.active, Site.id, Site.name, User.id, User.display_name)
    .join(Site, Site.id == Post.site_id)
    .outerjoin(User, User.id == Post.supervisor_id)
    .where(Post.qr_token == sa.bindparam("token"), Post.enterprise_id == sa.bindparam("enterprise_id"), Post.active.is_(True))
)

# The period key each schedule's frequency has right now, as one CASE, so that the count of
# checks already made in the current period comes back in the same query as the schedules.
_CURRENT_KEY = sa.case({f: sa.bindparam(f"key_{f.value}") for f in Frequency}, value=Schedule.frequency)
_DONE = (
    sa.select(sa.func.count())
    .where(Check.schedule_id == Schedule.id, Check.period_key == _CURRENT_KEY)
    .correlate(Schedule)
    .scalar_subquery()
)
_SCHEDULES = (
    sa.select(
        Schedule.id, Schedule.frequency, Schedule.checklist_id, Schedule.due_start_minutes, Schedule.due_end_minutes,
        Checklist.name, Checklist.current_version_id, _DONE,
    )
    .join(Checklist, Checklist.id == Schedule.checklist_id)
    .where(Schedule.post_id == sa.bindparam("post_id"), Schedule.active.is_(True), Checklist.current_version_id.is_not(None))
    .order_by(Schedule.id)
)


def scan(principal: Principal, token: str) -> dict:
    """Resolve a QR token inside the caller's enterprise and say what is due there now.

    A token of another enterprise, a rotated-away token and an unknown one all answer
    ``not_found``: a scan never reveals that a post exists elsewhere. Each active schedule of
    the post comes with its current period, its due window, its state (done / upcoming / due /
    overdue) and the checklist version a check must be made with. Two queries whatever the size
    of the enterprise; version contents come from the per-process cache of immutable versions.
    """
    if not token or len(token) > 64:
        raise ZichaError("not_found")
    connection = db.session.connection()
    row = connection.execute(_POST, {"token": token, "enterprise_id": principal.enterprise_id}).first()
    if row is None:
        raise ZichaError("not_found")
    post_id, name, risk_level, location, active, site_id, site_name, supervisor_id, supervisor_name = row
    now = clock.now()
    periods = current_periods(principal.timezone, principal.shifts, now)
    keys = {f"key_{f.value}": p.key for f, p in periods.items()}
    schedules = []
    for schedule_id, frequency, checklist_id, start, end, checklist_name, version_id, done in connection.execute(
        _SCHEDULES, {"post_id": post_id, **keys}
    ):
        period = periods[frequency]
        window = due_window(period, start, end)
        schedules.append(
            {
                "schedule_id": schedule_id,
                "frequency": frequency,
                "checklist_id": checklist_id,
                "checklist_name": checklist_name,
                "period": period,
                "opens_at": window[0],
                "closes_at": window[1],
                "state": due_state(window, now, done > 0),
                "checks_in_period": done,
                "version": version_payload(version_id),
            }
        )
    post = {
        "id": post_id,
        "name": name,
        "risk_level": risk_level,
        "location": location,
        "active": active,
        "site": {"id": site_id, "name": site_name},
        "supervisor": {"id": supervisor_id, "display_name": supervisor_name} if supervisor_id else None,
    }
    return {"post": post, "now": now, "schedules": schedules}
