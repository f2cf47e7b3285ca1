"""Dashboard pages: users and devices."""
from __future__ import annotations

from server.manage.pages import page_blueprint

blp = page_blueprint("manage_accounts", __name__, "/manage", "users and devices")
