"""Dashboard pages: family reports to triage (家属举报), and the public link's settings.

The same rules as the API (``server/reports/views.py``): safety managers and admins triage —
confirm (a hazard with source 举报 through the hazard loop), reject as not a hazard, reply,
grant and pay rewards; supervisors may open the queue and read what the service's visibility
leaves them (never a report that concerns the site's supervisor); a sealed contact opens only
for a designated reader and every reading is logged by :func:`server.reports.services.read_contact`;
admins rotate the public link and name the contact readers.
"""
from __future__ import annotations

import math

from flask import Response, abort, url_for
from flask_babel import gettext as _

from server.accounts import services as accounts
from server.accounts.auth import current
from server.accounts.models import MANAGERS, Role
from server.database import commits
from server.hazards.dashboard import TYPE_LABELS
from server.manage.pages import HTML, N_, done, form_data, page_blueprint, render
from server.manage.session import signed_in
from server.photos.views import jpeg_response
from server.reports import services
from server.reports.models import ReportStatus
from server.reports.schemas import PayIn, ReplyIn, ReportConfirmIn, ReportQueueQuery, ReportRejectIn, ReportSettingsIn, RewardIn

blp = page_blueprint("manage_reports", __name__, "/manage/reports", "family reports to triage")

_READERS = (Role.SUPERVISOR, Role.SAFETY_MANAGER, Role.ADMIN)
_MANAGERS = (Role.SAFETY_MANAGER, Role.ADMIN)
_ANYONE = _READERS  # the API's "any role" for a contact, less workers (no dashboard)
PAGE_SIZE = 30

STATUS_LABELS = {
    ReportStatus.RECEIVED.value: N_("Received"),
    ReportStatus.CONFIRMED.value: N_("Confirmed"),
    ReportStatus.FIXING.value: N_("Being fixed"),
    ReportStatus.FIXED.value: N_("Fixed"),
    ReportStatus.NOT_HAZARD.value: N_("Not a hazard"),
}
STATUS_KINDS = {"received": "bad", "confirmed": "info", "fixing": "warn", "fixed": "ok", "not_hazard": ""}
ACTION_LABELS = {
    "received": N_("Received"), "confirmed": N_("Confirmed as a hazard"), "rejected": N_("Rejected: not a hazard"),
    "replied": N_("Replied"), "reward_granted": N_("Reward granted"), "reward_paid": N_("Reward paid"),
}
REWARD_LABELS = {"granted": N_("Granted"), "paid": N_("Paid")}


def _labels() -> dict:
    return {"statuses": STATUS_LABELS, "status_kinds": STATUS_KINDS, "actions": ACTION_LABELS, "reward_labels": REWARD_LABELS, "types": TYPE_LABELS}


def _names(enterprise_id: int) -> dict[int, str]:
    return {u.id: u.display_name for u in accounts.list_users(enterprise_id)}


@blp.route("/", methods=["GET"])
@signed_in(*_READERS)
@blp.arguments(ReportQueueQuery, location="query")
@blp.response(200, description="The triage queue: received reports first, then the newest", **HTML)
def reports(query):
    """Family reports, those still to triage first; tabs by status as the reporter sees it.
    Supervisors see their sites' reports, never those that concern the site's supervisor."""
    principal = current()
    page = query.pop("page")
    rows, total = services.report_queue(principal, query, page, PAGE_SIZE)
    args = {k: getattr(v, "value", v) for k, v in query.items() if k in ("status", "site_id")}
    return render(
        "reports/list.html",
        rows=rows, total=total, page=page, pages=max(1, math.ceil(total / PAGE_SIZE)), args=args, status=args.get("status"),
        manager=principal.role in MANAGERS, **_labels(),
    )


def _report_page(report_id: int, contact=None, status: int = 200):
    principal = current()
    report = services.get_report(principal, report_id)
    return render(
        "reports/detail.html", status,
        report=report, steps=services.available_steps(principal, report), names=_names(principal.enterprise_id), contact=contact, **_labels(),
    )


@blp.route("/<int:report_id>", methods=["GET"])
@signed_in(*_READERS)
@blp.response(200, description="One report: what, where, photos, status, history, rewards and the triage forms", **HTML)
def report(report_id):
    """One report with its photos, status, triage history and rewards, and the steps the caller
    may take now (its sealed contact is never shown here unless opened, below)."""
    return _report_page(report_id)


@blp.route("/<int:report_id>/photos/<string:sha256>/<string:variant>", methods=["GET"])
@signed_in(*_READERS)
@blp.response(200, content_type="image/jpeg", description="A report photo's thumbnail or display copy (re-encoded JPEG, no metadata)")
def photo(report_id, sha256, variant):
    """A photo of a report the caller may see: ``thumb`` (≤ 320 px) or ``display`` (≤ 1600 px)."""
    if variant not in ("thumb", "display"):
        abort(404)
    row, data = services.report_photo(current(), report_id, sha256, variant)
    return jpeg_response(data, row.sha256, variant)


