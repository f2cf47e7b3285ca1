"""Posts, their QR tokens and printable labels (admin; managers may read)."""
from flask import Response
from flask.views import MethodView

from server.accounts.auth import current, require
from server.accounts.models import Role
from server.database import commits, get_owned
from server.extensions import Blueprint
from server.posts import labels, services
from server.posts.models import Post
from server.posts.schemas import PostAdminOut, PostIn, PostListQuery, PostPatch

blp = Blueprint("posts", __name__, description="Posts (岗位/风险点), QR codes and labels")

_READERS = (Role.ADMIN, Role.SAFETY_MANAGER, Role.SUPERVISOR)


@blp.route("/posts")
class Posts(MethodView):
    @require(*_READERS)
    @blp.arguments(PostListQuery, location="query")
    @blp.response(200, PostAdminOut(many=True))
    def get(self, query):
        """List posts, optionally of one site."""
        return services.list_posts(current().enterprise_id, query.get("site_id"))

    @require(Role.ADMIN)
    @blp.arguments(PostIn)
    @blp.response(201, PostAdminOut)
    @commits
    def post(self, data):
        """Create a post; it gets a fresh unguessable QR token (admin)."""
        return services.create_post(current().enterprise_id, **data)


@blp.route("/posts/<int:post_id>")
class PostItem(MethodView):
    @require(*_READERS)
    @blp.response(200, PostAdminOut)
    def get(self, post_id):
        """One post."""
        return get_owned(Post, post_id, current().enterprise_id)

    @require(Role.ADMIN)
    @blp.arguments(PostPatch)
    @blp.response(200, PostAdminOut)
    @commits
    def patch(self, data, post_id):
        """Edit a post (admin)."""
        return services.update_post(current().enterprise_id, post_id, data)


@blp.route("/posts/<int:post_id>/rotate-token", methods=["POST"])
@require(Role.ADMIN)
@blp.response(200, PostAdminOut)
@commits
def rotate_token(post_id):
    """Issue a new QR token (reprint the label); the old one stops working at once (admin)."""
    return services.rotate_qr_token(current().enterprise_id, post_id)


def label_file(body, mimetype: str, filename: str) -> Response:
    """A label (PNG, SVG or PDF) as a download both doors answer alike: inline, never cached,
    never sniffed, an SVG unable to run or fetch anything."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"inline; filename={filename}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # An SVG opened directly is a document: let it run nothing and fetch nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def post_label(post_id: int, render, mimetype: str, extension: str) -> Response:
    """The caller's enterprise's post ``post_id`` rendered as one label (404 for any other)."""
    post = get_owned(Post, post_id, current().enterprise_id)
    return label_file(render(services.label_data(post)), mimetype, f"post-{post.id}.{extension}")


@blp.route("/posts/<int:post_id>/label.png")
@require(Role.ADMIN, Role.SAFETY_MANAGER)
@blp.response(200, content_type="image/png", description="The post's QR label, 300 dpi PNG")
def label_png(post_id):
    """The post's QR label as PNG."""
    return post_label(post_id, labels.render_png, "image/png", "png")


@blp.route("/posts/<int:post_id>/label.svg")
@require(Role.ADMIN, Role.SAFETY_MANAGER)
@blp.response(200, content_type="image/svg+xml", description="The post's QR label, SVG")
def label_svg(post_id):
    """The post's QR label as SVG."""
    return post_label(post_id, labels.render_svg, "image/svg+xml", "svg")


@blp.route("/sites/<int:site_id>/labels.pdf")
@require(Role.ADMIN, Role.SAFETY_MANAGER)
@blp.response(200, content_type="application/pdf", description="A4 sheet(s) of every active post's label")
def site_labels_pdf(site_id):
    """A printable PDF sheet of the labels of every active post of a site."""
    return site_sheet(site_id)


def site_sheet(site_id: int) -> Response:
    """The PDF label sheet of the caller's enterprise's site ``site_id`` (404 for any other, or
    for a site with no active post)."""
    site, data = services.site_labels(current().enterprise_id, site_id)
    return label_file(labels.render_pdf_sheet(data, title=site.name), "application/pdf", f"site-{site.id}-labels.pdf")
