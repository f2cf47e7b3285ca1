"""Enterprise profile and sites (admin sets them up; everyone signed in may read)."""
from flask.views import MethodView

from server.accounts.auth import current, require
from server.accounts.models import Role
from server.database import commits, get_owned
from server.extensions import Blueprint, db
from server.enterprises import services
from server.enterprises.models import Enterprise, Site
from server.enterprises.schemas import EnterpriseOut, SiteIn, SiteOut, SitePatch

blp = Blueprint("enterprises", __name__, description="Enterprise profile and sites (厂区/车间)")


@blp.route("/enterprise")
@require()
@blp.response(200, EnterpriseOut)
def get_enterprise():
    """The caller's own enterprise."""
    return db.session.get(Enterprise, current().enterprise_id)


@blp.route("/sites")
class Sites(MethodView):
    @require()
    @blp.response(200, SiteOut(many=True))
    def get(self):
        """List the enterprise's sites."""
        return services.list_sites(current().enterprise_id)

    @require(Role.ADMIN)
    @blp.arguments(SiteIn)
    @blp.response(201, SiteOut)
    @commits
    def post(self, data):
        """Create a site (admin)."""
        return services.create_site(current().enterprise_id, data["name"], data.get("parent_id"))


@blp.route("/sites/<int:site_id>")
class SiteItem(MethodView):
    @require()
    @blp.response(200, SiteOut)
    def get(self, site_id):
        """One site."""
        return get_owned(Site, site_id, current().enterprise_id)

    @require(Role.ADMIN)
    @blp.arguments(SitePatch)
    @blp.response(200, SiteOut)
    @commits
    def patch(self, data, site_id):
        """Rename or move a site (admin)."""
        return services.update_site(current().enterprise_id, site_id, data)
