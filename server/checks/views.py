"""POST /api/v1/checks and the check listings."""
import uuid

from flask_smorest import Blueprint

from server.accounts.auth import caller_page, current, require
from server.accounts.models import Role
from server.checks import services
from server.checks.schemas import CheckIn, CheckOut, CheckQuery
from server.errors import ZichaError
from server.extensions import db

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
