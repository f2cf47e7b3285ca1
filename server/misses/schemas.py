"""Request and response shapes of missed checks and pauses."""
import marshmallow as ma
from marshmallow import fields, validate

from server import clock
from server.misses.models import MissStatus
from server.posts.models import RiskLevel
from sync.periods import Frequency


class MissQuery(ma.Schema):
    status = fields.Enum(MissStatus, by_value=True, metadata={"description": "missed 漏检 / done_late 补检（迟报）"})
    post_id = fields.Integer()
    site_id = fields.Integer()
    schedule_id = fields.Integer()
    frequency = fields.Enum(Frequency, by_value=True)
    since = fields.AwareDateTime(metadata={"description": "Periods that closed at or after this moment"})
    until = fields.AwareDateTime(metadata={"description": "Periods that closed before this moment"})


class MissPostOut(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    site_id = fields.Integer()
    risk_level = fields.Enum(RiskLevel, by_value=True)
    risk_level_zh = fields.Function(lambda post: RiskLevel(post.risk_level).zh, metadata={"description": "重大风险 / 较大风险 / 一般风险 / 低风险"})
    supervisor_id = fields.Integer(allow_none=True)


class MissOut(ma.Schema):
    id = fields.Integer()
    schedule_id = fields.Integer()
    post = fields.Nested(MissPostOut)
    frequency = fields.Enum(Frequency, by_value=True)
    period_key = fields.String(metadata={"description": "The period in the enterprise's calendar, e.g. 2026-11-23, 2026-W48, 2026-11"})
    period_start = fields.AwareDateTime()
    period_end = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(metadata={"description": "When the period closed with no check (write-once)"})
    detected_at = fields.AwareDateTime(metadata={"description": "When the sweep recorded the miss (write-once)"})
    status = fields.Enum(MissStatus, by_value=True)
    status_zh = fields.Function(lambda miss: MissStatus(miss.status).zh, metadata={"description": "漏检 / 补检/迟报"})
    late_check_id = fields.UUID(allow_none=True, metadata={"description": "done_late: the check that arrived late"})
    late_performed_at = fields.AwareDateTime(allow_none=True, metadata={"description": "done_late: when that check was made (server's estimate)"})
    late_received_at = fields.AwareDateTime(allow_none=True, metadata={"description": "done_late: when it reached the server"})
    corrected_at = fields.AwareDateTime(allow_none=True, metadata={"description": "done_late: when this record was corrected"})


class PauseIn(ma.Schema):
    post_id = fields.Integer(strict=True, allow_none=True, load_default=None, metadata={"description": "Pause a whole post (give this or schedule_id)"})
    schedule_id = fields.Integer(strict=True, allow_none=True, load_default=None, metadata={"description": "Pause one schedule (give this or post_id)"})
    reason = fields.String(required=True, validate=validate.Length(1, 500), metadata={"description": "Why, e.g. 停产检修 / 设备停用"})
    starts_at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={"description": "Default: now"})
    ends_at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={"description": "Default: until lifted"})


class PauseEnd(ma.Schema):
    ends_at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={"description": "Default: now; not in the past"})


class PauseOut(ma.Schema):
    id = fields.Integer()
    post_id = fields.Integer(allow_none=True)
    schedule_id = fields.Integer(allow_none=True)
    reason = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime(allow_none=True)
    in_force = fields.Function(
        lambda pause: pause.starts_at <= clock.now() and (pause.ends_at is None or clock.now() < pause.ends_at),
        metadata={"description": "Whether the pause is in force now"},
    )
    created_by_id = fields.Integer()
    created_at = fields.AwareDateTime()
    ended_by_id = fields.Integer(allow_none=True)
    ended_at = fields.AwareDateTime(allow_none=True)


class PauseQuery(ma.Schema):
    post_id = fields.Integer()
    schedule_id = fields.Integer()
    active = fields.Boolean(metadata={"description": "true: only pauses in force now; false: only the others"})
