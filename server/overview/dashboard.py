"""Dashboard pages: the overview (总览), the span's missed checks, and one post's calendar.

Thin views over :mod:`server.overview.services`: every number on these pages is computed there,
and each links to the list of the rows behind it (checks, alerts, hazards, missed periods).
"""
from __future__ import annotations

import marshmallow as ma
from flask_babel import gettext as _
from marshmallow import fields, validate
from werkzeug.exceptions import UnprocessableEntity

from server.accounts.auth import current
from server.errors import ZichaError
from server.manage.pages import HTML, N_, error_page, error_text, page_blueprint, render
from server.manage.session import signed_in
from server.overview import services

blp = page_blueprint("manage_overview", __name__, "/manage/overview", "the overview")


@blp.errorhandler(UnprocessableEntity)
def _bad_query(error):
    """A query argument out of range (``?span=year``): the catalogue's ``validation_failed``
    page with the field's complaint, in the page's language, rather than a bare 422."""
    messages = getattr(error, "data", {}).get("messages", {})
    details = messages.get("query", messages) if isinstance(messages, dict) else None
    return error_page(422, _("Cannot do this"), error_text(ZichaError("validation_failed", details or None)))

SPAN_LABELS = {"day": N_("Today"), "week": N_("This week"), "month": N_("This month")}
OUTCOME_LABELS = {
    "done": N_("Done"), "done_late": N_("Done late"), "missed": N_("Missed"),
    "paused": N_("Paused"), "pending": N_("Not yet judged"), "open": N_("In progress"),
}
FREQUENCY_LABELS = {
    "shift": N_("Per shift"), "daily": N_("Daily"), "weekly": N_("Weekly"),
    "monthly": N_("Monthly"), "quarterly": N_("Quarterly"), "yearly": N_("Yearly"),
}
HAZARD_STATUS_LABELS = {
    "reported": N_("Reported"), "confirmed": N_("Graded"), "rejected": N_("Rejected"),
    "assigned": N_("Being rectified"), "rectified": N_("Awaiting verification"), "closed": N_("Closed"),
}
# The hazard statuses in the order of the loop, the unfinished ones first.
HAZARD_STATUS_ORDER = ("reported", "confirmed", "assigned", "rectified", "closed", "rejected")
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))

LABELS = {
    "spans": SPAN_LABELS, "outcomes": OUTCOME_LABELS, "frequencies": FREQUENCY_LABELS,
    "hazard_statuses": HAZARD_STATUS_LABELS, "hazard_status_order": HAZARD_STATUS_ORDER, "weekdays": WEEKDAYS,
}


class SpanQuery(ma.Schema):
    span = fields.String(load_default="day", validate=validate.OneOf(list(services.SPANS)), metadata={"description": "day (today), week (this ISO week, Monday first) or month, in the enterprise's zone"})


class MissedQuery(SpanQuery):
    status = fields.String(load_default=None, validate=validate.OneOf([services.MISSED, services.DONE_LATE]), metadata={"description": "only missed, or only done late (default: both)"})
    post_id = fields.Integer(load_default=None, metadata={"description": "only this post's"})
    site_id = fields.Integer(load_default=None, metadata={"description": "only this site's posts'"})


class CalendarQuery(ma.Schema):
    weeks = fields.Integer(load_default=5, validate=validate.Range(1, 26), metadata={"description": "how many weeks the grid shows, this one included"})


@blp.route("", methods=["GET"])
@signed_in()
@blp.arguments(SpanQuery, location="query", as_kwargs=True)
@blp.response(200, description="Completion by site and post, missed checks, open alerts, hazards, the last 30 days", **HTML)
def overview(span):
    """The overview of today, this week or this month: managers see the enterprise, a supervisor
    the posts they supervise."""
    return render("overview/overview.html", data=services.overview(current(), span), labels=LABELS)


@blp.route("/missed", methods=["GET"])
@signed_in()
@blp.arguments(MissedQuery, location="query", as_kwargs=True)
@blp.response(200, description="The span's missed periods: post, schedule, period, done late or not", **HTML)
def missed(span, status, post_id, site_id):
    """Every period of the span the sweep recorded as missed, and whether a check came late."""
    data = services.span_misses(current(), span, status, post_id, site_id)
    filters = {"status": status, "post_id": post_id, "site_id": site_id}
    return render("overview/missed.html", d=data, only=status, filters=filters, labels=LABELS)


@blp.route("/posts/<int:post_id>", methods=["GET"])
@signed_in()
@blp.arguments(CalendarQuery, location="query", as_kwargs=True)
@blp.response(200, description="One post's periods as a calendar: done, done late, missed, paused, open", **HTML)
@blp.alt_response(404, description="No such post in the enterprise, or (supervisor) not one of theirs", **HTML)
def post_calendar(post_id, weeks):
    """A post's periods: daily and per-shift schedules as a Monday-first grid, the others as a row."""
    return render("overview/calendar.html", data=services.post_calendar(current(), post_id, weeks), weeks=weeks, labels=LABELS)
