"""Estimating when a check was really made, without trusting the device's wall clock.

A phone's wall clock can be minutes or years off (a flat battery resets it to 2017; a user sets
it by hand). Its monotonic clock — milliseconds since boot, counting sleep — cannot be set, but
starts again at every boot, which is why each reading carries the boot's id. So a device sends,
for each record, both clocks as they read when the check was made, and for the push, both clocks
as they read when it was sent; plus *anchors*: moments on some boot at which it learned the
server's time (every server answer carries ``server_time``).

The best estimate available wins, and says which it was (``time_quality``):

``monotonic``
    made and sent on the same boot: true time = receipt − (uptime at send − uptime at make).
    Exact to the network transit time, whatever the wall clock said.
``anchored``
    made on a boot for which the device holds an anchor: server time at the anchor + (uptime at
    make − uptime at the anchor). Covers a device that rebooted between making and sending.
``device``
    no usable monotonic reading: the device's wall time, when it is possible.
``server_receipt``
    the device's wall time is impossible (after receipt, or before the device could have had the
    checklist version) and nothing better is known: the receipt time, flagged.

Whatever the method, the result must be possible — never after receipt, never before
``earliest_possible`` — and doubtful times are flagged, never dropped: ``clock_ahead`` /
``clock_behind`` (nothing possible was known: receipt time used), ``device_clock_wrong`` (a
monotonic estimate disagrees with the wall clock by more than the tolerance: the check is dated
right, and the device's clock needs fixing), ``monotonic_inconsistent`` (the monotonic estimate
was impossible, so the wall clock was used).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

MONOTONIC = "monotonic"
ANCHORED = "anchored"
DEVICE = "device"
SERVER_RECEIPT = "server_receipt"


@dataclass(frozen=True)
class Reading:
    """Both clocks of a device read at one moment (``wall`` may be None when only uptime is known)."""

    boot_id: str
    uptime_ms: int
    wall: datetime | None = None


@dataclass(frozen=True)
class Anchor:
    """The server's time as the device learned it, pinned to the device's monotonic clock."""

    boot_id: str
    uptime_ms: int
    server_time: datetime


@dataclass(frozen=True)
class TimeEstimate:
    at: datetime
    quality: str
    flags: tuple[str, ...] = field(default=())


def _monotonic_estimate(
    made: Reading | None, sent: Reading | None, anchors: Sequence[Anchor], received_at: datetime
) -> tuple[datetime, str] | None:
    if made is None:
        return None
    if sent is not None and sent.boot_id == made.boot_id and sent.uptime_ms >= made.uptime_ms:
        return received_at - timedelta(milliseconds=sent.uptime_ms - made.uptime_ms), MONOTONIC
    same_boot = [a for a in anchors if a.boot_id == made.boot_id]
    if same_boot:
        # The anchor closest in uptime: the least drift of the device's crystal between them.
        anchor = min(same_boot, key=lambda a: abs(a.uptime_ms - made.uptime_ms))
        return anchor.server_time + timedelta(milliseconds=made.uptime_ms - anchor.uptime_ms), ANCHORED
    return None


def estimate_performed_at(
    device_time: datetime,
    received_at: datetime,
    earliest_possible: datetime | None,
    skew_tolerance: timedelta = timedelta(minutes=5),
    *,
    made: Reading | None = None,
    sent: Reading | None = None,
    anchors: Sequence[Anchor] = (),
) -> TimeEstimate:
    """Estimate when a check was made; see the module docstring for the methods and flags."""
    if device_time.tzinfo is None or received_at.tzinfo is None:
        raise ValueError("aware datetimes required")
    def possible(at: datetime) -> bool:
        return at <= received_at + skew_tolerance and (earliest_possible is None or at >= earliest_possible)

    flags: list[str] = []
    estimate = _monotonic_estimate(made, sent, anchors, received_at)
    if estimate is not None and possible(estimate[0]):
        at, quality = estimate
        if abs(device_time - at) > skew_tolerance:
            flags.append("device_clock_wrong")
    else:
        if estimate is not None:
            flags.append("monotonic_inconsistent")  # e.g. an anchor from a server clock gone wrong
        at, quality = device_time, DEVICE
        if not possible(at):
            late = at > received_at + skew_tolerance
            return TimeEstimate(received_at, SERVER_RECEIPT, (*flags, "clock_ahead" if late else "clock_behind"))
    # A time slightly ahead but within tolerance is pulled back to the receipt time, unflagged.
    return TimeEstimate(min(at, received_at).astimezone(timezone.utc), quality, tuple(flags))
