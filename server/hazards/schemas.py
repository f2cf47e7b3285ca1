"""Request and response shapes of hazards, split by direction: what a caller may set in each
step is whitelisted there (status, numbers, who did what and when are never taken from a body)."""
import marshmallow as ma
from marshmallow import fields, validate

from server.hazards.models import HazardGrade, HazardSource, HazardStatus, HazardType, RectifyMode
from sync.records import SHA256_HEX

_MONEY = {"places": 2, "as_string": True, "validate": validate.Range(min=0, max=10**11)}


def _photos():
    return fields.List(
        fields.String(validate=validate.Regexp(SHA256_HEX, error="photo must be a lowercase SHA-256 hex digest")),
        load_default=list,
        validate=validate.Length(max=20),
        metadata={"description": "SHA-256 of each photo's bytes (photos travel on their own, PUT /photos/<sha256>)"},
    )


def _labelled(enum_cls, name: str):
    return fields.Function(lambda h: None if getattr(h, name) is None else enum_cls(getattr(h, name)).zh, metadata={"description": "中文名称"})


class HazardIn(ma.Schema):
    """上报隐患."""

    description = fields.String(required=True, validate=validate.Length(1, 2000), metadata={"description": "隐患描述"})
    source = fields.Enum(HazardSource, by_value=True, load_default=HazardSource.DAILY, metadata={"description": "排查类型: daily 日常 / comprehensive 综合性 / specialized 专业性 / seasonal 季节性 / holiday 节假日前 / accident_analogy 事故类比 / resumption 复产复工前 / external_expert 外聘专家 / control_measure 管控措施实效 / report 举报 / other 其他"})
    type = fields.Enum(HazardType, by_value=True, load_default=HazardType.OTHER, metadata={"description": "隐患类别: safety 安全 / process 工艺 / electrical 电气 / instrument 仪表 / fire 消防 / equipment 设备 / other 其他"})
    post_id = fields.Integer(strict=True, allow_none=True, load_default=None)
    site_id = fields.Integer(strict=True, allow_none=True, load_default=None, metadata={"description": "Default: the post's site"})
    location = fields.String(load_default="", validate=validate.Length(max=300), metadata={"description": "Default: the post's location"})
    basis = fields.String(load_default="", validate=validate.Length(max=2000), metadata={"description": "排查依据: the rule violated"})
    found_at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={"description": "Default: now; never in the future"})
    photos = _photos()
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ConfirmIn(ma.Schema):
    grade = fields.Enum(HazardGrade, by_value=True, required=True, metadata={"description": "general 一般隐患 / major 重大隐患"})
    type = fields.Enum(HazardType, by_value=True, load_default=None, allow_none=True)
    basis = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 2000))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class RejectIn(ma.Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 2000), metadata={"description": "不属实的理由"})