@blp.route("/<int:report_id>/confirm", methods=["POST"])
@signed_in(*_MANAGERS)
@blp.response(303, description="Confirmed (已确认): a hazard with source 举报 opened; back to the report")
@commits
def confirm(report_id):
    """已确认: the report becomes a hazard (source 举报) in the hazard loop, found by the caller."""
    report = services.confirm(current(), report_id, form_data(ReportConfirmIn()))
    return done(_("Confirmed: hazard %(number)s opened.", number=report.hazard.number), url_for("manage_reports.report", report_id=report_id))


@blp.route("/<int:report_id>/reject", methods=["POST"])
@signed_in(*_MANAGERS)
@blp.response(303, description="Rejected (不属实) with the reply the reporter reads")
@commits
def reject(report_id):
    """不属实: reject a received report, with the reply the reporter reads."""
    services.reject(current(), report_id, form_data(ReportRejectIn()))
    return done(_("Rejected as not a hazard."))


@blp.route("/<int:report_id>/reply", methods=["POST"])
@signed_in(*_MANAGERS)
@blp.response(303, description="Replied: the reporter reads it through the receipt")
@commits
def reply(report_id):
    """Answer the reporter (shown on the status page through the receipt)."""
    services.reply(current(), report_id, form_data(ReplyIn()))
    return done(_("Reply saved; the reporter sees it with the receipt code."))


@blp.route("/<int:report_id>/rewards", methods=["POST"])
@signed_in(*_MANAGERS)
@blp.response(303, description="Reward granted (举报奖励); only for a confirmed report")
@commits
def grant_reward(report_id):
    """举报奖励: grant a reward for a confirmed report."""
    services.grant_reward(current(), report_id, form_data(RewardIn()))
    return done(_("Reward granted."))


@blp.route("/<int:report_id>/rewards/<int:reward_id>/pay", methods=["POST"])
@signed_in(*_MANAGERS)
@blp.response(303, description="Reward paid (已发放)")
@commits
def pay_reward(report_id, reward_id):
    """Record that a granted reward was paid (已发放)."""
    services.pay_reward(current(), report_id, reward_id, form_data(PayIn()))
    return done(_("Reward marked as paid."))


@blp.route("/<int:report_id>/contact", methods=["POST"])
@signed_in(*_ANYONE)
@blp.response(200, description="The report page with the reporter's contact (designated readers only; the reading is logged)", **HTML)
@commits
def read_contact(report_id):
    """Open the reporter's sealed contact: designated readers only, and logged before it is
    shown. Shown on this answer only (never stored in a message or a cookie)."""
    reading = services.read_contact(current(), report_id)
    return _report_page(report_id, contact=reading)


# --------------------------------------------------------------------------- settings


@blp.route("/settings", methods=["GET"])
@signed_in(*_MANAGERS)
@blp.response(200, description="The public report link, its QR code, the contact readers and the contact log", **HTML)
@commits  # the settings (and the link) are made on first use
def settings():
    """The public report link and its QR code, who may read sealed contacts, and the log of who
    read which contact (safety managers and admins; admins change them)."""
    principal = current()
    users = accounts.list_users(principal.enterprise_id)
    log, _total = services.contact_log(principal, {}, 1, 50)
    return render(
        "reports/settings.html",
        settings=services.describe_settings(principal.enterprise_id), people=[u for u in users if u.active],
        names={u.id: u.display_name for u in users}, log=log, admin=principal.role is Role.ADMIN,
    )


@blp.route("/settings/qr.png", methods=["GET"])
@signed_in(*_MANAGERS)
@blp.response(200, content_type="image/png", description="QR code of the public report link")
@commits
def link_qr():
    """The public link as a QR code, for notices, group chats and payslips."""
    response = Response(services.link_qr_png(current().enterprise_id), mimetype="image/png")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.route("/settings/rotate-link", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="A new public link; the old one stops working at once")
@commits
def rotate_link():
    """A new public link (reprint the notices); the old one stops working at once (admin)."""
    services.rotate_link(current())
    return done(_("New link made; the old one no longer works. Reprint the notices."))


@blp.route("/settings/readers", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="The contact readers named (logged)")
@commits
def set_readers():
    """Name who may read sealed contacts (admin); the change is logged."""
    principal = current()
    data = form_data(ReportSettingsIn())
    services.set_contact_readers(principal, data["contact_reader_ids"])
    return done(_("Contact readers saved."))


@blp.route("/settings/readers/default", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="The contact readers back to the enterprise head (logged)")
@commits
def default_readers():
    """Back to the default: the enterprise head of the alert settings reads sealed contacts (admin)."""
    services.set_contact_readers(current(), None)
    return done(_("Contact readers set back to the enterprise head."))
