"""POST /api/v1/sync/push and the managers' view of device_seq gaps."""
from flask import current_app

from server.accounts.auth import current, require
from server.accounts.models import Role
from server.extensions import Blueprint, db
from server.jsontext import json_text
from server.push import services
from server.push.schemas import DeviceGapsOut, GapQuery, PushResultSchema, PushSchema

blp = Blueprint("push", __name__, description="Sync push (同步上传)")


@blp.route("/sync/push", methods=["POST"])
@require()
@blp.arguments(PushSchema)
@blp.response(200, PushResultSchema, description="One result per record, in order; sent after the commit")
@blp.alt_response(503, description="service_unavailable: nothing was stored; send the same batch again")
def push(envelope):
    """Send a batch of records made offline (the body may be gzip-compressed).

    Each record gets a result — accepted, awaiting_photos, duplicate, conflict or rejected with
    a code — and every result acknowledges its record. See ``sync.protocol`` for the format.
    """
    answer = services.push(current(), envelope)
    db.session.commit()
    # Already plain JSON values in the documented shape (a schema dump of hundreds of results
    # would cost more than storing them; so would jsonify's sorted keys); tests load every
    # answer with PushResultSchema.
    body = {"server_time": answer.server_time.isoformat(), "results": answer.results, "device_seq": answer.device_seq}
    return current_app.response_class(json_text(body), mimetype="application/json")


@blp.route("/sync/gaps")
@require(Role.SAFETY_MANAGER, Role.ADMIN)
@blp.arguments(GapQuery, location="query")
@blp.response(200, DeviceGapsOut(many=True))
def gaps(query):
    """Devices with device_seq numbers never received: records possibly lost on a phone."""
    return services.devices_with_gaps(current(), query.get("opened_before"))
