"""Dashboard pages: checks and their evidence (检查记录).

* ``/manage/checks`` — the checks the signed-in user may see (supervisors: their posts'), newest
  performed first, filtered by the query string the overview's numbers link with: ``post_id``,
  ``site_id``, ``date_from`` / ``date_to`` (days of the enterprise's calendar, inclusive),
  ``failed=1``, ``verdict=unreviewed|reviewed|questionable``, ``flagged=1``.
* ``/manage/checks/<id>`` — one check's evidence: answers against its checklist version, photos,
  device and timing facts, the hazards and alert it raised, its reviews; safety managers and
  admins mark it reviewed or questionable there (the API's ``POST /checks/<id>/reviews`` rule).
* ``/manage/checks/<id>/photos/<sha256>/<variant>`` — a photo the check names, through the
  dashboard's session (the API's photo routes need a bearer token an ``<img>`` cannot send).

Every page calls :mod:`server.checks.services`, the functions the API calls.
"""
from __future__ import annotations

import math
import uuid

import marshmallow as ma
from flask import request
from flask_babel import get_locale
from flask_babel import gettext as _

from server.accounts.auth import current
from server.accounts.models import MANAGERS, Role
from server.checks import services
from server.checks.schemas import CheckPageQuery, CheckReviewIn
from server.database import commits
from server.enterprises.services import list_sites
from server.errors import ZichaError
from server.manage.pages import HTML, N_, done, form_data, page_blueprint, render
from server.manage.session import signed_in
from server.photos.views import jpeg_response
from server.posts.services import list_posts

blp = page_blueprint("manage_checks", __name__, "/manage/checks", "checks and their evidence")

PAGE_SIZE = 50

# How sure the server is of the time (Check.time_quality, see sync/timing.py): label, badge kind.
TIME_QUALITY = {
    "monotonic": (N_("Measured"), "ok", N_("Measured from the phone's uptime on the same boot: exact, whatever its clock said.")),
    "anchored": (N_("Measured"), "ok", N_("Measured from the phone's uptime against a server time it had learned.")),
    "device": (N_("Phone clock"), "warn", N_("The phone's own clock, which its user can set: not verified.")),
    "server_receipt": (N_("Time of receipt"), "bad", N_("The phone's clock was impossible; the time the server received the check is used.")),
}

# Flags a check may carry (sync/timing.py and server/checks/ingest.py), in words.
FLAGS = {
    "device_clock_wrong": N_("The phone's clock was wrong at the time; the check is dated by its uptime instead."),
    "monotonic_inconsistent": N_("The phone's uptime readings did not add up; its own clock was used."),
    "clock_ahead": N_("The phone's clock was ahead of the server's; the time of receipt is used."),
    "clock_behind": N_("The phone's clock showed a time before this checklist version existed; the time of receipt is used."),
    "version_retired": N_("Made with a checklist version that had already been replaced by a newer one."),
    "schedule_inactive": N_("The schedule was paused or stopped when the check arrived."),
}

VERDICTS = {"reviewed": (N_("Reviewed"), "ok"), "questionable": (N_("Questionable"), "bad")}
VERDICT_FILTERS = {"unreviewed": N_("Not reviewed"), "reviewed": N_("Reviewed"), "questionable": N_("Questionable")}
ALERT_STATUS = {"open": (N_("Not yet acknowledged"), "bad"), "acknowledged": (N_("Acknowledged"), "warn"), "resolved": (N_("Resolved"), "ok")}


def _english() -> bool:
    return str(get_locale() or "zh") == "en"


def label_of(thing: dict) -> str:
    """An item's or option's label in the page's language (Chinese unless English was given)."""
    return thing.get("label_en") if _english() and thing.get("label_en") else thing.get("label", "")


def number(value) -> str:
    """A reading as people write it: 20, not 20.0."""
    return str(int(value)) if float(value).is_integer() else str(value)


def shown_value(item: dict, value) -> str:
    """What was answered, in words: 是/否, a reading with its unit, a choice's label, the text."""
    if value is None:
        return ""
    kind = item["kind"]
    if kind == "yes_no":
        return _("Yes") if value else _("No")
    if kind == "number":
        return f"{number(value)} {item.get('unit', '')}".strip()
    if kind == "choice":
        option = next((o for o in item.get("options", []) if o["value"] == value), None)
        return label_of(option) if option else str(value)
    return str(value)


