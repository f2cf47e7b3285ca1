"""Dashboard pages: schedules and pauses."""
from __future__ import annotations

from server.manage.pages import page_blueprint

blp = page_blueprint("manage_schedules", __name__, "/manage/schedules", "schedules and pauses")
