"""A hand-built week of history for tenant ``a`` of the world, through the real doors: checks
sent to the API as a phone would (one failed, one synced four days late), a pause entered
through the misses service, misses recorded by the sweep the periodic job runs.

The world's schedules were set up on Monday 2026-11-16 at 10:00 (Shanghai); the clock stands at
Monday 2026-11-23 10:00 (T0). What each period became (:data:`EXPECTED`):

- the red post (液氨储罐区, supervised by ``supervisor``), daily: 16 done, 17 done, 18 missed,
  19 done late, 20 paused (a pause of that schedule from 09:00 to 17:00), 21 missed,
  22 done with failed items, 23 open; weekly: W47 done, W48 open; monthly: 2026-11 open;
- the yellow post (1号高压配电柜, no supervisor), daily: 16–21 done, 22 not yet judged (the
  sweep ran at 01:00, inside the grace of that day), 23 done this morning.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from server.accounts.auth import principal_for_token
from server.alerts.services import raise_for_misses
from server.extensions import db
from server.misses import services as misses
from tests.builders import Tenant, check_record, good_answers, run_job
from tests.conftest import T0

SHANGHAI = timezone(timedelta(hours=8))
API = "/api/v1"


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def failed_answers() -> list[dict]:
    answers = good_answers()
    answers[0]["value"] = False  # 消防器材在位有效: no
    return answers


EXPECTED = {
    "daily": {
        "2026-11-16": "done", "2026-11-17": "done", "2026-11-18": "missed", "2026-11-19": "done_late",
        "2026-11-20": "paused", "2026-11-21": "missed", "2026-11-22": "done", "2026-11-23": "open",
    },
    "weekly": {"2026-W47": "done", "2026-W48": "open"},
    "monthly": {"2026-11": "open"},
    "other_post_daily": {
        **{f"2026-11-{day}": "done" for day in range(16, 22)}, "2026-11-22": "pending", "2026-11-23": "done",
    },
}


def send_check(client, clock, tenant: Tenant, schedule: str, performed_at: datetime, received_at: datetime | None = None, answers=None) -> str:
    """A check made at ``performed_at`` reaching the API at ``received_at`` (default: at once)."""
    clock.set(received_at or performed_at)
    record = check_record(tenant.schedules[schedule], tenant.version_id, performed_at, answers)
    response = client.post(f"{API}/checks", json=record, headers=tenant.auth("worker"))
    assert response.status_code == 201, response.json
    return record["id"]


def sweep_at(app, clock, moment: datetime) -> None:
    """The periodic job's sweep at ``moment``: misses recorded, their alerts raised, committed."""
    clock.set(moment)
    with app.app_context():
        raise_for_misses(misses.sweep(moment))
        db.session.commit()
        db.session.remove()


def build_history(app, client, clock, tenant: Tenant) -> dict[str, str]:
    """The week described in the module's docstring; returns the ids of the checks that count."""
    ids = {}
    ids["daily/2026-11-16"] = send_check(client, clock, tenant, "daily", local(2026, 11, 16, 15))
    ids["daily/2026-11-17"] = send_check(client, clock, tenant, "daily", local(2026, 11, 17, 9))
    ids["weekly/2026-W47"] = send_check(client, clock, tenant, "weekly", local(2026, 11, 18, 10))
    ids["daily/2026-11-22"] = send_check(client, clock, tenant, "daily", local(2026, 11, 22, 9), answers=failed_answers())
    run_job(app, "checks.follow_up")  # its alert and drafts, raised by the runner's next tick
    for day in range(16, 22):
        ids[f"other_post_daily/2026-11-{day}"] = send_check(client, clock, tenant, "other_post_daily", local(2026, 11, day, 11))
    clock.set(local(2026, 11, 21, 8))
    with app.app_context():
        manager = principal_for_token(tenant.tokens["safety_manager"])
        misses.create_pause(manager, {"schedule_id": tenant.schedules["daily"], "reason": "检修停产", "starts_at": local(2026, 11, 20, 9), "ends_at": local(2026, 11, 20, 17)})
        db.session.commit()
        db.session.remove()
    sweep_at(app, clock, local(2026, 11, 23, 1))
    # Done on the evening of the 19th, the phone offline until this morning.
    ids["daily/2026-11-19"] = send_check(client, clock, tenant, "daily", local(2026, 11, 19, 20), received_at=local(2026, 11, 23, 9))
    ids["other_post_daily/2026-11-23"] = send_check(client, clock, tenant, "other_post_daily", local(2026, 11, 23, 8), received_at=local(2026, 11, 23, 9, 30))
    clock.set(T0)
    return ids


@pytest.fixture
def history(app, client, clock, world) -> dict[str, str]:
    """Tenant a's week (see the module), and one done check at tenant b's red post today."""
    ids = build_history(app, client, clock, world.a)
    send_check(client, clock, world.b, "daily", local(2026, 11, 23, 9))
    clock.set(T0)
    return ids


# The dashboard's signed-in test browser (tests/manage/conftest.py), for the pages' tests.
from tests.manage.conftest import Browser, browser_for  # noqa: E402,F401
