"""GET /api/v1/scan/<token>."""

from server.accounts.auth import current, require
from server.extensions import Blueprint
from server.scan import services
from server.scan.schemas import ScanOut

blp = Blueprint("scan", __name__, description="Scan a post's QR code: what is due there now")


@blp.route("/scan/<string:token>")
@require()
@blp.response(200, ScanOut)
def scan(token):
    """The post behind a QR token and every schedule due there in its current period."""
    return services.scan(current(), token)
