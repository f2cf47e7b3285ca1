"""Estimating when a check was really made, from what the device's clock said.

A phone's clock can be minutes or years off. This first estimator uses only the device's wall
time and the moment the server received the record; the sync protocol later adds monotonic
anchors (boot id + uptime) to do better. Whatever it decides is recorded as ``time_quality``
and flags, so doubtful times are visible, never silently trusted or dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class TimeEstimate:
    at: datetime
    quality: str            # "device": plausible as sent; "server_receipt": device clock could not be believed
    flags: tuple[str, ...] = field(default=())


def estimate_performed_at(
    device_time: datetime,
    received_at: datetime,
    earliest_possible: datetime | None,
    skew_tolerance: timedelta = timedelta(minutes=5),
) -> TimeEstimate:
    """Clamp the device's claimed time to what is possible.

    * Never in the future: a time later than receipt (plus a small tolerance for clocks a little
      fast) is replaced by the receipt time and flagged ``clock_ahead``.
    * Never before the device could have had the checklist version (``earliest_possible``,
      its publication): replaced by the receipt time and flagged ``clock_behind`` — a clock
      reset to 1970 or 2000 after a flat battery is the usual cause.
    * A time slightly ahead but within tolerance is pulled back to the receipt time, unflagged.
    """
    if device_time.tzinfo is None or received_at.tzinfo is None:
        raise ValueError("aware datetimes required")
    if device_time > received_at + skew_tolerance:
        return TimeEstimate(received_at, "server_receipt", ("clock_ahead",))
    if earliest_possible is not None and device_time < earliest_possible:
        return TimeEstimate(received_at, "server_receipt", ("clock_behind",))
    return TimeEstimate(min(device_time, received_at), "device")
