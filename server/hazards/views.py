"""The hazard ledger (隐患台账) and the steps of its closed loop.

Roles per endpoint (the services check the rest — the responsible person, the other verifier):
anyone signed in reports, lists and reads (each sees what the services' visibility rule allows);
safety managers and admins confirm, reject, assign and verify; rectify is open to every role
because the responsible person may be a worker (the service refuses anyone else but supervisors).
"""
from flask_smorest import Blueprint

from server.accounts.auth import current, require
from server.accounts.models import Role
from server.database import commits
from server.hazards import services
from server.hazards.schemas import AssignIn, ConfirmIn, HazardDetailOut, HazardIn, HazardOut, HazardQuery, RectifyIn, RejectIn, VerifyIn

blp = Blueprint("hazards", __name__, description="Hazards (隐患) and their closed loop: report, grade, assign, rectify, verify")

_ANYONE = tuple(Role)
_MANAGERS = (Role.ADMIN, Role.SAFETY_MANAGER)
_409 = "hazard_transition_invalid: the hazard's status does not allow this step"


@blp.route("/hazards", methods=["POST"])
@require(*_ANYONE)
@blp.arguments(HazardIn)
@blp.response(201, HazardDetailOut)
@commits
def report_hazard(data):
    """Report a hazard (上报); it gets the enterprise's next number for the year."""
    return services.report(current(), data)


@blp.route("/hazards", methods=["GET"])
@require(*_ANYONE)
@blp.arguments(HazardQuery, location="query")
@blp.response(200, HazardOut(many=True))
@blp.paginate(page_size=50, max_page_size=200)
def list_hazards(filters, pagination_parameters):
    """The hazard ledger (隐患台账), most recently found first (workers and supervisors: theirs)."""
    rows, total = services.list_hazards(current(), filters, pagination_parameters.page, pagination_parameters.page_size)
    pagination_parameters.item_count = total
    return rows


@blp.route("/hazards/<int:hazard_id>", methods=["GET"])
@require(*_ANYONE)
@blp.response(200, HazardDetailOut)
def get_hazard(hazard_id):
    """One hazard with its whole history."""
    return services.get_hazard(current(), hazard_id)


@blp.route("/hazards/<int:hazard_id>/confirm", methods=["POST"])
@require(*_MANAGERS)
@blp.arguments(ConfirmIn)
@blp.response(200, HazardDetailOut)
@blp.alt_response(409, description=_409)
@commits
def confirm_hazard(data, hazard_id):
    """评估: confirm a reported hazard and grade it 一般 or 重大."""
    return services.confirm(current(), hazard_id, data)


@blp.route("/hazards/<int:hazard_id>/reject", methods=["POST"])
@require(*_MANAGERS)
@blp.arguments(RejectIn)
@blp.response(200, HazardDetailOut)
@blp.alt_response(409, description=_409)
@commits
def reject_hazard(data, hazard_id):
    """不属实: reject a reported or confirmed hazard with a reason."""
    return services.reject(current(), hazard_id, data)


@blp.route("/hazards/<int:hazard_id>/assign", methods=["POST"])
@require(*_MANAGERS)
@blp.arguments(AssignIn)
@blp.response(200, HazardDetailOut)
@blp.alt_response(409, description=_409)
@blp.alt_response(422, description="hazard_plan_incomplete: a 重大 hazard needs measures, funds, responsible person, deadline and emergency measures")
@commits
def assign_hazard(data, hazard_id):
    """下达整改: responsible person, deadline, mode, and for a 重大 hazard the whole 五到位 plan."""
    return services.assign(current(), hazard_id, data)


@blp.route("/hazards/<int:hazard_id>/rectify", methods=["POST"])
@require(*_ANYONE)
@blp.arguments(RectifyIn)
@blp.response(200, HazardDetailOut)
@blp.alt_response(403, description="hazard_not_responsible: only the responsible person or a supervisor")
@blp.alt_response(409, description=_409)
@commits
def rectify_hazard(data, hazard_id):
    """整改: report the rectification with its evidence (photos after, cost)."""
    return services.rectify(current(), hazard_id, data)


@blp.route("/hazards/<int:hazard_id>/verify", methods=["POST"])
@require(*_MANAGERS)
@blp.arguments(VerifyIn)
@blp.response(200, HazardDetailOut)
@blp.alt_response(409, description="hazard_transition_invalid, or hazard_same_verifier: the verifier rectified it")
@commits
def verify_hazard(data, hazard_id):
    """复查验收: passed closes the hazard (销号); failed sends it back to rectification."""
    return services.verify(current(), hazard_id, data)
