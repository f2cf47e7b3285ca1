"""Channel (where an enterprise's notifications go), its counter, the outbox, and the in-app inbox.

The outbox is written in the transaction that decided to notify (an alert, an escalation, a
digest): either the alert and its notifications are both stored or neither is, so a notification
is never lost when a channel is down and never sent for an alert that was rolled back. The
delivery worker (``server.notifications.delivery``) drains it afterwards.
"""
from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db


def _values(e: type[enum.Enum]) -> list[str]:
    return [m.value for m in e]


class ChannelKind(str, enum.Enum):
    """How a channel delivers: a signed generic webhook, a Chinese group robot, or e-mail."""

    WEBHOOK = "webhook"    # 通用 Webhook（HMAC 签名、带序号）
    WECOM = "wecom"        # 企业微信群机器人
    DINGTALK = "dingtalk"  # 钉钉自定义机器人
    FEISHU = "feishu"      # 飞书/Lark 自定义机器人
    EMAIL = "email"        # 电子邮件（SMTP）


class OutboxStatus(str, enum.Enum):
    PENDING = "pending"      # waiting to be sent, or to be retried at next_attempt_at
    DELIVERED = "delivered"  # the receiver accepted it
    DEAD = "dead"            # gave up after the maximum attempts; stays visible, can be replayed


class Channel(db.Model):
    """One destination of an enterprise's notifications.

    ``url`` and ``secret`` are credentials (a robot's URL carries its access token) and are never
    returned by the API; ``config`` holds what may be shown (e-mail recipients). The lease columns
    let exactly one delivery worker drain the channel at a time, without holding a database lock
    while it waits on the network.
    """

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    kind: Mapped[ChannelKind] = mapped_column(sa.Enum(ChannelKind, native_enum=False, length=16, values_callable=_values))
    name: Mapped[str] = mapped_column(sa.String(100))
    language: Mapped[str] = mapped_column(sa.String(2), default="zh")
    url: Mapped[str | None] = mapped_column(sa.String(1000))
    secret: Mapped[str | None] = mapped_column(sa.String(200))
    config: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    lease_id: Mapped[str | None] = mapped_column(sa.String(36))
    lease_until: Mapped[datetime | None]

    # Loaded with the channel (one extra query for a whole list), for ``last_seq`` in answers.
    counter: Mapped[ChannelCounter] = relationship(lazy="selectin", uselist=False, viewonly=True)


class ChannelCounter(db.Model):
    """The channel's last sequence number handed out.

    ``enqueue`` raises it with an UPDATE in the writing transaction; the row stays locked until
    that transaction ends, so numbers have no holes (a rollback takes its number back) and follow
    commit order — a receiver that sees seq n+1 before n knows n is missing, not late.
    """

    __tablename__ = "notification_counters"

    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("notification_channels.id"), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class OutboxEntry(db.Model):
    """One message for one channel, numbered ``seq`` within the channel.

    ``message`` is the whole :class:`~server.notifications.message.Message` as JSON: delivery
    needs nothing but this row and its channel. ``uuid`` is the idempotency id receivers get; it
    stays the same across retries and replays.
    """

    __tablename__ = "notification_outbox"
    __table_args__ = (
        sa.UniqueConstraint("channel_id", "seq"),
        sa.Index("ix_notification_outbox_channel_status_seq", "channel_id", "status", "seq"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(sa.Uuid, unique=True, default=uuid.uuid4)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("notification_channels.id"))
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    # Which alert it tells of (server/alerts); no foreign key so this package stands alone.
    alert_id: Mapped[int | None] = mapped_column(index=True)
    message: Mapped[dict] = mapped_column(sa.JSON)
    status: Mapped[OutboxStatus] = mapped_column(
        sa.Enum(OutboxStatus, native_enum=False, length=16, values_callable=_values), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]

    channel: Mapped[Channel] = relationship()


class Notification(db.Model):
    """One message in one user's in-app inbox (站内通知)."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_read_id", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    alert_id: Mapped[int | None] = mapped_column(index=True)
    message: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
