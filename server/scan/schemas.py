import marshmallow as ma
from marshmallow import fields

from server.checklists.schemas import Serialised, VersionContentOut
from server.posts.schemas import PostOut
from sync.periods import Frequency
from sync.windows import DueState


class PeriodOut(ma.Schema):
    key = fields.String(metadata={"description": "e.g. 2026-11-23, 2026-W48, 2026-11, 2026-Q4, 2026, 2026-11-23-S2"})
    start = fields.AwareDateTime()
    end = fields.AwareDateTime()


class DueScheduleOut(ma.Schema):
    schedule_id = fields.Integer()
    frequency = fields.Enum(Frequency, by_value=True)
    checklist_id = fields.Integer()
    checklist_name = fields.String()
    period = fields.Nested(PeriodOut)
    opens_at = fields.AwareDateTime()
    closes_at = fields.AwareDateTime()
    state = fields.Enum(DueState, by_value=True)
    checks_in_period = fields.Integer()
    version = Serialised(VersionContentOut, metadata={"description": "The checklist version a check must be made with"})


class ScanOut(ma.Schema):
    post = fields.Nested(PostOut)
    now = fields.AwareDateTime()
    schedules = fields.List(fields.Nested(DueScheduleOut))
