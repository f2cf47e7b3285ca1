"""GET /api/v1/sync/pull."""

from server.accounts.auth import current, require
from server.changes import services
from server.extensions import Blueprint
from sync.protocol import PullPageSchema, PullQuerySchema

blp = Blueprint("changes", __name__, description="Sync pull: what a device keeps offline, page by page from a change log")


@blp.route("/sync/pull")
@require()
@blp.arguments(PullQuerySchema, location="query")
@blp.response(200, PullPageSchema)
@blp.alt_response(400, description="invalid_cursor: not a cursor this server made")
def pull(query):
    """The changes after a cursor (or a snapshot), for the caller's enterprise and role.

    Apply the page, keep its `cursor`, and pull again while `more` is true. `reset_required`
    means: drop what you hold, this page starts a new snapshot.
    """
    return services.pull(current(), query.get("cursor"), query["limit"])
