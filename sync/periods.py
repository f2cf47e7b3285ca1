"""Period arithmetic: which shift / day / ISO week / month / quarter / year a moment falls in.

A *Period* (周期) is named by a key in the enterprise's local calendar (``2026-11-23``,
``2026-W48``, ``2026-11``, ``2026-Q4``, ``2026``, shift ``2026-11-23-S2``) and bounded by two
UTC instants. The functions here are pure: no database, no ``server`` imports and no wall-clock
reads, so the server and the offline client compute the same answer for the same inputs.

How bounds are defined, including around daylight-saving changes:

* A period *starts* at the first instant at which the local clock reads its starting wall time
  (local midnight, or the shift's start time) or later. When that wall time is ambiguous
  (clocks turned back) this is its first occurrence; when it does not exist (clocks turned
  forward over it, e.g. ``America/Sao_Paulo`` at midnight on 2018-11-04) it is the instant of
  the jump.
* A period *ends* where the next one starts (exclusive), so consecutive periods tile the time
  line with no gap and no overlap, and a moment exactly at a period's end belongs to the next
  period.

One consequence is worth knowing: when clocks are turned back over a period's starting wall
time, the period starts at the first reading, so the repeated readings that follow already
belong to it even though the clock shows an earlier time (New York, 2026-11-01, shifts starting
at 01:30: 01:15 EST is in the 01:30 shift, which began at 01:30 EDT). A date skipped entirely
(``Pacific/Apia`` 2011-12-30) is an empty period: ``period_from_key`` returns it with
``start == end``, ``period_of`` never does and ``next_period`` steps over it.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import enum
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DEFAULT_SHIFTS",
    "Frequency",
    "Period",
    "next_period",
    "parse_shifts",
    "period_from_key",
    "period_of",
]

UTC = timezone.utc


class Frequency(str, enum.Enum):
    """How often a schedule's check is due; each frequency has its own key format."""

    SHIFT = "shift"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


DEFAULT_SHIFTS: tuple[time, ...] = (time(0, 0), time(8, 0), time(16, 0))
"""Shift start times in local wall time, sorted. A shift runs until the next start; the last
one runs past midnight to the first start of the next day."""


@dataclass(frozen=True)
class Period:
    """One period of a frequency, in one time zone.

    Attributes:
        frequency: the frequency this period belongs to.
        key: the period's name in the local calendar, e.g. ``"2026-11-23"`` (daily),
            ``"2026-W48"`` (weekly), ``"2026-11"`` (monthly), ``"2026-Q4"`` (quarterly),
            ``"2026"`` (yearly) or ``"2026-11-23-S2"`` (second shift started on 2026-11-23).
        start: first instant of the period, aware, in UTC (inclusive).
        end: first instant of the next period, aware, in UTC (exclusive).
    """

    frequency: Frequency
    key: str
    start: datetime
    end: datetime

    def contains(self, moment: datetime) -> bool:
        """Return whether the aware datetime *moment* lies in ``[start, end)``."""
        _require_aware(moment)
        return self.start <= moment < self.end


# --------------------------------------------------------------------------- public API


def period_of(
    frequency: Frequency | str,
    moment: datetime,
    tz: str | _dt.tzinfo,
    shifts: Iterable[time] = DEFAULT_SHIFTS,
) -> Period:
    """Return the period of *frequency* that contains *moment* in time zone *tz*.

    Args:
        frequency: a :class:`Frequency` or its value (``"daily"``, ...).
        moment: a timezone-aware datetime (any zone; it is compared as an instant).
        tz: the enterprise's IANA zone name (``"Asia/Shanghai"``) or a ``ZoneInfo``.
        shifts: sorted, distinct local shift start times; used only for ``Frequency.SHIFT``.

    Returns:
        The :class:`Period` with ``period.start <= moment < period.end``.

    Raises:
        ValueError: *moment* is naive, the zone is unknown, the frequency or shifts are
            invalid, or the moment is too close to ``datetime.min``/``max`` to name a period.
        TypeError: *moment* is not a datetime.

    Example:
        >>> period_of("daily", datetime(2026, 11, 22, 16, tzinfo=timezone.utc),
        ...           "Asia/Shanghai").key
        '2026-11-23'
    """
    frequency = _frequency(frequency)
    _require_aware(moment)
    zone = _zone(tz)
    shift_tuple = _shifts_for(frequency, shifts)
    try:
        local = moment.astimezone(zone)
    except OverflowError as exc:
        raise ValueError(f"moment {moment!r} is out of the supported range") from exc
    day = local.date()
    index = 0
    if frequency is Frequency.SHIFT:
        index = bisect.bisect_right(shift_tuple, local.time()) - 1
        if index < 0:
            # Before the day's first start: still in the last shift that began yesterday.
            day, index = day - timedelta(days=1), len(shift_tuple) - 1
    else:
        day = _period_first_day(frequency, day)
    period = _build(frequency, day, index, zone, shift_tuple)
    # The local-calendar guess is right except when clocks were turned back over the next
    # period's start (see module docstring): those repeated readings belong to a later period.
    while moment >= period.end:
        period = _following(period, zone, shift_tuple)
    return period


