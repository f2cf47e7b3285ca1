"""The web dashboard (``/manage``) for supervisors, safety managers and admins.

This package is the shell: sign-in and the session (:mod:`.session`), languages (:mod:`.i18n`),
what every page shares (:mod:`.pages`) and the layout (``templates/manage/base.html``, the
stylesheet in ``static/``). The pages themselves live with their nouns, each package's
``dashboard.py`` (``server/checks/dashboard.py`` …), and call that package's services — the same
functions the API calls, so a rule holds at both doors.
"""
from __future__ import annotations

import importlib

from flask import Flask, request
from flask_wtf.csrf import generate_csrf

# Every module with dashboard pages; each has a ``blp`` made by ``pages.page_blueprint``.
PAGE_MODULES = (
    "server.manage.views",
    "server.overview.dashboard",
    "server.checks.dashboard",
    "server.alerts.dashboard",
    "server.hazards.dashboard",
    "server.reports.dashboard",
    "server.enterprises.dashboard",
    "server.posts.dashboard",
    "server.checklists.dashboard",
    "server.schedules.dashboard",
    "server.accounts.dashboard",
    "server.notifications.dashboard",
)


def init_app(app: Flask, api) -> None:
    from server.manage import i18n
    from server.manage.session import ScopedSessions

    app.session_interface = ScopedSessions()
    i18n.init_app(app)
    # Globals, not render context: macros imported without context (`_ui.html`) need them too.
    app.jinja_env.globals.update(csrf_token=generate_csrf, request=request)
    for name in PAGE_MODULES:
        api.register_blueprint(importlib.import_module(name).blp)
