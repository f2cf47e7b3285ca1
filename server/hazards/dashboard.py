"""Dashboard pages: hazards to grade, assign and verify."""
from __future__ import annotations

from server.manage.pages import page_blueprint

blp = page_blueprint("manage_hazards", __name__, "/manage/hazards", "hazards to grade, assign and verify")
