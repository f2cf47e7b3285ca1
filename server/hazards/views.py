"""The hazard ledger (隐患台账) and the steps of its closed loop.

Roles per endpoint (the services check the rest — the responsible person, the other verifier):
anyone signed in reports, lists and reads (each sees what the services' visibility rule allows);
safety managers and admins confirm, reject, assign and verify; rectify is open to every role
because the responsible person may be a worker (the service refuses anyone else but supervisors).

The ledger's documents — the XLSX and CSV exports, the statistics and the 重大事故隐患报告 PDF —
are for safety managers and admins only: they are the enterprise's own records, kept and handed
to regulators by its safety department; supervisors and workers keep the listing. They read
through the same visibility rule as the listing all the same (``server/hazards/ledger.py``).
The fixed paths (``/hazards/export.xlsx``, ``/hazards/statistics``) cannot clash with
``/hazards/<int:hazard_id>``: the ``int`` converter matches digits only.
"""

from server.accounts.auth import caller_page, current, require
from server.accounts.models import Role
from server.database import commits
from server.extensions import Blueprint
from server.hazards import downloads, ledger, services
from server.hazards.schemas import (
    AssignIn, ConfirmIn, HazardDetailOut, HazardIn, HazardOut, HazardQuery, RectifyIn, RejectIn, StatisticsOut, StatisticsQuery, VerifyIn,
)

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
    return caller_page(services.list_hazards, filters, pagination_parameters)


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


# --------------------------------------------------------------------------- the ledger's documents

@blp.route("/hazards/export.xlsx", methods=["GET"])
@require(*_MANAGERS)
@blp.arguments(HazardQuery, location="query")
@blp.response(200, content_type=downloads.XLSX, description="隐患台账 as an Excel workbook (sheet 隐患台账)")
def export_xlsx(filters):
    """The hazard ledger (隐患台账) as XLSX, under the listing's filters and in its order."""
    return downloads.ledger_xlsx(current(), filters)


@blp.route("/hazards/export.csv", methods=["GET"])
@require(*_MANAGERS)
@blp.arguments(HazardQuery, location="query")
@blp.response(200, content_type="text/csv", description="隐患台账 as CSV, UTF-8 with a BOM, streamed")
def export_csv(filters):
    """The hazard ledger (隐患台账) as CSV (UTF-8 with BOM, for Excel), under the listing's filters."""
    return downloads.ledger_csv(current(), filters)


@blp.route("/hazards/statistics", methods=["GET"])
@require(*_MANAGERS)
@blp.arguments(StatisticsQuery, location="query")
@blp.response(200, StatisticsOut)
def hazard_statistics(query):
    """隐患排查治理统计表 of a year or a quarter: by type and grade, found / rectified / overdue, 整改率."""
    return ledger.statistics(current(), query["year"], query["quarter"])


@blp.route("/hazards/<int:hazard_id>/report.pdf", methods=["GET"])
@require(*_MANAGERS)
@blp.response(200, content_type="application/pdf", description="重大事故隐患报告, A4")
@blp.alt_response(409, description="hazard_not_major: the hazard is not graded 重大")
def major_report(hazard_id):
    """重大事故隐患报告 of a hazard graded 重大: every field, the 五到位 plan and the whole history."""
    return downloads.major_report(current(), hazard_id)
