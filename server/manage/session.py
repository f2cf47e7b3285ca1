"""Who is signed in to the dashboard, and the cookie that says so.

A dashboard session is a token from the same sign-in service the phone app uses
(:func:`server.accounts.services.sign_in`, so the same lockout and the same checks), with a
shorter life (``MANAGE_SESSION_HOURS``), kept in a signed, HttpOnly cookie of its own:
``zicha_manage``, scoped to ``/manage``, ``SameSite=Lax``, ``Secure`` whenever the public address
is HTTPS. Every request resolves it through :func:`server.accounts.auth.principal_for_token`, so
signing out, an expired session, a deactivated user all end it at once — unlike a cookie that
only carries a user id. The family report page keeps its own cookie under ``/r``: the two never
meet, and a manager's browser carries nothing to the public page.

Every form carries a Flask-WTF CSRF token (checked by :func:`signed_in` on every POST).
"""
from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import Flask, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface, SessionInterface
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from server.accounts.auth import Principal, principal_for_token
from server.accounts.models import Role
from server.errors import ZichaError

# Who may use the dashboard at all: workers have the phone app.
DASHBOARD_ROLES = frozenset({Role.SUPERVISOR, Role.SAFETY_MANAGER, Role.ADMIN})
PREFIX = "/manage"


class _DashboardCookie(SecureCookieSessionInterface):
    salt = "zicha-manage-session"

    def get_cookie_name(self, app: Flask) -> str:
        return app.config["MANAGE_SESSION_COOKIE_NAME"]

    def get_cookie_path(self, app: Flask) -> str:
        return PREFIX

    def get_cookie_samesite(self, app: Flask) -> str:
        return "Lax"

    def get_cookie_httponly(self, app: Flask) -> bool:
        return True


class ScopedSessions(SessionInterface):
    """Flask's signed-cookie sessions, one cookie per area: the dashboard's under ``/manage``
    (its own name and signing salt), everything else as configured (the report page's ``/r``)."""

    def __init__(self):
        self.dashboard = _DashboardCookie()
        self.default = SecureCookieSessionInterface()

    def _for(self, request_):
        path = request_.path
        return self.dashboard if path == PREFIX or path.startswith(PREFIX + "/") else self.default

    def open_session(self, app, request_):
        return self._for(request_).open_session(app, request_)

    def save_session(self, app, session_, response):
        return self._for(request).save_session(app, session_, response)

    def make_null_session(self, app):
        return self.default.make_null_session(app)

    def is_null_session(self, obj) -> bool:
        return self.default.is_null_session(obj)


def current_principal() -> Principal | None:
    """The signed-in principal of this dashboard request, or None."""
    if "principal" in g:
        return g.principal
    token = session.get("token")
    principal = None
    if token:
        try:
            principal = principal_for_token(token)
        except ZichaError:
            session.pop("token", None)
    if principal is not None and principal.role not in DASHBOARD_ROLES:
        principal = None
    g.principal = principal
    return principal


def safe_next(target: str | None) -> str:
    """Where to go after signing in or a form: only a dashboard path of this site, never an
    address elsewhere (an open redirect would make a convincing phishing link)."""
    if not target:
        return url_for("manage.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not (parts.path == PREFIX or parts.path.startswith(PREFIX + "/")) or "\\" in target:
        return url_for("manage.home")
    return target


class PageForbidden(Exception):
    """The signed-in user's role may not open this page (answered with a 403 page)."""


class CsrfRefused(Exception):
    """A form came without a valid CSRF token (answered with a 400 page)."""


def signed_in(*roles: Role):
    """Decorator for a dashboard view: a signed-in supervisor, safety manager or admin (only
    ``roles`` when given), and a valid CSRF token on every POST. Anyone else is sent to the
    sign-in page, which brings them back here afterwards."""
    allowed = frozenset(roles) or DASHBOARD_ROLES

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if principal is None:
                back = request.full_path.rstrip("?") if request.method == "GET" else None
                return redirect(url_for("manage.sign_in", next=back) if back else url_for("manage.sign_in"))
            if principal.role not in allowed:
                raise PageForbidden()
            if request.method == "POST":
                try:
                    validate_csrf(request.form.get("csrf_token"))
                except ValidationError:
                    raise CsrfRefused() from None
            return view(*args, **kwargs)

        wrapper.dashboard_roles = allowed  # read by the permission tests
        return wrapper

    return decorator
