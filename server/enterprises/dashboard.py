"""Dashboard pages: sites (厂区 › 车间 › 区域), the places posts belong to.

The same rules as the API (``server/enterprises/views.py``): every dashboard role may read the
sites; only an admin creates, renames or moves one. The forms are loaded by the API's own
``SiteIn``/``SitePatch`` and handed to the same services.
"""
from __future__ import annotations

from flask_babel import gettext as _

from server.accounts.auth import current
from server.accounts.models import Role
from server.database import commits, get_owned
from server.enterprises import services
from server.enterprises.models import Site
from server.enterprises.schemas import SiteIn, SitePatch
from server.errors import ZichaError
from server.manage.pages import HTML, done, form_again, form_data, page_blueprint, render
from server.manage.session import signed_in
from server.posts import services as posts

blp = page_blueprint("manage_sites", __name__, "/manage/sites", "sites")


def _list_context() -> dict:
    """The tree of sites and each site's number of posts."""
    enterprise_id = current().enterprise_id
    counts: dict[int, int] = {}
    for post in posts.list_posts(enterprise_id):
        counts[post.site_id] = counts.get(post.site_id, 0) + 1
    return {"tree": services.site_tree(enterprise_id), "counts": counts}


@blp.route("/", methods=["GET"])
@signed_in()
@blp.response(200, description="The sites as a tree, each with its number of posts (and, for an admin, a form to add one)", **HTML)
def sites():
    """Every site of the enterprise, nested under its parent."""
    return render("sites/list.html", values={}, **_list_context())


@blp.route("/", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Created: back to the list")
@blp.alt_response(422, description="Invalid input: the list again with the form as typed and the message", **HTML)
@commits
def create():
    """Create a site, at the top level or inside another (admin)."""
    try:
        data = form_data(SiteIn())
        site = services.create_site(current().enterprise_id, data["name"], data.get("parent_id"))
    except ZichaError as error:
        return form_again(error, "sites/list.html", **_list_context())
    return done(_("Site “%(name)s” created.", name=site.name))


def _descendants(site_id: int, tree: list[tuple[Site, int]]) -> set[int]:
    found: set[int] = set()
    frontier = {site_id}
    while frontier:
        frontier = {s.id for s, _depth in tree if s.parent_id in frontier} - found
        found |= frontier
    return found


@blp.route("/<int:site_id>", methods=["GET"])
@signed_in()
@blp.response(200, description="A site: where it sits, what is inside it, its posts; an admin's form to rename or move it", **HTML)
def site(site_id):
    """One site with its sub-sites and posts."""
    site = get_owned(Site, site_id, current().enterprise_id)
    return render("sites/detail.html", values={"name": site.name, "parent_id": site.parent_id or ""}, **_site_context(site))


@blp.route("/<int:site_id>", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Saved: back to the site")
@blp.alt_response(422, description="Invalid input: the form again as typed, with the message", **HTML)
@commits
def update(site_id):
    """Rename a site or move it under another parent (or to the top level) (admin)."""
    try:
        # An empty parent means the top level (null), not "leave the parent as it is".
        site = services.update_site(current().enterprise_id, site_id, form_data(SitePatch(), blank_is_none=("parent_id",)))
    except ZichaError as error:
        site = get_owned(Site, site_id, current().enterprise_id)
        return form_again(error, "sites/detail.html", **_site_context(site))
    return done(_("Site “%(name)s” saved.", name=site.name))


def _site_context(site: Site) -> dict:
    """What the site page shows besides the form (for the form shown again)."""
    enterprise_id = current().enterprise_id
    tree = services.site_tree(enterprise_id)
    inside = _descendants(site.id, tree)
    return {
        "site": site,
        "tree": tree,
        "parents": [(s, depth) for s, depth in tree if s.id != site.id and s.id not in inside],
        "children": [s for s, _depth in tree if s.parent_id == site.id],
        "posts": posts.list_posts(enterprise_id, site.id),
    }
