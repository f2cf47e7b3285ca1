"""Dashboard pages: family reports to triage."""
from __future__ import annotations

from server.manage.pages import page_blueprint

blp = page_blueprint("manage_reports", __name__, "/manage/reports", "family reports to triage")
