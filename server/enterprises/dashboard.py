"""Dashboard pages: sites."""
from __future__ import annotations

from server.manage.pages import page_blueprint

blp = page_blueprint("manage_sites", __name__, "/manage/sites", "sites")
