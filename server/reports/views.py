"""Family reports over HTTP: the enterprise's triage queue (bearer token) and the public JSON
endpoints a report page or app can use without an account.

Roles per endpoint (the services filter the rest — a supervisor's sites, reports routed past the
supervisor, the designated readers of sealed contacts): safety managers and admins triage,
reply and reward; supervisors may list and read what the visibility rule leaves them; any role
may ask for a sealed contact, and only designated readers get it; admins change the settings.

The public endpoints take no token and read nothing of the connection; their answers are never
cached and send no referrer. They share their rate limits with the public page
(:mod:`server.reports.limits`); the honeypot and CSRF belong to the page (server/reports/pages.py).
"""
from __future__ import annotations

import functools

from flask import Response, current_app, request
from flask.views import MethodView
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from server.accounts.auth import caller_page, current, require
from server.accounts.models import Role
from server.database import commits
from server.extensions import Blueprint, JsonParser
from server.photos.views import jpeg_response
from server.reports import limits, services
from server.reports.schemas import (
    ReportConfirmIn, ContactAccessOut, ContactLogQuery, ContactOut, PayIn, PublicFormOut, ReceiptIn, ReceiptOut, ReceiptStatusOut, ReportRejectIn, ReplyIn,
    ReportDetailOut, ReportIn, ReportOut, ReportQuery, ReportSettingsIn, ReportSettingsOut, RewardIn,
)

blp = Blueprint("reports", __name__, description="Family hazard reports (家属举报): the triage queue, sealed contacts, rewards, the public link")

