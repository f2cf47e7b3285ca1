"""Enterprise (企业, the tenant) and Site (厂区/车间/区域)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from sync.periods import DEFAULT_SHIFTS


def default_shifts() -> list[str]:
    return [t.strftime("%H:%M") for t in DEFAULT_SHIFTS]


class Enterprise(db.Model):
    """The tenant: every other row belongs to exactly one enterprise."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Shanghai")
    # Shift start times ("HH:MM", local) used by per-shift schedules.
    shifts: Mapped[list] = mapped_column(sa.JSON, default=default_shifts)
    created_at: Mapped[datetime]


class Site(db.Model):
    """A place inside an enterprise; sites may nest (厂区 › 车间 › 区域)."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"))
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]

    enterprise: Mapped[Enterprise] = relationship()
    parent: Mapped[Site | None] = relationship(remote_side=[id])