class AssignIn(ma.Schema):
    """下达整改. For a 重大 hazard measures, funds, responsible_id, deadline and emergency_measures are all required (五到位)."""

    responsible_id = fields.Integer(strict=True, required=True, metadata={"description": "整改责任人"})
    responsible_department = fields.String(load_default="", validate=validate.Length(max=200), metadata={"description": "整改责任部门"})
    deadline = fields.AwareDateTime(load_default=None, allow_none=True, metadata={"description": "整改期限: required for 限期整改; 即查即改 without one: the end of today (enterprise zone)"})
    mode = fields.Enum(RectifyMode, by_value=True, load_default=RectifyMode.BY_DEADLINE, metadata={"description": "on_the_spot 即查即改 / by_deadline 限期整改"})
    measures = fields.String(load_default="", validate=validate.Length(max=4000), metadata={"description": "整改措施"})
    funds = fields.Decimal(load_default=None, allow_none=True, metadata={"description": "整改资金（元）"}, **_MONEY)
    emergency_measures = fields.String(load_default="", validate=validate.Length(max=4000), metadata={"description": "应急措施/预案"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class RectifyIn(ma.Schema):
    description = fields.String(required=True, validate=validate.Length(1, 4000), metadata={"description": "整改情况"})
    photos = _photos()
    cost = fields.Decimal(load_default=None, allow_none=True, metadata={"description": "实际整改费用（元）"}, **_MONEY)
    completed_at = fields.AwareDateTime(load_default=None, allow_none=True, metadata={"description": "整改完成时间; default now"})


class VerifyIn(ma.Schema):
    passed = fields.Boolean(required=True, metadata={"description": "true: 验收通过，销号; false: 退回重新整改"})
    note = fields.String(load_default="", validate=validate.Length(max=2000), metadata={"description": "复查意见"})
    photos = _photos()
    deadline = fields.AwareDateTime(load_default=None, allow_none=True, metadata={"description": "When failed: a new deadline (optional)"})


class HazardQuery(ma.Schema):
    status = fields.Enum(HazardStatus, by_value=True)
    grade = fields.Enum(HazardGrade, by_value=True)
    type = fields.Enum(HazardType, by_value=True)
    source = fields.Enum(HazardSource, by_value=True)
    site_id = fields.Integer()
    post_id = fields.Integer()
    check_id = fields.UUID()
    since = fields.AwareDateTime(metadata={"description": "Found at or after"})
    until = fields.AwareDateTime(metadata={"description": "Found before"})
    overdue = fields.Boolean(metadata={"description": "true: assigned and past the deadline now; false: the others"})


class HazardEventOut(ma.Schema):
    id = fields.Integer()
    action = fields.String(metadata={"description": "reported / confirmed / rejected / assigned / rectified / verified / verification_failed / overdue / described"})
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    at = fields.AwareDateTime()
    actor_id = fields.Integer(allow_none=True)
    note = fields.String()
    photos = fields.List(fields.String())
    changes = fields.Dict(metadata={"description": "{field: [old, new]}"})


class HazardOut(ma.Schema):
    id = fields.Integer()
    number = fields.String(metadata={"description": "隐患编号, e.g. YH-2026-0001"})
    client_id = fields.UUID(allow_none=True)
    status = fields.Enum(HazardStatus, by_value=True)
    status_zh = _labelled(HazardStatus, "status")
    source = fields.Enum(HazardSource, by_value=True)
    source_zh = _labelled(HazardSource, "source")
    type = fields.Enum(HazardType, by_value=True)
    type_zh = _labelled(HazardType, "type")
    grade = fields.Enum(HazardGrade, by_value=True, allow_none=True)
    grade_zh = _labelled(HazardGrade, "grade")
    found_at = fields.AwareDateTime()
    found_by_id = fields.Integer()
    site_id = fields.Integer(allow_none=True)
    post_id = fields.Integer(allow_none=True)
    location = fields.String()
    description = fields.String()
    basis = fields.String()
    check_id = fields.UUID(allow_none=True)
    check_item_id = fields.String(allow_none=True)
    photos_before = fields.List(fields.String())
    photos_after = fields.List(fields.String())
    reject_reason = fields.String(allow_none=True)
    measures = fields.String()
    funds = fields.Decimal(places=2, as_string=True, allow_none=True)
    emergency_measures = fields.String()
    responsible_department = fields.String()
    responsible_id = fields.Integer(allow_none=True)
    deadline = fields.AwareDateTime(allow_none=True)
    mode = fields.Enum(RectifyMode, by_value=True, allow_none=True)
    mode_zh = _labelled(RectifyMode, "mode")
    rectified_by_id = fields.Integer(allow_none=True)
    rectification_note = fields.String()
    completed_at = fields.AwareDateTime(allow_none=True)
    cost = fields.Decimal(places=2, as_string=True, allow_none=True)
    verifier_id = fields.Integer(allow_none=True)
    verified_at = fields.AwareDateTime(allow_none=True)
    verification_passed = fields.Boolean(allow_none=True)
    verification_note = fields.String()
    overdue_alert_id = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class HazardDetailOut(HazardOut):
    events = fields.List(fields.Nested(HazardEventOut), metadata={"description": "The whole history, oldest first (append-only)"})


class StatisticsQuery(ma.Schema):
    year = fields.Integer(load_default=None, validate=validate.Range(2000, 2100), metadata={"description": "Calendar year in the enterprise's zone; default this year"})
    quarter = fields.Integer(load_default=None, validate=validate.Range(1, 4), metadata={"description": "1–4: that quarter of the year only"})


class StatisticsCell(ma.Schema):
    found = fields.Integer(metadata={"description": "排查隐患数: found in the period, rejected ones aside"})
    rectified = fields.Integer(metadata={"description": "已整改数: now rectified (待验收) or closed (已销号)"})
    overdue = fields.Integer(metadata={"description": "逾期数: assigned and past the deadline now, or rectified after the deadline"})
    rectification_rate = fields.Float(allow_none=True, metadata={"description": "整改率 in per cent (rectified ÷ found), one decimal; null when none were found"})


class StatisticsRow(ma.Schema):
    type = fields.String(allow_none=True, metadata={"description": "The hazard type (隐患类别); null in the 合计 row"})
    type_zh = fields.String()
    general = fields.Nested(StatisticsCell, metadata={"description": "一般隐患"})
    major = fields.Nested(StatisticsCell, metadata={"description": "重大隐患"})
    ungraded = fields.Nested(StatisticsCell, metadata={"description": "未定级: reported, not yet assessed"})
    total = fields.Nested(StatisticsCell, metadata={"description": "合计"})
    rejected = fields.Integer(metadata={"description": "不属实 (rejected), counted in no other figure"})


class StatisticsOut(ma.Schema):
    """隐患排查治理统计表: rows by type, columns by grade × found / rectified / overdue, and 整改率."""

    year = fields.Integer()
    quarter = fields.Integer(allow_none=True)
    period = fields.String(metadata={"description": "The period's key, e.g. 2026 or 2026-Q4"})
    start = fields.AwareDateTime(metadata={"description": "First instant of the period (inclusive)"})
    end = fields.AwareDateTime(metadata={"description": "First instant after the period (exclusive)"})
    timezone = fields.String(metadata={"description": "The enterprise's zone the period is reckoned in"})
    as_of = fields.AwareDateTime(metadata={"description": "When the figures were counted (overdue and status are as of now)"})
    rows = fields.List(fields.Nested(StatisticsRow), metadata={"description": "One per hazard type, always all seven"})
    total = fields.Nested(StatisticsRow, metadata={"description": "合计"})


class HazardPageQuery(HazardQuery):
    """The dashboard's hazard list: the ledger's filters (an empty choice of the filter form
    means "any") and the page."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1))

    @ma.pre_load
    def _blank_is_any(self, data, **_kwargs):
        return {key: data[key] for key in data if data[key] != ""}
