"""The period outcomes against a hand-built week (see conftest), the numbers built on them, who
sees what, and that the daily digest tells the same story."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.accounts.auth import principal_for_token
from server.alerts.digest import outcomes as digest_outcomes
from server.alerts.digest import yesterday
from server.extensions import db
from server.misses import services as misses
from server.misses.models import Pause
from server.overview import services
from sync.periods import Frequency
from tests.conftest import T0
from tests.overview.conftest import EXPECTED, local

ZONE, SHIFTS = "Asia/Shanghai", ("00:00", "08:00", "16:00")


def as_of(app, role: str, tenant):
    return principal_for_token(tenant.tokens[role])


def outcome_table(history: services.History, tenant) -> dict[str, dict[str, str]]:
    names = {schedule_id: name for name, schedule_id in tenant.schedules.items()}
    table: dict[str, dict[str, str]] = {}
    for o in history.periods:
        table.setdefault(names[o.schedule_id], {})[o.period.key] = o.outcome
    return table


def test_every_period_of_the_week_has_its_outcome(app, world, history):
    a = world.a
    with app.app_context():
        result = services.period_outcomes(a.enterprise_id, ZONE, SHIFTS, local(2026, 11, 16), local(2026, 11, 24), T0, check_ids=True)
        assert outcome_table(result, a) == EXPECTED
        by_key = {(o.schedule_id, o.period.key): o for o in result.periods}
        without_ids = services.period_outcomes(a.enterprise_id, ZONE, SHIFTS, local(2026, 11, 16), local(2026, 11, 24), T0)
        assert [o._replace(check_id=None) for o in without_ids.periods if o.outcome == "done"] == [
            o._replace(check_id=None) for o in result.periods if o.outcome == "done"
        ]
        red_daily = a.schedules["daily"]
        # done and done late name the check that did it; a failed one is marked
        assert by_key[(red_daily, "2026-11-17")].check_id == uuid.UUID(history["daily/2026-11-17"])
        assert by_key[(red_daily, "2026-11-19")].check_id == uuid.UUID(history["daily/2026-11-19"])
        assert by_key[(red_daily, "2026-11-22")].failed and not by_key[(red_daily, "2026-11-17")].failed
        assert by_key[(red_daily, "2026-11-18")].check_id is None
        facts = result.schedules[red_daily]
        assert (facts.post_name, facts.site_name, facts.risk_level.value, facts.frequency) == ("液氨储罐区", "危化品仓库", "red", Frequency.DAILY)


def test_only_periods_that_have_begun_and_overlap_the_window(app, world, history):
    a = world.a
    with app.app_context():
        # Wednesday to Thursday: two days, and the week and month they fall in
        result = services.period_outcomes(a.enterprise_id, ZONE, SHIFTS, local(2026, 11, 18), local(2026, 11, 20), T0)
        assert outcome_table(result, a) == {
            "daily": {"2026-11-18": "missed", "2026-11-19": "done_late"},
            "weekly": {"2026-W47": "done"},
            "monthly": {"2026-11": "open"},
            "other_post_daily": {"2026-11-18": "done", "2026-11-19": "done"},
        }
        # the whole month seen on the 23rd: nothing after today, nothing before the schedules existed
        month = services.period_outcomes(a.enterprise_id, ZONE, SHIFTS, local(2026, 11, 1), local(2026, 12, 1), T0)
        assert outcome_table(month, a) == EXPECTED


def test_a_post_pause_covers_every_schedule_of_the_post_but_not_what_was_done(app, world, history, clock):
    a = world.a
    clock.set(T0)
    with app.app_context():
        manager = as_of(app, "safety_manager", a)
        pause = misses.create_pause(manager, {"post_id": a.post_id, "reason": "停产", "starts_at": T0})
        db.session.flush()
        result = outcome_table(services.period_outcomes(a.enterprise_id, ZONE, SHIFTS, local(2026, 11, 23), local(2026, 11, 24), T0), a)
        assert result["daily"]["2026-11-23"] == "paused" and result["weekly"]["2026-W48"] == "paused" and result["monthly"]["2026-11"] == "paused"
        assert result["other_post_daily"]["2026-11-23"] == "done"
        # a pause called off before it began covers nothing (the sweep's rule)
        misses.end_pause(manager, pause.id)
        assert db.session.get(Pause, pause.id).ends_at == pause.starts_at
        result = outcome_table(services.period_outcomes(a.enterprise_id, ZONE, SHIFTS, local(2026, 11, 23), local(2026, 11, 24), T0), a)
        assert result["daily"]["2026-11-23"] == "open"
        db.session.rollback()


def test_a_pending_period_becomes_missed_when_the_sweep_judges_it(app, world, history, clock):
    from tests.overview.conftest import sweep_at

    a = world.a
    sweep_at(app, clock, T0)
    with app.app_context():
        result = outcome_table(services.period_outcomes(a.enterprise_id, ZONE, SHIFTS, local(2026, 11, 22), local(2026, 11, 23), T0), a)
    assert result["other_post_daily"] == {"2026-11-22": "missed"}


def test_the_numbers_of_a_month(app, world, history):
    with app.app_context():
        data = services.overview(as_of(app, "safety_manager", world.a), "month", T0)
    t = data.total
    # red daily 16-23, weekly W47 and W48, monthly 2026-11; yellow daily 16-23
    assert (t.done, t.done_late, t.missed, t.paused, t.pending, t.open, t.failed) == (3 + 1 + 7, 1, 2, 1, 1, 3, 1)
    assert t.due == 11 + 1 + 2 + 1 and t.percent == 80
    [red, yellow] = data.posts
    assert (red.name, red.tally.done, red.tally.missed, red.tally.percent) == ("液氨储罐区", 4, 2, 71)
    assert (yellow.name, yellow.tally.done, yellow.tally.pending, yellow.tally.percent) == ("1号高压配电柜", 7, 1, 87)
    assert [s.name for s in data.sites] == ["危化品仓库", "配电室"]
    assert [(m.post_name, m.period.key, m.outcome) for m in data.missed] == [
        ("液氨储罐区", "2026-11-21", "missed"), ("液氨储罐区", "2026-11-19", "done_late"), ("液氨储罐区", "2026-11-18", "missed"),
    ]


def test_the_week_is_monday_first_and_the_day_is_today(app, world, history):
    with app.app_context():
        manager = as_of(app, "safety_manager", world.a)
        week = services.overview(manager, "week", T0)
        day = services.overview(manager, "day", T0)
        month = services.overview(manager, "month", T0)
    assert week.window.key == "2026-W48" and week.window.start == local(2026, 11, 23)
    assert (week.first_day.isoformat(), week.last_day.isoformat()) == ("2026-11-23", "2026-11-29")
    assert (week.total.done, week.total.open) == (1, 3)  # the yellow post's today; the red post's day, week and month
    assert day.window.key == "2026-11-23" and (day.total.done, day.total.open, day.total.missed) == (1, 3, 0)
    assert month.window.key == "2026-11" and (month.first_day.isoformat(), month.last_day.isoformat()) == ("2026-11-01", "2026-11-30")
    assert month.total.missed == 2


def test_the_chart_counts_periods_by_the_day_they_closed(app, world, history):
    with app.app_context():
        data = services.overview(as_of(app, "safety_manager", world.a), "day", T0)
    assert len(data.chart) == 30 and data.chart[-1].day.isoformat() == "2026-11-22" and data.chart[0].day.isoformat() == "2026-10-24"
    by_day = {c.day.isoformat(): c.tally for c in data.chart}
    assert (by_day["2026-11-18"].done, by_day["2026-11-18"].missed) == (1, 1)
    assert (by_day["2026-11-19"].done, by_day["2026-11-19"].done_late) == (1, 1)
    assert (by_day["2026-11-20"].done, by_day["2026-11-20"].paused, by_day["2026-11-20"].due) == (1, 1, 1)
    # Sunday the 22nd: both daily periods and the week W47 closed at its end
    assert (by_day["2026-11-22"].done, by_day["2026-11-22"].pending) == (2, 1)
    assert by_day["2026-11-01"].due == 0


def test_a_supervisor_sees_only_their_posts(app, world, history):
    with app.app_context():
        data = services.overview(as_of(app, "supervisor", world.a), "month", T0)
        assert [p.name for p in data.posts] == ["液氨储罐区"]
        assert data.total.done == 4 and data.total.missed == 2
        with pytest.raises(Exception) as refused:
            services.post_calendar(as_of(app, "supervisor", world.a), world.a.other_post_id)
        assert refused.value.code == "not_found"


def test_another_enterprise_post_is_not_found(app, world, history):
    with app.app_context():
        with pytest.raises(Exception) as refused:
            services.post_calendar(as_of(app, "admin", world.a), world.b.post_id)
        assert refused.value.code == "not_found"


def test_hazards_and_alerts_are_the_lists_the_person_can_open(app, world, history):
    from server.alerts.services import list_alerts
    from server.hazards.services import list_hazards

    with app.app_context():
        manager = as_of(app, "safety_manager", world.a)
        data = services.overview(manager, "day", T0)
        assert data.open_alerts == list_alerts(manager, {"status": "open", "all": True}, 1, 100)[1] > 0
        assert data.hazards.unfinished == list_hazards(manager, {}, 1, 100)[1] > 0  # the failed check's draft
        assert data.hazards.by_status["reported"] == data.hazards.unfinished and data.hazards.overdue == 0
        supervisor = as_of(app, "supervisor", world.a)
        assert services.overview(supervisor, "day", T0).open_alerts == list_alerts(supervisor, {"status": "open"}, 1, 100)[1]


def test_overdue_hazards_come_first(app, world, history, clock):
    from server.hazards import services as hazards

    with app.app_context():
        manager = as_of(app, "safety_manager", world.a)
        first = hazards.report(manager, {"description": "配电柜门锁损坏", "post_id": world.a.other_post_id})
        second = hazards.report(manager, {"description": "消防通道堆放杂物", "post_id": world.a.post_id})
        hazards.confirm(manager, second.id, {"grade": "general"})
        hazards.assign(manager, second.id, {"responsible_id": world.a.users["supervisor"], "deadline": T0 - timedelta(hours=1), "mode": "by_deadline"})
        db.session.flush()
        summary = services.hazard_summary(manager, T0)
        assert summary.overdue == 1 and summary.rows[0].id == second.id and summary.rows[0].overdue
        assert first.id in [r.id for r in summary.rows[1:]] and summary.unfinished == 3
        db.session.rollback()


def test_the_post_calendar(app, world, history):
    with app.app_context():
        cal = services.post_calendar(as_of(app, "supervisor", world.a), world.a.post_id, weeks=2, now=T0)
    assert (cal.first_day.isoformat(), cal.last_day.isoformat()) == ("2026-11-16", "2026-11-29")
    daily, weekly, monthly = cal.schedules
    assert [c.day.weekday() for c in daily.weeks[0]] == list(range(7))
    assert {c.day.isoformat(): c.periods[0].outcome for week in daily.weeks for c in week if c.periods} == EXPECTED["daily"]
    assert [c.today for week in daily.weeks for c in week].index(True) == 7
    assert [(o.period.key, o.outcome) for o in weekly.row] == [("2026-W47", "done"), ("2026-W48", "open")]
    assert [o.period.key for o in monthly.row] == ["2026-11"]  # the months before the schedule existed are no one's


def test_the_digest_tells_the_same_story(app, world, history):
    a = world.a
    with app.app_context():
        day = yesterday(ZONE, SHIFTS, T0)
        told = sorted((o.post_name, o.frequency, o.period_key, o.outcome) for o in digest_outcomes(a.enterprise_id, ZONE, SHIFTS, day))
        assert told == [
            ("1号高压配电柜", "daily", "2026-11-22", "pending"),
            ("液氨储罐区", "daily", "2026-11-22", "done"),
            ("液氨储罐区", "weekly", "2026-W47", "done"),
        ]
        # the paused day is told as pending, as the digest always has
        friday = yesterday(ZONE, SHIFTS, local(2026, 11, 21, 10))
        told = {(o.post_name, o.period_key): o.outcome for o in digest_outcomes(a.enterprise_id, ZONE, SHIFTS, friday)}
        assert told[("液氨储罐区", "2026-11-20")] == "pending"


def test_few_queries_however_many_posts(app, world, history):
    """The statements of one overview do not grow with the number of posts."""
    from server.posts import services as posts
    from server.posts.models import RiskLevel
    from server.schedules import services as schedules

    def statements() -> int:
        count = 0

        def tick(*_args):
            nonlocal count
            count += 1

        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", tick)
        try:
            services.overview(as_of(app, "safety_manager", world.a), "month", T0)
        finally:
            sa.event.remove(engine, "before_cursor_execute", tick)
        return count

    with app.app_context():
        few = statements()
        for n in range(18):
            post = posts.create_post(world.a.enterprise_id, world.a.site_id, f"岗位{n}", RiskLevel.ORANGE)
            for frequency in (Frequency.DAILY, Frequency.SHIFT):
                schedules.create_schedule(world.a.enterprise_id, {"post_id": post.id, "checklist_id": world.a.checklist_id, "frequency": frequency})
        db.session.commit()
        many = statements()
        assert len(services.overview(as_of(app, "safety_manager", world.a), "month", T0).posts) == 20
    assert few == many and many <= 12


def test_a_period_the_sweep_passed_as_not_due_is_left_out(app, world, history, clock):
    """A schedule set up at 10:00 today: today's period began before it existed, so the sweep
    never judges it. Not yet judged until the sweep has passed it, then no one's duty."""
    from server.schedules import services as schedules
    from tests.overview.conftest import sweep_at

    a = world.a
    with app.app_context():
        new = schedules.create_schedule(a.enterprise_id, {"post_id": a.other_post_id, "checklist_id": a.checklist_id, "frequency": Frequency.DAILY}).id
        db.session.commit()

    def outcomes_at(now):
        with app.app_context():
            result = services.period_outcomes(a.enterprise_id, ZONE, SHIFTS, local(2026, 11, 23), local(2026, 11, 25), now)
            return {o.period.key: o.outcome for o in result.periods if o.schedule_id == new}

    assert outcomes_at(T0) == {"2026-11-23": "open"}
    assert outcomes_at(local(2026, 11, 24, 1)) == {"2026-11-23": "pending", "2026-11-24": "open"}
    sweep_at(app, clock, local(2026, 11, 24, 3))
    assert outcomes_at(local(2026, 11, 24, 3)) == {"2026-11-24": "open"}
