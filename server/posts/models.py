"""Post and its risk level (红橙黄蓝)."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.accounts.models import User
from server.enterprises.models import Site
from server.extensions import db


class RiskLevel(str, enum.Enum):
    """The national four-colour risk grading: 重大/较大/一般/低 = red/orange/yellow/blue."""

    RED = "red"
    ORANGE = "orange"
    YELLOW = "yellow"
    BLUE = "blue"

    @property
    def zh(self) -> str:
        return {"red": "重大风险", "orange": "较大风险", "yellow": "一般风险", "blue": "低风险"}[self.value]


class Post(db.Model):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    location: Mapped[str] = mapped_column(sa.String(300), default="")
    risk_level: Mapped[RiskLevel] = mapped_column(sa.Enum(RiskLevel, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    supervisor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # Unguessable (256-bit, URL-safe); rotating it makes every printed label of the old one dead.
    qr_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    qr_rotated_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    site: Mapped[Site] = relationship()
    supervisor: Mapped[User | None] = relationship()


class SiteGrant(db.Model):
    """A supervisor granted a whole site (车间主任 over several teams' posts): they see every post
    of that site — checks, misses, hazards, reports, the overview — besides the posts they
    supervise themselves. Alerts still go to each post's own supervisor. Granted by an admin."""

    __tablename__ = "site_grants"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("sites.id"), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    granted_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    granted_at: Mapped[datetime]
