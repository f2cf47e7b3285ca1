"""A device's two clocks, as the reference client reads them.

A phone has a *wall clock* that anyone (or a flat battery) can set to anything, and a
*monotonic clock* — milliseconds since boot, counting sleep — that cannot be set but starts
again from zero at every boot. A reading of both, with the id of the current boot, is what a
check is stamped with (see :mod:`sync.timing` for how the server uses it).

* :class:`SystemDeviceClock` reads the machine it runs on (``CLOCK_BOOTTIME`` and the kernel's
  boot id on Linux).
* :class:`SimulatedDeviceClock` is driven by a "true time" callable (in tests, the server's
  ``FrozenClock.now``; in the simulator, a virtual timeline), so a device and a server can be
  moved through a simulated week together — and the device can reboot or have its wall clock
  set wrong, as real phones do.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path

from sync.timing import Reading


class DeviceClock:
    """Interface: ``reading()`` returns both clocks read at one moment."""

    def reading(self) -> Reading:  # pragma: no cover - interface
        raise NotImplementedError

    def wall(self) -> datetime:
        """The wall clock alone (aware)."""
        reading = self.reading()
        assert reading.wall is not None
        return reading.wall


def new_boot_id() -> str:
    """A random id for one boot: 16 hex digits are plenty and cost fewer bytes on the wire."""
    return uuid.uuid4().hex[:16]


class SystemDeviceClock(DeviceClock):
    """The real clocks of the machine this runs on."""

    def __init__(self) -> None:
        boot_file = Path("/proc/sys/kernel/random/boot_id")
        self._boot_id = boot_file.read_text().strip().replace("-", "")[:16] if boot_file.exists() else new_boot_id()
        self._boottime = getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC)

    def reading(self) -> Reading:
        uptime_ms = int(time.clock_gettime(self._boottime) * 1000)
        return Reading(self._boot_id, uptime_ms, datetime.now(timezone.utc).astimezone())


class SimulatedDeviceClock(DeviceClock):
    """A simulated phone whose clocks follow ``true_time`` (a callable returning an aware time).

    Monotonic time is true time elapsed since the current boot began; the wall clock is true
    time plus an offset the "user" can set (:meth:`set_wall`, :meth:`set_wall_offset`), shown in
    ``tz`` (the phone's own zone setting). :meth:`reboot` starts a new boot: a new boot id and
    uptime from zero, with the wall clock unchanged.
    """

    def __init__(
        self,
        true_time: Callable[[], datetime],
        *,
        tz: tzinfo | None = None,
        uptime_at_start: timedelta = timedelta(hours=1),
        boot_id: str | None = None,
    ) -> None:
        self._true_time = true_time
        self._tz = tz
        self.boot_id = boot_id or new_boot_id()
        self._boot_started = true_time() - uptime_at_start
        self.wall_offset = timedelta(0)
        self.boots = [self.boot_id]

    def reboot(self) -> str:
        """Switch the phone off and on: a new boot id, uptime starts again from zero."""
        self.boot_id = new_boot_id()
        self._boot_started = self._true_time()
        self.boots.append(self.boot_id)
        return self.boot_id

    def set_wall(self, wall: datetime) -> None:
        """Set the wall clock to ``wall`` now (it keeps running from there)."""
        self.wall_offset = wall - self._true_time()

    def set_wall_offset(self, offset: timedelta) -> None:
        self.wall_offset = offset

    def reading(self) -> Reading:
        now = self._true_time()
        uptime_ms = int((now - self._boot_started) / timedelta(milliseconds=1))
        if uptime_ms < 0:
            raise ValueError("true time went backwards past the start of this boot")
        wall = now + self.wall_offset
        return Reading(self.boot_id, uptime_ms, wall.astimezone(self._tz) if self._tz else wall)


class Timeline:
    """A settable "true time" for simulations without a server clock to follow."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("Timeline needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        if at < self._now:
            raise ValueError("true time never goes backwards")
        self._now = at

    def advance(self, **delta: float) -> datetime:
        self.set(self._now + timedelta(**delta))
        return self._now
