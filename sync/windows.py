"""Due windows inside a period, and the state of a schedule's current period.

Pure, shared by the server (scan answers) and devices (which must show the same state offline).
"""
from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sync.periods import Period


class DueState(str, enum.Enum):
    DONE = "done"          # a valid check exists for this period
    UPCOMING = "upcoming"  # the window has not opened yet
    DUE = "due"            # inside the window
    OVERDUE = "overdue"    # the window has closed but the period has not: still worth doing


def due_window(period: Period, start_minutes: int, end_minutes: int | None) -> tuple[datetime, datetime]:
    """The window in which a check is due: minutes from the period's start, clamped to the period.

    ``end_minutes`` None means "until the period ends". Offsets are elapsed minutes, so across a
    daylight-saving change a window keeps its length rather than its wall-clock times.
    """
    opens = min(period.start + timedelta(minutes=start_minutes), period.end)
    closes = period.end if end_minutes is None else min(period.start + timedelta(minutes=end_minutes), period.end)
    return opens, max(opens, closes)


def due_state(window: tuple[datetime, datetime], now: datetime, done: bool) -> DueState:
    """Where a schedule stands at ``now`` in its current period."""
    if done:
        return DueState.DONE
    opens, closes = window
    if now < opens:
        return DueState.UPCOMING
    if now >= closes:
        return DueState.OVERDUE
    return DueState.DUE
