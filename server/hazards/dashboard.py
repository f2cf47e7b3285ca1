"""Dashboard pages: hazards to grade, assign, rectify and verify (隐患闭环), and the ledger's documents.

The same rules as the API (``server/hazards/views.py``): every dashboard role opens the list and
a hazard (each sees what :func:`server.hazards.services.get_hazard`'s visibility allows — a
supervisor their posts', what they found and what they answer for); safety managers and admins
confirm, reject, assign and verify; anyone may report a rectification and the service admits
only the responsible person or a supervisor; the verifier must not be the rectifier (the
service's ``hazard_same_verifier``, shown as its message). The ledger's documents (XLSX, CSV,
the 重大事故隐患报告 PDF) are the managers', built by the same ``server/hazards/ledger.py``
functions as the API's.
"""
from __future__ import annotations

import math

import marshmallow as ma
from flask_babel import gettext as _

from server import clock
from server.accounts import services as accounts
from server.accounts.auth import current
from server.accounts.models import MANAGERS, Role
from server.database import commits
from server.enterprises import services as enterprises
from server.hazards import downloads, services
from server.hazards.models import HazardGrade, HazardSource, HazardStatus, HazardType, RectifyMode
from server.hazards.schemas import AssignIn, ConfirmIn, HazardPageQuery, RectifyIn, RejectIn, VerifyIn
from server.manage.pages import HTML, N_, done, form_data, page_blueprint, render
from server.manage.session import signed_in
from server.posts import services as posts

blp = page_blueprint("manage_hazards", __name__, "/manage/hazards", "hazards to grade, assign and verify")

_ANYONE = (Role.SUPERVISOR, Role.SAFETY_MANAGER, Role.ADMIN)  # the API's "any role", less workers (no dashboard)
_MANAGERS = (Role.SAFETY_MANAGER, Role.ADMIN)
PAGE_SIZE = 30

STATUS_LABELS = {
    HazardStatus.REPORTED.value: N_("Reported"),
    HazardStatus.CONFIRMED.value: N_("Graded"),
    HazardStatus.REJECTED.value: N_("Not a hazard"),
    HazardStatus.ASSIGNED.value: N_("Being rectified"),
    HazardStatus.RECTIFIED.value: N_("Awaiting verification"),
    HazardStatus.CLOSED.value: N_("Closed"),
}
STATUS_KINDS = {"reported": "info", "confirmed": "info", "rejected": "", "assigned": "warn", "rectified": "warn", "closed": "ok"}
GRADE_LABELS = {HazardGrade.GENERAL.value: N_("General hazard"), HazardGrade.MAJOR.value: N_("Major hazard")}
TYPE_LABELS = {
    HazardType.SAFETY.value: N_("Safety"), HazardType.PROCESS.value: N_("Process"), HazardType.ELECTRICAL.value: N_("Electrical"),
    HazardType.INSTRUMENT.value: N_("Instruments"), HazardType.FIRE.value: N_("Fire"), HazardType.EQUIPMENT.value: N_("Equipment"),
    HazardType.OTHER.value: N_("Other"),
}
SOURCE_LABELS = {
    HazardSource.DAILY.value: N_("Daily check"), HazardSource.COMPREHENSIVE.value: N_("Comprehensive inspection"),
    HazardSource.SPECIALIZED.value: N_("Specialised inspection"), HazardSource.SEASONAL.value: N_("Seasonal inspection"),
    HazardSource.HOLIDAY.value: N_("Before a holiday"), HazardSource.ACCIDENT_ANALOGY.value: N_("Accident analogy"),
    HazardSource.RESUMPTION.value: N_("Before resuming work"), HazardSource.EXTERNAL_EXPERT.value: N_("External experts"),
    HazardSource.CONTROL_MEASURE.value: N_("Control measure failed"), HazardSource.REPORT.value: N_("Report"),
    HazardSource.OTHER.value: N_("Other"),
}
MODE_LABELS = {RectifyMode.ON_THE_SPOT.value: N_("Fixed on the spot"), RectifyMode.BY_DEADLINE.value: N_("By a deadline")}
ACTION_LABELS = {
    "reported": N_("Reported"), "confirmed": N_("Graded"), "rejected": N_("Rejected: not a hazard"), "assigned": N_("Rectification assigned"),
    "rectified": N_("Rectified"), "verified": N_("Verified and closed"), "verification_failed": N_("Verification failed"),
    "overdue": N_("Past its deadline: alert raised"), "described": N_("Description added"), "resent": N_("Sent again by a device"),
}
FIELD_LABELS = {
    "status": N_("Status"), "grade": N_("Grade"), "type": N_("Type"), "basis": N_("Basis"), "description": N_("Description"),
    "reject_reason": N_("Reason"), "responsible_id": N_("Responsible"), "responsible_department": N_("Department"),
    "deadline": N_("Deadline"), "mode": N_("Mode"), "measures": N_("Measures"), "funds": N_("Funds (yuan)"),
    "emergency_measures": N_("Emergency measures"), "rectified_by_id": N_("Rectified by"), "rectification_note": N_("Rectification"),
    "completed_at": N_("Completed"), "photos_after": N_("Photos after"), "photos_before": N_("Photos before"), "cost": N_("Cost (yuan)"),
    "verifier_id": N_("Verified by"), "verified_at": N_("Verified"), "verification_passed": N_("Passed"),
    "verification_note": N_("Verification note"), "overdue_alert_id": N_("Overdue alert"), "client_id": N_("Device record"),
}


