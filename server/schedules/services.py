"""Schedule rules: which checklist, where, how often, due when, answered for by whom."""
from __future__ import annotations

import sqlalchemy as sa

from server import clock
from server.accounts.models import User
from server.checklists.models import Checklist
from server.database import get_owned
from server.errors import ZichaError
from server.extensions import db
from server.posts.models import Post
from server.schedules.models import Schedule


def _check_window(start: int, end: int | None) -> None:
    if end is not None and end <= start:
        raise ZichaError("validation_failed", {"due_end_minutes": ["must be after due_start_minutes"]})


def create_schedule(enterprise_id: int, data: dict) -> Schedule:
    """Put a checklist on a post at a frequency. Every referenced id must be of this enterprise."""
    get_owned(Post, data["post_id"], enterprise_id)
    checklist = get_owned(Checklist, data["checklist_id"], enterprise_id)
    if checklist.current_version_id is None:
        raise ZichaError("checklist_not_published")
    if data.get("responsible_id") is not None:
        get_owned(User, data["responsible_id"], enterprise_id)
    _check_window(data.get("due_start_minutes", 0), data.get("due_end_minutes"))
    schedule = Schedule(enterprise_id=enterprise_id, created_at=clock.now(), **data)
    db.session.add(schedule)
    db.session.flush()
    return schedule


def update_schedule(enterprise_id: int, schedule_id: int, changes: dict) -> Schedule:
    schedule = get_owned(Schedule, schedule_id, enterprise_id)
    if changes.get("responsible_id") is not None:
        get_owned(User, changes["responsible_id"], enterprise_id)
    _check_window(changes.get("due_start_minutes", schedule.due_start_minutes), changes.get("due_end_minutes", schedule.due_end_minutes))
    for key, value in changes.items():
        setattr(schedule, key, value)
    db.session.flush()
    return schedule


def list_schedules(enterprise_id: int, post_id: int | None = None) -> list[Schedule]:
    query = sa.select(Schedule).where(Schedule.enterprise_id == enterprise_id).order_by(Schedule.id)
    if post_id is not None:
        query = query.where(Schedule.post_id == post_id)
    return list(db.session.scalars(query))
