"""What every dashboard page shares: its blueprint, rendering, forms, messages and errors.

A dashboard view is thin, like an API view: parse the form with the *same* marshmallow schema
the API uses (:func:`form_data`), call the *same* service, then render or redirect — one rule,
two doors. Views never commit by hand: a write view is decorated with
:func:`server.database.commits`, exactly as in the API.

Errors become pages, not JSON: a refused form action (a ``ZichaError`` on a POST) comes back to
the page it was sent from with the catalogue's message on top; a missing or foreign id is a 404
page (another enterprise's id is indistinguishable from one that never existed); a role that may
not open a page gets a 403 page; a stale form (CSRF) a 400 page that says to reload.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo
from collections.abc import Mapping

import marshmallow as ma
from flask import current_app, flash, g, make_response, redirect, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import HTTPException

from server.errors import CATALOGUE, ZichaError
from server.extensions import Blueprint, db
from server.manage.session import CsrfRefused, PageForbidden, current_principal, safe_next

HTML = {"content_type": "text/html"}


def page_blueprint(name: str, import_name: str, url_prefix: str, description: str) -> Blueprint:
    """A blueprint of dashboard pages under ``/manage``: its errors answered as pages, its
    answers with the dashboard's headers. (flask-smorest, so every page is in the OpenAPI
    document like every other route.)"""
    blp = Blueprint(name, import_name, url_prefix=url_prefix, description=f"Dashboard (HTML): {description}")
    blp.register_error_handler(ZichaError, _domain_error)
    blp.register_error_handler(PageForbidden, _forbidden)
    blp.register_error_handler(CsrfRefused, _csrf_refused)
    blp.register_error_handler(HTTPException, http_error_page)
    blp.after_request(protect)
    return blp


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def protect(response):
    """Dashboard answers hold an enterprise's data: never cached, never framed, no referrer to
    other sites, and scripts only from here (or inline with this response's nonce). A view that
    set its own ``Cache-Control`` keeps it: a photo named by its content, the stylesheet."""
    if "Cache-Control" not in response.headers or response.status_code >= 300:
        response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' 'nonce-{csp_nonce()}'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    response.vary.add("Cookie")
    return response


# --------------------------------------------------------------------------- rendering

def N_(message: str) -> str:
    """Marks a message for translation where it is defined; it is translated where shown."""
    return message


# Role names as people read them (for every page's header and the users' pages).
ROLE_LABELS = {"worker": N_("Worker"), "supervisor": N_("Supervisor"), "safety_manager": N_("Safety manager"), "admin": N_("Admin")}

# The menu: (endpoint, label, roles that see it — None for every dashboard role). An entry shows
# only once its page exists, so a package's pages appear when they are registered.
MENU: list[tuple[str, str, tuple[str, ...] | None]] = [
    ("manage_overview.overview", N_("Overview"), None),
    ("manage_checks.checks", N_("Checks"), None),
    ("manage_alerts.alerts", N_("Alerts"), None),
    ("manage_hazards.hazards", N_("Hazards"), None),
    ("manage_reports.reports", N_("Family reports"), ("safety_manager", "admin")),
]
SETUP_MENU: list[tuple[str, str, tuple[str, ...] | None]] = [
    ("manage_sites.sites", N_("Sites"), ("safety_manager", "admin")),
    ("manage_posts.posts", N_("Posts"), None),
    ("manage_checklists.checklists", N_("Checklists"), ("safety_manager", "admin")),
    ("manage_schedules.schedules", N_("Schedules"), None),
    ("manage_accounts.users", N_("Users"), ("safety_manager", "admin")),
    ("manage_accounts.devices", N_("Devices"), ("admin",)),
    ("manage_channels.channels", N_("Notification channels"), ("admin",)),
]


def _menu(entries, principal):
    views = current_app.view_functions
    role = principal.role.value if principal else None
    return [(endpoint, label) for endpoint, label, roles in entries if endpoint in views and (roles is None or role in roles)]


def render(template: str, status: int = 200, **context):
    """A dashboard page from ``templates/manage/``: the layout gets the signed-in user, the menu
    (only what their role may open), the language and a CSRF token for its forms."""
    principal = current_principal()
    html = render_template(
        f"manage/{template}",
        principal=principal,
        menu=_menu(MENU, principal),
        setup_menu=_menu(SETUP_MENU, principal),
        lang=str(get_locale() or "zh"),
        nonce=csp_nonce(),
        role_labels=ROLE_LABELS,
        **context,
    )
    return make_response(html, status)


# --------------------------------------------------------------------------- forms


def form_data(schema: ma.Schema, blank_is_none: tuple[str, ...] = ()) -> dict:
    """The posted form (and files) loaded by ``schema`` — the API's own input schema, so a rule
    on a field holds at both doors. Lists come from repeated fields (``name=a&name=b``); empty
    optional fields are dropped, as an API client would leave them out — except the fields named
    in ``blank_is_none``, where an empty value means null (a select's "— none —", as an API client
    would send ``null`` to clear a field). Raises ``validation_failed`` with the schema's messages."""
    form = request.form
    cleaned = {}
    for key in form:
        values = [v for v in form.getlist(key) if v != ""]
        if key in blank_is_none and not values:
            cleaned[key] = None
            continue
        if key in ("csrf_token", "back") or not values:
            continue
        field = schema.fields.get(key)
        cleaned[key] = [_typed(field.inner, v) for v in values] if isinstance(field, ma.fields.List) else _typed(field, values[-1])
    data = CombinedMultiDict([_FrozenForm(cleaned), request.files])
    try:
        return schema.load(MultiDictProxy(data, schema))
    except ma.ValidationError as error:
        raise ZichaError("validation_failed", error.messages) from None


def _typed(field, value):
    """A form sends text where the API's JSON sends typed values: a ``strict`` Integer field gets
    the number a whole number's text names, and a ``datetime-local`` input's wall time (no offset)
    is read in the enterprise's zone for an aware DateTime field. Anything else stays as typed for
    the schema to refuse with its own message."""
    if not isinstance(value, str):
        return value
    if isinstance(field, ma.fields.Integer) and field.strict:
        try:
            return int(value.strip())
        except ValueError:
            return value
    if isinstance(field, ma.fields.DateTime) and getattr(field, "default_timezone", None) is None:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return value
        principal = current_principal()
        if moment.tzinfo is None and principal is not None:
            return moment.replace(tzinfo=ZoneInfo(principal.timezone)).isoformat()
    return value


class _FrozenForm(dict):
    """A plain dict that answers ``getlist`` like a MultiDict (for MultiDictProxy)."""

    def getlist(self, key, type=None):  # noqa: A002 (MultiDict's signature: CombinedMultiDict passes it)
        value = self.get(key)
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]


