"""POST /api/v1/checks, the check listings, and the managers' reviews of a check's evidence."""
import uuid

from server.accounts.auth import caller_page, current, require
from server.accounts.models import Role
from server.checks import services
from server.checks.schemas import CheckIn, CheckOut, CheckQuery, CheckReviewIn, CheckReviewOut
from server.database import commits
from server.errors import ZichaError
from server.extensions import Blueprint, db

blp = Blueprint("checks", __name__, description="Checks (检查记录)")


@blp.route("/checks", methods=["POST"])
@require()
@blp.arguments(CheckIn)
@blp.response(201, CheckOut, description="Stored for the first time")
@blp.alt_response(200, schema=CheckOut, description="A retry of a record already stored: the first result")
@blp.alt_response(409, description="id_conflict: this id was used with other content; the first stays")
def submit(record):
    """Submit one check (the same record the offline sync push carries)."""
    result = services.submit_check(current(), record)
    db.session.commit()  # the conflict copy is kept too, so commit before answering
    if result.outcome is services.Outcome.CONFLICT:
        raise ZichaError("id_conflict", {"id": str(record["id"])})
    result.check.outcome = result.outcome.value
    return result.check, 201 if result.outcome is services.Outcome.ACCEPTED else 200


@blp.route("/checks/mine")
@require()
@blp.arguments(CheckQuery, location="query")
@blp.response(200, CheckOut(many=True))
@blp.paginate(page_size=50, max_page_size=200)
def mine(filters, pagination_parameters):
    """The caller's own recent checks, newest first."""
    filters["mine"] = True
    return _page(filters, pagination_parameters)


@blp.route("/checks")
@require(Role.SUPERVISOR, Role.SAFETY_MANAGER, Role.ADMIN)
@blp.arguments(CheckQuery, location="query")
@blp.response(200, CheckOut(many=True))
@blp.paginate(page_size=50, max_page_size=200)
def listing(filters, pagination_parameters):
    """Checks by post, site, schedule, period or result (supervisors see their own posts)."""
    return _page(filters, pagination_parameters)


def _page(filters, pagination_parameters):
    return caller_page(services.list_checks, filters, pagination_parameters)


@blp.route("/checks/<uuid:check_id>")
@require()
@blp.response(200, CheckOut)
def get_check(check_id: uuid.UUID):
    """One check the caller may see."""
    return services.get_check(current(), check_id)


@blp.route("/checks/<uuid:check_id>/reviews", methods=["POST"])
@require(Role.SAFETY_MANAGER, Role.ADMIN)
@blp.arguments(CheckReviewIn)
@blp.response(201, CheckReviewOut, description="The review, appended to the check's history")
@blp.alt_response(404, description="not_found: no such check in the caller's enterprise")
@blp.alt_response(422, description="review_note_required: questionable needs a note; validation_failed")
@commits
def review(data, check_id: uuid.UUID):
    """Mark a check's evidence reviewed (已审阅) or questionable (存疑), with a note.

    Append-only: a later review supersedes the earlier one, whose row stays as history.
    Safety managers and admins only.
    """
    return services.review_check(current(), check_id, data["verdict"], data["note"]), 201


@blp.route("/checks/<uuid:check_id>/reviews")
@require(Role.SUPERVISOR, Role.SAFETY_MANAGER, Role.ADMIN)
@blp.response(200, CheckReviewOut(many=True))
@blp.alt_response(404, description="not_found")
def reviews(check_id: uuid.UUID):
    """A check's reviews, newest first: the first is its current verdict (supervisors: their posts' checks)."""
    return services.list_reviews(current(), check_id)