def limits_of(item: dict) -> str:
    """What counts as OK for an item: the expected answer, the reading's range, the bad options."""
    kind = item["kind"]
    if kind == "yes_no":
        return _("OK: %(answer)s", answer=_("Yes") if item.get("expected", True) else _("No"))
    if kind == "number":
        low, high, unit = item.get("min"), item.get("max"), item.get("unit", "")
        if low is not None and high is not None:
            text = f"{number(low)} – {number(high)}"
        elif low is not None:
            text = f"≥ {number(low)}"
        elif high is not None:
            text = f"≤ {number(high)}"
        else:
            return ""
        return f"{text} {unit}".strip()
    if kind == "choice":
        bad = [label_of(o) for o in item.get("options", []) if not o.get("ok", True)]
        return _("Not OK: %(options)s", options=", ".join(bad)) if bad else ""
    return ""


def _helpers() -> dict:
    return {
        "time_quality": TIME_QUALITY, "flags_text": FLAGS, "verdicts": VERDICTS, "alert_status": ALERT_STATUS,
        "label_of": label_of, "shown_value": shown_value, "limits_of": limits_of,
    }


def _filters() -> tuple[dict, dict]:
    """The page's query string loaded by :class:`CheckPageQuery` (empty fields, as a GET form
    sends them, are left out) → (filters for the service, the args to keep in links)."""
    args = {key: value for key, value in request.args.items() if value != "" and key != "lang"}
    try:
        filters = CheckPageQuery(unknown=ma.EXCLUDE).load(args)
    except ma.ValidationError as error:
        raise ZichaError("validation_failed", error.messages) from None
    if filters.pop("failed", False):
        filters["ok"] = False
    if not filters.get("flagged", True):
        filters.pop("flagged")  # flagged=0 is "any", as an unticked box
    args.pop("page", None)
    return filters, {key: value for key, value in args.items() if key in CheckPageQuery().fields}


@blp.route("", methods=["GET"])
@signed_in()
@blp.doc(parameters=[{"in": "query", "schema": CheckPageQuery}])
@blp.response(200, description="The checks, newest performed first, with their filters", **HTML)
def checks():
    """Checks the signed-in user may see (supervisors: their posts'), filtered and paginated."""
    principal = current()
    filters, args = _filters()
    page = filters.pop("page")
    rows, total = services.check_rows(principal, filters, page, PAGE_SIZE)
    return render(
        "checks/list.html",
        rows=rows, total=total, page=page, pages=max(1, math.ceil(total / PAGE_SIZE)), args=args, values=args,
        posts=list_posts(principal.enterprise_id), sites=list_sites(principal.enterprise_id),
        verdict_filters=VERDICT_FILTERS, **_helpers(),
    )


@blp.route("/<uuid:check_id>", methods=["GET"])
@signed_in()
@blp.response(200, description="One check's evidence, its reviews and (managers) the review form", **HTML)
@blp.alt_response(404, description="No such check in the enterprise, or (supervisors) not of their posts", **HTML)
def check(check_id: uuid.UUID):
    """A check's answers, photos, device and timing facts, the hazards and alert it raised, its reviews."""
    principal = current()
    evidence = services.check_evidence(principal, check_id)
    return render("checks/check.html", e=evidence, c=evidence.check, may_review=principal.role in MANAGERS, **_helpers())


@blp.route("/<uuid:check_id>/review", methods=["POST"])
@signed_in(Role.SAFETY_MANAGER, Role.ADMIN)
@blp.doc(requestBody={"required": True, "content": {"application/x-www-form-urlencoded": {"schema": CheckReviewIn}}})
@blp.response(303, description="Recorded: back to the check, with a message")
@commits
def review(check_id: uuid.UUID):
    """Mark the check reviewed or questionable (a note is required for questionable)."""
    data = form_data(CheckReviewIn())
    review = services.review_check(current(), check_id, data["verdict"], data["note"])
    message = _("Marked reviewed.") if review.verdict.value == "reviewed" else _("Marked questionable.")
    return done(message)


@blp.route("/<uuid:check_id>/photos/<string:sha256>/<string:variant>", methods=["GET"])
@signed_in()
@blp.response(200, description="The thumbnail (thumb) or display copy (display) of a photo the check names: JPEG, metadata stripped", content_type="image/jpeg")
@blp.alt_response(404, description="Not a photo of this check, not yet received, or a check the user may not see", **HTML)
def photo(check_id: uuid.UUID, sha256: str, variant: str):
    """A photo of the check, served as the API serves it (re-encoded JPEG, ``nosniff``)."""
    digest, data = services.check_photo(current(), check_id, sha256, variant)
    return jpeg_response(data, digest, variant)
