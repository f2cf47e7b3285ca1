"""The sweep, table-driven over every frequency: when a miss is recorded (once, never before the
grace ends), what prevents one (a check, a pause, a schedule younger than the period), how a late
check corrects it, and where periods begin and end in Asia/Shanghai."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from server.extensions import db
from server.misses import services
from server.misses.models import MissStatus, Pause
from server.posts.models import RiskLevel
from sync.periods import Frequency, period_from_key
from tests.misses.conftest import GRACE, local, misses, store_check, sweep, watermark

# One period of each frequency: its key, first instant and end (first instant of the next one).
PERIODS = [
    (Frequency.SHIFT, "2026-11-23-S3", local(2026, 11, 23, 16), local(2026, 11, 24, 0)),
    (Frequency.SHIFT, "2026-11-24-S1", local(2026, 11, 24, 0), local(2026, 11, 24, 8)),
    (Frequency.DAILY, "2026-11-23", local(2026, 11, 23), local(2026, 11, 24)),
    (Frequency.WEEKLY, "2026-W48", local(2026, 11, 23), local(2026, 11, 30)),
    (Frequency.WEEKLY, "2026-W53", local(2026, 12, 28), local(2027, 1, 4)),  # ISO week of 2026 that ends in 2027
    (Frequency.MONTHLY, "2026-11", local(2026, 11, 1), local(2026, 12, 1)),
    (Frequency.MONTHLY, "2026-12", local(2026, 12, 1), local(2027, 1, 1)),
    (Frequency.QUARTERLY, "2026-Q4", local(2026, 10, 1), local(2027, 1, 1)),
    (Frequency.YEARLY, "2026", local(2026, 1, 1), local(2027, 1, 1)),
]
IDS = [key for _, key, _, _ in PERIODS]


@pytest.mark.parametrize("frequency, key, start, end", PERIODS, ids=IDS)
def test_a_miss_is_recorded_once_exactly_when_the_grace_ends(app, plant, frequency, key, start, end):
    schedule_id = plant.schedules[frequency]
    sweep(app, end + GRACE - timedelta(seconds=1))
    assert misses(app, schedule_id=schedule_id, period_key=key) == []  # closed, but still in its grace

    found = sweep(app, end + GRACE)
    [miss] = misses(app, schedule_id=schedule_id, period_key=key)
    assert (miss.frequency, miss.status, miss.post_id, miss.enterprise_id) == (frequency, MissStatus.MISSED, plant.post_id, plant.enterprise_id)
    assert (miss.period_start, miss.period_end) == (start, end)
    assert miss.closed_at == end and miss.detected_at == end + GRACE
    [new] = [m for m in found if m.schedule_id == schedule_id]
    assert new == services.NewMiss(
        id=miss.id, enterprise_id=plant.enterprise_id, schedule_id=schedule_id, post_id=plant.post_id, post_name="液氯储罐",
        risk_level=RiskLevel.RED, supervisor_id=plant.supervisor_id, responsible_id=None, frequency=frequency,
        period_key=key, period_start=start, period_end=end, closed_at=end,
    )

    for later in (end + GRACE, end + GRACE + timedelta(minutes=5), end + GRACE + timedelta(days=3)):
        assert [m for m in sweep(app, later) if m.period_key == key and m.schedule_id == schedule_id] == []
    assert len(misses(app, schedule_id=schedule_id, period_key=key)) == 1


@pytest.mark.parametrize("frequency, key, start, end", PERIODS, ids=IDS)
@pytest.mark.parametrize("made, synced", [("first minute", "at once"), ("last minute", "within the grace")])
def test_a_check_in_the_period_prevents_the_miss(app, clock, plant, frequency, key, start, end, made, synced):
    performed = start + timedelta(minutes=1) if made == "first minute" else end - timedelta(minutes=1)
    received = performed if synced == "at once" else end + GRACE - timedelta(seconds=1)
    stored = store_check(app, clock, plant, frequency, performed, received)
    assert stored.period_key == key
    sweep(app, end + GRACE)
    assert misses(app, schedule_id=plant.schedules[frequency], period_key=key) == []


@pytest.mark.parametrize("frequency, key, start, end", PERIODS, ids=IDS)
def test_a_late_check_turns_the_miss_into_done_late_with_both_times(app, clock, plant, frequency, key, start, end):
    schedule_id = plant.schedules[frequency]
    sweep(app, end + GRACE)
    [before] = misses(app, schedule_id=schedule_id, period_key=key)

    performed, received = end - timedelta(minutes=30), end + timedelta(days=2)  # done on time, phone offline two days
    stored = store_check(app, clock, plant, frequency, performed, received)
    assert stored.period_key == key

    [after] = misses(app, schedule_id=schedule_id, period_key=key)
    assert after.id == before.id and after.status is MissStatus.DONE_LATE
    assert (after.late_check_id, after.late_performed_at, after.late_received_at) == (stored.id, performed, received)
    assert after.corrected_at == received
    stamps = ("period_key", "period_start", "period_end", "closed_at", "detected_at")
    assert [getattr(after, s) for s in stamps] == [getattr(before, s) for s in stamps]

    # A second late check changes nothing: the first correction stands.
    store_check(app, clock, plant, frequency, end - timedelta(minutes=10), received + timedelta(hours=1))
    [again] = misses(app, schedule_id=schedule_id, period_key=key)
    assert (again.late_check_id, again.corrected_at) == (stored.id, received)
    # And a later sweep neither re-records nor reverts it.
    sweep(app, received + timedelta(days=1))
    assert [m.status for m in misses(app, schedule_id=schedule_id, period_key=key)] == [MissStatus.DONE_LATE]


def test_the_first_late_check_of_a_batch_counts(app, plant, clock):
    """Of two checks for one missed period arriving together, the one made first is recorded."""
    import uuid

    end = local(2026, 11, 24)
    sweep(app, end + GRACE)
    schedule_id = plant.schedules[Frequency.DAILY]
    first, second = uuid.uuid4(), uuid.uuid4()
    with app.app_context():
        from server.checks.models import Check

        received = end + timedelta(days=1)
        clock.set(received)
        rows = []
        for check_id, performed in ((second, end - timedelta(minutes=5)), (first, end - timedelta(hours=5))):
            rows.append(services.Arrival(schedule_id, "2026-11-23", check_id, performed, received))
            db.session.add(Check(
                id=check_id, enterprise_id=plant.enterprise_id, schedule_id=schedule_id, post_id=plant.post_id,
                checklist_version_id=plant.version_id, user_id=plant.worker_id, frequency=Frequency.DAILY,
                period_key="2026-11-23", performed_at=performed, device_time=performed, received_at=received,
                time_quality="device", flags=[], ok=True, failed_count=0, answers=[], content_hash="0" * 64,
            ))
        db.session.flush()
        changed = services.checks_arrived(plant.enterprise_id, rows)
        db.session.commit()
    [miss] = misses(app, schedule_id=schedule_id, period_key="2026-11-23")
    assert changed == [miss.id] and miss.late_check_id == first
    assert services.checks_arrived.__doc__  # the rule is written where it is kept


def test_late_arrivals_of_another_enterprise_change_nothing(app, plant):
    end = local(2026, 11, 24)
    sweep(app, end + GRACE)
    with app.app_context():
        import uuid

        arrival = services.Arrival(plant.schedules[Frequency.DAILY], "2026-11-23", uuid.uuid4(), end, end)
        assert services.checks_arrived(plant.enterprise_id + 1, [arrival]) == []
        assert services.checks_arrived(plant.enterprise_id, []) == []
    assert [m.status for m in misses(app, period_key="2026-11-23", schedule_id=plant.schedules[Frequency.DAILY])] == [MissStatus.MISSED]


# A pause against the period 2026-11-23 (daily, [11-23 00:00, 11-24 00:00) Shanghai): missed or not.
DAY_START, DAY_END = local(2026, 11, 23), local(2026, 11, 24)
SECOND = timedelta(seconds=1)
PAUSES = [
    ("ends exactly as the period starts", DAY_START - timedelta(days=2), DAY_START, True),
    ("starts exactly as the period ends", DAY_END, None, True),
    ("ends one second into the period", DAY_START - timedelta(days=2), DAY_START + SECOND, False),
    ("starts one second before the period ends", DAY_END - SECOND, DAY_END + timedelta(days=1), False),
    ("open-ended, started before", DAY_START - timedelta(days=30), None, False),
    ("inside the period", local(2026, 11, 23, 9), local(2026, 11, 23, 11), False),
    ("covers the period and more", DAY_START - timedelta(days=1), DAY_END + timedelta(days=1), False),
    ("called off before it began", local(2026, 11, 23, 9), local(2026, 11, 23, 9), True),
]


@pytest.mark.parametrize("target", ["post", "schedule"])
@pytest.mark.parametrize("case, starts, ends, missed", PAUSES, ids=[p[0] for p in PAUSES])
def test_pauses_are_respected_to_the_instant(app, plant, target, case, starts, ends, missed):
    with app.app_context():
        db.session.add(Pause(
            enterprise_id=plant.enterprise_id, reason="停产检修",
            post_id=plant.post_id if target == "post" else None,
            schedule_id=plant.schedules[Frequency.DAILY] if target == "schedule" else None,
            starts_at=starts, ends_at=ends, created_by_id=plant.supervisor_id, created_at=starts,
        ))
        db.session.commit()
    sweep(app, DAY_END + GRACE)
    found = misses(app, schedule_id=plant.schedules[Frequency.DAILY], period_key="2026-11-23")
    assert len(found) == (1 if missed else 0)
    # The other post is never paused by it; a schedule pause leaves its post's other schedules alone.
    assert len(misses(app, schedule_id=plant.other_schedule_id, period_key="2026-11-23")) == 1
    if target == "schedule":
        assert len(misses(app, schedule_id=plant.schedules[Frequency.SHIFT], period_key="2026-11-23-S3")) == 1


def test_a_period_that_began_before_the_schedule_existed_is_not_a_miss(app, world):
    # The world's schedules were made at 10:00 on Monday 2026-11-16 (Shanghai).
    found = sweep(app, local(2026, 11, 23, 10)) + sweep(app, local(2026, 12, 1) + GRACE)
    keys = {(m.schedule_id, m.period_key) for m in found}
    daily, weekly, monthly = (world.a.schedules[f] for f in ("daily", "weekly", "monthly"))
    assert (daily, "2026-11-16") not in keys and (daily, "2026-11-17") in keys
    assert (weekly, "2026-W47") not in keys and (weekly, "2026-W48") in keys
    assert (monthly, "2026-11") not in keys


def test_switched_off_schedules_and_posts_are_not_swept(app, plant):
    from server.posts.models import Post
    from server.schedules.models import Schedule

    with app.app_context():
        db.session.get(Schedule, plant.schedules[Frequency.DAILY]).active = False
        db.session.get(Post, plant.other_post_id).active = False
        db.session.commit()
    found = sweep(app, DAY_END + GRACE)
    assert plant.schedules[Frequency.DAILY] not in {m.schedule_id for m in found}
    assert plant.other_schedule_id not in {m.schedule_id for m in found}
    assert plant.schedules[Frequency.SHIFT] in {m.schedule_id for m in found}


# Checks around the boundaries of the Shanghai calendar: (frequency, when made, key done, key missed).
BOUNDARIES = [
    ("Sunday 23:59 is still the ISO week", Frequency.WEEKLY, local(2026, 11, 29, 23, 59), "2026-W48", "2026-W49"),
    ("Monday 00:00 is the next ISO week", Frequency.WEEKLY, local(2026, 11, 30, 0, 0), "2026-W49", "2026-W48"),
    ("ISO week 53 runs into January", Frequency.WEEKLY, local(2027, 1, 3, 23, 59), "2026-W53", "2027-W01"),
    ("last minute of November", Frequency.MONTHLY, local(2026, 11, 30, 23, 59), "2026-11", "2026-12"),
    ("first instant of December", Frequency.MONTHLY, local(2026, 12, 1, 0, 0), "2026-12", "2026-11"),
    ("last second of the year (quarter)", Frequency.QUARTERLY, local(2026, 12, 31, 23, 59, 59), "2026-Q4", "2027-Q1"),
    ("first instant of the year", Frequency.YEARLY, local(2027, 1, 1, 0, 0), "2027", "2026"),
    ("last second of the year", Frequency.YEARLY, local(2026, 12, 31, 23, 59, 59), "2026", "2027"),
    ("night shift past midnight", Frequency.SHIFT, local(2026, 11, 23, 23, 59), "2026-11-23-S3", "2026-11-24-S1"),
    ("UTC date differs from the local one", Frequency.DAILY, local(2026, 11, 24, 7, 59), "2026-11-24", "2026-11-23"),
]


@pytest.mark.parametrize("case, frequency, made, done_key, missed_key", BOUNDARIES, ids=[b[0] for b in BOUNDARIES])
def test_shanghai_calendar_boundaries(app, clock, plant, case, frequency, made, done_key, missed_key):
    stored = store_check(app, clock, plant, frequency, made)
    assert stored.period_key == done_key
    # Sweep as the check is made, then as each of the two periods' grace ends, whichever first.
    ends = sorted(period_from_key(frequency, key, "Asia/Shanghai").end for key in (done_key, missed_key))
    for moment in (made + timedelta(minutes=1), *(end + GRACE for end in ends)):
        sweep(app, moment)
    schedule_id = plant.schedules[frequency]
    assert misses(app, schedule_id=schedule_id, period_key=done_key) == []
    assert len(misses(app, schedule_id=schedule_id, period_key=missed_key)) == 1


def test_the_first_sweep_looks_back_a_bounded_time_and_the_watermark_never_moves_back(app, plant):
    now = local(2026, 11, 24, 12)
    found = sweep(app, now)
    assert watermark(app) == now - GRACE
    daily = sorted(m.period_key for m in found if m.schedule_id == plant.schedules[Frequency.DAILY])
    # MISS_LOOKBACK_DAYS = 7: the days that closed in the week before the horizon, not the year since set-up.
    assert daily == [f"2026-11-{d}" for d in range(17, 24)]
    assert sweep(app, now - timedelta(days=1)) == []  # a replay of the past does nothing
    assert watermark(app) == now - GRACE


def test_grace_and_lookback_come_from_the_config(app, plant, monkeypatch):
    monkeypatch.setitem(app.config, "MISS_GRACE_MINUTES", 0)
    monkeypatch.setitem(app.config, "MISS_LOOKBACK_DAYS", 1)
    found = sweep(app, DAY_END)
    assert {m.period_key for m in found if m.frequency is Frequency.DAILY} == {"2026-11-23"}


def test_sweep_refuses_a_naive_moment(app, plant):
    with app.app_context(), pytest.raises(ValueError):
        services.sweep(datetime(2026, 11, 24))


def test_closed_periods_is_the_window_half_open_at_the_start(app):
    periods = list(services.closed_periods("Asia/Shanghai", ("00:00", "08:00", "16:00"), Frequency.SHIFT, local(2026, 11, 24), local(2026, 11, 25)))
    assert [p.key for p in periods] == ["2026-11-24-S1", "2026-11-24-S2", "2026-11-24-S3"]
    assert list(services.closed_periods("Asia/Shanghai", ("08:00",), Frequency.DAILY, local(2026, 11, 24), local(2026, 11, 24, 23))) == []
