"""User (with one role), Device (a phone) and ApiToken (a hashed bearer token)."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db


class Role(str, enum.Enum):
    """What a user may do. Ordered from least to most power."""

    WORKER = "worker"                  # 一线员工
    SUPERVISOR = "supervisor"          # 班组长/车间主任
    SAFETY_MANAGER = "safety_manager"  # 安全管理员
    ADMIN = "admin"                    # 企业管理员


MANAGERS = frozenset({Role.SAFETY_MANAGER, Role.ADMIN})


class User(db.Model):
    __tablename__ = "users"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "username"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    username: Mapped[str] = mapped_column(sa.String(64))
    display_name: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    role: Mapped[Role] = mapped_column(sa.Enum(Role, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    locale: Mapped[str] = mapped_column(sa.String(8), default="zh", server_default="zh")  # "zh" or "en": digests, notifications
    # Sign-in lockout (server.accounts.services.sign_in): wrong passwords in a row, and until
    # when the account refuses every password after too many of them.
    failed_sign_ins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]


class Device(db.Model):
    """A phone or tablet, known by the install id its app made; revoking it ends its tokens."""

    __tablename__ = "devices"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "install_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    install_id: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    platform: Mapped[str] = mapped_column(sa.String(32), default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


class ApiToken(db.Model):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once at sign-in."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
    device: Mapped[Device | None] = relationship()
