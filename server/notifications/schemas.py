"""Shapes of the notification API: channels (admin), their outbox, the caller's inbox.

Channel secrets — the signing ``secret`` and the ``url`` (a robot's URL carries its access token)
— are accepted on the way in and never sent back: answers carry ``url_hint`` (scheme and host)
and ``has_secret`` only.
"""
import urllib.parse

import marshmallow as ma
from marshmallow import fields, validate

from server.errors import prefers_english
from server.notifications.models import ChannelKind, OutboxStatus

_NAME = validate.Length(1, 100)
_LANGUAGE = validate.OneOf(["zh", "en"])
_SECRET = validate.Length(1, 200)
_RECIPIENTS = validate.Length(1, 20)
_PAGE = validate.Range(1, 200)


def _url(value: str) -> None:
    """Only http(s) with a host; 127.0.0.1 and intranet hosts are allowed (on-premises receivers)."""
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 1000:
        raise ma.ValidationError("需要 http(s) 地址 / An http(s) URL is required")


class ChannelIn(ma.Schema):
    kind = fields.Enum(ChannelKind, by_value=True, required=True, metadata={"description": "webhook 通用 / wecom 企业微信 / dingtalk 钉钉 / feishu 飞书 / email 邮件"})
    name = fields.String(required=True, validate=_NAME)
    language = fields.String(load_default="zh", validate=_LANGUAGE, metadata={"description": "Language messages are rendered in: zh or en"})
    url = fields.String(load_default=None, allow_none=True, validate=_url, load_only=True, metadata={"description": "Webhook or robot URL (write-only: it carries the robot's token)"})
    secret = fields.String(load_default=None, allow_none=True, validate=_SECRET, load_only=True, metadata={"description": "Signing secret (write-only): webhook HMAC, DingTalk 加签, Feishu 签名校验"})
    recipients = fields.List(fields.Email(), load_default=list, validate=_RECIPIENTS, metadata={"description": "E-mail channels: addresses to send to"})
    active = fields.Boolean(load_default=True)


class ChannelPatch(ma.Schema):
    name = fields.String(validate=_NAME)
    language = fields.String(validate=_LANGUAGE)
    url = fields.String(allow_none=True, validate=_url, load_only=True)
    secret = fields.String(allow_none=True, validate=_SECRET, load_only=True, metadata={"description": "Replaces the secret; leave out to keep it"})
    recipients = fields.List(fields.Email(), validate=_RECIPIENTS)
    active = fields.Boolean(metadata={"description": "false deactivates the channel (nothing is deleted)"})


def url_hint(url: str | None) -> str | None:
    """Enough of a URL to recognise it, nothing that authenticates: ``https://host/…``."""
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"


class ChannelOut(ma.Schema):
    id = fields.Integer()
    kind = fields.Enum(ChannelKind, by_value=True)
    name = fields.String()
    language = fields.String()
    url_hint = fields.Function(lambda c: url_hint(c.url), allow_none=True, metadata={"description": "Scheme and host of the URL; the URL itself is never returned"})
    has_secret = fields.Function(lambda c: bool(c.secret))
    recipients = fields.Function(lambda c: c.config.get("to", []))
    active = fields.Boolean()
    last_seq = fields.Function(lambda c: c.counter.value if c.counter else 0, metadata={"description": "The last sequence number handed out on this channel"})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class ReplayIn(ma.Schema):
    from_seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class ReplayOut(ma.Schema):
    channel_id = fields.Integer()
    from_seq = fields.Integer()
    queued = fields.Integer(metadata={"description": "Rows queued to be sent again"})
    last_seq = fields.Integer()


class OutboxQuery(ma.Schema):
    status = fields.Enum(OutboxStatus, by_value=True)
    after_seq = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=50, validate=_PAGE)


class OutboxOut(ma.Schema):
    id = fields.UUID(attribute="uuid", metadata={"description": "The idempotency id receivers get (X-Zicha-Id)"})
    seq = fields.Integer()
    status = fields.Enum(OutboxStatus, by_value=True)
    attempts = fields.Integer()
    next_attempt_at = fields.AwareDateTime()
    last_error = fields.String(allow_none=True)
    alert_id = fields.Integer(allow_none=True)
    kind = fields.Function(lambda o: o.message.get("kind"))
    title = fields.Function(lambda o: o.message.get("title_zh"))
    created_at = fields.AwareDateTime()
    delivered_at = fields.AwareDateTime(allow_none=True)


class NotificationQuery(ma.Schema):
    unread = fields.Boolean(load_default=False)
    before_id = fields.Integer(validate=validate.Range(min=1), metadata={"description": "Page: notifications older than this id"})
    limit = fields.Integer(load_default=50, validate=_PAGE)


class NotificationOut(ma.Schema):
    """One inbox entry; ``title``/``text`` follow Accept-Language, both languages are there too."""

    id = fields.Integer()
    alert_id = fields.Integer(allow_none=True)
    kind = fields.Function(lambda n: n.message.get("kind"))
    level = fields.Function(lambda n: n.message.get("level"))
    title = fields.Function(lambda n: n.message.get("title_en" if prefers_english() else "title_zh"))
    text = fields.Function(lambda n: n.message.get("text_en" if prefers_english() else "text_zh"))
    title_zh = fields.Function(lambda n: n.message.get("title_zh"))
    title_en = fields.Function(lambda n: n.message.get("title_en"))
    text_zh = fields.Function(lambda n: n.message.get("text_zh"))
    text_en = fields.Function(lambda n: n.message.get("text_en"))
    link = fields.Function(lambda n: n.message.get("link"))
    facts = fields.Function(lambda n: n.message.get("facts"))
    created_at = fields.AwareDateTime()
    read_at = fields.AwareDateTime(allow_none=True)
