"""Dashboard pages: the overview."""
from __future__ import annotations

from server.manage.pages import page_blueprint

blp = page_blueprint("manage_overview", __name__, "/manage/overview", "the overview")
