"""Dashboard pages: checks and their evidence."""
from __future__ import annotations

from server.manage.pages import page_blueprint

blp = page_blueprint("manage_checks", __name__, "/manage/checks", "checks and their evidence")
