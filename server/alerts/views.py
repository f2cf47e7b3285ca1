"""The alert inbox (提醒) and the enterprise's alert settings."""
from flask.views import MethodView

from server.accounts.auth import caller_page, current, require
from server.accounts.models import Role
from server.alerts import services
from server.alerts.schemas import AckIn, AlertDetailOut, AlertOut, AlertQuery, ResolveIn, SettingsIn, SettingsOut
from server.database import commits
from server.extensions import Blueprint

blp = Blueprint("alerts", __name__, description="Alerts (提醒): missed checks and failed items, escalated by risk colour")

# Workers are never on an alert's chain; every other role has an inbox.
_INBOX = (Role.SUPERVISOR, Role.SAFETY_MANAGER, Role.ADMIN)


@blp.route("/alerts")
@require(*_INBOX)
@blp.arguments(AlertQuery, location="query")
@blp.response(200, AlertOut(many=True))
@blp.paginate(page_size=50, max_page_size=200)
def listing(filters, pagination_parameters):
    """The caller's alerts, newest first; safety managers and admins may ask ``all=true``."""
    return caller_page(services.list_alerts, filters, pagination_parameters)


@blp.route("/alerts/<int:alert_id>")
@require(*_INBOX)
@blp.response(200, AlertDetailOut)
def detail(alert_id):
    """One alert with who it reached and its history (its recipients and the managers)."""
    return services.get_alert(current(), alert_id)


@blp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@require(*_INBOX)
@blp.arguments(AckIn)
@blp.response(200, AlertDetailOut)
@blp.alt_response(409, description="alert_already_acknowledged / alert_already_resolved")
@commits
def acknowledge(data, alert_id):
    """Acknowledge (确认): the alert stops escalating."""
    return services.acknowledge(current(), alert_id, data["note"])


@blp.route("/alerts/<int:alert_id>/resolve", methods=["POST"])
@require(*_INBOX)
@blp.arguments(ResolveIn)
@blp.response(200, AlertDetailOut)
@blp.alt_response(409, description="alert_already_resolved")
@commits
def resolve(data, alert_id):
    """Resolve (处理完毕) with a note saying what was done."""
    return services.resolve(current(), alert_id, data["note"])


@blp.route("/alert-settings")
class Settings(MethodView):
    @require(Role.ADMIN)
    @blp.response(200, SettingsOut)
    def get(self):
        """Escalation minutes per risk colour, the enterprise head, the digest hour (admin)."""
        return services.get_settings(current().enterprise_id)

    @require(Role.ADMIN)
    @blp.arguments(SettingsIn)
    @blp.response(200, SettingsOut)
    @commits
    def put(self, data):
        """Replace the alert settings; fields left out go back to their defaults (admin)."""
        return services.update_settings(current().enterprise_id, data, current().user_id)
