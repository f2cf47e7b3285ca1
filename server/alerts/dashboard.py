"""Dashboard pages: alerts to acknowledge (提醒).

The same rules as the API (``server/alerts/views.py``): supervisors, safety managers and admins
have an inbox; a supervisor sees the alerts that reached them, a manager the enterprise's (or
only their own, ``mine=1``); an alert outside what one may see is a 404. Acknowledging and
resolving go through :func:`server.alerts.services.acknowledge` / ``resolve`` with the API's
``AckIn`` / ``ResolveIn``, so the one who may act and the states one may act from are the
service's.
"""
from __future__ import annotations

import math

from flask_babel import get_locale
from flask_babel import gettext as _

from server.accounts import services as accounts
from server.accounts.auth import current
from server.accounts.models import MANAGERS, Role
from server.alerts import services
from server.alerts.models import AlertKind, AlertStatus
from server.alerts.schemas import AckIn, AlertQueueQuery, ResolveIn
from server.database import commits
from server.hazards.services import hazard_for_alert
from server.manage.pages import HTML, N_, done, form_data, page_blueprint, render
from server.manage.session import signed_in
from server.reports.services import report_for_alert

blp = page_blueprint("manage_alerts", __name__, "/manage/alerts", "alerts to acknowledge")

# Like the API: workers are never on an alert's chain; every other role has an inbox.
_INBOX = (Role.SUPERVISOR, Role.SAFETY_MANAGER, Role.ADMIN)
PAGE_SIZE = 30

KIND_LABELS = {
    AlertKind.MISSED_CHECK.value: N_("Missed check"),
    AlertKind.FAILED_ITEM.value: N_("Failed items"),
    AlertKind.OVERDUE_HAZARD.value: N_("Overdue hazard"),
    AlertKind.REPORT.value: N_("Family report"),
}
STATUS_LABELS = {
    AlertStatus.OPEN.value: N_("Open"),
    AlertStatus.ACKNOWLEDGED.value: N_("Acknowledged"),
    AlertStatus.RESOLVED.value: N_("Resolved"),
}
STATUS_KINDS = {"open": "bad", "acknowledged": "warn", "resolved": "ok"}
# Who stands at each level of the chain.
LEVEL_LABELS = {0: N_("Post supervisor"), 1: N_("Safety managers"), 2: N_("Enterprise head")}
EVENT_LABELS = {
    "created": N_("Alert raised"),
    "escalated": N_("Escalated"),
    "acknowledged": N_("Acknowledged"),
    "resolved": N_("Resolved"),
    "corrected": N_("Corrected: done late, synced late"),
}


def _english() -> bool:
    return str(get_locale() or "zh") == "en"


def wording(alert) -> tuple[str, str]:
    """The alert's stored title and summary in the page's language."""
    if _english():
        return alert.title_en, alert.summary_en
    return alert.title_zh, alert.summary_zh


def _labels() -> dict:
    return {"kinds": KIND_LABELS, "statuses": STATUS_LABELS, "status_kinds": STATUS_KINDS, "levels": LEVEL_LABELS, "events": EVENT_LABELS}


@blp.route("/", methods=["GET"])
@signed_in(*_INBOX)
@blp.arguments(AlertQueueQuery, location="query")
@blp.response(200, description="The alert queue: open ones first, then acknowledged; resolved on their tab", **HTML)
def alerts(query):
    """Alerts to act on: open first (by risk colour, how far up the chain and age), then
    acknowledged; the resolved ones on their own tab. Managers see the enterprise's alerts."""
    principal = current()
    page, tab, mine = query.pop("page"), query.pop("tab"), query.pop("mine")
    query["all"] = principal.role in MANAGERS and not mine
    rows, total = services.alert_queue(principal, query, tab == "resolved", page, PAGE_SIZE)
    args = {k: v for k, v in {"tab": tab, "mine": 1 if mine else None, "kind": query.get("kind"), "post_id": query.get("post_id")}.items() if v is not None}
    return render(
        "alerts/list.html",
        rows=rows, total=total, page=page, pages=max(1, math.ceil(total / PAGE_SIZE)), tab=tab, mine=mine, args=args,
        kind=query.get("kind"), manager=principal.role in MANAGERS, wording=wording, **_labels(),
    )


@blp.route("/<int:alert_id>", methods=["GET"])
@signed_in(*_INBOX)
@blp.response(200, description="One alert: what it says, who it reached, its history, acknowledge and resolve", **HTML)
def alert(alert_id):
    """One alert with who it reached and its whole history, the check or missed period behind it,
    and the forms to acknowledge or resolve it while its status allows."""
    principal = current()
    row = services.get_alert(principal, alert_id)
    names = {u.id: u.display_name for u in accounts.list_users(principal.enterprise_id)}
    hazard = hazard_for_alert(principal, row.id) if row.kind == AlertKind.OVERDUE_HAZARD.value else None
    report = report_for_alert(principal, row.id) if row.kind == AlertKind.REPORT.value else None
    return render(
        "alerts/detail.html",
        alert=row, names=names, hazard=hazard, report=report, title=wording(row)[0], summary=wording(row)[1],
        may_acknowledge=row.status in services.ACKNOWLEDGE_FROM, may_resolve=row.status in services.RESOLVE_FROM, **_labels(),
    )


@blp.route("/<int:alert_id>/acknowledge", methods=["POST"])
@signed_in(*_INBOX)
@blp.response(303, description="Acknowledged (确认): back to the page, the alert stops escalating")
@commits
def acknowledge(alert_id):
    """Acknowledge (确认) with an optional note: the alert stops escalating."""
    services.acknowledge(current(), alert_id, form_data(AckIn())["note"])
    return done(_("Alert acknowledged."))


@blp.route("/<int:alert_id>/resolve", methods=["POST"])
@signed_in(*_INBOX)
@blp.response(303, description="Resolved (处理完毕): back to the alert")
@commits
def resolve(alert_id):
    """Resolve (处理完毕) with a note saying what was done."""
    services.resolve(current(), alert_id, form_data(ResolveIn())["note"])
    return done(_("Alert resolved."))
