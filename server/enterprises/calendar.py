"""An enterprise's calendar: its zone and shifts, turned into periods."""
from __future__ import annotations

import functools
from datetime import datetime, time

from sync.periods import Frequency, Period, parse_shifts, period_of


@functools.lru_cache(maxsize=1024)
def _shifts(values: tuple[str, ...]) -> tuple[time, ...]:
    return parse_shifts(list(values))


def enterprise_period(enterprise_timezone: str, enterprise_shifts: list[str] | tuple[str, ...], frequency: Frequency, moment: datetime) -> Period:
    """The period of ``frequency`` that ``moment`` falls in, in the enterprise's own calendar."""
    return period_of(frequency, moment, enterprise_timezone, _shifts(tuple(enterprise_shifts)))


# (zone, shifts) -> (periods of every frequency, the span in which all of them hold)
_CURRENT: dict[tuple[str, tuple[str, ...]], tuple[dict[Frequency, Period], datetime, datetime]] = {}


def current_periods(enterprise_timezone: str, enterprise_shifts: tuple[str, ...], now: datetime) -> dict[Frequency, Period]:
    """The period of every frequency at ``now``, reused until the shortest of them ends.

    Every scan needs all of them; they change a few times a day, so computing them once per
    change instead of per request is free correctness-wise and saves work on the hot path.
    """
    key = (enterprise_timezone, tuple(enterprise_shifts))
    cached = _CURRENT.get(key)
    if cached is not None and cached[1] <= now < cached[2]:
        return cached[0]
    periods = {f: enterprise_period(enterprise_timezone, enterprise_shifts, f, now) for f in Frequency}
    if len(_CURRENT) > 4096:
        _CURRENT.clear()
    _CURRENT[key] = (periods, max(p.start for p in periods.values()), min(p.end for p in periods.values()))
    return periods
