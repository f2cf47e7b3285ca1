"""Dashboard pages: notification channels."""
from __future__ import annotations

from server.manage.pages import page_blueprint

blp = page_blueprint("manage_channels", __name__, "/manage/channels", "notification channels")
