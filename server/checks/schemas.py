import marshmallow as ma
from marshmallow import fields, validate

from server.accounts.schemas import UserBrief
from server.checks.models import ReviewVerdict
from server.checks.services import VERDICT_FILTERS
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
    verdict = fields.String(
        validate=validate.OneOf(VERDICT_FILTERS),
        metadata={"description": "unreviewed (no review yet), or the newest review's verdict: reviewed, questionable"},
    )
    flagged = fields.Boolean(
        metadata={"description": "true: only checks whose time was not measured from the device's uptime or that carry a flag"},
    )


class CheckPageQuery(CheckQuery):
    """The dashboard's checks page: the API's filters, plus days of the enterprise's calendar
    (``date_from`` … ``date_to``, both inclusive), ``failed`` (only checks with failed items) and
    the page number."""

    date_from = fields.Date(metadata={"description": "YYYY-MM-DD, performed on or after this day (enterprise's zone)"})
    date_to = fields.Date(metadata={"description": "YYYY-MM-DD, performed on or before this day (enterprise's zone)"})
    failed = fields.Boolean(metadata={"description": "true: only checks with failed items"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))

    @ma.validates_schema
    def _days_in_order(self, data, **_kw):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ma.ValidationError("must not be after date_to", "date_from")


class CheckReviewIn(ma.Schema):
    """A manager's verdict on a check's evidence. ``questionable`` needs a note saying why."""

    verdict = fields.Enum(ReviewVerdict, by_value=True, required=True, metadata={"description": "reviewed (已审阅) or questionable (存疑)"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class CheckReviewOut(ma.Schema):
    id = fields.Integer()
    check_id = fields.UUID()
    verdict = fields.Enum(ReviewVerdict, by_value=True)
    note = fields.String()
    reviewer = fields.Nested(UserBrief)
    at = fields.AwareDateTime(metadata={"description": "When the review was recorded (server clock)"})
