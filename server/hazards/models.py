"""Hazard, its append-only history (HazardEvent) and the per-enterprise, per-year number counter.

A hazard is never deleted and its fields are never changed without a ``hazard_events`` row that
says who changed what, when, from which status to which, and why. The ledger (台账) and its
exports read these tables; the statistics count their rows.
"""
from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.accounts.models import User
from server.extensions import db
from server.extensions import value_enum as _enum


class HazardStatus(str, enum.Enum):
    """Where a hazard stands in the closed loop (隐患闭环)."""

    REPORTED = "reported"      # 上报
    CONFIRMED = "confirmed"    # 已评估（已定级）
    REJECTED = "rejected"      # 不属实
    ASSIGNED = "assigned"      # 整改中
    RECTIFIED = "rectified"    # 待验收
    CLOSED = "closed"          # 已销号（复查验收通过）

    @property
    def zh(self) -> str:
        return {"reported": "上报", "confirmed": "已评估", "rejected": "不属实", "assigned": "整改中", "rectified": "待验收", "closed": "已销号"}[self.value]


class HazardGrade(str, enum.Enum):
    GENERAL = "general"  # 一般隐患
    MAJOR = "major"      # 重大隐患

    @property
    def zh(self) -> str:
        return {"general": "一般隐患", "major": "重大隐患"}[self.value]


class HazardSource(str, enum.Enum):
    """How the hazard was found (排查类型): the categories of the national 双重预防 ledgers."""

    DAILY = "daily"                  # 日常
    COMPREHENSIVE = "comprehensive"  # 综合性
    SPECIALIZED = "specialized"      # 专业性
    SEASONAL = "seasonal"            # 季节性
    HOLIDAY = "holiday"              # 节假日前
    ACCIDENT_ANALOGY = "accident_analogy"  # 事故类比
    RESUMPTION = "resumption"        # 复产复工前
    EXTERNAL_EXPERT = "external_expert"  # 外聘专家
    CONTROL_MEASURE = "control_measure"  # 管控措施实效
    REPORT = "report"                # 举报
    OTHER = "other"                  # 其他

    @property
    def zh(self) -> str:
        return _SOURCE_ZH[self.value]


_SOURCE_ZH = {
    "daily": "日常", "comprehensive": "综合性", "specialized": "专业性", "seasonal": "季节性", "holiday": "节假日前",
    "accident_analogy": "事故类比", "resumption": "复产复工前", "external_expert": "外聘专家",
    "control_measure": "管控措施实效", "report": "举报", "other": "其他",
}


class HazardType(str, enum.Enum):
    SAFETY = "safety"            # 安全
    PROCESS = "process"          # 工艺
    ELECTRICAL = "electrical"    # 电气
    INSTRUMENT = "instrument"    # 仪表
    FIRE = "fire"                # 消防
    EQUIPMENT = "equipment"      # 设备
    OTHER = "other"              # 其他

    @property
    def zh(self) -> str:
        return {"safety": "安全", "process": "工艺", "electrical": "电气", "instrument": "仪表", "fire": "消防", "equipment": "设备", "other": "其他"}[self.value]


class RectifyMode(str, enum.Enum):
    ON_THE_SPOT = "on_the_spot"  # 即查即改
    BY_DEADLINE = "by_deadline"  # 限期整改

    @property
    def zh(self) -> str:
        return {"on_the_spot": "即查即改", "by_deadline": "限期整改"}[self.value]


class Hazard(db.Model):
    __tablename__ = "hazards"
    __table_args__ = (
        sa.UniqueConstraint("enterprise_id", "number"),
        # One draft per failed item of a check, however often the check's consequences run.
        sa.UniqueConstraint("check_id", "check_item_id"),
        sa.Index("ix_hazards_enterprise_status_found", "enterprise_id", "status", "found_at"),
        # The overdue sweep reads assigned hazards by deadline.
        sa.Index("ix_hazards_status_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Filled by SQLAlchemy with each row's place in a bulk INSERT … RETURNING, so SQLite can take a
    # batch in one statement and still give each row its id (see migration 0010).
    insert_sentinel = sa.insert_sentinel("insert_sentinel")
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    number: Mapped[str] = mapped_column(sa.String(32))
    # The device's UUID when the hazard was raised offline (the sync push's idempotency key).
    client_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, unique=True)
    status: Mapped[HazardStatus] = mapped_column(_enum(HazardStatus))
    source: Mapped[HazardSource] = mapped_column(_enum(HazardSource))
    type: Mapped[HazardType] = mapped_column(_enum(HazardType))
    grade: Mapped[HazardGrade | None] = mapped_column(_enum(HazardGrade))
    found_at: Mapped[datetime]
    found_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"))
    post_id: Mapped[int | None] = mapped_column(sa.ForeignKey("posts.id"), index=True)
    location: Mapped[str] = mapped_column(sa.String(300), default="")
    description: Mapped[str] = mapped_column(sa.Text)
    basis: Mapped[str] = mapped_column(sa.Text, default="")
    check_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, sa.ForeignKey("checks.id"))
    check_item_id: Mapped[str | None] = mapped_column(sa.String(64))
    photos_before: Mapped[list] = mapped_column(sa.JSON, default=list)
    photos_after: Mapped[list] = mapped_column(sa.JSON, default=list)
    reject_reason: Mapped[str | None] = mapped_column(sa.Text)
    # 整改 (and the 五到位 plan of a 重大 hazard: measures, funds, responsible, deadline, emergency)
    measures: Mapped[str] = mapped_column(sa.Text, default="")
    funds: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    emergency_measures: Mapped[str] = mapped_column(sa.Text, default="")
    responsible_department: Mapped[str] = mapped_column(sa.String(200), default="")
    responsible_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    deadline: Mapped[datetime | None]
    mode: Mapped[RectifyMode | None] = mapped_column(_enum(RectifyMode))
    rectified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    rectification_note: Mapped[str] = mapped_column(sa.Text, default="")
    completed_at: Mapped[datetime | None]
    cost: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    # 复查验收
    verifier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    verification_passed: Mapped[bool | None]
    verification_note: Mapped[str] = mapped_column(sa.Text, default="")
    # The overdue alert raised for the current deadline (cleared when a new deadline is set).
    overdue_alert_id: Mapped[int | None] = mapped_column(sa.ForeignKey("alerts.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    found_by: Mapped[User] = relationship(foreign_keys=[found_by_id])
    events: Mapped[list[HazardEvent]] = relationship(order_by="HazardEvent.id", viewonly=True)


class HazardEvent(db.Model):
    """One step of a hazard's history. Append-only: rows are never updated or deleted."""

    __tablename__ = "hazard_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(sa.ForeignKey("hazards.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    action: Mapped[str] = mapped_column(sa.String(32))
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    photos: Mapped[list] = mapped_column(sa.JSON, default=list)
    # {field: [old, new]} as JSON-ready values: what this step changed on the hazard.
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)


class HazardCounter(db.Model):
    """The last number given in an enterprise's year: bumped in the reporting transaction, so a
    rolled-back report takes its number back (no holes) and two reports wait on the row (no races)."""

    __tablename__ = "hazard_counters"

    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(default=0)
