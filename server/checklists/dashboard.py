"""Dashboard pages: checklists and their versions."""
from __future__ import annotations

from server.manage.pages import page_blueprint

blp = page_blueprint("manage_checklists", __name__, "/manage/checklists", "checklists and their versions")
