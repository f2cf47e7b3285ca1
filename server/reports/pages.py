"""The public report page: what a worker's family opens from the QR code on a notice.

``GET /r/<token>`` is the form, ``POST /r/<token>`` stores a report and answers its receipt page
(the code shown this once), ``GET /r/status`` and ``POST /r/status`` follow a receipt (the code
in the body, never in a URL). Server-rendered and usable with no JavaScript at all — a plain
multipart POST submits, photos included; when the browser can, a small inline script shrinks
photos to 1600 px before sending. Chinese, or English when the browser prefers it; every text is
in :mod:`server.reports.texts`.

What protects the reporter here, on top of the services (which never see the request):

- answers are never cached, send no referrer, cannot be framed and run no script but the page's
  own (a CSP nonce); nothing is loaded from anywhere else;
- both forms carry a Flask-WTF CSRF token (in a session cookie scoped to ``/r``: the bearer-token
  API is untouched); once a report is stored its token is dropped, so a reload cannot send the
  same report twice;
- a honeypot field (``website``) that people never see: a bot that fills it gets a plausible
  receipt, and nothing is stored;
- rate limits per client — by a daily-keyed hash of its address, never the address — and per
  enterprise link (:mod:`server.reports.limits`), shared with the public JSON endpoints.
"""
from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask import current_app, g, make_response, render_template, request, session
from flask_wtf.csrf import generate_csrf, validate_csrf
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import ValidationError

from server import clock
from server.errors import CATALOGUE, ZichaError
from server.extensions import Blueprint, db
from server.reports import limits, receipts, services
from server.reports.models import ReportStatus
from server.reports.schemas import ReportIn
from server.reports.texts import LANGUAGES, texts

blp = Blueprint("report_pages", __name__, url_prefix="/r", description="The public report page (HTML, no account, works without JavaScript)")

HONEYPOT = "website"
_REPORT_IN = ReportIn()
_FIELDS = ("description", "site_id", "location", "anonymous", "contact", "concerns_supervisor")
_PATH = (ReportStatus.RECEIVED, ReportStatus.CONFIRMED, ReportStatus.FIXING, ReportStatus.FIXED)
_HTML = {"content_type": "text/html"}
_FORM_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["description", "csrf_token"], "properties": {
        "description": {"type": "string", "maxLength": 2000}, "site_id": {"type": "string", "description": "a site's id, or empty"},
        "location": {"type": "string", "maxLength": 300}, "anonymous": {"type": "string", "enum": ["true", "false"]},
        "contact": {"type": "string", "maxLength": 200}, "concerns_supervisor": {"type": "string", "enum": ["true"]},
        "photos": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "csrf_token": {"type": "string", "description": "from the form page"},
        HONEYPOT: {"type": "string", "description": "honeypot: people leave it empty"},
    }}}},
}


# --------------------------------------------------------------------------- every page


def language() -> str:
    """``en`` when the browser's Accept-Language prefers English to Chinese, else ``zh``."""
    return request.accept_languages.best_match(LANGUAGES, default="zh")


def csp_nonce() -> str:
    """This response's script and style nonce (made on first use: a 429 is answered before any
    view or ``before_request`` of this blueprint runs)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _page(template: str, status: int = 200, **context):
    lang = language()
    html = render_template(f"public/{template}", t=texts(lang), nonce=csp_nonce(), **context)
    return make_response(html, status)


def _message(title_key: str, text_key: str, status: int):
    t = texts(language())
    return _page("report_message.html", status, title=t[title_key], text=t[text_key])


@blp.after_request
def _protect(response):
    nonce = csp_nonce()
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    # 'unsafe-inline' for styles only, and only for browsers older than CSP 2: any browser that
    # knows nonces ignores it. Scripts run by nonce alone.
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}' 'unsafe-inline'; img-src blob:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.vary.add("Accept-Language")
    return response


@blp.errorhandler(429)
def _limited(_error):
    return _message("limited_title", "limited_text", 429)


def _csrf_ok() -> bool:
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


def _local(moment: datetime | None, zone: str) -> str:
    return "" if moment is None else moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------- the form


def _form_page(token: str, form: services.PublicForm, values: Mapping | None = None, errors: Sequence[str] = (), status: int = 200):
    kept = {name: (values or {}).get(name, "") for name in _FIELDS}
    return _page("report_form.html", status, token=token, form=form, values=kept, errors=list(errors), csrf=generate_csrf())


def _error_texts(error: ZichaError, values: Mapping, max_photos: int) -> list[str]:
    """What the reporter reads for a refused report."""
    t = texts(language())
    if error.code in ("image_too_large", "payload_too_large"):
        keys = ["err_photo_large"]
    elif error.code == "unsupported_media_type":
        keys = ["err_photo_type"]
    elif error.code in ("image_invalid", "image_too_many_pixels"):
        keys = ["err_photo_invalid"]
    elif error.code == "validation_failed" and isinstance(error.details, Mapping):
        keys = [_field_error(name, values) for name in error.details]
    else:
        keys = ["err_generic"]
    messages = list(dict.fromkeys(t[key].format(n=max_photos) for key in keys))
    return messages + [t["photos_again"]] if any(f.filename for f in request.files.getlist("photos")) else messages


def _field_error(name: str, values: Mapping) -> str:
    if name == "description":
        return "err_too_long" if (values.get("description") or "").strip() else "err_description"
    return {"location": "err_too_long", "contact": "err_too_long", "site_id": "err_site", "photos": "err_photo_count"}.get(name, "err_invalid")


@blp.route("/<string:token>", methods=["GET"])
@limits.form_per_client
@blp.response(200, description="The report form", **_HTML)
@blp.alt_response(404, description="Unknown or rotated link: a plain page", **_HTML)
@blp.alt_response(429, description="Too many requests from this client", **_HTML)
def report_form(token):
    """The report form of an enterprise's public link (Chinese; English by Accept-Language)."""
    try:
        form = services.public_form(token)
    except ZichaError:
        return _message("link_invalid_title", "link_invalid_text", 404)
    return _form_page(token, form, {"anonymous": "true"})


