"""Missed checks (漏检): the sweep that records them, late arrivals that correct them, and pauses
for stoppages (停产/停用) that excuse them.

* :func:`server.misses.services.sweep` finds, with set-based SQL, every active schedule whose
  period closed (plus a grace for late sync) with no check, and records one
  :class:`~server.misses.models.MissedCheck` per (schedule, period) — write-once stamps, a
  watermark that moves in the same transaction, safe to run twice or twice at once.
* :func:`server.misses.services.checks_arrived` turns a recorded miss into ``done_late`` when
  its check arrives after all (offline devices), keeping both times; it never erases the miss.
* :class:`~server.misses.models.Pause` takes a post or one schedule out of detection for a
  stoppage, with a reason and dates.
"""