def period_from_key(
    frequency: Frequency | str,
    key: str,
    tz: str | _dt.tzinfo,
    shifts: Iterable[time] = DEFAULT_SHIFTS,
) -> Period:
    """Return the period of *frequency* named *key* in time zone *tz*.

    This is the inverse of ``period_of(...).key``: for any period ``p`` returned by this
    module, ``period_from_key(p.frequency, p.key, tz, shifts) == p``.

    Args:
        frequency: a :class:`Frequency` or its value.
        key: the period key in its canonical form (see :class:`Period`). Weeks are ISO weeks
            (``YYYY-Www``, Monday first, ISO week-numbering year); shifts are
            ``YYYY-MM-DD-Sn`` with *n* the 1-based index into *shifts*.
        tz: IANA zone name or ``ZoneInfo``.
        shifts: local shift start times; used only for ``Frequency.SHIFT``.

    Raises:
        ValueError: the key is malformed, names a date that does not exist (``2026-13``,
            ``2026-Q5``, ``2025-W53``, shift ``S4`` of three), or is a key of another
            frequency; the message says which. Also for an unknown zone or bad shifts.
    """
    frequency = _frequency(frequency)
    if not isinstance(key, str):
        raise ValueError(f"period key must be a string, not {type(key).__name__}")
    zone = _zone(tz)
    shift_tuple = _shifts_for(frequency, shifts)
    day, index = _parse_key(frequency, key, shift_tuple)
    return _build(frequency, day, index, zone, shift_tuple)


def next_period(
    period: Period,
    tz: str | _dt.tzinfo,
    shifts: Iterable[time] = DEFAULT_SHIFTS,
) -> Period:
    """Return the period that follows *period* (same frequency, zone and shifts).

    The result starts exactly where *period* ends (``next.start == period.end``). Periods
    with no instants at all (a local date skipped by the zone, or a shift whose start lies in
    a daylight-saving gap next to another start) are stepped over.

    Raises:
        ValueError: *period*'s key is not valid for its frequency and *shifts*, or the next
            period is beyond ``datetime.max``.
    """
    zone = _zone(tz)
    frequency = _frequency(period.frequency)
    shift_tuple = _shifts_for(frequency, shifts)
    day, index = _parse_key(frequency, period.key, shift_tuple)
    return _following(_build(frequency, day, index, zone, shift_tuple), zone, shift_tuple)


def parse_shifts(values: Iterable[str]) -> tuple[time, ...]:
    """Parse shift start times given as ``"HH:MM"`` strings (24-hour clock).

    Args:
        values: e.g. ``["20:00", "08:00"]``; order does not matter.

    Returns:
        The times sorted ascending, e.g. ``(time(8, 0), time(20, 0))``, ready to pass as
        ``shifts`` to the other functions.

    Raises:
        ValueError: the list is empty, a value is not a valid ``HH:MM`` time, or two values
            name the same time.
    """
    if isinstance(values, str):
        raise ValueError("shifts must be a list of 'HH:MM' strings, not a single string")
    parsed: list[time] = []
    for value in values:
        match = _SHIFT_TIME_RE.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f"shift start {value!r} is not a time in 'HH:MM' form (00:00-23:59)")
        parsed.append(time(int(match[1]), int(match[2])))
    if not parsed:
        raise ValueError("at least one shift start time is required")
    parsed.sort()
    for earlier, later in zip(parsed, parsed[1:]):
        if earlier == later:
            raise ValueError(f"shift start {later.strftime('%H:%M')} is given more than once")
    return tuple(parsed)


# --------------------------------------------------------------------------- internals

_SHIFT_TIME_RE = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])", re.ASCII)

