"""Checklists and their versions (admin and safety manager write; everyone signed in reads)."""
from flask.views import MethodView

from server.accounts.auth import current, require
from server.accounts.models import Role
from server.checklists import services
from server.checklists.models import Checklist
from server.checklists.schemas import ChecklistIn, ChecklistOut, VersionIn, VersionOut
from server.database import commits, get_owned
from server.extensions import Blueprint

blp = Blueprint("checklists", __name__, description="Checklists (检查表) with immutable published versions")

_EDITORS = (Role.ADMIN, Role.SAFETY_MANAGER)


@blp.route("/checklists")
class Checklists(MethodView):
    @require()
    @blp.response(200, ChecklistOut(many=True))
    def get(self):
        """List checklists with their current version."""
        return services.list_checklists(current().enterprise_id)

    @require(*_EDITORS)
    @blp.arguments(ChecklistIn)
    @blp.response(201, ChecklistOut)
    @commits
    def post(self, data):
        """Create a checklist and publish version 1."""
        return services.create_checklist(current().enterprise_id, data["name"], data["description"], data["items"], current().user_id)


@blp.route("/checklists/<int:checklist_id>")
@require()
@blp.response(200, ChecklistOut)
def get_checklist(checklist_id):
    """One checklist with its current version and the list of all versions."""
    return get_owned(Checklist, checklist_id, current().enterprise_id)


@blp.route("/checklists/<int:checklist_id>/versions", methods=["POST"])
@require(*_EDITORS)
@blp.arguments(VersionIn)
@blp.response(201, VersionOut)
@commits
def publish(data, checklist_id):
    """Publish a new version (edits never change a published one; the old one is retired)."""
    return services.publish_version(current().enterprise_id, checklist_id, data["items"], current().user_id, data.get("title"))


@blp.route("/checklists/<int:checklist_id>/versions/<int:version_id>")
@require()
@blp.response(200, VersionOut)
def get_version(checklist_id, version_id):
    """Any version, current or retired (old checks are read against theirs)."""
    return services.get_version(current().enterprise_id, checklist_id, version_id)
