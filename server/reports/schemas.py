"""Request and response shapes of family reports, split by audience: what the public form sends
and may learn (``ReportIn``, ``ReceiptOut``, ``ReceiptStatusOut``) and what the enterprise's
queue reads and does. No shape carries a sealed contact's ciphertext, a receipt's hash, or —
in the public ones — any user's name or id."""
import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from server.hazards.models import HazardType
from server.reports.models import ReportStatus, RewardStatus

_MONEY = {"places": 2, "as_string": True}


def _optional_id(**kwargs):
    return fields.Integer(allow_none=True, load_default=None, **kwargs)


# --------------------------------------------------------------------------- the public side


class ReportIn(ma.Schema):
    """A family report as the public form sends it (``multipart/form-data``; a browser without
    JavaScript can send it). Fields the form does not know (a CSRF token, status, anything) are
    ignored, never stored."""

    class Meta:
        unknown = ma.EXCLUDE

    description = fields.String(required=True, validate=validate.Length(1, 2000), metadata={"description": "什么隐患 / what the hazard is"})
    site_id = _optional_id(metadata={"description": "One of the enterprise's sites (the form's list); empty: not chosen"})
    location = fields.String(load_default="", validate=validate.Length(max=300), metadata={"description": "具体位置 / where, in the reporter's words"})
    anonymous = fields.Boolean(load_default=False, metadata={"description": "匿名: when true any contact given is dropped, not stored"})
    contact = fields.String(load_default="", validate=validate.Length(max=200), metadata={"description": "联系方式 (optional): sealed, readable only by the enterprise's designated readers"})
    concerns_supervisor = fields.Boolean(load_default=False, metadata={"description": "反映的是该区域负责人: no supervisor sees the report; only safety managers and the head hear of it"})
    photos = fields.List(Upload(), load_default=list, metadata={"description": "Photos (JPEG, PNG, WebP, HEIC); re-encoded, all metadata stripped"})

    @ma.pre_load
    def _blank_is_none(self, data, **_kwargs):
        # An HTML select left at its empty option sends site_id="".
        if data.get("site_id") == "":
            data = {k: data.get(k) for k in data}
            data["site_id"] = None
        return data

    @ma.validates_schema
    def _no_nul(self, data, **_kwargs):
        # PostgreSQL cannot store NUL in text; refuse it here, as the guards do for JSON bodies.
        bad = [name for name, value in data.items() if isinstance(value, str) and "\x00" in value]
        if bad:
            raise ma.ValidationError({name: ["NUL characters are not allowed"] for name in bad})


class ReceiptOut(ma.Schema):
    receipt = fields.String(metadata={"description": "回执码, e.g. JB7K-3QXM-9T2C-W4PD: shown this once, never again (only its hash is kept)"})
    submitted_at = fields.AwareDateTime()


class ReceiptIn(ma.Schema):
    # No length rule: a code of any wrong shape is the same 404 as an unknown one.
    receipt = fields.String(required=True, metadata={"description": "The receipt code; case, dashes and spaces do not matter"})


class PublicRewardOut(ma.Schema):
    amount = fields.Decimal(**_MONEY, metadata={"description": "元"})
    status = fields.Enum(RewardStatus, by_value=True, metadata={"description": "granted 已批准 / paid 已发放"})
    status_zh = fields.Function(lambda r: r.status.zh)
    granted_at = fields.AwareDateTime()
    paid_at = fields.AwareDateTime(allow_none=True)


class ReceiptStatusOut(ma.Schema):
    """What a receipt code may learn: never who handled the report."""

    enterprise_name = fields.String()
    status = fields.Enum(ReportStatus, by_value=True, metadata={"description": "received 已受理 / confirmed 已确认 / fixing 整改中 / fixed 已整改 / not_hazard 不属实"})
    status_zh = fields.Function(lambda s: s.status.zh)
    status_en = fields.Function(lambda s: s.status.en)
    reply = fields.String(metadata={"description": "企业答复"})
    replied_at = fields.AwareDateTime(allow_none=True)
    submitted_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    rewards = fields.List(fields.Nested(PublicRewardOut))


class SiteChoiceOut(ma.Schema):
    id = fields.Integer()
    name = fields.String()


class PublicFormOut(ma.Schema):
    enterprise_name = fields.String()
    sites = fields.List(fields.Nested(SiteChoiceOut))
    max_photos = fields.Integer()
    max_photo_bytes = fields.Integer()


# --------------------------------------------------------------------------- the queue


class ReportQuery(ma.Schema):
    status = fields.Enum(ReportStatus, by_value=True, metadata={"description": "As the reporter sees it (follows the hazard once confirmed)"})
    site_id = fields.Integer()
    concerns_supervisor = fields.Boolean()
    has_contact = fields.Boolean()
    since = fields.AwareDateTime(metadata={"description": "Arrived at or after"})
    until = fields.AwareDateTime(metadata={"description": "Arrived before"})


