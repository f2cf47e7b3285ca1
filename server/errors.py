"""The one error catalogue.

Services raise :class:`ZichaError` with a code from :data:`CATALOGUE`; this module turns it —
and every HTTP error Flask, webargs or flask-smorest raise — into the single JSON shape::

    {"error": {"code": "id_conflict", "message": "…", "details": {…}}}

Codes are stable snake_case strings that clients may branch on; messages are for people and
come in Chinese (default) or English by ``Accept-Language``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from sqlalchemy import exc as sa_exc
from flask import Flask, request
from werkzeug.exceptions import HTTPException


@dataclass(frozen=True)
class ErrorKind:
    status: int
    zh: str
    en: str


CATALOGUE: dict[str, ErrorKind] = {
    # 400
    "bad_request": ErrorKind(400, "请求格式错误", "The request is malformed"),
    "invalid_json": ErrorKind(400, "请求体不是有效的 JSON", "The request body is not valid JSON"),
    "invalid_cursor": ErrorKind(400, "同步游标无效，请不带游标重新拉取", "The sync cursor is not valid; pull again without one"),
    # 401 / 403
    "unauthorized": ErrorKind(401, "需要登录", "Sign-in required"),
    "invalid_token": ErrorKind(401, "令牌无效、已过期或已吊销", "The token is invalid, expired or revoked"),
    "invalid_credentials": ErrorKind(401, "企业、用户名或密码错误", "Wrong enterprise, username or password"),
    "device_revoked": ErrorKind(403, "该设备已被停用，请联系管理员", "This device has been revoked; ask an administrator"),
    "forbidden": ErrorKind(403, "无权执行此操作", "You may not do this"),
    "hazard_not_responsible": ErrorKind(403, "只有整改责任人或班组长可以提交整改", "Only the responsible person or a supervisor may report the rectification"),
    "report_contact_forbidden": ErrorKind(403, "只有企业指定的查看人可以查看举报人的联系方式", "Only the people the enterprise designated may read a reporter's contact"),
    # 404 / 405
    "not_found": ErrorKind(404, "未找到", "Not found"),
    "method_not_allowed": ErrorKind(405, "不支持该请求方法", "Method not allowed"),
    # 409
    "id_conflict": ErrorKind(409, "该记录编号已被不同内容使用；以首次提交为准", "This record id was already used with different content; the first stays"),
    "conflict": ErrorKind(409, "与现有数据冲突", "Conflicts with existing data"),
    "self_lockout": ErrorKind(409, "不能停用自己的账号或取消自己的企业管理员角色（企业可能因此无人管理）", "You cannot deactivate your own account or give up your own admin role: the enterprise could be left without an admin"),
    "alert_already_acknowledged": ErrorKind(409, "该提醒已被确认", "This alert was already acknowledged"),
    "alert_already_resolved": ErrorKind(409, "该提醒已处理完毕", "This alert was already resolved"),
    "pause_ended": ErrorKind(409, "该暂停已经结束", "This pause has already ended"),
    "hazard_transition_invalid": ErrorKind(409, "隐患当前状态不允许此操作", "The hazard's status does not allow this step"),
    "hazard_same_verifier": ErrorKind(409, "复查验收人不能是整改人", "The verifier must not be the person who rectified the hazard"),
    "hazard_not_major": ErrorKind(409, "只有定级为重大隐患的隐患才有重大事故隐患报告", "Only a hazard graded major (重大) has a major hazard report"),
    "report_transition_invalid": ErrorKind(409, "举报当前状态不允许此操作", "The report's status does not allow this step"),
    "report_reward_paid": ErrorKind(409, "该奖励已发放", "This reward has already been paid"),
    # 413 / 415
    "payload_too_large": ErrorKind(413, "请求体过大", "The request body is too large"),
    "unsupported_media_type": ErrorKind(415, "不支持的内容类型", "Unsupported content type"),
    # 422: well-formed but wrong
    "validation_failed": ErrorKind(422, "输入校验失败", "The input is not valid"),
    "value_out_of_range": ErrorKind(422, "数值超出可保存的范围", "A value is outside the range that can be stored"),
    "answers_invalid": ErrorKind(422, "检查答案不符合检查表", "The answers do not match the checklist"),
    "version_mismatch": ErrorKind(422, "检查表版本与排查计划不符", "The checklist version does not belong to this schedule's checklist"),
    "schedule_inactive": ErrorKind(422, "该排查计划已停用", "This schedule is not active"),
    "checklist_not_published": ErrorKind(422, "检查表尚未发布版本", "The checklist has no published version"),
    "review_note_required": ErrorKind(422, "标记为存疑时须写明原因", "A note is required when marking a check questionable: say what looks wrong"),
    "hazard_plan_incomplete": ErrorKind(422, "重大隐患须先落实整改方案（措施、资金、责任人、时限、应急预案五到位）", "A major hazard needs its full plan first: measures, funds, responsible person, deadline, emergency measures"),
    # notifications (server/notifications)
    "smtp_not_configured": ErrorKind(422, "服务器未配置邮件发送（SMTP），无法使用邮件渠道", "The server has no SMTP relay configured; e-mail channels cannot be used"),
    "channel_inactive": ErrorKind(422, "该通知渠道已停用", "This notification channel is not active"),
    # photos and resumable uploads (server/photos)
    "hash_mismatch": ErrorKind(422, "照片内容与其 SHA-256 不符", "The photo's bytes do not match its SHA-256"),
    "image_invalid": ErrorKind(422, "图片已损坏、不完整或夹带其他数据", "The image is corrupt, truncated or carries other data"),
    "image_too_many_pixels": ErrorKind(422, "图片像素过多", "The image has too many pixels"),
    "image_too_large": ErrorKind(413, "照片文件过大", "The photo file is too large"),
    "upload_expired": ErrorKind(410, "上传已过期，请重新开始", "The upload has expired; start it again"),
    "upload_offset_mismatch": ErrorKind(409, "上传偏移量与服务器不一致", "Upload-Offset does not match the server's offset"),
    "upload_length_exceeded": ErrorKind(413, "数据超出声明的上传长度", "The data goes past the declared Upload-Length"),
    "checksum_mismatch": ErrorKind(460, "分片校验和不符，未写入", "The chunk's checksum does not match; it was not stored"),
    "tus_version_unsupported": ErrorKind(412, "不支持的 tus 协议版本", "Unsupported tus protocol version"),
    # 429 / 5xx
    "rate_limited": ErrorKind(429, "请求过于频繁", "Too many requests"),
    "account_locked": ErrorKind(429, "密码错误次数过多，账号已暂时锁定，请稍后再试", "Too many wrong passwords: the account is locked for a while; try again later"),
    "internal_error": ErrorKind(500, "服务器内部错误", "Internal server error"),
    "service_unavailable": ErrorKind(503, "服务暂不可用，请稍后重试", "Service unavailable, retry later"),
}

_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    503: "service_unavailable",
}


class ZichaError(Exception):
    """A domain error: a catalogue code, optional details, optional message override."""

    def __init__(self, code: str, details: Any = None, message: str | None = None):
        if code not in CATALOGUE:
            raise KeyError(f"unknown error code {code!r}: add it to server.errors.CATALOGUE")
        super().__init__(code)
        self.code = code
        self.details = details
        self.message = message

    @property
    def status(self) -> int:
        return CATALOGUE[self.code].status


class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "Stable snake_case error code", "enum": sorted(CATALOGUE)})
    message = ma.fields.String(required=True, metadata={"description": "Readable message (zh or en by Accept-Language)"})
    details = ma.fields.Raw(allow_none=True, metadata={"description": "Field errors or other facts about the error"})


class ErrorSchema(ma.Schema):
    """The one error envelope every 4xx/5xx answer uses."""

    error = ma.fields.Nested(ErrorBody, required=True)


def prefers_english() -> bool:
    """True when the caller's Accept-Language ranks English above Chinese."""
    try:
        best = request.accept_languages.best_match(["zh", "en"], default="zh")
    except RuntimeError:  # outside a request
        return False
    return best == "en"


