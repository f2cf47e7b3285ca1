"""Tests for sync.periods: period keys and UTC bounds in enterprise time zones.

Expected values are worked out by hand from the zones' rules (offsets noted beside them) and,
for the daylight-saving days, also checked against a brute-force scan of the local clock.
Nothing here reads the wall clock.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from sync.periods import (
    DEFAULT_SHIFTS,
    Frequency,
    Period,
    next_period,
    parse_shifts,
    period_from_key,
    period_of,
)

UTC = timezone.utc
SH = "Asia/Shanghai"  # UTC+8 all year
F = Frequency


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local_wall(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def first_instant_bruteforce(wall: datetime, zone: str) -> datetime:
    """First whole minute (UTC) at which the clock in *zone* reads *wall* or later.

    Starts 15 hours before *wall*-as-UTC, where no zone's clock (offsets <= +14h) can yet read
    *wall*, and steps minute by minute; every tzdata transition since 1970 is on a minute.
    """
    instant = wall.replace(tzinfo=UTC) - timedelta(hours=15)
    while local_wall(instant, zone) < wall:
        instant += timedelta(minutes=1)
    return instant


def wall_start_of_key(frequency: Frequency, key: str, shifts=DEFAULT_SHIFTS) -> datetime:
    """The local wall time a daily or shift period starts at, read straight off its key."""
    if frequency is F.DAILY:
        return datetime.combine(date.fromisoformat(key), time(0))
    day, number = key.rsplit("-S", 1)
    return datetime.combine(date.fromisoformat(day), shifts[int(number) - 1])


# --------------------------------------------------------------------------- Shanghai, every frequency


@pytest.mark.parametrize(
    ("frequency", "moment", "key", "start", "end"),
    [
        # 2026-11-22T16:00Z is 2026-11-23 00:00 in Shanghai.
        (F.SHIFT, utc(2026, 11, 22, 16), "2026-11-23-S1", utc(2026, 11, 22, 16), utc(2026, 11, 23, 0)),
        (F.SHIFT, utc(2026, 11, 23, 7, 59, 59), "2026-11-23-S2", utc(2026, 11, 23, 0), utc(2026, 11, 23, 8)),
        (F.SHIFT, utc(2026, 11, 23, 8), "2026-11-23-S3", utc(2026, 11, 23, 8), utc(2026, 11, 23, 16)),
        (F.DAILY, utc(2026, 11, 22, 16), "2026-11-23", utc(2026, 11, 22, 16), utc(2026, 11, 23, 16)),
        (F.DAILY, utc(2026, 11, 22, 15, 59, 59, 999999), "2026-11-22", utc(2026, 11, 21, 16), utc(2026, 11, 22, 16)),
        (F.WEEKLY, utc(2026, 11, 22, 16), "2026-W48", utc(2026, 11, 22, 16), utc(2026, 11, 29, 16)),
        (F.WEEKLY, utc(2026, 11, 22, 15, 59), "2026-W47", utc(2026, 11, 15, 16), utc(2026, 11, 22, 16)),
        (F.MONTHLY, utc(2026, 11, 22, 16), "2026-11", utc(2026, 10, 31, 16), utc(2026, 11, 30, 16)),
        (F.QUARTERLY, utc(2026, 11, 22, 16), "2026-Q4", utc(2026, 9, 30, 16), utc(2026, 12, 31, 16)),
        (F.YEARLY, utc(2026, 11, 22, 16), "2026", utc(2025, 12, 31, 16), utc(2026, 12, 31, 16)),
    ],
)
def test_period_of_in_shanghai(frequency, moment, key, start, end):
    period = period_of(frequency, moment, SH)
    assert period == Period(frequency, key, start, end)
    assert period.start.tzinfo is UTC and period.end.tzinfo is UTC


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # The last microsecond of 2026 in Shanghai, then its first instant of 2027.
        (utc(2026, 12, 31, 15, 59, 59, 999999), {F.DAILY: "2026-12-31", F.MONTHLY: "2026-12", F.QUARTERLY: "2026-Q4", F.YEARLY: "2026"}),
        (utc(2026, 12, 31, 16), {F.DAILY: "2027-01-01", F.MONTHLY: "2027-01", F.QUARTERLY: "2027-Q1", F.YEARLY: "2027"}),
        # End of Q1 / start of Q2.
        (utc(2026, 3, 31, 15, 59, 59), {F.DAILY: "2026-03-31", F.MONTHLY: "2026-03", F.QUARTERLY: "2026-Q1", F.YEARLY: "2026"}),
        (utc(2026, 3, 31, 16), {F.DAILY: "2026-04-01", F.MONTHLY: "2026-04", F.QUARTERLY: "2026-Q2", F.YEARLY: "2026"}),
        # Leap day: 2028-02-29 exists, month ends at local midnight of 03-01.
        (utc(2028, 2, 29, 15, 59, 59), {F.DAILY: "2028-02-29", F.MONTHLY: "2028-02", F.QUARTERLY: "2028-Q1"}),
        (utc(2028, 2, 29, 16), {F.DAILY: "2028-03-01", F.MONTHLY: "2028-03", F.QUARTERLY: "2028-Q1"}),
        # End of Q3.
        (utc(2026, 9, 30, 15, 59, 59), {F.MONTHLY: "2026-09", F.QUARTERLY: "2026-Q3"}),
        (utc(2026, 9, 30, 16), {F.MONTHLY: "2026-10", F.QUARTERLY: "2026-Q4"}),
    ],
)
def test_calendar_boundaries_at_shanghai_midnight(moment, expected):
    for frequency, key in expected.items():
        assert period_of(frequency, moment, SH).key == key, frequency


@pytest.mark.parametrize(
    ("frequency", "key", "start", "end"),
    [
        (F.MONTHLY, "2026-02", utc(2026, 1, 31, 16), utc(2026, 2, 28, 16)),
        (F.MONTHLY, "2028-02", utc(2028, 1, 31, 16), utc(2028, 2, 29, 16)),
        (F.MONTHLY, "2026-12", utc(2026, 11, 30, 16), utc(2026, 12, 31, 16)),
        (F.QUARTERLY, "2026-Q1", utc(2025, 12, 31, 16), utc(2026, 3, 31, 16)),
        (F.QUARTERLY, "2026-Q2", utc(2026, 3, 31, 16), utc(2026, 6, 30, 16)),
        (F.QUARTERLY, "2026-Q3", utc(2026, 6, 30, 16), utc(2026, 9, 30, 16)),
        (F.YEARLY, "2028", utc(2027, 12, 31, 16), utc(2028, 12, 31, 16)),
    ],
)
def test_period_from_key_month_quarter_year(frequency, key, start, end):
    assert period_from_key(frequency, key, SH) == Period(frequency, key, start, end)


# --------------------------------------------------------------------------- ISO weeks


@pytest.mark.parametrize(
    ("local_date", "key"),
    [
        (date(2020, 12, 31), "2020-W53"),
        (date(2021, 1, 3), "2020-W53"),  # Sunday: still the last week of ISO year 2020
        (date(2021, 1, 4), "2021-W01"),
        (date(2025, 12, 29), "2026-W01"),  # Monday before New Year belongs to ISO 2026
        (date(2026, 1, 1), "2026-W01"),
        (date(2026, 12, 31), "2026-W53"),
        (date(2027, 1, 1), "2026-W53"),
        (date(2027, 1, 3), "2026-W53"),
        (date(2027, 1, 4), "2027-W01"),
        (date(2024, 12, 29), "2024-W52"),
        (date(2024, 12, 30), "2025-W01"),
        (date(2026, 11, 23), "2026-W48"),
    ],
)
def test_iso_week_keys_at_year_ends(local_date, key):
    # Noon local time in Shanghai is 04:00Z the same day; also check both ends of the day.
    for hour, minute in ((0, 0), (12, 0), (23, 59)):
        moment = datetime.combine(local_date, time(hour, minute), ZoneInfo(SH))
        assert period_of(F.WEEKLY, moment, SH).key == key


@pytest.mark.parametrize(
    ("key", "monday"),
    [
        ("2020-W53", date(2020, 12, 28)),
        ("2021-W01", date(2021, 1, 4)),
        ("2025-W01", date(2024, 12, 30)),
        ("2026-W01", date(2025, 12, 29)),
        ("2026-W48", date(2026, 11, 23)),
        ("2026-W53", date(2026, 12, 28)),
    ],
)
def test_week_from_key_runs_monday_to_monday(key, monday):
    start = datetime.combine(monday, time(0)).replace(tzinfo=UTC) - timedelta(hours=8)
    assert period_from_key(F.WEEKLY, key, SH) == Period(F.WEEKLY, key, start, start + timedelta(days=7))


# --------------------------------------------------------------------------- daylight saving


DST_DAYS = [
    # zone, day key, start, end, hours
    ("Europe/Berlin", "2026-03-28", utc(2026, 3, 27, 23), utc(2026, 3, 28, 23), 24),
    ("Europe/Berlin", "2026-03-29", utc(2026, 3, 28, 23), utc(2026, 3, 29, 22), 23),  # 02:00 -> 03:00
    ("Europe/Berlin", "2026-10-25", utc(2026, 10, 24, 22), utc(2026, 10, 25, 23), 25),  # 03:00 -> 02:00
    ("America/New_York", "2026-03-08", utc(2026, 3, 8, 5), utc(2026, 3, 9, 4), 23),
    ("America/New_York", "2026-11-01", utc(2026, 11, 1, 4), utc(2026, 11, 2, 5), 25),
    # Midnight does not exist: 00:00 -03 -> 01:00 -02, so the day starts at 03:00Z.
    ("America/Sao_Paulo", "2018-11-03", utc(2018, 11, 3, 3), utc(2018, 11, 4, 3), 24),
    ("America/Sao_Paulo", "2018-11-04", utc(2018, 11, 4, 3), utc(2018, 11, 5, 2), 23),
    # Clocks back from 00:00 -02 to 23:00 -03: the Saturday gets the repeated hour.
    ("America/Sao_Paulo", "2019-02-16", utc(2019, 2, 16, 2), utc(2019, 2, 17, 3), 25),
    ("America/Havana", "2026-03-08", utc(2026, 3, 8, 5), utc(2026, 3, 9, 4), 23),  # 00:00 -05 -> 01:00 -04
    ("America/Havana", "2026-11-01", utc(2026, 11, 1, 4), utc(2026, 11, 2, 5), 25),  # 01:00 -04 -> 00:00 -05
    ("Asia/Beirut", "2026-03-29", utc(2026, 3, 28, 22), utc(2026, 3, 29, 21), 23),  # 00:00 +02 -> 01:00 +03
    ("Asia/Beirut", "2026-10-24", utc(2026, 10, 23, 21), utc(2026, 10, 24, 22), 25),  # 24:00 +03 -> 23:00 +02
    ("Asia/Beirut", "2026-10-25", utc(2026, 10, 24, 22), utc(2026, 10, 25, 22), 24),
    ("America/Santiago", "2026-04-04", utc(2026, 4, 4, 3), utc(2026, 4, 5, 4), 25),  # 24:00 -03 -> 23:00 -04
    ("America/Santiago", "2026-09-06", utc(2026, 9, 6, 4), utc(2026, 9, 7, 3), 23),  # 00:00 -04 -> 01:00 -03
    ("Australia/Lord_Howe", "2026-04-05", utc(2026, 4, 4, 13), utc(2026, 4, 5, 13, 30), 24.5),  # half-hour DST
    ("Asia/Kathmandu", "2026-11-23", utc(2026, 11, 22, 18, 15), utc(2026, 11, 23, 18, 15), 24),  # +05:45
]


@pytest.mark.parametrize(("zone", "key", "start", "end", "hours"), DST_DAYS)
def test_day_bounds_across_dst(zone, key, start, end, hours):
    period = period_from_key(F.DAILY, key, zone)
    assert period == Period(F.DAILY, key, start, end)
    assert period.end - period.start == timedelta(hours=hours)
    assert period_of(F.DAILY, start, zone) == period
    assert period_of(F.DAILY, end - timedelta(microseconds=1), zone) == period


@pytest.mark.parametrize(("zone", "key", "start", "end", "hours"), DST_DAYS)
def test_day_start_matches_bruteforce_clock_scan(zone, key, start, end, hours):
    day = date.fromisoformat(key)
    assert first_instant_bruteforce(datetime.combine(day, time(0)), zone) == start
    assert first_instant_bruteforce(datetime.combine(day + timedelta(days=1), time(0)), zone) == end


@pytest.mark.parametrize(
    ("zone", "moment", "key"),
    [
        ("America/Sao_Paulo", utc(2018, 11, 4, 2, 59, 59), "2018-11-03"),  # 23:59:59 -03
        ("America/Sao_Paulo", utc(2018, 11, 4, 3), "2018-11-04"),  # 01:00 -02
        # The repeated hour before a midnight fall-back stays on the old date.
        ("Asia/Beirut", utc(2026, 10, 24, 20, 30), "2026-10-24"),  # 23:30 +03
        ("Asia/Beirut", utc(2026, 10, 24, 21, 30), "2026-10-24"),  # 23:30 +02, second time
        ("Asia/Beirut", utc(2026, 10, 24, 22), "2026-10-25"),
        ("America/New_York", utc(2026, 11, 1, 5, 30), "2026-11-01"),  # 01:30 EDT
        ("America/New_York", utc(2026, 11, 1, 6, 30), "2026-11-01"),  # 01:30 EST
        ("America/New_York", utc(2026, 11, 2, 4, 59, 59), "2026-11-01"),
        ("America/New_York", utc(2026, 11, 2, 5), "2026-11-02"),
    ],
)
def test_period_of_near_dst_transitions(zone, moment, key):
    assert period_of(F.DAILY, moment, zone).key == key


@pytest.mark.parametrize(
    ("zone", "frequency", "key", "start", "end"),
    [
        ("Europe/Berlin", F.MONTHLY, "2026-03", utc(2026, 2, 28, 23), utc(2026, 3, 31, 22)),
        ("Europe/Berlin", F.QUARTERLY, "2026-Q4", utc(2026, 9, 30, 22), utc(2026, 12, 31, 23)),
        ("America/New_York", F.WEEKLY, "2026-W44", utc(2026, 10, 26, 4), utc(2026, 11, 2, 5)),
        ("America/New_York", F.YEARLY, "2026", utc(2026, 1, 1, 5), utc(2027, 1, 1, 5)),
        ("America/Sao_Paulo", F.WEEKLY, "2018-W44", utc(2018, 10, 29, 3), utc(2018, 11, 5, 2)),
    ],
)
def test_longer_periods_in_dst_zones(zone, frequency, key, start, end):
    assert period_from_key(frequency, key, zone) == Period(frequency, key, start, end)


def test_skipped_date_is_an_empty_period_that_next_period_steps_over():
    # Samoa jumped from the end of 2011-12-29 (-10) straight to 2011-12-31 (+14).
    zone = "Pacific/Apia"
    skipped = period_from_key(F.DAILY, "2011-12-30", zone)
    assert skipped.start == skipped.end == utc(2011, 12, 30, 10)
    before = period_from_key(F.DAILY, "2011-12-29", zone)
    assert before == Period(F.DAILY, "2011-12-29", utc(2011, 12, 29, 10), utc(2011, 12, 30, 10))
    after = next_period(before, zone)
    assert after == Period(F.DAILY, "2011-12-31", utc(2011, 12, 30, 10), utc(2011, 12, 31, 10))
    assert period_of(F.DAILY, utc(2011, 12, 30, 10), zone) == after


# --------------------------------------------------------------------------- shifts

DAY_NIGHT = (time(8), time(20))


@pytest.mark.parametrize(
    ("zone", "shifts", "moment", "key", "start", "end"),
    [
        # 02:00 local on 11-24 is in the night shift that started 20:00 on 11-23.
        (SH, DAY_NIGHT, utc(2026, 11, 23, 18), "2026-11-23-S2", utc(2026, 11, 23, 12), utc(2026, 11, 24, 0)),
        (SH, DAY_NIGHT, utc(2026, 11, 23, 23, 59, 59), "2026-11-23-S2", utc(2026, 11, 23, 12), utc(2026, 11, 24, 0)),
        (SH, DAY_NIGHT, utc(2026, 11, 24, 0), "2026-11-24-S1", utc(2026, 11, 24, 0), utc(2026, 11, 24, 12)),
        (SH, DEFAULT_SHIFTS, utc(2026, 11, 23, 18), "2026-11-24-S1", utc(2026, 11, 23, 16), utc(2026, 11, 24, 0)),
        # New Year's Eve night shift wraps into the next year.
        (SH, DAY_NIGHT, utc(2026, 12, 31, 17), "2026-12-31-S2", utc(2026, 12, 31, 12), utc(2027, 1, 1, 0)),
        # One shift a day, starting 06:00: 05:00 local is still yesterday's shift.
        (SH, (time(6),), utc(2026, 11, 23, 21), "2026-11-23-S1", utc(2026, 11, 22, 22), utc(2026, 11, 23, 22)),
        # Berlin spring forward: 02:30 does not exist, the shift starts at the jump (01:00Z).
        ("Europe/Berlin", (time(2, 30), time(14)), utc(2026, 3, 29, 1, 30), "2026-03-29-S1", utc(2026, 3, 29, 1), utc(2026, 3, 29, 12)),
        ("Europe/Berlin", (time(2, 30), time(14)), utc(2026, 3, 29, 0, 59, 59), "2026-03-28-S2", utc(2026, 3, 28, 13), utc(2026, 3, 29, 1)),
        # New York fall back: 01:30 happens twice; the shift starts at the first (EDT) one,
        # so 01:15 EST, read after it, is already in that shift.
        ("America/New_York", (time(1, 30), time(9, 30), time(17, 30)), utc(2026, 11, 1, 5, 15), "2026-10-31-S3", utc(2026, 10, 31, 21, 30), utc(2026, 11, 1, 5, 30)),
        ("America/New_York", (time(1, 30), time(9, 30), time(17, 30)), utc(2026, 11, 1, 6, 15), "2026-11-01-S1", utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 14, 30)),
        ("America/New_York", (time(1, 30), time(9, 30), time(17, 30)), utc(2026, 11, 1, 6, 45), "2026-11-01-S1", utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 14, 30)),
    ],
)
def test_shift_periods(zone, shifts, moment, key, start, end):
    period = period_of(F.SHIFT, moment, zone, shifts)
    assert period == Period(F.SHIFT, key, start, end)
    assert period_from_key(F.SHIFT, key, zone, shifts) == period
    assert first_instant_bruteforce(wall_start_of_key(F.SHIFT, key, shifts), zone) == start


def test_shift_starting_inside_a_gap_next_to_another_is_empty_and_skipped():
    zone, shifts = "Europe/Berlin", (time(2), time(2, 30), time(12))
    assert period_from_key(F.SHIFT, "2026-03-29-S1", zone, shifts) == Period(
        F.SHIFT, "2026-03-29-S1", utc(2026, 3, 29, 1), utc(2026, 3, 29, 1)
    )
    previous = period_from_key(F.SHIFT, "2026-03-28-S3", zone, shifts)
    following = next_period(previous, zone, shifts)
    assert following == Period(F.SHIFT, "2026-03-29-S2", utc(2026, 3, 29, 1), utc(2026, 3, 29, 10))
    assert period_of(F.SHIFT, utc(2026, 3, 29, 1), zone, shifts) == following


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["08:00", "20:00"], (time(8), time(20))),
        (["20:00", "08:00"], (time(8), time(20))),
        (["00:00"], (time(0),)),
        (["23:59", "00:00", "12:30"], (time(0), time(12, 30), time(23, 59))),
        (("06:00", "14:00", "22:00"), (time(6), time(14), time(22))),
    ],
)
def test_parse_shifts(values, expected):
    assert parse_shifts(values) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([], "at least one"),
        (["24:00"], "HH:MM"),
        (["8:00"], "HH:MM"),
        (["08:60"], "HH:MM"),
        (["08:00:00"], "HH:MM"),
        ([" 08:00"], "HH:MM"),
        (["０８:００"], "HH:MM"),  # full-width digits are not ASCII digits
        ([800], "HH:MM"),
        ("08:00", "single string"),
        (["08:00", "20:00", "08:00"], "more than once"),
    ],
)
def test_parse_shifts_rejects(values, message):
    with pytest.raises(ValueError, match=message):
        parse_shifts(values)


# --------------------------------------------------------------------------- round trips and walks

ZONES = [SH, "Europe/Berlin", "America/New_York", "America/Sao_Paulo", "America/Havana",
         "Asia/Beirut", "America/Santiago", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"]
MOMENTS = [utc(2018, 11, 4, 2, 30), utc(2018, 11, 4, 3), utc(2019, 2, 17, 2, 30),
           utc(2026, 1, 1, 0), utc(2026, 3, 29, 1), utc(2026, 10, 24, 21, 30),
           utc(2026, 11, 1, 5, 45), utc(2026, 11, 1, 6, 15), utc(2026, 12, 31, 23, 59, 59, 999999)]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("frequency", list(Frequency))
def test_round_trip_through_key(zone, frequency):
    for moment in MOMENTS:
        for shifts in (DEFAULT_SHIFTS, DAY_NIGHT, (time(1, 30), time(13, 30))):
            period = period_of(frequency, moment, zone, shifts)
            assert period.start <= moment < period.end
            assert period.contains(moment)
            assert period_from_key(frequency, period.key, zone, shifts) == period
            assert period_from_key(frequency.value, period.key, ZoneInfo(zone), list(shifts)) == period


def test_moment_in_any_offset_names_the_same_period():
    instant = utc(2026, 11, 22, 16)
    for offset in (timedelta(0), timedelta(hours=8), timedelta(hours=-5, minutes=-30)):
        moment = instant.astimezone(timezone(offset))
        assert period_of(F.DAILY, moment, SH).key == "2026-11-23"
        assert period_of(F.DAILY, moment, ZoneInfo(SH)).key == "2026-11-23"


def test_moment_at_end_belongs_to_next_period():
    period = period_of(F.DAILY, utc(2026, 11, 23, 3), SH)
    assert period_of(F.DAILY, period.end, SH) == next_period(period, SH)
    assert period_of(F.DAILY, period.end - timedelta(microseconds=1), SH) == period


WALKS = [
    # zone, frequency, first moment, steps, shifts
    *[(zone, F.DAILY, utc(2026, 1, 1, 12), 400, DEFAULT_SHIFTS) for zone in ZONES],
    *[(zone, F.WEEKLY, utc(2026, 1, 1, 12), 60, DEFAULT_SHIFTS) for zone in ZONES],
    ("America/Sao_Paulo", F.DAILY, utc(2018, 6, 1, 12), 400, DEFAULT_SHIFTS),
    ("Pacific/Apia", F.DAILY, utc(2011, 6, 1, 12), 400, DEFAULT_SHIFTS),
    (SH, F.SHIFT, utc(2026, 1, 1, 12), 3 * 370, DEFAULT_SHIFTS),
    ("Europe/Berlin", F.SHIFT, utc(2026, 1, 1, 12), 2 * 370, DAY_NIGHT),
    ("America/New_York", F.SHIFT, utc(2026, 1, 1, 12), 3 * 370, (time(1, 30), time(9, 30), time(17, 30))),
    ("Europe/Berlin", F.SHIFT, utc(2026, 1, 1, 12), 3 * 370, (time(2), time(2, 30), time(12))),
    ("Europe/Berlin", F.MONTHLY, utc(2026, 1, 1, 12), 36, DEFAULT_SHIFTS),
    ("America/Santiago", F.QUARTERLY, utc(2026, 1, 1, 12), 12, DEFAULT_SHIFTS),
    ("Asia/Beirut", F.YEARLY, utc(2026, 1, 1, 12), 5, DEFAULT_SHIFTS),
]


@pytest.mark.parametrize(("zone", "frequency", "first", "steps", "shifts"), WALKS)
def test_next_period_tiles_the_time_line(zone, frequency, first, steps, shifts):
    period = period_of(frequency, first, zone, shifts)
    for _ in range(steps):
        following = next_period(period, zone, shifts)
        assert following.frequency is frequency
        assert following.start == period.end, (period, following)
        assert following.start < following.end
        assert following.key > period.key  # keys sort in time order
        assert period_of(frequency, following.start, zone, shifts) == following
        assert period_of(frequency, following.end - timedelta(microseconds=1), zone, shifts) == following
        assert period_from_key(frequency, following.key, zone, shifts) == following
        if frequency in (F.DAILY, F.SHIFT):
            # Bounds follow the rule: the first instant the local clock reads the start or later.
            wall = wall_start_of_key(frequency, following.key, shifts)
            assert local_wall(following.start, zone) >= wall
            assert local_wall(following.start - timedelta(seconds=1), zone) < wall
        period = following


def test_walk_days_are_all_24_hours_in_shanghai():
    period = period_from_key(F.DAILY, "2026-01-01", SH)
    for _ in range(365):
        assert period.end - period.start == timedelta(days=1)
        period = next_period(period, SH)
    assert period.key == "2027-01-01"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("frequency", list(Frequency))
def test_naive_moment_is_rejected(frequency):
    with pytest.raises(ValueError, match="naive"):
        period_of(frequency, datetime(2026, 11, 23, 12), SH)


def test_non_datetime_moment_is_rejected():
    with pytest.raises(TypeError):
        period_of(F.DAILY, date(2026, 11, 23), SH)


@pytest.mark.parametrize(
    ("frequency", "key", "message"),
    [
        (F.WEEKLY, "2026-W54", "weeks 01-53"),
        (F.WEEKLY, "2025-W53", "weeks 01-52"),
        (F.WEEKLY, "2026-W00", "weeks 01-53"),
        (F.WEEKLY, "2026-w48", "not a weekly key"),
        (F.WEEKLY, "2026-W5", "not a weekly key"),
        (F.MONTHLY, "2026-13", "month must be"),
        (F.MONTHLY, "2026-00", "month must be"),
        (F.QUARTERLY, "2026-Q5", "quarter must be"),
        (F.QUARTERLY, "2026-Q0", "quarter must be"),
        (F.DAILY, "2026-02-29", "no such date"),
        (F.DAILY, "2026-11-31", "no such date"),
        (F.DAILY, "2026-1-5", "not a daily key"),
        (F.DAILY, "2026-11-23 ", "not a daily key"),
        (F.DAILY, "２０２６-11-23", "not a daily key"),
        (F.DAILY, "", "not a daily key"),
        (F.YEARLY, "0000", "year 0000"),
        (F.YEARLY, "26", "not a yearly key"),
        (F.SHIFT, "2026-11-23-S4", "shift number must be 1-3"),
        (F.SHIFT, "2026-11-23-S0", "shift number"),
        (F.SHIFT, "2026-11-23-S01", "shift number"),
        (F.SHIFT, "2026-02-30-S1", "no such date"),
        # A valid key of another frequency.
        (F.DAILY, "2026-W48", "is a weekly key, not a daily key"),
        (F.WEEKLY, "2026-11-23", "is a daily key, not a weekly key"),
        (F.MONTHLY, "2026", "is a yearly key, not a monthly key"),
        (F.YEARLY, "2026-11", "is a monthly key, not a yearly key"),
        (F.QUARTERLY, "2026-11", "is a monthly key, not a quarterly key"),
        (F.SHIFT, "2026-11-23", "is a daily key, not a shift key"),
        (F.DAILY, "2026-11-23-S1", "is a shift key, not a daily key"),
    ],
)
def test_bad_keys_are_rejected(frequency, key, message):
    with pytest.raises(ValueError, match=message):
        period_from_key(frequency, key, SH)


def test_key_of_another_frequency_is_rejected_by_next_period():
    impostor = Period(F.DAILY, "2026-W48", utc(2026, 11, 22, 16), utc(2026, 11, 29, 16))
    with pytest.raises(ValueError, match="weekly key"):
        next_period(impostor, SH)


@pytest.mark.parametrize("shifts", [(), (time(16), time(8)), (time(8), time(8)), ("08:00",),
                                    (time(8, tzinfo=UTC),)])
def test_bad_shift_tuples_are_rejected(shifts):
    with pytest.raises(ValueError):
        period_of(F.SHIFT, utc(2026, 11, 23), SH, shifts)


def test_shifts_are_ignored_by_other_frequencies():
    assert period_of(F.DAILY, utc(2026, 11, 23), SH, ()) == period_of(F.DAILY, utc(2026, 11, 23), SH)


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../etc/passwd"])
def test_unknown_zone_is_rejected(zone):
    with pytest.raises(ValueError, match="time zone"):
        period_of(F.DAILY, utc(2026, 11, 23), zone)


def test_unknown_frequency_is_rejected():
    with pytest.raises(ValueError, match="unknown frequency"):
        period_of("hourly", utc(2026, 11, 23), SH)


@pytest.mark.parametrize(("frequency", "key"), [(F.YEARLY, "9999"), (F.DAILY, "0001-01-01")])
def test_periods_beyond_datetime_range_are_rejected(frequency, key):
    with pytest.raises(ValueError, match="out of the supported range"):
        period_from_key(frequency, key, SH)
