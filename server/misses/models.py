"""MissedCheck (漏检), Pause (停产/停用) and the sweep's watermark."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, attributes, mapped_column, relationship

from server.extensions import db
from server.posts.models import Post
from server.schedules.models import Schedule
from sync.periods import Frequency


class MissStatus(str, enum.Enum):
    """``missed``: the period closed with no check. ``done_late``: a check for that period arrived
    after the miss was recorded (made late, or made on time and synced late) — the miss stays on
    record, corrected, with both times."""

    MISSED = "missed"
    DONE_LATE = "done_late"

    @property
    def zh(self) -> str:
        return {"missed": "漏检", "done_late": "补检/迟报"}[self.value]


def _enum(cls) -> sa.Enum:
    return sa.Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class MissedCheck(db.Model):
    """One schedule's period that closed with no check. Written once by the sweep; only a late
    arrival may change it, and only from ``missed`` to ``done_late``."""

    __tablename__ = "missed_checks"
    __table_args__ = (
        # One record per (schedule, period), however many sweeps run, at once or again.
        sa.UniqueConstraint("schedule_id", "period_key"),
        # The inbox order: an enterprise's misses by status, newest first.
        sa.Index("ix_missed_checks_enterprise_status_closed", "enterprise_id", "status", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    schedule_id: Mapped[int] = mapped_column(sa.ForeignKey("schedules.id"))
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id"), index=True)
    frequency: Mapped[Frequency] = mapped_column(_enum(Frequency))
    period_key: Mapped[str] = mapped_column(sa.String(32))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    # When the period closed (its end) and when the sweep recorded the miss: evidence of how fast
    # the supervisor could have known, so neither ever changes.
    closed_at: Mapped[datetime]
    detected_at: Mapped[datetime]
    status: Mapped[MissStatus] = mapped_column(_enum(MissStatus), default=MissStatus.MISSED)
    # The late check: which one, when it was made (the server's estimate), when it reached the
    # server, and when this record was corrected.
    late_check_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("checks.id"))
    late_performed_at: Mapped[datetime | None]
    late_received_at: Mapped[datetime | None]
    corrected_at: Mapped[datetime | None]

    post: Mapped[Post] = relationship()
    schedule: Mapped[Schedule] = relationship()


# Set by the sweep, never changed afterwards.
STAMPS = ("enterprise_id", "schedule_id", "post_id", "frequency", "period_key", "period_start", "period_end", "closed_at", "detected_at")
# Set once by a late arrival, never changed afterwards.
CORRECTION = ("late_check_id", "late_performed_at", "late_received_at", "corrected_at")


class WriteOnceError(RuntimeError):
    """A missed check's stamps were about to be changed, or it was about to be deleted: a
    programming error (what was missed, and when it was known, is evidence)."""


@sa.event.listens_for(MissedCheck, "before_update")
def _refuse_rewrites(_mapper, _connection, miss: MissedCheck) -> None:
    for name in STAMPS:
        if attributes.get_history(miss, name).has_changes():
            raise WriteOnceError(f"missed check {miss.id}: {name} is write-once")
    for name in CORRECTION:
        history = attributes.get_history(miss, name)
        if history.has_changes() and any(value is not None for value in history.deleted):
            raise WriteOnceError(f"missed check {miss.id}: {name} was already recorded")
    status = attributes.get_history(miss, "status")
    if status.has_changes() and MissStatus.DONE_LATE in status.deleted:
        raise WriteOnceError(f"missed check {miss.id}: a correction cannot be taken back")


@sa.event.listens_for(MissedCheck, "before_delete")
def _refuse_delete(_mapper, _connection, miss: MissedCheck) -> None:
    raise WriteOnceError(f"missed check {miss.id} cannot be deleted")


class Pause(db.Model):
    """A post or one schedule taken out of miss detection for a stoppage (停产/停用/检修).

    A period that overlaps ``[starts_at, ends_at)`` by any instant is not a miss; ``ends_at``
    None means until lifted. Ending a pause sets ``ends_at``; nothing is deleted. A pause called
    off before it began ends where it starts and covers nothing.
    """

    __tablename__ = "pauses"
    __table_args__ = (
        sa.CheckConstraint("(post_id IS NULL) <> (schedule_id IS NULL)", name="one_target"),
        sa.CheckConstraint("ends_at IS NULL OR ends_at >= starts_at", name="ends_not_before_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(sa.ForeignKey("posts.id"), index=True)
    schedule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("schedules.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.String(500))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    ended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    ended_at: Mapped[datetime | None]

    post: Mapped[Post | None] = relationship()
    schedule: Mapped[Schedule | None] = relationship()


class SweepState(db.Model):
    """The sweep's watermark: every period that closed at or before it has been swept.

    It moves in the transaction of the records it covers, so a sweep that dies before its commit
    leaves it where it was and the next sweep does the same work once. Its row is also the lock
    that makes two sweeps at once run one after the other.
    """

    __tablename__ = "sweep_state"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    watermark: Mapped[datetime]
    updated_at: Mapped[datetime]
