"""Check and CheckConflict."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.accounts.models import User
from server.extensions import db, value_enum
from server.posts.models import Post
from server.schedules.models import Schedule
from sync.periods import Frequency


class Check(db.Model):
    """One filled checklist. Its id is made by the client and is the idempotency key."""

    __tablename__ = "checks"
    __table_args__ = (
        sa.Index("ix_checks_schedule_period", "schedule_id", "period_key"),
        sa.Index("ix_checks_post_period", "post_id", "period_key"),
        sa.Index("ix_checks_user_received", "user_id", "received_at"),
        sa.Index("ix_checks_enterprise_received", "enterprise_id", "received_at"),
        # Only the few checks whose failed items are still to be followed up are in this index.
        sa.Index(
            "ix_checks_follow_up", "received_at",
            sqlite_where=sa.text("follow_up"), postgresql_where=sa.text("follow_up"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    schedule_id: Mapped[int] = mapped_column(sa.ForeignKey("schedules.id"))
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id"))
    checklist_version_id: Mapped[int] = mapped_column(sa.ForeignKey("checklist_versions.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id"))
    # The device's own counter for the record (sync push); None for a check sent online.
    device_seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    frequency: Mapped[Frequency] = mapped_column(sa.Enum(Frequency, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    period_key: Mapped[str] = mapped_column(sa.String(32))
    # performed_at is the server's estimate of when the check was really done; device_time is
    # what the device's clock said, kept as evidence.
    performed_at: Mapped[datetime]
    device_time: Mapped[datetime]
    received_at: Mapped[datetime]
    time_quality: Mapped[str] = mapped_column(sa.String(32))
    flags: Mapped[list] = mapped_column(sa.JSON, default=list)
    ok: Mapped[bool]
    failed_count: Mapped[int] = mapped_column(default=0)
    answers: Mapped[list] = mapped_column(sa.JSON)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    # SHA-256 of the record's canonical content: same id + same hash = a harmless retry.
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(32), default="complete")
    # True from the moment a check with failed items is stored until its alert and hazard
    # drafts are raised (``server.checks.follow_up``): the transactional outbox of the push.
    follow_up: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    post: Mapped[Post] = relationship()
    schedule: Mapped[Schedule] = relationship()
    user: Mapped[User] = relationship()


class ReviewVerdict(str, enum.Enum):
    """What a safety manager concluded after looking at a check's evidence."""

    REVIEWED = "reviewed"          # 已审阅: the evidence holds up
    QUESTIONABLE = "questionable"  # 存疑: something looks wrong (a photo of another post, a copied reading)


class CheckReview(db.Model):
    """One manager's verdict on a check, with a note. Append-only: a later review supersedes
    the earlier one on screen, and the history of who said what stays."""

    __tablename__ = "check_reviews"
    __table_args__ = (sa.Index("ix_check_reviews_check_at", "check_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    check_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("checks.id"))
    verdict: Mapped[ReviewVerdict] = mapped_column(value_enum(ReviewVerdict))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    reviewer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime]

    reviewer: Mapped[User] = relationship()


class CheckConflict(db.Model):
    """A second record that reused a check's id with other content: kept aside for review."""

    __tablename__ = "check_conflicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    check_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id"))
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict] = mapped_column(sa.JSON)
    received_at: Mapped[datetime]


class CheckPhoto(db.Model):
    """A photo slot of a check: one SHA-256 the check's answers name.

    A check is ``complete`` once a photo with each of its slots' digests has arrived in its
    enterprise, ``awaiting_photos`` until then. Records and photos arrive in either order.
    """

    __tablename__ = "check_photos"
    __table_args__ = (sa.Index("ix_check_photos_enterprise_sha256", "enterprise_id", "sha256"),)

    check_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("checks.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
