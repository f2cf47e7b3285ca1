"""Dashboard pages: alerts to acknowledge."""
from __future__ import annotations

from server.manage.pages import page_blueprint

blp = page_blueprint("manage_alerts", __name__, "/manage/alerts", "alerts to acknowledge")
