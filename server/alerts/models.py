"""Alert, its recipients and its history; AlertSettings per enterprise; the digests sent.

An alert is what a person must act on (a missed check, a failed item on a red or orange post;
later an overdue hazard or a family report). It starts with the post's supervisor (level 0) and,
unless someone acknowledges it, climbs to the safety managers (1) and the enterprise head (2)
on a timetable set per risk colour. Nothing about it is ever deleted: who was told when is in
``alert_recipients``, what happened in ``alert_events`` (append-only).
"""
from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.accounts.models import User
from server.extensions import db
from server.misses.models import MissedCheck  # noqa: F401  (the table alerts.missed_check_id points at)
from server.posts.models import Post, RiskLevel


class AlertKind(str, enum.Enum):
    """What an alert is about. Stored as a plain string so new kinds need no schema change."""

    MISSED_CHECK = "missed_check"      # 漏检
    FAILED_ITEM = "failed_item"        # 检查项不合格
    OVERDUE_HAZARD = "overdue_hazard"  # 隐患逾期未整改 (issue 5)
    REPORT = "report"                  # 家属举报 (issue 6)


class AlertStatus(str, enum.Enum):
    OPEN = "open"                  # 待处理
    ACKNOWLEDGED = "acknowledged"  # 已确认 (escalation stops)
    RESOLVED = "resolved"          # 已处理


class Level(enum.IntEnum):
    """Who an alert has reached along the chain."""

    SUPERVISOR = 0       # 岗位负责人 / 班组长
    SAFETY_MANAGER = 1   # 安全管理员
    HEAD = 2             # 企业负责人 (or the admins when no head is named)


class EventKind(str, enum.Enum):
    CREATED = "created"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CORRECTED = "corrected"  # the missed check arrived late (done on time, synced late)


_RISK = sa.Enum(RiskLevel, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
_STATUS = sa.Enum(AlertStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class Alert(db.Model):
    __tablename__ = "alerts"
    __table_args__ = (
        # The escalation sweep reads only open alerts that are due.
        sa.Index("ix_alerts_status_escalate_at", "status", "escalate_at"),
        sa.Index("ix_alerts_enterprise_created", "enterprise_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Filled by SQLAlchemy with each row's place in a bulk INSERT … RETURNING, so SQLite can take a
    # batch in one statement and still give each row its id (see migration 0010).
    insert_sentinel = sa.insert_sentinel("insert_sentinel")
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    post_id: Mapped[int | None] = mapped_column(sa.ForeignKey("posts.id"), index=True)
    risk_level: Mapped[RiskLevel] = mapped_column(_RISK)
    # The subject: one alert per missed check and per failed check (unique; NULLs do not clash).
    missed_check_id: Mapped[int | None] = mapped_column(sa.ForeignKey("missed_checks.id"), unique=True)
    check_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, sa.ForeignKey("checks.id"), unique=True)
    schedule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("schedules.id"))
    period_key: Mapped[str | None] = mapped_column(sa.String(32))
    title_zh: Mapped[str] = mapped_column(sa.String(300))
    title_en: Mapped[str] = mapped_column(sa.String(300))
    summary_zh: Mapped[str] = mapped_column(sa.Text)
    summary_en: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[AlertStatus] = mapped_column(_STATUS, default=AlertStatus.OPEN)
    level: Mapped[int] = mapped_column(default=0)
    # When it climbs next unless acknowledged; NULL when it will not (acknowledged, at the head,
    # a colour without escalation such as blue, or corrected by a late check).
    escalate_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    corrected_at: Mapped[datetime | None]

    post: Mapped[Post | None] = relationship()
    recipients: Mapped[list[AlertRecipient]] = relationship(order_by="(AlertRecipient.level, AlertRecipient.added_at, AlertRecipient.user_id)", viewonly=True)
    events: Mapped[list[AlertEvent]] = relationship(order_by="AlertEvent.id", viewonly=True)


class AlertRecipient(db.Model):
    """A person an alert reached, at which level and when. The inbox is "alerts I am in"."""

    __tablename__ = "alert_recipients"
    __table_args__ = (sa.Index("ix_alert_recipients_user_alert", "user_id", "alert_id"),)

    alert_id: Mapped[int] = mapped_column(sa.ForeignKey("alerts.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    level: Mapped[int]
    added_at: Mapped[datetime]

    user: Mapped[User] = relationship()


class AlertEvent(db.Model):
    """One step of an alert's history. Append-only: rows are never updated or deleted."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(sa.ForeignKey("alerts.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    level: Mapped[int]
    note: Mapped[str] = mapped_column(sa.Text, default="")


class AlertSettings(db.Model):
    """An enterprise's escalation timetable and its head. No row means the defaults."""

    __tablename__ = "alert_settings"

    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), primary_key=True)
    head_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Minutes before an unacknowledged alert climbs one level; NULL: it never climbs.
    red_minutes: Mapped[int | None]
    orange_minutes: Mapped[int | None]
    yellow_minutes: Mapped[int | None]
    blue_minutes: Mapped[int | None]
    # Local hour from which yesterday's digest goes out (late syncs and the sweep's grace first).
    digest_hour: Mapped[int] = mapped_column(default=7)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class DigestSent(db.Model):
    """One row per user and local day a digest went out for: what makes the digest idempotent."""

    __tablename__ = "alert_digests"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    day: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    sent_at: Mapped[datetime]
