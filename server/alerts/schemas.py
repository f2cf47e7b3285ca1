import marshmallow as ma
from marshmallow import fields, validate

from server.alerts.models import AlertKind, AlertStatus
from server.posts.models import RiskLevel

_NOTE = validate.Length(max=2000)
_MINUTES = validate.Range(min=1, max=31 * 24 * 60)


class AlertQuery(ma.Schema):
    status = fields.Enum(AlertStatus, by_value=True)
    kind = fields.String(validate=validate.OneOf([k.value for k in AlertKind]))
    level = fields.Integer(validate=validate.Range(0, 2), metadata={"description": "0 supervisor, 1 safety managers, 2 enterprise head"})
    post_id = fields.Integer()
    since = fields.AwareDateTime(metadata={"description": "Created at or after"})
    all = fields.Boolean(load_default=False, metadata={"description": "Every alert of the enterprise, not only the caller's (managers)"})


class AckIn(ma.Schema):
    note = fields.String(load_default="", validate=_NOTE)


class ResolveIn(ma.Schema):
    note = fields.String(required=True, validate=validate.Length(1, 2000), metadata={"description": "What was done (处理说明)"})


class AlertOut(ma.Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "missed_check, failed_item (later overdue_hazard, report)"})
    post_id = fields.Integer(allow_none=True)
    post_name = fields.Function(lambda a: a.post.name if a.post else None, allow_none=True)
    risk_level = fields.Enum(RiskLevel, by_value=True)
    missed_check_id = fields.Integer(allow_none=True)
    check_id = fields.UUID(allow_none=True)
    schedule_id = fields.Integer(allow_none=True)
    period_key = fields.String(allow_none=True)
    title_zh = fields.String()
    title_en = fields.String()
    summary_zh = fields.String()
    summary_en = fields.String()
    status = fields.Enum(AlertStatus, by_value=True)
    level = fields.Integer(metadata={"description": "Reached so far: 0 supervisor, 1 safety managers, 2 enterprise head"})
    escalate_at = fields.AwareDateTime(allow_none=True, metadata={"description": "When it climbs next unless acknowledged"})
    created_at = fields.AwareDateTime()
    corrected_at = fields.AwareDateTime(allow_none=True, metadata={"description": "When a late check corrected the miss"})


class RecipientOut(ma.Schema):
    user_id = fields.Integer()
    display_name = fields.Function(lambda r: r.user.display_name)
    level = fields.Integer()
    added_at = fields.AwareDateTime()


class EventOut(ma.Schema):
    kind = fields.String(metadata={"description": "created, escalated, acknowledged, resolved, corrected"})
    at = fields.AwareDateTime()
    actor_id = fields.Integer(allow_none=True)
    level = fields.Integer()
    note = fields.String()


class AlertDetailOut(AlertOut):
    recipients = fields.List(fields.Nested(RecipientOut))
    events = fields.List(fields.Nested(EventOut))


class SettingsIn(ma.Schema):
    """The whole settings document: a field left out goes back to its default."""

    head_user_id = fields.Integer(load_default=None, allow_none=True, strict=True, metadata={"description": "企业负责人; null: the admins stand in"})
    red_minutes = fields.Integer(load_default=60, allow_none=True, strict=True, validate=_MINUTES)
    orange_minutes = fields.Integer(load_default=240, allow_none=True, strict=True, validate=_MINUTES)
    yellow_minutes = fields.Integer(load_default=1440, allow_none=True, strict=True, validate=_MINUTES)
    blue_minutes = fields.Integer(load_default=None, allow_none=True, strict=True, validate=_MINUTES, metadata={"description": "null: never escalates (daily digest)"})
    digest_hour = fields.Integer(load_default=7, strict=True, validate=validate.Range(0, 23), metadata={"description": "Local hour from which yesterday's digest goes out"})


class SettingsOut(ma.Schema):
    head_user_id = fields.Integer(allow_none=True)
    effective_head_ids = fields.List(fields.Integer(), metadata={"description": "Who stands at level 2 now"})
    red_minutes = fields.Integer(allow_none=True)
    orange_minutes = fields.Integer(allow_none=True)
    yellow_minutes = fields.Integer(allow_none=True)
    blue_minutes = fields.Integer(allow_none=True)
    digest_hour = fields.Integer()


class AlertQueueQuery(AlertQuery):
    """The dashboard's alert queue: the listing's filters, the tab and the page. Managers see the
    enterprise's alerts unless they ask for ``mine`` (their own inbox)."""

    tab = fields.String(load_default="todo", validate=validate.OneOf(["todo", "resolved"]), metadata={"description": "todo: open and acknowledged; resolved"})
    mine = fields.Boolean(load_default=False, metadata={"description": "Managers: only the alerts that reached me"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