def error_payload(code: str, details: Any = None, message: str | None = None) -> dict:
    kind = CATALOGUE[code]
    text = message or (kind.en if prefers_english() else kind.zh)
    return {"error": {"code": code, "message": text, "details": details}}


def error_response(code: str, details: Any = None, message: str | None = None, headers: dict | None = None):
    return error_payload(code, details, message), CATALOGUE[code].status, headers or {}


def http_exception_response(exc: HTTPException):
    """Map any werkzeug/webargs/flask-smorest HTTP error onto the catalogue."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    details = data.get("errors") or data.get("messages")
    code = data.get("zicha_code") or _BY_STATUS.get(status, "internal_error" if status >= 500 else "bad_request")
    # webargs answers a body that is not JSON at all with 400 {"json": ["Invalid JSON body."]}
    if status == 400 and isinstance(details, dict) and details.get("json") == ["Invalid JSON body."]:
        code, details = "invalid_json", None
    if isinstance(details, dict) and set(details) in ({"json"}, {"multipart"}):
        details = next(iter(details.values()))  # the body is the only location parsed; drop the wrapper
    if code not in CATALOGUE:
        code = "internal_error" if status >= 500 else "bad_request"
    payload = error_payload(code, details, data.get("message"))
    payload_status = status if status in {k.status for k in CATALOGUE.values()} else CATALOGUE[code].status
    return payload, payload_status, data.get("headers", {})


def register_error_handlers(app: Flask) -> None:
    """Domain errors and stray exceptions become catalogue JSON (HTTP errors are handled by the Api)."""

    @app.errorhandler(ZichaError)
    def _domain_error(exc: ZichaError):
        return error_response(exc.code, exc.details, exc.message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_exception_response(exc)
        if isinstance(exc, (OverflowError, sa_exc.DataError)):
            # A value no check caught and the database cannot hold: an integer past 64 bits
            # (SQLite refuses to bind it), a number or text past its column (PostgreSQL). It
            # came with the request; nothing of the request was committed.
            app.logger.warning("value out of range: %s", exc)
            return error_response("value_out_of_range")
        if isinstance(exc, sa_exc.OperationalError):
            # The database is down, locked past its timeout or failed over: nothing of this
            # request was committed, and the client may safely send it again.
            app.logger.warning("database unavailable: %s", exc)
            return error_response("service_unavailable", headers={"Retry-After": "5"})
        app.logger.exception("unhandled error")
        return error_response("internal_error")
