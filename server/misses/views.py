"""Missed checks (漏检) and pauses for stoppages (停产/停用).

Managers see and pause the whole enterprise; supervisors read the misses and pauses of the posts
they supervise; workers see neither (their own checks are in ``/checks/mine``).
"""
from flask.views import MethodView

from server.accounts.auth import caller_page, current, require
from server.accounts.models import Role
from server.database import commits
from server.extensions import Blueprint
from server.misses import services
from server.misses.schemas import MissOut, MissQuery, PauseEnd, PauseIn, PauseOut, PauseQuery

blp = Blueprint("misses", __name__, description="Missed checks (漏检) and pauses for stoppages (停产/停用)")

_MANAGERS = (Role.ADMIN, Role.SAFETY_MANAGER)
_READERS = (*_MANAGERS, Role.SUPERVISOR)


@blp.route("/misses")
@require(*_READERS)
@blp.arguments(MissQuery, location="query")
@blp.response(200, MissOut(many=True))
@blp.paginate(page_size=50, max_page_size=200)
def list_misses(filters, pagination_parameters):
    """Missed checks, the most recently closed first (supervisors: their posts')."""
    return caller_page(services.list_misses, filters, pagination_parameters)


@blp.route("/misses/<int:miss_id>")
@require(*_READERS)
@blp.response(200, MissOut)
def get_miss(miss_id):
    """One missed check, with its late check if one arrived."""
    return services.get_miss(current(), miss_id)


@blp.route("/pauses")
class Pauses(MethodView):
    @require(*_READERS)
    @blp.arguments(PauseQuery, location="query")
    @blp.response(200, PauseOut(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    def get(self, filters, pagination_parameters):
        """Pauses, newest first (supervisors: their posts' and their posts' schedules')."""
        return caller_page(services.list_pauses, filters, pagination_parameters)

    @require(*_MANAGERS)
    @blp.arguments(PauseIn)
    @blp.response(201, PauseOut)
    @commits
    def post(self, data):
        """Pause a post or one schedule for a stoppage: its periods that overlap the pause are not misses."""
        return services.create_pause(current(), data)


@blp.route("/pauses/<int:pause_id>")
@require(*_READERS)
@blp.response(200, PauseOut)
def get_pause(pause_id):
    """One pause."""
    return services.get_pause(current(), pause_id)


@blp.route("/pauses/<int:pause_id>/end", methods=["POST"])
@require(*_MANAGERS)
@blp.arguments(PauseEnd)
@blp.response(200, PauseOut)
@blp.alt_response(409, description="pause_ended: the pause has already ended")
@commits
def end_pause(data, pause_id):
    """Lift a pause now (or at a later moment); detection resumes from then."""
    return services.end_pause(current(), pause_id, data["ends_at"])
