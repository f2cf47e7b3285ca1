"""Dashboard pages: posts and their QR labels."""
from __future__ import annotations

from server.manage.pages import page_blueprint

blp = page_blueprint("manage_posts", __name__, "/manage/posts", "posts and their QR labels")