def form_again(error: ZichaError, template: str, **context):
    """A refused form shown again instead of stored: the typed values back in their fields
    (``values``: each field's last value, so a hidden "false" before a checkbox works), the
    catalogue's message with the fields' complaints (``error``), the error's status (422, 409),
    and the session rolled back so nothing a service flushed before refusing is kept. Errors
    that are not about the input (a foreign id: ``not_found``) are raised again, to be pages."""
    if error.status not in (409, 422):
        raise error
    db.session.rollback()
    values = {key: request.form.getlist(key)[-1] for key in request.form}
    return render(template, error.status, error=error_text(error), values=values, **context)


def done(message: str, to: str | None = None):
    """After a form's action: say what happened and go back (303, so a reload does not post again)."""
    flash(message, "ok")
    return redirect(safe_next(to or request.form.get("back")), 303)


def error_text(error: ZichaError) -> str:
    """The catalogue's message in the page's language, with the fields' complaints after it."""
    kind = CATALOGUE[error.code]
    text = error.message or (kind.en if str(get_locale()) == "en" else kind.zh)
    details = error.details
    if isinstance(details, Mapping):
        parts = []
        for field, complaint in details.items():
            if isinstance(complaint, Mapping):
                complaint = "; ".join(f"{k}: {v}" for k, v in complaint.items())
            elif isinstance(complaint, (list, tuple)):
                complaint = "; ".join(str(c) for c in complaint)
            parts.append(f"{field}: {complaint}")
        if parts:
            text = f"{text} — {'; '.join(parts)}"
    return text


# --------------------------------------------------------------------------- errors as pages


def error_page(status: int, title: str, text: str):
    return render("error.html", status, title=title, text=text)


def _domain_error(error: ZichaError):
    db.session.rollback()
    if error.code == "not_found":
        return error_page(404, _("Not found"), _("There is no such page in your enterprise."))
    if error.code == "forbidden":
        return _forbidden(error)
    if request.method == "POST":
        flash(error_text(error), "error")
        return redirect(safe_next(request.form.get("back") or request.referrer and _same_site_path(request.referrer)), 303)
    return error_page(error.status, _("Cannot do this"), error_text(error))


def _same_site_path(url: str) -> str | None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _forbidden(_error):
    return error_page(403, _("Not allowed"), _("Your role may not open this page or do this."))


def _csrf_refused(_error):
    return error_page(400, _("The form has expired"), _("Go back, reload the page and send the form again."))


def http_error_page(error: HTTPException):
    """An HTTP error (404, 405, 429 …) as a dashboard page."""
    if error.code == 404:
        return error_page(404, _("Not found"), _("There is no such page in your enterprise."))
    if error.code == 405:
        return error_page(405, _("Not found"), _("There is no such page in your enterprise."))
    return error_page(error.code or 500, error.name, error.description or "")
