"""Schedules (排查计划)."""
from flask.views import MethodView

from server.accounts.auth import current, require
from server.accounts.models import Role
from server.database import commits, get_owned
from server.extensions import Blueprint
from server.schedules import services
from server.schedules.models import Schedule
from server.schedules.schemas import ScheduleIn, ScheduleOut, SchedulePatch, ScheduleQuery

blp = Blueprint("schedules", __name__, description="Schedules (排查计划): a checklist at a post, at a frequency")

_EDITORS = (Role.ADMIN, Role.SAFETY_MANAGER)


@blp.route("/schedules")
class Schedules(MethodView):
    @require(*_EDITORS, Role.SUPERVISOR)
    @blp.arguments(ScheduleQuery, location="query")
    @blp.response(200, ScheduleOut(many=True))
    def get(self, query):
        """List schedules, optionally of one post."""
        return services.list_schedules(current().enterprise_id, query.get("post_id"))

    @require(*_EDITORS)
    @blp.arguments(ScheduleIn)
    @blp.response(201, ScheduleOut)
    @commits
    def post(self, data):
        """Create a schedule."""
        return services.create_schedule(current().enterprise_id, data)


@blp.route("/schedules/<int:schedule_id>")
class ScheduleItem(MethodView):
    @require(*_EDITORS, Role.SUPERVISOR)
    @blp.response(200, ScheduleOut)
    def get(self, schedule_id):
        """One schedule."""
        return get_owned(Schedule, schedule_id, current().enterprise_id)

    @require(*_EDITORS)
    @blp.arguments(SchedulePatch)
    @blp.response(200, ScheduleOut)
    @commits
    def patch(self, data, schedule_id):
        """Change a schedule's window, responsible person, or switch it off."""
        return services.update_schedule(current().enterprise_id, schedule_id, data)