class ReportPhotoOut(ma.Schema):
    sha256 = fields.String(metadata={"description": "SHA-256 of the stored (re-encoded) display copy"})
    width = fields.Integer()
    height = fields.Integer()
    byte_size = fields.Integer()


class ReportOut(ma.Schema):
    id = fields.Integer()
    status = fields.Function(lambda r: r.progress.value, metadata={"description": "received / confirmed / fixing / fixed / not_hazard"})
    status_zh = fields.Function(lambda r: r.progress.zh)
    description = fields.String()
    site_id = fields.Integer(allow_none=True)
    site_name = fields.Function(lambda r: None if r.site is None else r.site.name)
    location = fields.String()
    anonymous = fields.Boolean()
    has_contact = fields.Boolean(metadata={"description": "A sealed contact exists (read it through POST /reports/<id>/contact)"})
    concerns_supervisor = fields.Boolean()
    hazard_id = fields.Integer(allow_none=True)
    hazard_number = fields.Function(lambda r: None if r.hazard is None else r.hazard.number)
    reply = fields.String()
    replied_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    photos = fields.List(fields.Nested(ReportPhotoOut))


class RewardOut(PublicRewardOut):
    id = fields.Integer()
    note = fields.String()
    granted_by_id = fields.Integer()
    paid_by_id = fields.Integer(allow_none=True)


class ReportEventOut(ma.Schema):
    id = fields.Integer()
    action = fields.String(metadata={"description": "received / confirmed / rejected / replied / reward_granted / reward_paid"})
    at = fields.AwareDateTime()
    actor_id = fields.Integer(allow_none=True)
    note = fields.String()


class ReportDetailOut(ReportOut):
    rewards = fields.List(fields.Nested(RewardOut))
    events = fields.List(fields.Nested(ReportEventOut), metadata={"description": "The triage history, oldest first (append-only)"})


class ReportConfirmIn(ma.Schema):
    type = fields.Enum(HazardType, by_value=True, load_default=HazardType.OTHER, metadata={"description": "The hazard's category"})
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 2000), metadata={"description": "The hazard's description; default: the report's"})
    reply = fields.String(load_default="", validate=validate.Length(max=2000), metadata={"description": "Answer to the reporter (optional)"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ReportRejectIn(ma.Schema):
    reply = fields.String(required=True, validate=validate.Length(1, 2000), metadata={"description": "Why it is not a hazard: the reporter reads this"})
    note = fields.String(load_default="", validate=validate.Length(max=2000), metadata={"description": "Internal note"})


class ReplyIn(ma.Schema):
    reply = fields.String(required=True, validate=validate.Length(1, 2000))


class RewardIn(ma.Schema):
    amount = fields.Decimal(required=True, validate=validate.Range(min=0, min_inclusive=False, max=10**9), metadata={"description": "元"}, **_MONEY)
    note = fields.String(load_default="", validate=validate.Length(max=2000), metadata={"description": "Internal; the reporter sees amount, status and dates"})


class PayIn(ma.Schema):
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ContactOut(ma.Schema):
    report_id = fields.Integer()
    contact = fields.String(allow_none=True, metadata={"description": "The contact the reporter left; null: none"})
    read_at = fields.AwareDateTime()


class ContactLogQuery(ma.Schema):
    report_id = fields.Integer()
    user_id = fields.Integer()
    action = fields.String(validate=validate.OneOf(["read", "readers_changed"]))


class ContactAccessOut(ma.Schema):
    id = fields.Integer()
    report_id = fields.Integer(allow_none=True)
    user_id = fields.Integer()
    action = fields.String(metadata={"description": "read / readers_changed"})
    at = fields.AwareDateTime()
    details = fields.Dict()


class ReportSettingsOut(ma.Schema):
    link_token = fields.String()
    public_url = fields.String(metadata={"description": "The public report page: print it (or its QR) on notices"})
    link_rotated_at = fields.AwareDateTime()
    contact_reader_ids = fields.List(fields.Integer(), metadata={"description": "Who may read sealed contacts now"})
    readers_default = fields.Boolean(metadata={"description": "true: the enterprise head of the alert settings (none named: nobody)"})
    updated_at = fields.AwareDateTime()


class ReportSettingsIn(ma.Schema):
    contact_reader_ids = fields.List(fields.Integer(strict=True), required=True, allow_none=True, validate=validate.Length(max=20),
                                     metadata={"description": "Users who may read sealed contacts; null: back to the enterprise head"})


class ReportQueueQuery(ReportQuery):
    """The dashboard's triage queue: the listing's filters and the page."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
