"""Notification rules: enqueue into the outbox and the in-app inbox, channels, replay, reading.

Every function here only flushes; the caller (a view, a CLI command, the alert sweep) commits.
``enqueue`` in particular runs inside the caller's transaction, so an alert and the
notifications telling of it are stored together or not at all (the transactional outbox).
Delivery — the one place that talks to the network and commits per row — is in
:mod:`server.notifications.delivery`.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from server import clock
from server.accounts.models import User
from server.database import get_owned
from server.errors import ZichaError
from server.extensions import db
from server.notifications.message import Message
from server.notifications.models import Channel, ChannelCounter, ChannelKind, Notification, OutboxEntry, OutboxStatus

_counters = ChannelCounter.__table__
_ADVANCE = (
    sa.update(_counters)
    .where(_counters.c.channel_id == sa.bindparam("c"))
    .values(value=_counters.c.value + sa.bindparam("n"))
    .returning(_counters.c.value)
)


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """One message for :func:`enqueue_many`: to whom in the app, and whether to the channels too."""

    message: Message
    recipient_ids: Sequence[int]
    alert_id: int | None = None
    push: bool = True


_MESSAGE_FIELDS = tuple(f.name for f in dataclasses.fields(Message))


def message_to_json(message: Message) -> dict:
    """The stored form of a message (outbox and inbox rows): every field, JSON-ready.

    Field by field rather than ``dataclasses.asdict``, which deep-copies recursively and cost
    more than the insert itself when a sweep raises hundreds of alerts.
    """
    data = {name: getattr(message, name) for name in _MESSAGE_FIELDS}
    data["facts"] = dict(message.facts)
    return data


def message_from_json(data: dict) -> Message:
    """The inverse of :func:`message_to_json`; unknown keys (from a newer version) are ignored."""
    return Message(**{k: v for k, v in data.items() if k in _MESSAGE_FIELDS})


def enqueue(
    enterprise_id: int, message: Message, recipient_ids: Sequence[int], alert_id: int | None = None, *, push: bool = True
) -> None:
    """Notify: one in-app notification per recipient, one outbox row per active channel.

    ``push=False`` keeps it in the app (no channel rows): blue alerts wait for the daily digest
    instead of ringing every group chat. See :func:`enqueue_many`, which this is one of.
    """
    enqueue_many(enterprise_id, [Outgoing(message, recipient_ids, alert_id, push)])


def enqueue_many(enterprise_id: int, items: Sequence[Outgoing]) -> None:
    """Notify many at once, in order: a few statements however many messages (a sweep at
    midnight may raise hundreds of alerts in one transaction).

    Runs in the caller's transaction and only flushes. Recipients must be users of the
    enterprise (anything else is a programming error: ``ValueError``); inactive users and
    repeated ids are skipped. Each channel's counter row advances once by the number of pushed
    messages, and stays locked until the caller's transaction ends, so numbers follow commit order
    without holes; channels are taken in id order so two concurrent writers cannot deadlock.
    """
    if not items:
        return
    now = clock.now()
    payloads = [message_to_json(item.message) for item in items]
    wanted = sorted({uid for item in items for uid in item.recipient_ids})
    if wanted:
        users = dict(
            db.session.execute(sa.select(User.id, User.active).where(User.enterprise_id == enterprise_id, User.id.in_(wanted))).all()
        )
        unknown = set(wanted) - set(users)
        if unknown:
            raise ValueError(f"recipients {sorted(unknown)} are not users of enterprise {enterprise_id}")
        inbox = [
            {"enterprise_id": enterprise_id, "user_id": uid, "alert_id": item.alert_id, "message": payload, "created_at": now}
            for item, payload in zip(items, payloads)
            for uid in sorted(set(item.recipient_ids))
            if users[uid]
        ]
        if inbox:
            db.session.execute(sa.insert(Notification), inbox)
    pushed = [(item, payload) for item, payload in zip(items, payloads) if item.push]
    if not pushed:
        return
    channel_ids = db.session.scalars(
        sa.select(Channel.id).where(Channel.enterprise_id == enterprise_id, Channel.active.is_(True)).order_by(Channel.id)
    ).all()
    for channel_id in channel_ids:
        _append(enterprise_id, channel_id, [(payload, item.alert_id) for item, payload in pushed], now)


def _append(enterprise_id: int, channel_id: int, messages: list[tuple[dict, int | None]], now: datetime) -> int:
    """Write outbox rows for one channel with its next sequence numbers (the counter row stays
    locked); returns the first number used."""
    last = db.session.execute(_ADVANCE, {"c": channel_id, "n": len(messages)}).scalar_one()
    first = last - len(messages) + 1
    db.session.execute(
        sa.insert(OutboxEntry),
        [
            {
                "enterprise_id": enterprise_id, "channel_id": channel_id, "seq": first + i, "alert_id": alert_id, "message": payload,
                "status": OutboxStatus.PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now,
            }
            for i, (payload, alert_id) in enumerate(messages)
        ],
    )
    return first


# --- channels (admin) ------------------------------------------------------------------------

_NEEDS_URL = frozenset({ChannelKind.WEBHOOK, ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.FEISHU})


def _check_channel(kind: ChannelKind, url: str | None, secret: str | None, recipients: list[str] | None) -> None:
    """What each kind needs, for create and update alike (the schema has checked each field's shape)."""
    errors: dict[str, list[str]] = {}
    if kind in _NEEDS_URL and not url:
        errors["url"] = ["必填 / Required for this kind of channel"]
    if kind is ChannelKind.WEBHOOK and not secret:
        errors["secret"] = ["通用 Webhook 必须设置签名密钥 / A webhook needs a signing secret"]
    if kind is ChannelKind.WECOM and secret:
        errors["secret"] = ["企业微信群机器人不支持签名，密钥在 URL 的 key 中 / WeCom robots have no signing; the URL's key is the credential"]
    if kind is ChannelKind.EMAIL:
        if url:
            errors["url"] = ["邮件渠道不使用 URL / E-mail channels take no URL"]
        if not recipients:
            errors["recipients"] = ["至少一个收件人 / At least one recipient"]
    elif recipients:
        errors["recipients"] = ["仅邮件渠道有收件人 / Only e-mail channels have recipients"]
    if errors:
        raise ZichaError("validation_failed", errors)
    if kind is ChannelKind.EMAIL and not current_app.config.get("SMTP_HOST"):
        raise ZichaError("smtp_not_configured")


def create_channel(enterprise_id: int, data: dict) -> Channel:
    """A new channel, with its counter at 0: its first notification will be seq 1."""
    kind = data["kind"]
    recipients = data.get("recipients") or []
    _check_channel(kind, data.get("url"), data.get("secret"), recipients)
    now = clock.now()
    channel = Channel(
        enterprise_id=enterprise_id, kind=kind, name=data["name"], language=data.get("language", "zh"),
        url=data.get("url"), secret=data.get("secret"), config={"to": recipients} if kind is ChannelKind.EMAIL else {},
        active=data.get("active", True), created_at=now, updated_at=now,
    )
    db.session.add(channel)
    db.session.flush()
    db.session.add(ChannelCounter(channel_id=channel.id, value=0))
    db.session.flush()
    return channel


def update_channel(enterprise_id: int, channel_id: int, data: dict) -> Channel:
    """Change a channel; ``active: false`` deactivates it (nothing is deleted: its outbox history
    stays, and pending rows wait until it is active again). A secret not given is kept."""
    channel = get_owned(Channel, channel_id, enterprise_id)
    recipients = data["recipients"] if "recipients" in data else channel.config.get("to")
    _check_channel(channel.kind, data.get("url", channel.url), data.get("secret", channel.secret), recipients)
    for key in ("name", "language", "url", "secret", "active"):
        if key in data:
            setattr(channel, key, data[key])
    if "recipients" in data:
        channel.config = {"to": data["recipients"]}
    channel.updated_at = clock.now()
    db.session.flush()
    return channel


def list_channels(enterprise_id: int) -> list[Channel]:
    return list(db.session.scalars(sa.select(Channel).where(Channel.enterprise_id == enterprise_id).order_by(Channel.id)))


def channel_test_message(channel: Channel) -> Message:
    """What "send test" sends: says which channel it came through, in both languages."""
    return Message(
        kind="test",
        title_zh="自查测试通知",
        title_en="Zicha test notification",
        text_zh=f"这是一条测试通知。收到它，说明渠道「{channel.name}」配置正确。",
        text_en=f"This is a test notification. Receiving it means the channel “{channel.name}” is set up correctly.",
        facts={"channel_id": channel.id},
    )


def send_test(enterprise_id: int, channel_id: int) -> OutboxEntry:
    """Enqueue a test message to this one channel, through the same outbox as everything else."""
    channel = get_owned(Channel, channel_id, enterprise_id)
    if not channel.active:
        raise ZichaError("channel_inactive")
    seq = _append(enterprise_id, channel.id, [(message_to_json(channel_test_message(channel)), None)], clock.now())
    return db.session.scalar(sa.select(OutboxEntry).where(OutboxEntry.channel_id == channel.id, OutboxEntry.seq == seq))


def replay(enterprise_id: int, channel_id: int, from_seq: int) -> tuple[int, int]:
    """Queue every row of the channel from ``from_seq`` on to be sent again, in order, with the
    same ids and numbers (delivered and dead alike; attempts start over). Returns (rows queued,
    last seq). A receiver that found a gap asks for this."""
    channel = get_owned(Channel, channel_id, enterprise_id)
    queued = db.session.execute(
        sa.update(OutboxEntry)
        .where(OutboxEntry.channel_id == channel_id, OutboxEntry.enterprise_id == enterprise_id, OutboxEntry.seq >= from_seq)
        .values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=clock.now(), last_error=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    return queued, channel.counter.value


def list_outbox(enterprise_id: int, channel_id: int, query: dict) -> list[OutboxEntry]:
    """The channel's outbox in seq order (dead rows included: they stay visible), paged by seq."""
    get_owned(Channel, channel_id, enterprise_id)
    stmt = sa.select(OutboxEntry).where(
        OutboxEntry.channel_id == channel_id, OutboxEntry.enterprise_id == enterprise_id, OutboxEntry.seq > query.get("after_seq", 0)
    )
    if query.get("status"):
        stmt = stmt.where(OutboxEntry.status == query["status"])
    return list(db.session.scalars(stmt.order_by(OutboxEntry.seq).limit(query["limit"])))


def recent_deliveries(enterprise_id: int, channel_ids: Sequence[int], limit: int = 10) -> dict[int, list[OutboxEntry]]:
    """The last ``limit`` outbox rows of each channel, newest first (what the dashboard shows:
    whether the last messages — a test among them — were delivered, and the error if not)."""
    if not channel_ids:
        return {}
    ranked = (
        sa.select(OutboxEntry.id, sa.func.row_number().over(partition_by=OutboxEntry.channel_id, order_by=OutboxEntry.seq.desc()).label("n"))
        .where(OutboxEntry.enterprise_id == enterprise_id, OutboxEntry.channel_id.in_(channel_ids))
        .subquery()
    )
    rows = db.session.scalars(
        sa.select(OutboxEntry).join(ranked, ranked.c.id == OutboxEntry.id).where(ranked.c.n <= limit).order_by(OutboxEntry.seq.desc())
    )
    found: dict[int, list[OutboxEntry]] = {channel_id: [] for channel_id in channel_ids}
    for row in rows:
        found[row.channel_id].append(row)
    return found


# --- the in-app inbox --------------------------------------------------------------------------


def list_notifications(enterprise_id: int, user_id: int, query: dict) -> list[Notification]:
    """The caller's own notifications, newest first; ``unread`` keeps the unread ones."""
    stmt = sa.select(Notification).where(Notification.enterprise_id == enterprise_id, Notification.user_id == user_id)
    if query.get("unread"):
        stmt = stmt.where(Notification.read_at.is_(None))
    if query.get("before_id"):
        stmt = stmt.where(Notification.id < query["before_id"])
    return list(db.session.scalars(stmt.order_by(Notification.id.desc()).limit(query["limit"])))


def mark_read(enterprise_id: int, user_id: int, notification_id: int) -> Notification:
    """Mark one of the caller's notifications read (the first time counts; again changes nothing).
    Someone else's notification is ``not_found``, like another tenant's."""
    notification = get_owned(Notification, notification_id, enterprise_id)
    if notification.user_id != user_id:
        raise ZichaError("not_found")
    if notification.read_at is None:
        notification.read_at = clock.now()
        db.session.flush()
    return notification
