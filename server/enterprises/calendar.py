"""An enterprise's calendar: its zone and shifts, read once and turned into periods."""
from __future__ import annotations

import functools
from datetime import datetime, time

from server.enterprises.models import Enterprise
from sync.periods import Frequency, Period, parse_shifts, period_of


@functools.lru_cache(maxsize=1024)
def _shifts(values: tuple[str, ...]) -> tuple[time, ...]:
    return parse_shifts(list(values))


def enterprise_period(enterprise_timezone: str, enterprise_shifts: list[str], frequency: Frequency, moment: datetime) -> Period:
    """The period of ``frequency`` that ``moment`` falls in, in the enterprise's own calendar."""
    return period_of(frequency, moment, enterprise_timezone, _shifts(tuple(enterprise_shifts)))


def period_for(enterprise: Enterprise, frequency: Frequency, moment: datetime) -> Period:
    return enterprise_period(enterprise.timezone, enterprise.shifts, frequency, moment)
