import marshmallow as ma
from marshmallow import fields, validate

from sync.periods import Frequency

_MINUTES = validate.Range(min=0, max=366 * 24 * 60)


class ScheduleIn(ma.Schema):
    post_id = fields.Integer(required=True, strict=True)
    checklist_id = fields.Integer(required=True, strict=True)
    frequency = fields.Enum(Frequency, by_value=True, required=True)
    due_start_minutes = fields.Integer(load_default=0, strict=True, validate=_MINUTES, metadata={"description": "Window opens this many minutes after the period starts"})
    due_end_minutes = fields.Integer(load_default=None, allow_none=True, strict=True, validate=_MINUTES, metadata={"description": "Window closes this many minutes after the period starts (null: period end)"})
    responsible_id = fields.Integer(load_default=None, allow_none=True, strict=True, metadata={"description": "Who answers for it; null means the post's supervisor"})


class SchedulePatch(ma.Schema):
    due_start_minutes = fields.Integer(strict=True, validate=_MINUTES)
    due_end_minutes = fields.Integer(allow_none=True, strict=True, validate=_MINUTES)
    responsible_id = fields.Integer(allow_none=True, strict=True)
    active = fields.Boolean()


class ScheduleOut(ma.Schema):
    id = fields.Integer()
    post_id = fields.Integer()
    checklist_id = fields.Integer()
    frequency = fields.Enum(Frequency, by_value=True)
    due_start_minutes = fields.Integer()
    due_end_minutes = fields.Integer(allow_none=True)
    responsible_id = fields.Integer(allow_none=True)
    active = fields.Boolean()


class ScheduleQuery(ma.Schema):
    post_id = fields.Integer()
