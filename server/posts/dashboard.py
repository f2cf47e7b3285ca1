"""Dashboard pages: posts (岗位/风险点), their QR tokens and printable labels.

The same rules as the API (``server/posts/views.py``): supervisors, safety managers and admins
read every post of the enterprise; only an admin creates, edits or rotates a post's QR token;
admins and safety managers download labels. Forms are loaded by the API's own ``PostIn`` and
``PostPatch`` and handed to the same services; the label downloads are the API's own
responses (:func:`server.posts.views.post_label`, :func:`server.posts.views.site_sheet`).
"""
from __future__ import annotations

from flask import request, url_for
from flask_babel import gettext as _

from server.accounts import services as accounts
from server.accounts.auth import current
from server.accounts.models import Role
from server.database import commits, get_owned
from server.enterprises import services as enterprises
from server.enterprises.models import Site
from server.errors import ZichaError
from server.manage.pages import HTML, done, form_again, form_data, page_blueprint, render
from server.manage.session import signed_in
from server.misses import services as misses
from server.posts import labels, services
from server.posts.models import Post, RiskLevel
from server.posts.schemas import PostIn, PostPatch
from server.posts.views import post_label, site_sheet
from server.schedules import services as schedules
from server.schedules.dashboard import FREQUENCY_LABELS

blp = page_blueprint("manage_posts", __name__, "/manage/posts", "posts and their QR labels")

_LABELS = (Role.ADMIN, Role.SAFETY_MANAGER)


def _form_context(post: Post | None = None) -> dict:
    """The choices of a post's form: the sites (as a tree), the risk levels, and the
    enterprise's active supervisors (plus the post's current supervisor, whoever that is)."""
    enterprise_id = current().enterprise_id
    supervisors = [u for u in accounts.list_users(enterprise_id) if u.role is Role.SUPERVISOR and u.active]
    if post is not None and post.supervisor is not None and post.supervisor not in supervisors:
        supervisors.append(post.supervisor)
    return {"tree": enterprises.site_tree(enterprise_id), "levels": list(RiskLevel), "supervisors": supervisors, "post": post}


def _values(post: Post) -> dict:
    return {
        "name": post.name, "location": post.location, "site_id": str(post.site_id), "risk_level": post.risk_level.value,
        "supervisor_id": str(post.supervisor_id or ""), "active": "true" if post.active else "false",
    }


@blp.route("/", methods=["GET"])
@signed_in()
@blp.response(200, description="Posts, optionally of one site (?site_id=): risk level, supervisor, when the QR was last rotated, active", **HTML)
def posts():
    """Every post of the enterprise, or of one site."""
    enterprise_id = current().enterprise_id
    site_id = request.args.get("site_id", type=int)
    site = get_owned(Site, site_id, enterprise_id) if site_id else None
    return render(
        "posts/list.html",
        posts=services.list_posts(enterprise_id, site_id),
        site=site,
        tree=enterprises.site_tree(enterprise_id),
    )


@blp.route("/new", methods=["GET"])
@signed_in(Role.ADMIN)
@blp.response(200, description="The form for a new post (admin)", **HTML)
def new():
    """A new post: name, location, site, risk level, supervisor."""
    values = {"site_id": request.args.get("site_id", ""), "risk_level": RiskLevel.BLUE.value}
    return render("posts/form.html", values=values, **_form_context())


@blp.route("/", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Created: to the new post's page")
@blp.alt_response(422, description="Invalid input: the form again as typed, with the message", **HTML)
@commits
def create():
    """Create a post; it gets a fresh unguessable QR token (admin)."""
    try:
        post = services.create_post(current().enterprise_id, **form_data(PostIn()))
    except ZichaError as error:
        return form_again(error, "posts/form.html", **_form_context())
    return done(_("Post “%(name)s” created.", name=post.name), to=_post_url(post.id))


def _post_url(post_id: int) -> str:
    return url_for("manage_posts.post", post_id=post_id)


def _post_context(post: Post) -> dict:
    enterprise_id = current().enterprise_id
    paused_posts, paused_schedules = misses.paused_now(enterprise_id)
    return {
        **_form_context(post),
        "schedules": schedules.list_schedules(enterprise_id, post.id),
        "paused": post.id in paused_posts,
        "paused_schedules": paused_schedules,
        "qr_url": services.qr_url(post.qr_token),
        "frequency_labels": FREQUENCY_LABELS,
    }


@blp.route("/<int:post_id>", methods=["GET"])
@signed_in()
@blp.response(200, description="A post: its facts, schedules and QR label; for an admin the edit form and the QR rotation", **HTML)
def post(post_id):
    """One post."""
    post = get_owned(Post, post_id, current().enterprise_id)
    return render("posts/detail.html", values=_values(post), **_post_context(post))


@blp.route("/<int:post_id>", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Saved: back to the post")
@blp.alt_response(422, description="Invalid input: the form again as typed, with the message", **HTML)
@commits
def update(post_id):
    """Edit a post: name, location, site, risk level, supervisor, active (admin)."""
    try:
        # An empty supervisor means none (null), not "leave it as it is".
        post = services.update_post(current().enterprise_id, post_id, form_data(PostPatch(), blank_is_none=("supervisor_id",)))
    except ZichaError as error:
        post = get_owned(Post, post_id, current().enterprise_id)
        return form_again(error, "posts/detail.html", **_post_context(post))
    return done(_("Post “%(name)s” saved.", name=post.name))


@blp.route("/<int:post_id>/rotate-token", methods=["POST"])
@signed_in(Role.ADMIN)
@blp.response(303, description="Rotated: back to the post, whose label must be printed again")
@commits
def rotate_token(post_id):
    """Issue a new QR token; the label printed with the old one stops working at once (admin)."""
    post = services.rotate_qr_token(current().enterprise_id, post_id)
    return done(_("New QR code issued for “%(name)s”. Print its label again: the old label no longer works.", name=post.name), to=_post_url(post.id))


@blp.route("/<int:post_id>/label.png", methods=["GET"])
@signed_in(*_LABELS)
@blp.response(200, content_type="image/png", description="The post's QR label, 300 dpi PNG (the API's own answer)")
def label_png(post_id):
    """The post's QR label as a PNG (admin, safety manager)."""
    return post_label(post_id, labels.render_png, "image/png", "png")


@blp.route("/sites/<int:site_id>/labels.pdf", methods=["GET"])
@signed_in(*_LABELS)
@blp.response(200, content_type="application/pdf", description="A4 sheet(s) of the labels of every active post of a site (the API's own answer)")
def site_labels(site_id):
    """A printable PDF sheet of a site's labels (admin, safety manager)."""
    return site_sheet(site_id)