@blp.route("/<string:token>", methods=["POST"])
@limits.submit_per_client
@limits.submit_per_link
@blp.doc(requestBody=_FORM_BODY)
@blp.response(200, description="The receipt page: the receipt code, shown this once", **_HTML)
@blp.alt_response(400, description="CSRF token missing or stale: the form again, text kept", **_HTML)
@blp.alt_response(404, description="Unknown or rotated link", **_HTML)
@blp.alt_response(413, description="Photos too large: the form again", **_HTML)
@blp.alt_response(415, description="A photo is not a photo: the form again, text kept", **_HTML)
@blp.alt_response(422, description="Something to correct: the form again, text kept", **_HTML)
@blp.alt_response(429, description="Too many reports from this client or to this enterprise", **_HTML)
def submit_report(token):
    """Send a report from the form (multipart/form-data, as a browser without JavaScript does)."""
    request.max_content_length = current_app.config["REPORT_MAX_CONTENT_LENGTH"]
    try:
        form = services.public_form(token)
    except ZichaError:
        return _message("link_invalid_title", "link_invalid_text", 404)
    try:
        values = request.form
        files = request.files
    except RequestEntityTooLarge:  # the body is not read, so nothing typed can be shown again
        return _form_page(token, form, {"anonymous": "true"}, [texts(language())["err_photo_large"]], 413)
    if not _csrf_ok():
        return _form_page(token, form, values, [texts(language())["err_csrf"]], 400)
    if values.get(HONEYPOT):
        # A bot: it gets what a person would, and nothing is stored or counted.
        return _receipt_page(form, receipts.new_code(), clock.now(), values.get("anonymous") == "false" and bool(values.get("contact")))
    try:
        data = _REPORT_IN.load(MultiDictProxy(CombinedMultiDict([values, files]), _REPORT_IN))
        submitted = services.submit(token, data, data.pop("photos", []))
    except ma.ValidationError as error:
        db.session.rollback()
        return _form_page(token, form, values, _error_texts(ZichaError("validation_failed", error.messages), values, form.max_photos), 422)
    except ZichaError as error:
        db.session.rollback()
        if error.code == "not_found":
            return _message("link_invalid_title", "link_invalid_text", 404)
        return _form_page(token, form, values, _error_texts(error, values, form.max_photos), CATALOGUE[error.code].status)
    db.session.commit()
    limits.count_stored_report()
    session.pop("csrf_token", None)  # a reload of this page cannot send the report again
    return _receipt_page(form, submitted.receipt, submitted.submitted_at, not data.get("anonymous") and bool((data.get("contact") or "").strip()))


def _receipt_page(form: services.PublicForm, code: str, at: datetime, contact_kept: bool):
    return _page("report_receipt.html", code=code, enterprise_name=form.enterprise_name, sent_at=_local(at, form.timezone), contact_kept=contact_kept)


# --------------------------------------------------------------------------- following a receipt


def _status_view(found: services.ReceiptStatus) -> dict:
    """What the status page shows: progress as steps, the reply, rewards, dates in the enterprise's zone."""
    if found.status is ReportStatus.NOT_HAZARD:
        steps = [(ReportStatus.RECEIVED.value, "done"), (ReportStatus.NOT_HAZARD.value, "current")]
    else:
        now = _PATH.index(found.status)
        steps = [(s.value, "done" if i < now else "current" if i == now else "todo") for i, s in enumerate(_PATH)]
    zone = found.timezone
    rewards = [{"amount": f"{r.amount:.2f}", "status": r.status.value, "at": _local(r.paid_at or r.granted_at, zone)} for r in found.rewards]
    return {
        "enterprise_name": found.enterprise_name, "status": found.status.value, "steps": steps, "reply": found.reply,
        "replied_at": _local(found.replied_at, zone), "submitted_at": _local(found.submitted_at, zone),
        "updated_at": _local(found.updated_at, zone), "rewards": rewards,
    }


@blp.route("/status", methods=["GET"])
@blp.response(200, description="A form to type a receipt code", **_HTML)
def status_form():
    """Where a reporter types their receipt code."""
    return _page("report_status.html", result=None, csrf=generate_csrf())


@blp.route("/status", methods=["POST"])
@limits.status_per_client
@blp.doc(requestBody={"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["receipt", "csrf_token"], "properties": {
    "receipt": {"type": "string"}, "csrf_token": {"type": "string"}}}}}})
@blp.response(200, description="The report's progress, the enterprise's reply and rewards — never who handled it", **_HTML)
@blp.alt_response(400, description="CSRF token missing or stale", **_HTML)
@blp.alt_response(404, description="The same page for a wrong and a malformed code", **_HTML)
@blp.alt_response(429, description="Too many look-ups from this client", **_HTML)
def status_lookup():
    """Follow a report by its receipt code (sent in the body, so it lands in no URL or log)."""
    if not _csrf_ok():
        return _page("report_status.html", 400, result=None, error=texts(language())["status_expired"], csrf=generate_csrf())
    try:
        found = services.status(request.form.get("receipt", ""))
    except ZichaError:
        return _page("report_status.html", 404, result=None, not_found=True, csrf=generate_csrf())
    return _page("report_status.html", result=_status_view(found))