# Patterns are for classifying keys only; field ranges are checked when the key is parsed so
# that "2026-13" gets "month out of range" rather than "not a monthly key".
_KEY_PATTERNS: dict[Frequency, re.Pattern[str]] = {
    Frequency.SHIFT: re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})-S([0-9]+)", re.ASCII),
    Frequency.DAILY: re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII),
    Frequency.WEEKLY: re.compile(r"([0-9]{4})-W([0-9]{2})", re.ASCII),
    Frequency.MONTHLY: re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII),
    Frequency.QUARTERLY: re.compile(r"([0-9]{4})-Q([0-9])", re.ASCII),
    Frequency.YEARLY: re.compile(r"([0-9]{4})", re.ASCII),
}
_KEY_SHAPES = {
    Frequency.SHIFT: "YYYY-MM-DD-Sn",
    Frequency.DAILY: "YYYY-MM-DD",
    Frequency.WEEKLY: "YYYY-Www",
    Frequency.MONTHLY: "YYYY-MM",
    Frequency.QUARTERLY: "YYYY-Qn",
    Frequency.YEARLY: "YYYY",
}


def _frequency(value: Frequency | str) -> Frequency:
    try:
        return Frequency(value)
    except ValueError:
        allowed = ", ".join(f.value for f in Frequency)
        raise ValueError(f"unknown frequency {value!r}; expected one of: {allowed}") from None


def _require_aware(moment: datetime) -> None:
    if not isinstance(moment, datetime):
        raise TypeError(f"moment must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"moment {moment.isoformat()} is naive; a timezone-aware datetime is required"
        )