def _labels() -> dict:
    return {
        "statuses": STATUS_LABELS, "status_kinds": STATUS_KINDS, "grades": GRADE_LABELS, "types": TYPE_LABELS,
        "sources": SOURCE_LABELS, "modes": MODE_LABELS, "actions": ACTION_LABELS, "field_labels": FIELD_LABELS,
    }


def _names(enterprise_id: int) -> dict[int, str]:
    return {u.id: u.display_name for u in accounts.list_users(enterprise_id)}


@blp.route("/", methods=["GET"])
@signed_in(*_ANYONE)
@blp.arguments(HazardPageQuery, location="query")
@blp.response(200, description="The hazard list: filters, overdue first, paginated", **HTML)
def hazards(query):
    """The hazards the caller may see — the ledger's filters (status, grade, overdue, post,
    site, source…) as query arguments — overdue ones first, then the most recently found."""
    principal = current()
    page = query.pop("page")
    rows, total = services.hazard_queue(principal, query, page, PAGE_SIZE)
    args = {k: getattr(v, "value", v) for k, v in query.items()}
    if "overdue" in args:
        args["overdue"] = int(args["overdue"])
    for key in ("since", "until"):
        if key in args:
            args[key] = args[key].isoformat()
    all_posts = posts.list_posts(principal.enterprise_id)
    return render(
        "hazards/list.html",
        rows=rows, total=total, page=page, pages=max(1, math.ceil(total / PAGE_SIZE)), args=args, filters=query,
        sites=enterprises.list_sites(principal.enterprise_id), posts=all_posts, post_names={p.id: p.name for p in all_posts},
        names=_names(principal.enterprise_id), manager=principal.role in MANAGERS, now=clock.now(), **_labels(),
    )


@blp.route("/<int:hazard_id>", methods=["GET"])
@signed_in(*_ANYONE)
@blp.response(200, description="One hazard: its facts, plan, history and the steps the caller may take now", **HTML)
def hazard(hazard_id):
    """One hazard with its whole append-only history and the forms of the steps the caller may
    take now (grade or reject, assign, report the rectification, verify)."""
    principal = current()
    row = services.get_hazard(principal, hazard_id)
    users = accounts.list_users(principal.enterprise_id)
    post = next((p for p in posts.list_posts(principal.enterprise_id) if p.id == row.post_id), None) if row.post_id else None
    site = next((s for s in enterprises.list_sites(principal.enterprise_id) if s.id == row.site_id), None) if row.site_id else None
    return render(
        "hazards/detail.html",
        hazard=row, steps=services.available_steps(principal, row), names={u.id: u.display_name for u in users},
        people=[u for u in users if u.active], post=post, site=site, manager=principal.role in MANAGERS,
        overdue=row.status is HazardStatus.ASSIGNED and row.deadline is not None and row.deadline <= clock.now(),
        plan_fields=services.MAJOR_PLAN_FIELDS, **_labels(),
    )


