"""Fixtures for missed-check tests: an enterprise with one schedule of every frequency, set up
long enough ago that every period in the tables below began after its schedule existed, and
helpers that sweep, store checks through the real ingest path, and read the records back."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from server.accounts import services as accounts
from server.accounts.auth import Principal
from server.accounts.models import Role
from server.checklists import services as checklists
from server.checks.ingest import Outcome, ingest_checks
from server.enterprises import services as enterprises
from server.extensions import db
from server.misses import services
from server.misses.models import MissedCheck, SweepState
from server.posts import services as posts
from server.posts.models import RiskLevel
from server.schedules import services as schedules
from sync.periods import Frequency
from sync.records import CheckRecordSchema
from tests.builders import ITEMS, PASSWORD, check_record

SHANGHAI = timezone(timedelta(hours=8))
GRACE = timedelta(minutes=120)  # the default MISS_GRACE_MINUTES
BUILT_AT = datetime(2025, 12, 1, 9, 0, tzinfo=SHANGHAI)


def local(*args) -> datetime:
    """A wall time in Shanghai (the enterprise's zone), as an aware datetime."""
    return datetime(*args, tzinfo=SHANGHAI)


@dataclass
class Plant:
    """One enterprise, two posts (one red with a supervisor), one schedule per frequency on the first."""

    enterprise_id: int
    post_id: int
    other_post_id: int
    version_id: int
    worker_id: int
    supervisor_id: int
    schedules: dict[Frequency, int] = field(default_factory=dict)
    other_schedule_id: int = 0

    def principal(self) -> Principal:
        return Principal(self.worker_id, self.enterprise_id, Role.WORKER, None, 0, "Asia/Shanghai", ("00:00", "08:00", "16:00"))


@pytest.fixture
def plant(app, clock) -> Plant:
    clock.set(BUILT_AT)
    with app.app_context():
        enterprise = enterprises.create_enterprise("plant", "丙化工")
        worker = accounts.create_user(enterprise.id, "w", "巡检员", Role.WORKER, PASSWORD)
        supervisor = accounts.create_user(enterprise.id, "s", "班组长", Role.SUPERVISOR, PASSWORD)
        site = enterprises.create_site(enterprise.id, "罐区")
        post = posts.create_post(enterprise.id, site.id, "液氯储罐", RiskLevel.RED, supervisor_id=supervisor.id)
        other = posts.create_post(enterprise.id, site.id, "循环水泵房", RiskLevel.BLUE)
        checklist = checklists.create_checklist(enterprise.id, "储罐巡检", "", ITEMS, None)
        result = Plant(enterprise.id, post.id, other.id, checklist.current_version_id, worker.id, supervisor.id)
        for frequency in Frequency:
            result.schedules[frequency] = schedules.create_schedule(
                enterprise.id, {"post_id": post.id, "checklist_id": checklist.id, "frequency": frequency}
            ).id
        result.other_schedule_id = schedules.create_schedule(
            enterprise.id, {"post_id": other.id, "checklist_id": checklist.id, "frequency": Frequency.DAILY}
        ).id
        db.session.commit()
        db.session.remove()
    return result


def sweep(app, now: datetime) -> list[services.NewMiss]:
    """One sweep at ``now``, committed as the CLI and the periodic job do."""
    with app.app_context():
        found = services.sweep(now)
        db.session.commit()
        db.session.remove()
    return found


def store_check(app, clock, plant: Plant, frequency: Frequency, performed_at: datetime, received_at: datetime | None = None):
    """A check made at ``performed_at`` that reaches the server at ``received_at`` (default: then)."""
    clock.set(received_at or performed_at)
    record = CheckRecordSchema().load(check_record(plant.schedules[frequency], plant.version_id, performed_at))
    with app.app_context():
        outcome = ingest_checks(plant.principal(), [record])[0]
        assert outcome.outcome is Outcome.ACCEPTED, outcome.error
        db.session.commit()
        db.session.remove()
    return outcome.stored


def misses(app, **where) -> list[MissedCheck]:
    with app.app_context():
        query = sa.select(MissedCheck).filter_by(**where).order_by(MissedCheck.id)
        rows = list(db.session.scalars(query))
        db.session.remove()
    return rows


def watermark(app) -> datetime | None:
    with app.app_context():
        value = db.session.scalar(sa.select(SweepState.watermark))
        db.session.remove()
    return value
