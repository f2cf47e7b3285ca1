"""Family reports (家属举报), their photos, history and rewards; per-enterprise report settings and
the append-only log of who read a sealed contact.

What is deliberately *not* here: no IP address, user agent, cookie or any other trace of the
reporter's browser is a column of any table — the public channel stores what the reporter
wrote and nothing about how it arrived (DESIGN, "The family channel"). The receipt code is
stored only as its SHA-256; a contact the reporter left only sealed (Fernet ciphertext).
"""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.enterprises.models import Site
from server.extensions import db, value_enum
from server.hazards.models import Hazard, HazardStatus


class ReportStatus(str, enum.Enum):
    """What the reporter reads on the status page.

    Only ``received``, ``confirmed`` and ``not_hazard`` are ever stored (the triage's outcome);
    once a report has its hazard, its status is read from the hazard (:data:`HAZARD_PROGRESS`),
    so the hazard loop is the one truth about how far the fixing got.
    """

    RECEIVED = "received"      # 已受理
    CONFIRMED = "confirmed"    # 已确认
    FIXING = "fixing"          # 整改中
    FIXED = "fixed"            # 已整改
    NOT_HAZARD = "not_hazard"  # 不属实

    @property
    def zh(self) -> str:
        return {"received": "已受理", "confirmed": "已确认", "fixing": "整改中", "fixed": "已整改", "not_hazard": "不属实"}[self.value]

    @property
    def en(self) -> str:
        return {"received": "Received", "confirmed": "Confirmed", "fixing": "Being fixed", "fixed": "Fixed", "not_hazard": "Not a hazard"}[self.value]


# A confirmed report's status, from its hazard's: the one place where the two loops meet.
HAZARD_PROGRESS: dict[HazardStatus, ReportStatus] = {
    HazardStatus.REPORTED: ReportStatus.CONFIRMED,
    HazardStatus.CONFIRMED: ReportStatus.CONFIRMED,
    HazardStatus.ASSIGNED: ReportStatus.FIXING,
    HazardStatus.RECTIFIED: ReportStatus.FIXING,  # fixed by the rectifier, not yet verified
    HazardStatus.CLOSED: ReportStatus.FIXED,
    HazardStatus.REJECTED: ReportStatus.NOT_HAZARD,
}


class RewardStatus(str, enum.Enum):
    GRANTED = "granted"  # 已批准
    PAID = "paid"        # 已发放

    @property
    def zh(self) -> str:
        return {"granted": "已批准", "paid": "已发放"}[self.value]


class FamilyReport(db.Model):
    """One report from the public form. Never deleted; every triage step is a ``family_report_events`` row."""

    __tablename__ = "family_reports"
    __table_args__ = (sa.Index("ix_family_reports_enterprise_created", "enterprise_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    # SHA-256 (hex) of the normalised receipt code; the code itself is shown once and never stored.
    receipt_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The triage's outcome (received / confirmed / not_hazard); see ReportStatus and progress.
    status: Mapped[ReportStatus] = mapped_column(value_enum(ReportStatus))
    description: Mapped[str] = mapped_column(sa.Text)
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"))
    location: Mapped[str] = mapped_column(sa.String(300), default="")
    anonymous: Mapped[bool]
    # Fernet token of the contact the reporter left (server/reports/sealing.py); NULL: none.
    contact_sealed: Mapped[str | None] = mapped_column(sa.Text)
    # The report names the site's supervisor: no supervisor sees it; only managers and the head hear of it.
    concerns_supervisor: Mapped[bool]
    hazard_id: Mapped[int | None] = mapped_column(sa.ForeignKey("hazards.id"), unique=True)
    # The managers' in-app alert of the new report; resolved when the report is triaged.
    alert_id: Mapped[int | None] = mapped_column(sa.ForeignKey("alerts.id"))
    # The enterprise's answer to the reporter (shown on the status page), and when it was last given.
    reply: Mapped[str] = mapped_column(sa.Text, default="")
    replied_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    site: Mapped[Site | None] = relationship()
    hazard: Mapped[Hazard | None] = relationship()
    photos: Mapped[list[FamilyReportPhoto]] = relationship(order_by="FamilyReportPhoto.position", viewonly=True)
    rewards: Mapped[list[ReportReward]] = relationship(order_by="ReportReward.id", viewonly=True)
    events: Mapped[list[FamilyReportEvent]] = relationship(order_by="FamilyReportEvent.id", viewonly=True)

    @property
    def progress(self) -> ReportStatus:
        """The status the reporter and the queue see: the hazard's progress once there is one."""
        return self.status if self.hazard is None else HAZARD_PROGRESS[self.hazard.status]

    @property
    def has_contact(self) -> bool:
        return self.contact_sealed is not None


class FamilyReportPhoto(db.Model):
    """A photo of a report. Only copies re-encoded from pixels are stored (display and thumbnail),
    never the bytes the phone sent, so no EXIF, GPS, XMP or ICC profile survives anywhere.
    ``sha256`` is the digest of the stored display copy (what the hazard names when confirmed)."""

    __tablename__ = "family_report_photos"
    __table_args__ = (sa.UniqueConstraint("report_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("family_reports.id"))
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    position: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    width: Mapped[int]
    height: Mapped[int]
    byte_size: Mapped[int]
    display_key: Mapped[str] = mapped_column(sa.String(200))
    thumb_key: Mapped[str] = mapped_column(sa.String(200))


class FamilyReportEvent(db.Model):
    """One step of a report's triage (received, confirmed, rejected, replied, reward granted or
    paid). Append-only: rows are never updated or deleted."""

    __tablename__ = "family_report_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("family_reports.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    action: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")


class ReportReward(db.Model):
    """A reward granted for a confirmed report (举报奖励台账), and when it was paid."""

    __tablename__ = "family_report_rewards"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("family_reports.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    status: Mapped[RewardStatus] = mapped_column(value_enum(RewardStatus))
    # For the managers; the reporter sees amount, status and dates (the reply is what they read).
    note: Mapped[str] = mapped_column(sa.Text, default="")
    granted_at: Mapped[datetime]
    granted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    paid_at: Mapped[datetime | None]
    paid_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class ReportSettings(db.Model):
    """An enterprise's public report link and who may read sealed contacts. Made on first use."""

    __tablename__ = "family_report_settings"

    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), primary_key=True)
    # The unguessable part of the public URL /r/<token> (printed on notices: kept readable, rotatable).
    link_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    link_rotated_at: Mapped[datetime]
    # Users who may read sealed contacts; NULL: the enterprise head named in the alert settings.
    contact_reader_ids: Mapped[list | None] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class ContactAccess(db.Model):
    """Append-only: every reading of a sealed contact (``read``: who, when, which report) and every
    change of who may read them (``readers_changed``). Never updated or deleted."""

    __tablename__ = "family_report_contact_log"
    __table_args__ = (sa.Index("ix_family_report_contact_log_enterprise_at", "enterprise_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"))
    report_id: Mapped[int | None] = mapped_column(sa.ForeignKey("family_reports.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(32))
    at: Mapped[datetime]
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
