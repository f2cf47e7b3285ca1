"""GET /q/<token>: what a plain phone camera opens when it reads a post's QR code."""
from flask import make_response, render_template

from server.extensions import Blueprint
from server.posts.services import find_by_token

blp = Blueprint("public", __name__, description="Public pages (no account)")


@blp.route("/q/<string:token>")
@blp.response(200, content_type="text/html", description="A small page naming the post")
@blp.alt_response(404, content_type="text/html", description="Unknown or rotated token")
def qr_landing(token):
    """The human page behind a QR code: names the post and tells the worker to use the app.

    It shows nothing a passer-by should not see (no checklist, no records) and the same page
    for an unknown token as for a rotated one.
    """
    post = find_by_token(token)
    status = 200 if post else 404
    response = make_response(render_template("public/q.html", post=post, site=post.site if post else None), status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
