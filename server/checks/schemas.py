import marshmallow as ma
from marshmallow import fields, validate

from server.accounts.schemas import UserBrief
from sync.periods import Frequency
from sync.records import CheckRecordSchema


class CheckIn(CheckRecordSchema):
    """A check as the device sends it (the sync record, protocol v1)."""


class AnswerOut(ma.Schema):
    item_id = fields.String()
    value = fields.Raw()
    ok = fields.Boolean(allow_none=True)
    note = fields.String()
    photos = fields.List(fields.String())


class CheckOut(ma.Schema):
    id = fields.UUID()
    outcome = fields.String(metadata={"description": "accepted (first time) or duplicate (a retry of the same record)"})
    schedule_id = fields.Integer()
    post_id = fields.Integer()
    checklist_version_id = fields.Integer()
    frequency = fields.Enum(Frequency, by_value=True)
    period_key = fields.String()
    performed_at = fields.AwareDateTime(metadata={"description": "Server's estimate of when the check was made"})
    device_time = fields.AwareDateTime(metadata={"description": "What the device's clock said"})
    received_at = fields.AwareDateTime()
    time_quality = fields.String()
    flags = fields.List(fields.String())
    ok = fields.Boolean()
    failed_count = fields.Integer()
    answers = fields.List(fields.Nested(AnswerOut))
    note = fields.String()
    status = fields.String()
    user = fields.Nested(UserBrief)


class CheckQuery(ma.Schema):
    post_id = fields.Integer()
    site_id = fields.Integer()
    schedule_id = fields.Integer()
    period_key = fields.String(validate=validate.Length(1, 32))
    frequency = fields.Enum(Frequency, by_value=True)
    ok = fields.Boolean()
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()