_ANYONE = tuple(Role)
_READERS = (Role.ADMIN, Role.SAFETY_MANAGER, Role.SUPERVISOR)
_MANAGERS = (Role.ADMIN, Role.SAFETY_MANAGER)
_409 = "report_transition_invalid: the report's status does not allow this step"
_DIGEST_PARAM = {"in": "path", "name": "sha256", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}
_JPEG = {"200": {"description": "Re-encoded JPEG, no metadata", "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}}


# --------------------------------------------------------------------------- the queue


@blp.route("/reports", methods=["GET"])
@require(*_READERS)
@blp.arguments(ReportQuery, location="query")
@blp.response(200, ReportOut(many=True))
@blp.paginate(page_size=50, max_page_size=200)
def list_reports(filters, pagination_parameters):
    """The report queue, newest first (supervisors: their sites' reports not routed past them)."""
    return caller_page(services.list_reports, filters, pagination_parameters)


@blp.route("/reports/<int:report_id>", methods=["GET"])
@require(*_READERS)
@blp.response(200, ReportDetailOut)
def get_report(report_id):
    """One report with its photos, rewards and triage history (never its contact)."""
    return services.get_report(current(), report_id)


def _photo(report_id: int, sha256: str, variant: str) -> Response:
    photo, data = services.report_photo(current(), report_id, sha256, variant)
    return jpeg_response(data, photo.sha256, variant)


@blp.route("/reports/<int:report_id>/photos/<string:sha256>/display", parameters=[_DIGEST_PARAM])
@require(*_READERS)
@blp.doc(responses=_JPEG)
@blp.alt_response(404, description="not_found")
def report_photo_display(report_id, sha256):
    """A report photo's display copy: JPEG, long side ≤ 1600 px, metadata stripped."""
    return _photo(report_id, sha256, "display")


@blp.route("/reports/<int:report_id>/photos/<string:sha256>/thumb", parameters=[_DIGEST_PARAM])
@require(*_READERS)
@blp.doc(responses=_JPEG)
@blp.alt_response(404, description="not_found")
def report_photo_thumb(report_id, sha256):
    """A report photo's thumbnail: JPEG, long side ≤ 320 px, metadata stripped."""
    return _photo(report_id, sha256, "thumb")


@blp.route("/reports/<int:report_id>/confirm", methods=["POST"])
@require(*_MANAGERS)
@blp.arguments(ReportConfirmIn)
@blp.response(200, ReportDetailOut)
@blp.alt_response(409, description=_409)
@commits
def confirm_report(data, report_id):
    """已确认: the report becomes a hazard (source 举报) in the hazard loop, found by the caller."""
    return services.confirm(current(), report_id, data)


@blp.route("/reports/<int:report_id>/reject", methods=["POST"])
@require(*_MANAGERS)
@blp.arguments(ReportRejectIn)
@blp.response(200, ReportDetailOut)
@blp.alt_response(409, description=_409)
@commits
def reject_report(data, report_id):
    """不属实: reject a received report, with the reply the reporter reads."""
    return services.reject(current(), report_id, data)


@blp.route("/reports/<int:report_id>/reply", methods=["POST"])
@require(*_MANAGERS)
@blp.arguments(ReplyIn)
@blp.response(200, ReportDetailOut)
@commits
def reply_to_report(data, report_id):
    """Answer the reporter (shown on the status page through the receipt)."""
    return services.reply(current(), report_id, data)


@blp.route("/reports/<int:report_id>/rewards", methods=["POST"])
@require(*_MANAGERS)
@blp.arguments(RewardIn)
@blp.response(201, ReportDetailOut)
@blp.alt_response(409, description=_409 + " (only a confirmed report is rewarded)")
@commits
def grant_reward(data, report_id):
    """举报奖励: grant a reward for a confirmed report (the reporter sees amount, status, dates)."""
    return services.grant_reward(current(), report_id, data)


@blp.route("/reports/<int:report_id>/rewards/<int:reward_id>/pay", methods=["POST"])
@require(*_MANAGERS)
@blp.arguments(PayIn)
@blp.response(200, ReportDetailOut)
@blp.alt_response(409, description="report_reward_paid")
@commits
def pay_reward(data, report_id, reward_id):
    """Record that a granted reward was paid (已发放)."""
    return services.pay_reward(current(), report_id, reward_id, data)


@blp.route("/reports/<int:report_id>/contact", methods=["POST"])
@require(*_ANYONE)
@blp.response(200, ContactOut, headers={"Cache-Control": {"description": "no-store", "schema": {"type": "string"}}})
@blp.alt_response(403, description="report_contact_forbidden: not a designated reader")
@commits
def read_contact(report_id):
    """Open the reporter's sealed contact (designated readers only); the reading is logged first."""
    return services.read_contact(current(), report_id), 200, {"Cache-Control": "no-store"}


@blp.route("/report-contact-log", methods=["GET"])
@require(*_MANAGERS)
@blp.arguments(ContactLogQuery, location="query")
@blp.response(200, ContactAccessOut(many=True))
@blp.paginate(page_size=50, max_page_size=200)
def contact_log(filters, pagination_parameters):
    """Who read which sealed contact when, and who changed the readers; newest first."""
    return caller_page(services.contact_log, filters, pagination_parameters)


@blp.route("/report-settings")
class Settings(MethodView):
    @require(*_MANAGERS)
    @blp.response(200, ReportSettingsOut)
    @commits  # the settings (and the link) are made on first use
    def get(self):
        """The public report link and who may read sealed contacts."""
        return services.describe_settings(current().enterprise_id)

    @require(Role.ADMIN)
    @blp.arguments(ReportSettingsIn)
    @blp.response(200, ReportSettingsOut)
    @commits
    def put(self, data):
        """Name who may read sealed contacts (null: the enterprise head); logged (admin)."""
        services.set_contact_readers(current(), data["contact_reader_ids"])
        return services.describe_settings(current().enterprise_id)


@blp.route("/report-settings/rotate-link", methods=["POST"])
@require(Role.ADMIN)
@blp.response(200, ReportSettingsOut)
@commits
def rotate_link():
    """A new public link (reprint the notices); the old one stops working at once (admin)."""
    services.rotate_link(current())
    return services.describe_settings(current().enterprise_id)


@blp.route("/report-settings/qr.png")
@require(*_MANAGERS)
@blp.response(200, content_type="image/png", description="QR code of the public report link")
@commits
def link_qr():
    """The public link as a QR code, for notices, group chats and payslips."""
    response = Response(services.link_qr_png(current().enterprise_id), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --------------------------------------------------------------------------- the public side


class _MultipartParser(JsonParser):
    """webargs with one more location, ``multipart``: form fields and files in one schema (a
    report and its photos arrive together, as a browser without JavaScript sends them)."""

    __location_map__ = dict(multipart="load_multipart", **JsonParser.__location_map__)

    def load_multipart(self, req, schema):
        return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)


class _PublicBlueprint(Blueprint):
    ARGUMENTS_PARSER = _MultipartParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING, "multipart": "multipart/form-data"}


public_blp = _PublicBlueprint("public_reports", __name__, url_prefix="/public", description="Family reports without an account: the form's facts, submitting, following a receipt")


@public_blp.after_request
def _private(response: Response) -> Response:
    # The answers name a receipt or an enterprise's link: no cache keeps them, no referrer leaks them.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _report_body(view):
    """Let this request's body be as large as a report with its photos (not the JSON cap)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        request.max_content_length = current_app.config["REPORT_MAX_CONTENT_LENGTH"]
        return view(*args, **kwargs)

    return wrapper


@public_blp.route("/reports/<string:token>", methods=["GET"])
@limits.form_per_client
@public_blp.response(200, PublicFormOut)
@public_blp.alt_response(404, description="not_found: unknown or rotated link")
@public_blp.alt_response(429, description="rate_limited")
def public_form(token):
    """What the report form of the link ``token`` shows: the enterprise's name and sites."""
    return services.public_form(token)


@public_blp.route("/reports/<string:token>", methods=["POST"])
@limits.submit_per_client
@limits.submit_per_link
@_report_body
@public_blp.arguments(ReportIn, location="multipart")
@public_blp.response(201, ReceiptOut)
@public_blp.alt_response(404, description="not_found: unknown or rotated link")
@public_blp.alt_response(413, description="image_too_large, payload_too_large")
@public_blp.alt_response(415, description="unsupported_media_type: a photo is not JPEG, PNG, WebP or HEIC")
@public_blp.alt_response(429, description="rate_limited: too many from this client, or to this enterprise")
@commits
def submit_report(data, token):
    """Send a report (multipart/form-data); the answer's receipt code is shown this once."""
    submitted = services.submit(token, data, data.pop("photos", []))
    limits.count_stored_report()
    return submitted


@public_blp.route("/report-status", methods=["POST"])
@limits.status_per_client
@public_blp.arguments(ReceiptIn)
@public_blp.response(200, ReceiptStatusOut)
@public_blp.alt_response(404, description="not_found: the same for a wrong and a malformed code")
@public_blp.alt_response(429, description="rate_limited")
def report_status(data):
    """Follow a report by its receipt code (POST, so the code never lands in a URL or a log)."""
    return services.status(data["receipt"])