@functools.lru_cache(maxsize=512)
def _zone_by_name(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _zone(tz: str | _dt.tzinfo) -> _dt.tzinfo:
    if isinstance(tz, str):
        return _zone_by_name(tz)
    if isinstance(tz, _dt.tzinfo):
        return tz
    raise ValueError(f"time zone must be an IANA name or a ZoneInfo, not {type(tz).__name__}")


def _shifts_for(frequency: Frequency, shifts: Iterable[time]) -> tuple[time, ...]:
    # Non-shift frequencies ignore shifts; normalising to () also keeps their cache entries
    # shared across enterprises with different shift patterns.
    if frequency is not Frequency.SHIFT:
        return ()
    shift_tuple = shifts if type(shifts) is tuple else tuple(shifts)
    _check_shifts(shift_tuple)
    return shift_tuple


@functools.lru_cache(maxsize=256)
def _check_shifts(shifts: tuple[time, ...]) -> None:
    if not shifts:
        raise ValueError("at least one shift start time is required")
    for value in shifts:
        if not isinstance(value, time):
            raise ValueError(f"shift start {value!r} is not a datetime.time")
        if value.tzinfo is not None:
            raise ValueError(f"shift start {value} must be a local wall time without tzinfo")
    for earlier, later in zip(shifts, shifts[1:]):
        if not earlier < later:
            raise ValueError("shift start times must be sorted and distinct; use parse_shifts()")


def _period_first_day(frequency: Frequency, day: date) -> date:
    """First local date of the period of *frequency* that contains local date *day*."""
    if frequency is Frequency.DAILY:
        return day
    if frequency is Frequency.WEEKLY:
        return day - timedelta(days=day.weekday())
    if frequency is Frequency.MONTHLY:
        return day.replace(day=1)
    if frequency is Frequency.QUARTERLY:
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


def _next_anchor(frequency: Frequency, day: date, index: int, shift_count: int) -> tuple[date, int]:
    if frequency is Frequency.SHIFT:
        if index + 1 < shift_count:
            return day, index + 1
        return day + timedelta(days=1), 0
    if frequency is Frequency.DAILY:
        return day + timedelta(days=1), 0
    if frequency is Frequency.WEEKLY:
        return day + timedelta(days=7), 0
    if frequency is Frequency.YEARLY:
        return date(day.year + 1, 1, 1), 0
    months = 1 if frequency is Frequency.MONTHLY else 3
    month0 = day.month - 1 + months
    return date(day.year + month0 // 12, month0 % 12 + 1, 1), 0


def _key(frequency: Frequency, day: date, index: int) -> str:
    if frequency is Frequency.DAILY:
        return day.isoformat()
    if frequency is Frequency.SHIFT:
        return f"{day.isoformat()}-S{index + 1}"
    if frequency is Frequency.WEEKLY:
        iso = day.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    if frequency is Frequency.MONTHLY:
        return f"{day.year:04d}-{day.month:02d}"
    if frequency is Frequency.QUARTERLY:
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def _parse_key(frequency: Frequency, key: str, shifts: tuple[time, ...]) -> tuple[date, int]:
    """Return the (first local date, shift index) anchor named by *key*."""
    match = _KEY_PATTERNS[frequency].fullmatch(key)
    if match is None:
        for other, pattern in _KEY_PATTERNS.items():
            if other is not frequency and pattern.fullmatch(key):
                raise ValueError(
                    f"{key!r} is a {other.value} key, not a {frequency.value} key "
                    f"(expected {_KEY_SHAPES[frequency]})"
                )
        raise ValueError(
            f"{key!r} is not a {frequency.value} key (expected {_KEY_SHAPES[frequency]})"
        )
    fields = [int(group) for group in match.groups()]
    year = fields[0]
    if year < 1:
        raise ValueError(f"{key!r}: year 0000 does not exist")
    if frequency in (Frequency.DAILY, Frequency.SHIFT):
        try:
            day = date(year, fields[1], fields[2])
        except ValueError as exc:
            raise ValueError(f"{key!r}: no such date ({exc})") from None
        if frequency is Frequency.DAILY:
            return day, 0
        number = fields[3]
        if not 1 <= number <= len(shifts) or match[4].startswith("0"):
            raise ValueError(f"{key!r}: shift number must be 1-{len(shifts)} without leading zeros")
        return day, number - 1
    if frequency is Frequency.WEEKLY:
        try:
            return date.fromisocalendar(year, fields[1], 1), 0
        except ValueError:
            weeks = date(year, 12, 28).isocalendar().week  # Dec 28 is always in the last ISO week
            raise ValueError(f"{key!r}: ISO year {year:04d} has weeks 01-{weeks}") from None
    if frequency is Frequency.MONTHLY:
        if not 1 <= fields[1] <= 12:
            raise ValueError(f"{key!r}: month must be 01-12")
        return date(year, fields[1], 1), 0
    if frequency is Frequency.QUARTERLY:
        if not 1 <= fields[1] <= 4:
            raise ValueError(f"{key!r}: quarter must be Q1-Q4")
        return date(year, (fields[1] - 1) * 3 + 1, 1), 0
    return date(year, 1, 1), 0


# Periods are looked up again and again for the same few (zone, key) pairs on the request
# path, and each needs a handful of tz conversions (more in a DST gap), so memoise them.
@functools.lru_cache(maxsize=8192)
def _build(
    frequency: Frequency, day: date, index: int, zone: _dt.tzinfo, shifts: tuple[time, ...]
) -> Period:
    try:
        next_day, next_index = _next_anchor(frequency, day, index, len(shifts))
        start = _first_instant(_wall_start(frequency, day, index, shifts), zone)
        end = _first_instant(_wall_start(frequency, next_day, next_index, shifts), zone)
    except (OverflowError, ValueError) as exc:  # only date/datetime range errors can occur here
        name = _key(frequency, day, index)
        raise ValueError(f"period {name!r} is out of the supported range") from exc
    return Period(frequency, _key(frequency, day, index), start, end)


def _following(period: Period, zone: _dt.tzinfo, shifts: tuple[time, ...]) -> Period:
    day, index = _parse_key(period.frequency, period.key, shifts)
    while True:
        day, index = _next_anchor(period.frequency, day, index, len(shifts))
        period = _build(period.frequency, day, index, zone, shifts)
        if period.start != period.end:
            return period


def _wall_start(frequency: Frequency, day: date, index: int, shifts: tuple[time, ...]) -> datetime:
    return datetime.combine(day, shifts[index] if frequency is Frequency.SHIFT else time(0))


def _first_instant(wall: datetime, zone: _dt.tzinfo) -> datetime:
    """First UTC instant at which the local clock in *zone* reads naive *wall* or later."""
    # fold=0 is the earlier of two readings of an ambiguous wall time (PEP 495).
    candidate = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _local(candidate, zone) == wall:
        return candidate
    # *wall* falls in a gap. Its fold=0/fold=1 mappings bracket the jump; the jump itself is
    # the first instant reading later than *wall*. zoneinfo does not expose transition times,
    # so bisect on whole seconds (tzdata transitions are whole seconds; gaps are rare).
    other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low, high = sorted((candidate, other))
    if _local(high, zone) < wall:  # not a simple gap; never seen in tzdata, but stay total
        high = low + timedelta(days=2)
    lo_s, hi_s = int(low.timestamp()), int(-(-high.timestamp() // 1))
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if _local(datetime.fromtimestamp(mid, UTC), zone) >= wall:
            hi_s = mid
        else:
            lo_s = mid
    return datetime.fromtimestamp(hi_s, UTC)


def _local(instant: datetime, zone: _dt.tzinfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)
