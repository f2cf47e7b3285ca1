"""The one injectable clock.

Nothing in the server reads the wall clock except :class:`SystemClock`. Request handlers,
services and CLI commands ask :func:`now`, which asks the clock the app was created with, so
tests (and ``--now`` replays) can freeze or move time without sleeping.
"""
from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone

from flask import current_app


class Clock:
    """Interface: ``now()`` returns an aware UTC datetime."""

    def now(self) -> datetime:  # pragma: no cover - interface
        raise NotImplementedError


class SystemClock(Clock):
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock(Clock):
    """A clock that stands still until told to move (tests, replays)."""

    def __init__(self, at: datetime):
        self.set(at)

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = at.astimezone(timezone.utc)

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def now(self) -> datetime:
        return self._now


def now() -> datetime:
    """The current moment (aware, UTC) according to the app's clock."""
    return current_app.extensions["zicha.clock"].now()


class OffsetClock(Clock):
    """Another clock, shifted by a fixed amount: "as of N days ago", for set-up in the past."""

    def __init__(self, base: Clock, offset: timedelta):
        self.base = base
        self.offset = offset

    def now(self) -> datetime:
        return self.base.now() + self.offset


@contextlib.contextmanager
def shifted(offset: timedelta):
    """Within the block, the app's clock reads ``offset`` from what it would (e.g. -60 days)."""
    clocks = current_app.extensions
    original = clocks["zicha.clock"]
    clocks["zicha.clock"] = OffsetClock(original, offset)
    try:
        yield
    finally:
        clocks["zicha.clock"] = original