def _step(step, hazard_id: int, schema: ma.Schema, message: str):
    principal = current()
    step(principal, hazard_id, form_data(schema))
    return done(message)


@blp.route("/<int:hazard_id>/confirm", methods=["POST"])
@signed_in(*_MANAGERS)
@blp.response(303, description="Graded (评估): back to the hazard")
@commits
def confirm(hazard_id):
    """评估: confirm a reported hazard and grade it 一般 or 重大 (type, basis, description may be corrected)."""
    return _step(services.confirm, hazard_id, ConfirmIn(), _("Hazard graded."))


@blp.route("/<int:hazard_id>/reject", methods=["POST"])
@signed_in(*_MANAGERS)
@blp.response(303, description="Rejected (不属实): back to the hazard")
@commits
def reject(hazard_id):
    """不属实: reject a reported or graded hazard with a reason (it stays in the ledger)."""
    return _step(services.reject, hazard_id, RejectIn(), _("Hazard rejected as not a hazard."))


@blp.route("/<int:hazard_id>/assign", methods=["POST"])
@signed_in(*_MANAGERS)
@blp.response(303, description="Assigned (下达整改): back to the hazard, or the service's message (五到位 incomplete)")
@commits
def assign(hazard_id):
    """下达整改: responsible person, deadline, mode, and for a 重大 hazard the whole 五到位 plan."""
    return _step(services.assign, hazard_id, AssignIn(), _("Rectification assigned."))


@blp.route("/<int:hazard_id>/rectify", methods=["POST"])
@signed_in(*_ANYONE)
@blp.response(303, description="Rectification reported (整改): back to the hazard; only the responsible person or a supervisor")
@commits
def rectify(hazard_id):
    """整改: report the rectification (what was done, cost, when completed)."""
    return _step(services.rectify, hazard_id, RectifyIn(), _("Rectification reported."))


@blp.route("/<int:hazard_id>/verify", methods=["POST"])
@signed_in(*_MANAGERS)
@blp.response(303, description="Verified (复查验收): closed, or sent back; never by the rectifier")
@commits
def verify(hazard_id):
    """复查验收: passed closes the hazard (销号); failed sends it back to rectification."""
    principal = current()
    data = form_data(VerifyIn())
    services.verify(principal, hazard_id, data)
    return done(_("Verified: the hazard is closed.") if data["passed"] else _("Verification failed: sent back for rectification."))


# --------------------------------------------------------------------------- the ledger's documents


def _export_filters(query: dict) -> dict:
    query.pop("page", None)
    return query


@blp.route("/export.xlsx", methods=["GET"])
@signed_in(*_MANAGERS)
@blp.arguments(HazardPageQuery, location="query")
@blp.response(200, content_type=downloads.XLSX, description="隐患台账 as an Excel workbook, under the list's filters")
def export_xlsx(query):
    """The hazard ledger (隐患台账) as XLSX, under the list's filters (the API's export)."""
    return downloads.ledger_xlsx(current(), _export_filters(query))


@blp.route("/export.csv", methods=["GET"])
@signed_in(*_MANAGERS)
@blp.arguments(HazardPageQuery, location="query")
@blp.response(200, content_type="text/csv", description="隐患台账 as CSV (UTF-8 with a BOM), under the list's filters")
def export_csv(query):
    """The hazard ledger (隐患台账) as CSV for Excel, under the list's filters (the API's export)."""
    return downloads.ledger_csv(current(), _export_filters(query))


@blp.route("/<int:hazard_id>/report.pdf", methods=["GET"])
@signed_in(*_MANAGERS)
@blp.response(200, content_type="application/pdf", description="重大事故隐患报告 of a hazard graded 重大, A4")
def major_report(hazard_id):
    """重大事故隐患报告 of a hazard graded 重大 (the API's document); any other hazard: the service's message."""
    return downloads.major_report(current(), hazard_id)
