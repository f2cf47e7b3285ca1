"""The dashboard's own pages: sign-in, sign-out, the language switch, and the way in."""
from __future__ import annotations

from datetime import timedelta

from pathlib import Path

from flask import current_app, redirect, request, send_from_directory, session, url_for
from flask_babel import gettext as _
from flask_babel import refresh
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from server.accounts import services as accounts
from server.accounts.auth import current
from server.database import commits
from server.errors import ZichaError
from server.extensions import db, limiter
from server.manage.i18n import LANGUAGES
from server.manage.pages import HTML, done, error_text, page_blueprint, render
from server.manage.session import DASHBOARD_ROLES, current_principal, safe_next, signed_in
from server.ratelimits import configured

_STATIC = Path(__file__).parent / "static"

blp = page_blueprint("manage", __name__, "/manage", "sign-in and the way in")

sign_in_per_client = limiter.shared_limit(configured("MANAGE_LIMIT_SIGN_IN_PER_CLIENT"), scope="manage-sign-in", methods=["POST"])


@blp.route("/", methods=["GET"])
@signed_in()
@blp.response(302, description="To the overview, or to the sign-in page")
def home():
    """The dashboard's address: the overview once signed in."""
    return redirect(url_for("manage_overview.overview"))


@blp.route("/assets/<string:name>", methods=["GET"])
@blp.response(200, description="The dashboard's stylesheet and script", content_type="text/css")
def asset(name):
    """A static file of the dashboard (``manage.css``, ``manage.js``), cached for a day."""
    return send_from_directory(_STATIC, name, max_age=86400)


@blp.route("/sign-in", methods=["GET"])
@blp.response(200, description="The sign-in form", **HTML)
def sign_in():
    """Sign in with enterprise code, username and password (supervisors, safety managers, admins)."""
    if current_principal() is not None:
        return redirect(safe_next(request.args.get("next")))
    return render("sign_in.html", values={"enterprise": request.args.get("enterprise", "")}, next=request.args.get("next", ""))


@blp.route("/sign-in", methods=["POST"])
@sign_in_per_client
@blp.doc(requestBody={"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["enterprise", "username", "password", "csrf_token"], "properties": {
    "enterprise": {"type": "string"}, "username": {"type": "string"}, "password": {"type": "string", "format": "password"},
    "next": {"type": "string"}, "csrf_token": {"type": "string"}}}}}})
@blp.response(303, description="Signed in: to the page asked for (a dashboard path) or the overview")
@blp.alt_response(400, description="Stale form (CSRF): the form again", **HTML)
@blp.alt_response(401, description="Wrong enterprise, username or password: the form again", **HTML)
@blp.alt_response(403, description="A worker's account: workers use the phone app", **HTML)
@blp.alt_response(429, description="Too many wrong passwords (account locked) or too many tries from this client", **HTML)
def sign_in_post():
    """Check the password (with the API's lockout) and start a dashboard session."""
    form = request.form
    values = {"enterprise": form.get("enterprise", "").strip(), "username": form.get("username", "").strip()}
    try:
        validate_csrf(form.get("csrf_token"))
    except ValidationError:
        return render("sign_in.html", 400, values=values, next=form.get("next", ""), error=_("The form has expired; please sign in again."))
    try:
        signed = accounts.sign_in(
            values["enterprise"], values["username"], form.get("password", ""), None,
            ttl=timedelta(hours=current_app.config["MANAGE_SESSION_HOURS"]), roles=DASHBOARD_ROLES,
        )
    except ZichaError as error:
        db.session.commit()  # a wrong password's count must outlive the refusal (lockout)
        text = _("Workers use the phone app; the dashboard is for supervisors, safety managers and admins.") if error.code == "forbidden" else error_text(error)
        return render("sign_in.html", error.status, values=values, next=form.get("next", ""), error=text)
    db.session.commit()
    session.clear()
    session["token"] = signed.token
    session["lang"] = signed.user.locale if signed.user.locale in LANGUAGES else "zh"
    return redirect(safe_next(form.get("next")), 303)


@blp.route("/sign-out", methods=["POST"])
@signed_in()
@blp.response(303, description="Signed out: to the sign-in page")
@commits
def sign_out():
    """End this dashboard session (its token is revoked at once)."""
    accounts.revoke_token(current().token_id)
    session.clear()
    return redirect(url_for("manage.sign_in"), 303)


@blp.route("/language", methods=["POST"])
@signed_in()
@blp.doc(requestBody={"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {"lang": {"type": "string", "enum": list(LANGUAGES)}}}}}})
@blp.response(303, description="Back to the page, in the chosen language")
@commits
def language():
    """Switch the dashboard between Chinese and English (remembered for the user's digests too)."""
    lang = request.form.get("lang")
    if lang not in LANGUAGES:
        raise ZichaError("validation_failed", {"lang": [f"one of {', '.join(LANGUAGES)}"]})
    accounts.update_me(current().enterprise_id, current().user_id, {"locale": lang})
    session["lang"] = lang
    refresh()  # this answer's own message already in the new language
    return done(_("Language changed."))
